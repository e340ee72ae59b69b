#include "query/statements.h"

#include <gtest/gtest.h>

#include "query/test_lake.h"

namespace eventlake::query {
namespace {

class StatementsTest : public ::testing::Test, public LakeWorld {
 protected:
  Result<StatementResult> Run(const std::string& sql, const std::string& db = "lake") {
    auto r = statements.Handle(sql, db);
    EXPECT_TRUE(r.has_value()) << sql;
    if (!r) return Status::Internal("not handled");
    return std::move(*r);
  }
  std::vector<std::string> Lines(const std::string& sql) {
    auto r = Run(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const auto& row : r->rows) out.push_back(row.empty() || !row[0] ? "" : *row[0]);
    }
    return out;
  }
  CatalogStatements statements{*catalog, *objects};
};

TEST_F(StatementsTest, SelectsAreNotForTheCatalog) {
  EXPECT_FALSE(statements.Handle("SELECT 1", "lake").has_value());
  EXPECT_FALSE(statements.Handle("WITH x AS (SELECT 1) SELECT * FROM x", "lake").has_value());
}

TEST_F(StatementsTest, CreateExternalTableAsAthenaUsersWriteIt) {
  auto r = Run(R"(CREATE EXTERNAL TABLE IF NOT EXISTS lake.`Clicks` (
      id bigint COMMENT 'the id',
      `user` struct<name:string, tags:array<string>>,
      price decimal(10, 2)
    )
    COMMENT 'clicks from the app'
    PARTITIONED BY (dt string, hour int)
    ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true')
    LOCATION 's3://raw/clicks/'
    TBLPROPERTIES ('has_encrypted_data' = 'false');)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->statement_type, "DDL");
  auto t = catalog->GetTable("lake", "clicks");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->description, "clicks from the app");
  ASSERT_EQ(t->storage->columns.size(), 3u);
  EXPECT_EQ(t->storage->columns[0].comment, "the id");
  EXPECT_EQ(t->storage->columns[1].name, "user");
  EXPECT_EQ(t->storage->columns[1].type, "struct<name:string,tags:array<string>>");
  EXPECT_EQ(t->storage->columns[2].type, "decimal(10,2)");
  EXPECT_EQ(t->partition_keys.size(), 2u);
  EXPECT_EQ(t->storage->serde->parameters.at("ignore.malformed.json"), "true");
  EXPECT_EQ(t->parameters.at("classification"), "json");
  EXPECT_EQ(t->parameters.at("EXTERNAL"), "TRUE");
  // Again, with IF NOT EXISTS: nothing happens.
  EXPECT_TRUE(Run("CREATE EXTERNAL TABLE IF NOT EXISTS clicks (a int) LOCATION 's3://raw/x/'").ok());
  EXPECT_FALSE(Run("CREATE EXTERNAL TABLE clicks (a int) LOCATION 's3://raw/x/'").ok());

  ASSERT_TRUE(Run("CREATE EXTERNAL TABLE pq (a int, b string) STORED AS PARQUET LOCATION 's3://raw/pq/'").ok());
  EXPECT_EQ(catalog->GetTable("lake", "pq")->storage->serde->serialization_library,
            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe");
  ASSERT_TRUE(Run("CREATE EXTERNAL TABLE csvt (a int, b string) ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' "
                  "LOCATION 's3://raw/csv/' TBLPROPERTIES ('skip.header.line.count'='1')")
                  .ok());
  EXPECT_EQ(catalog->GetTable("lake", "csvt")->storage->serde->parameters.at("field.delim"), "|");

  for (const char* bad : {"CREATE EXTERNAL TABLE x (a int)",                           // no location
                          "CREATE EXTERNAL TABLE x (a nosuchtype) LOCATION 's3://raw/x/'",
                          "CREATE TABLE x (a int) LOCATION 's3://raw/x/'",             // not external
                          "CREATE EXTERNAL TABLE x (a int) LOCATION '/etc/'",
                          "CREATE EXTERNAL TABLE x (a int LOCATION 's3://raw/x/'", "CREATE EXTERNAL TABLE",
                          "CREATE EXTERNAL TABLE x (a int) LOCATION 's3://raw/x/' garbage"}) {
    EXPECT_FALSE(Run(bad).ok()) << bad;
  }
}

TEST_F(StatementsTest, ShowDescribeAlterRepairAndDrop) {
  ASSERT_TRUE(Run("CREATE EXTERNAL TABLE logs (msg string) PARTITIONED BY (year string, month string) "
                  "STORED AS JSON LOCATION 's3://raw/logs/'")
                  .ok());
  EXPECT_EQ(Lines("SHOW TABLES"), std::vector<std::string>{"logs"});
  EXPECT_EQ(Lines("SHOW TABLES IN lake 'lo*'"), std::vector<std::string>{"logs"});
  EXPECT_TRUE(Lines("SHOW TABLES 'x*'").empty());
  EXPECT_EQ(Lines("SHOW DATABASES"), std::vector<std::string>{"lake"});
  auto described = Lines("DESCRIBE logs");
  ASSERT_GE(described.size(), 3u);
  EXPECT_EQ(described[0], "msg\tstring\t");
  EXPECT_EQ(Lines("SHOW COLUMNS IN logs"), (std::vector<std::string>{"msg", "year", "month"}));

  ASSERT_TRUE(Run("ALTER TABLE logs ADD PARTITION (year='2024', month='01') LOCATION 's3://raw/logs/2024/01/' "
                  "PARTITION (year = '2024', month = '02')")
                  .ok());
  EXPECT_FALSE(Run("ALTER TABLE logs ADD PARTITION (year='2024', month='01')").ok());
  EXPECT_TRUE(Run("ALTER TABLE logs ADD IF NOT EXISTS PARTITION (year='2024', month='01')").ok());
  EXPECT_FALSE(Run("ALTER TABLE logs ADD PARTITION (year='2024')").ok());
  EXPECT_EQ(catalog->GetPartition("lake", "logs", {"2024", "01"})->storage->location, "s3://raw/logs/2024/01/");

  // Files in key=value folders the catalog does not know yet.
  Put("logs/year=2024/month=03/a.json", "{}\n");
  Put("logs/year=2025/month=01/b.json", "{}\n");
  Put("logs/notapartition/c.json", "{}\n");
  auto repaired = Lines("MSCK REPAIR TABLE logs");
  ASSERT_EQ(repaired.size(), 3u);
  EXPECT_NE(repaired[0].find("logs:year=2024/month=03"), std::string::npos);
  EXPECT_EQ(Lines("SHOW PARTITIONS logs"),
            (std::vector<std::string>{"year=2024/month=01", "year=2024/month=02", "year=2024/month=03",
                                      "year=2025/month=01"}));
  EXPECT_TRUE(Lines("MSCK REPAIR TABLE logs").empty());  // nothing left to add
  ASSERT_TRUE(Run("ALTER TABLE logs DROP PARTITION (year='2025', month='01')").ok());
  EXPECT_EQ(Lines("SHOW PARTITIONS logs").size(), 3u);

  EXPECT_FALSE(Run("DROP DATABASE lake").ok());  // not empty
  ASSERT_TRUE(Run("DROP TABLE logs").ok());
  EXPECT_FALSE(Run("DROP TABLE logs").ok());
  EXPECT_TRUE(Run("DROP TABLE IF EXISTS logs").ok());
  ASSERT_TRUE(Run("CREATE DATABASE IF NOT EXISTS other COMMENT 'x'").ok());
  ASSERT_TRUE(Run("DROP SCHEMA other CASCADE").ok());
}

}  // namespace
}  // namespace eventlake::query
