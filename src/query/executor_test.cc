#include "query/executor.h"

#include <gtest/gtest.h>

#include "query/test_lake.h"

#include <filesystem>

namespace eventlake::query {
namespace {

class ExecutorTest : public ::testing::Test, public LakeWorld {
 protected:
  void SetUp() override {
    Put("t/a.json", "{\"id\": 1, \"name\": \"x\"}\n{\"id\": 2}\n");
    catalog::Table t;
    t.name = "t";
    catalog::StorageDescriptor sd;
    sd.columns = {{"id", "bigint", "", {}}, {"name", "string", "", {}}};
    sd.location = "s3://raw/t/";
    sd.serde = catalog::SerDeInfo{"", "org.openx.data.jsonserde.JsonSerDe", {}};
    t.storage = sd;
    ASSERT_TRUE(catalog->CreateTable("lake", t).ok());
    Open();
  }
  void Open() {
    executor_.reset();
    ExecutorOptions eo;
    eo.work_dir = dir + "/query";
    eo.timeout = timeout_;
    eo.max_concurrent = max_concurrent_;
    eo.max_queued = max_queued_;
    eo.memory_limit_bytes = memory_limit_;
    executor_ = std::make_unique<QueryExecutor>(*meta, *catalog, *objects, clock, eo);
    ASSERT_TRUE(executor_->Start().ok());
  }
  Execution Run(const std::string& sql, const std::string& db = "lake") {
    SubmitRequest r;
    r.sql = sql;
    r.database = db;
    r.output_location = "s3://processed/results/";
    auto id = executor_->Submit(r);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return Wait(*id);
  }
  Execution Wait(const std::string& id) {
    for (;;) {
      auto e = executor_->Get(id);
      EXPECT_TRUE(e.ok());
      if (e->state != State::kQueued && e->state != State::kRunning) return *e;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::chrono::milliseconds timeout_{std::chrono::minutes(1)};
  int max_concurrent_ = 2, max_queued_ = 100;
  int64_t memory_limit_ = 2LL << 30;
  std::unique_ptr<QueryExecutor> executor_;
};

TEST_F(ExecutorTest, ASelectSucceedsWithAHeaderAndItsResultsFile) {
  Execution e = Run("SELECT id, name FROM t ORDER BY id");
  ASSERT_EQ(e.state, State::kSucceeded) << e.state_reason;
  EXPECT_EQ(e.output_location, "s3://processed/results/" + e.id + ".csv");
  ASSERT_EQ(e.columns.size(), 2u);
  EXPECT_EQ(e.columns[0].type, "bigint");
  auto page = executor_->Results(e.id, "", 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->rows.size(), 2u);
  EXPECT_EQ(*page->rows[0][0], "id");  // the header
  EXPECT_EQ(*page->rows[1][1], "x");
  auto rest = executor_->Results(e.id, page->next_token, 10);
  ASSERT_EQ(rest->rows.size(), 1u);
  EXPECT_FALSE(rest->rows[0][1].has_value());
  EXPECT_TRUE(rest->next_token.empty());
  EXPECT_TRUE(objects->Head("processed", "results/" + e.id + ".csv", "").ok());
  // After a restart the results are read back from the file.
  Open();
  auto again = executor_->Results(e.id, "", 10);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(again->rows.size(), 3u);
  EXPECT_FALSE(again->rows[2][1].has_value());
  EXPECT_EQ(*again->rows[1][1], "x");
}

TEST_F(ExecutorTest, QualifiedNamesAndFailures) {
  EXPECT_EQ(Run("SELECT count(*) FROM lake.t", "").state, State::kSucceeded);
  Execution bad = Run("SELECT nope FROM t");
  EXPECT_EQ(bad.state, State::kFailed);
  EXPECT_NE(bad.state_reason.find("nope"), std::string::npos) << bad.state_reason;
  EXPECT_EQ(Run("SELECT * FROM read_text('/etc/passwd')").state, State::kFailed);
  EXPECT_EQ(Run("CREATE TABLE x (a INT)").state, State::kFailed);
  EXPECT_EQ(Run("INSERT INTO t VALUES (1)").state, State::kFailed);
}

TEST_F(ExecutorTest, CreateTableAsSelectWritesTheProcessedZone) {
  Execution e = Run("CREATE TABLE lake.copy WITH (format = 'PARQUET', partitioned_by = ARRAY['kind']) AS "
                    "SELECT id, name, CASE WHEN id = 1 THEN 'a' ELSE 'b' END AS kind FROM t;");
  ASSERT_EQ(e.state, State::kSucceeded) << e.state_reason;
  EXPECT_EQ(e.statement_type, "DDL");
  EXPECT_EQ(e.update_count.value_or(-1), 2);
  auto table = catalog->GetTable("lake", "copy");
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->storage->location, "s3://processed/tables/lake/copy/");
  ASSERT_EQ(table->partition_keys.size(), 1u);
  EXPECT_EQ(table->storage->columns.size(), 2u);
  EXPECT_TRUE(catalog->GetPartition("lake", "copy", {"b"}).ok());
  Execution count = Run("SELECT count(*), count(name), max(kind) FROM copy WHERE kind = 'b'");
  ASSERT_EQ(count.state, State::kSucceeded) << count.state_reason;
  auto page = executor_->Results(count.id, "", 10);
  EXPECT_EQ(*page->rows[1][0], "1");
  // Again: the table exists; into a location that holds files: refused.
  EXPECT_EQ(Run("CREATE TABLE copy AS SELECT 1 AS x").state, State::kFailed);
  EXPECT_EQ(Run("CREATE TABLE IF NOT EXISTS copy AS SELECT 1 AS x").state, State::kSucceeded);
  EXPECT_EQ(Run("CREATE TABLE other WITH (external_location = 's3://processed/tables/lake/copy/') AS SELECT 1 AS x")
                .state,
            State::kFailed);
  Execution json = Run("CREATE TABLE j WITH (format = 'JSON') AS SELECT id FROM t");
  ASSERT_EQ(json.state, State::kSucceeded) << json.state_reason;
  Execution back = Run("SELECT sum(id) FROM j");
  ASSERT_EQ(back.state, State::kSucceeded) << back.state_reason;
  EXPECT_EQ(*executor_->Results(back.id, "", 10)->rows[1][0], "3");
  // Only a SELECT goes into COPY.
  EXPECT_EQ(Run("CREATE TABLE evil AS SELECT 1) TO '/tmp/el-evil.csv' (FORMAT CSV); SELECT (1").state, State::kFailed);
}

TEST_F(ExecutorTest, ResultsMatchDuckDbRunDirectlyOverTheSameFiles) {
  // Parquet files in three partitions, written by DuckDB, put into the lake, registered, queried both ways.
  auto writer = std::move(*Engine::Open({}));
  catalog::Table t;
  t.name = "pq";
  catalog::StorageDescriptor sd;
  sd.columns = {{"id", "bigint", "", {}}, {"amount", "double", "", {}}, {"kind", "string", "", {}}};
  sd.location = "s3://raw/pq/";
  sd.serde = catalog::SerDeInfo{"", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe", {}};
  t.storage = sd;
  t.partition_keys = {{"day", "string", "", {}}};
  ASSERT_TRUE(catalog->CreateTable("lake", t).ok());
  for (int day = 1; day <= 3; ++day) {
    const std::string local = dir + "/direct/day=" + std::to_string(day) + "/part.parquet";
    std::filesystem::create_directories(dir + "/direct/day=" + std::to_string(day));
    ASSERT_TRUE(writer->Execute("COPY (SELECT range AS id, (range * 0.25)::DOUBLE AS amount, ['a', 'b', 'c'][range % 3 + 1] AS "
                                "kind FROM range(" + std::to_string(day * 1000) + ", " + std::to_string(day * 1000 + 5000) +
                                ")) TO '" + local + "'")
                    .ok());
    Put("pq/day=" + std::to_string(day) + "/part.parquet", *fs.ReadFile(local));
    catalog::Partition p;
    p.values = {std::to_string(day)};
    ASSERT_TRUE(catalog->CreatePartition("lake", "pq", p).ok());
  }
  const std::string sql = "SELECT kind, day, count(*) AS n, sum(id) AS ids, min(amount) AS low FROM {t} "
                          "WHERE day <> '2' GROUP BY kind, day ORDER BY kind, day";
  std::string direct_sql = sql;
  direct_sql.replace(direct_sql.find("{t}"), 3, "read_parquet('" + dir + "/direct/*/*.parquet', hive_partitioning = "
                                                "true, hive_types = {'day': 'VARCHAR'})");
  std::vector<TextRow> direct;
  ASSERT_TRUE(writer->Query(direct_sql, [](auto) {}, [&](TextRow&& r) {
                       direct.push_back(std::move(r));
                       return true;
                     })
                  .ok());
  std::string ours = sql;
  ours.replace(ours.find("{t}"), 3, "pq");
  Execution e = Run(ours);
  ASSERT_EQ(e.state, State::kSucceeded) << e.state_reason;
  auto page = executor_->Results(e.id, "", 100);
  ASSERT_TRUE(page.ok());
  std::vector<TextRow> rows(page->rows.begin() + 1, page->rows.end());  // past the header
  EXPECT_EQ(rows, direct);
  EXPECT_EQ(rows.size(), 6u);
}

TEST_F(ExecutorTest, QueriesQueueBehindALimitAndEachHasItsMemoryLimit) {
  max_concurrent_ = 1;
  max_queued_ = 1;
  memory_limit_ = 96LL << 20;
  Open();
  Execution limit = Run("SELECT current_setting('memory_limit') AS m");
  ASSERT_EQ(limit.state, State::kSucceeded) << limit.state_reason;
  EXPECT_EQ(*executor_->Results(limit.id, "", 10)->rows[1][0], "96.0 MiB");
  SubmitRequest slow;
  slow.sql = "SELECT count(*) FROM range(100000000000)";
  slow.output_location = "s3://processed/results/";
  auto running = executor_->Submit(slow);
  ASSERT_TRUE(running.ok());
  for (int i = 0; i < 500 && executor_->Get(*running)->state != State::kRunning; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto queued = executor_->Submit(slow);
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(executor_->Get(*queued)->state, State::kQueued);
  auto refused = executor_->Submit(slow);
  EXPECT_EQ(refused.status().type(), "TooManyRequestsException");
  ASSERT_TRUE(executor_->Cancel(*queued).ok());
  EXPECT_EQ(executor_->Get(*queued)->state, State::kCancelled);
  ASSERT_TRUE(executor_->Cancel(*running).ok());
  EXPECT_EQ(Wait(*running).state, State::kCancelled);
}

TEST_F(ExecutorTest, AthenaFunctionsDuckDbSpellsDifferently) {
  Execution e = Run("SELECT approx_distinct(id) AS d, json_extract_scalar('{\"a\": \"x\"}', '$.a') AS j, "
                    "date_format(TIMESTAMP '2024-06-01 10:11:12', '%Y/%m/%d %H:%i:%s') AS f, "
                    "strptime('2024-06-01 10:11:12', '%Y-%m-%d %H:%M:%S') AS p, "
                    "to_unixtime(TIMESTAMP '1970-01-02 00:00:00') AS u, regexp_like(max(name), '^x') AS r, "
                    "approx_percentile(id, 0.5) AS m FROM t WHERE id = 1");
  ASSERT_EQ(e.state, State::kSucceeded) << e.state_reason;
  auto page = executor_->Results(e.id, "", 10);
  ASSERT_EQ(page->rows.size(), 2u);
  const TextRow& r = page->rows[1];
  EXPECT_EQ(*r[0], "1");
  EXPECT_EQ(*r[1], "x");
  EXPECT_EQ(*r[2], "2024/06/01 10:11:12");
  EXPECT_EQ(*r[3], "2024-06-01 10:11:12");
  EXPECT_EQ(*r[4], "86400.0");
  EXPECT_EQ(*r[5], "true");
}

TEST_F(ExecutorTest, ATimeoutStopsAQuery) {
  timeout_ = std::chrono::milliseconds(300);
  Open();
  Execution e = Run("SELECT count(*) FROM range(100000000000)");
  EXPECT_EQ(e.state, State::kFailed);
  EXPECT_NE(e.state_reason.find("timeout"), std::string::npos) << e.state_reason;
}

}  // namespace
}  // namespace eventlake::query
