#include "query/lake.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "query/test_lake.h"

namespace eventlake::query {
namespace {

TEST(HiveTypesTest, BecomeDuckDbTypes) {
  EXPECT_EQ(*DuckDbType("bigint"), "BIGINT");
  EXPECT_EQ(*DuckDbType("STRING"), "VARCHAR");
  EXPECT_EQ(*DuckDbType("decimal(10, 2)"), "DECIMAL(10,2)");
  EXPECT_EQ(*DuckDbType("array<struct<a:int,b:map<string,double>>>"),
            "STRUCT(\"a\" INTEGER, \"b\" MAP(VARCHAR, DOUBLE))[]");
  EXPECT_EQ(*DuckDbType("row(x bigint, y varchar)"), "STRUCT(\"x\" BIGINT, \"y\" VARCHAR)");
  for (const char* bad : {"", "strin", "array<int", "map<int>", "decimal(99,1)", "struct<>", "array<int>>"}) {
    EXPECT_FALSE(DuckDbType(bad).ok()) << bad;
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "array<";
  EXPECT_FALSE(DuckDbType(deep + "int").ok());
}

class LakeTest : public ::testing::Test, public LakeWorld {
 protected:
  catalog::Table JsonTable(const std::string& name, bool partitioned) {
    catalog::Table t;
    t.name = name;
    t.database = "lake";
    catalog::StorageDescriptor sd;
    sd.columns = {{"id", "bigint", "", {}}, {"msg", "string", "", {}}, {"source", "string", "", {}}};
    sd.location = "s3://raw/" + name + "/";
    sd.serde = catalog::SerDeInfo{"", "org.openx.data.jsonserde.JsonSerDe", {}};
    t.storage = sd;
    if (partitioned) t.partition_keys = {{"year", "int", "", {}}, {"month", "string", "", {}}};
    return t;
  }
  std::vector<TextRow> Rows(Engine& e, const std::string& sql) {
    std::vector<TextRow> rows;
    Status s = e.Query(sql, [](auto) {}, [&](TextRow&& r) {
      rows.push_back(std::move(r));
      return true;
    });
    EXPECT_TRUE(s.ok()) << sql << ": " << s.ToString();
    return rows;
  }
};

TEST_F(LakeTest, AnUnpartitionedJsonTableReadsEveryFileWithMissingColumnsAsNull) {
  Put("events/a.json", "{\"id\": 1, \"msg\": \"one\"}\n{\"id\": 2, \"msg\": \"two\"}\n");
  Put("events/later/b.json", "{\"id\": 3, \"msg\": \"three\", \"source\": \"app\", \"extra\": true}\n");
  Put("events/_SUCCESS", "");
  Put("events/.hidden", "not json");
  Put("other/c.json", "{\"id\": 99}\n");
  ASSERT_TRUE(catalog->CreateTable("lake", JsonTable("events", false)).ok());
  auto engine = std::move(*Engine::Open({}));
  LakeTables lake(*catalog, *objects, dir + "/farms");
  auto covered = lake.Define(*engine, *catalog->GetTable("lake", "events"));
  ASSERT_TRUE(covered.ok()) << covered.status().ToString();
  EXPECT_EQ(covered->files, 2);
  auto rows = Rows(*engine, "SELECT id, msg, source FROM lake.events ORDER BY id");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_FALSE(rows[0][2].has_value());  // the older file has no "source"
  EXPECT_EQ(*rows[2][2], "app");
  EXPECT_EQ(Rows(*engine, "SELECT * FROM lake.events")[0].size(), 3u);  // "extra" is not in the catalog
}

TEST_F(LakeTest, PartitionsBecomeColumnsAndFiltersSkipTheirFiles) {
  std::string big;
  for (int i = 0; i < 2000; ++i) big += "{\"id\": " + std::to_string(i) + ", \"msg\": \"padding padding padding\"}\n";
  Put("logs/year=2023/month=12/a.json", big);
  Put("logs/year=2024/month=01/a.json", big);
  Put("logs/year=2024/month=02/a.json", "{\"id\": 7, \"msg\": \"seven\"}\n");
  Put("logs/year=2024/month=03/unregistered.json", big);  // not a partition in the catalog: not read
  ASSERT_TRUE(catalog->CreateTable("lake", JsonTable("logs", true)).ok());
  for (auto values : std::vector<std::vector<std::string>>{{"2023", "12"}, {"2024", "01"}, {"2024", "02"}}) {
    catalog::Partition p;
    p.values = values;
    ASSERT_TRUE(catalog->CreatePartition("lake", "logs", p).ok());
  }
  LakeTables lake(*catalog, *objects, dir + "/farms");
  auto all = std::move(*Engine::Open({}));
  ASSERT_TRUE(lake.Define(*all, *catalog->GetTable("lake", "logs")).ok());
  ASSERT_TRUE(all->CountReads().ok());
  EXPECT_EQ(*Rows(*all, "SELECT count(*) FROM lake.logs")[0][0], "4001");
  const int64_t full = *all->BytesRead();
  auto some = std::move(*Engine::Open({}));
  ASSERT_TRUE(lake.Define(*some, *catalog->GetTable("lake", "logs")).ok());
  ASSERT_TRUE(some->CountReads().ok());
  const int64_t before = *some->BytesRead();
  auto rows = Rows(*some, "SELECT id, msg, year, month FROM lake.logs WHERE year = 2024 AND month = '02'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(*rows[0][0], "7");
  EXPECT_EQ(*rows[0][2], "2024");
  EXPECT_LT(*some->BytesRead() - before, full / 10);  // the other partitions' files are not read
}

TEST_F(LakeTest, ParquetFilesWrittenByAnyoneAreReadByName) {
  auto writer = std::move(*Engine::Open({}));
  const std::string local = dir + "/local.parquet";
  ASSERT_TRUE(writer->Execute("COPY (SELECT range AS ID, 'm' || range AS msg FROM range(10)) TO '" + local + "'").ok());
  std::string bytes;
  ASSERT_TRUE(fs.ReadFile(local).ok());
  Put("pq/part-0000.snappy.parquet", *fs.ReadFile(local));
  catalog::Table t = JsonTable("pq", false);
  t.storage->serde = catalog::SerDeInfo{"", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe", {}};
  ASSERT_TRUE(catalog->CreateTable("lake", t).ok());
  LakeTables lake(*catalog, *objects, dir + "/farms");
  auto engine = std::move(*Engine::Open({}));
  ASSERT_TRUE(lake.Define(*engine, *catalog->GetTable("lake", "pq")).ok());
  auto rows = Rows(*engine, "SELECT sum(id), count(source) FROM lake.pq");
  EXPECT_EQ(*rows[0][0], "45");
  EXPECT_EQ(*rows[0][1], "0");
}

TEST_F(LakeTest, AnEmptyTableHasItsColumnsAndNoRows) {
  ASSERT_TRUE(catalog->CreateTable("lake", JsonTable("empty", true)).ok());
  LakeTables lake(*catalog, *objects, dir + "/farms");
  auto engine = std::move(*Engine::Open({}));
  ASSERT_TRUE(lake.Define(*engine, *catalog->GetTable("lake", "empty")).ok());
  EXPECT_TRUE(Rows(*engine, "SELECT id, year FROM lake.empty").empty());
}

}  // namespace
}  // namespace eventlake::query
