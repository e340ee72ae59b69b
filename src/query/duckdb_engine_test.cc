#include "query/duckdb_engine.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/test_dir.h"

namespace eventlake::query {
namespace {

TEST(DuckDbEngineTest, LinksThePinnedLibrary) { EXPECT_EQ(DuckDbVersion(), "v1.4.4"); }

std::unique_ptr<Engine> Open() {
  auto e = Engine::Open({});
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return std::move(*e);
}

TEST(DuckDbEngineTest, RowsComeBackAsTextWithTheirTypes) {
  auto e = Open();
  std::vector<ResultColumn> cols;
  std::vector<TextRow> rows;
  ASSERT_TRUE(e->Query("SELECT 1 AS n, NULL::VARCHAR AS missing, [1, 2] AS list, {'a': 1.5} AS s, "
                       "DATE '2024-06-01' AS d, 12.30::DECIMAL(10,2) AS money",
                       [&](std::vector<ResultColumn> c) { cols = std::move(c); },
                       [&](TextRow&& r) {
                         rows.push_back(std::move(r));
                         return true;
                       })
                  .ok());
  ASSERT_EQ(cols.size(), 6u);
  EXPECT_EQ(cols[0].name, "n");
  EXPECT_EQ(cols[0].type, "INTEGER");
  EXPECT_EQ(cols[2].type, "INTEGER[]");
  EXPECT_EQ(cols[3].type, "STRUCT(\"a\" DECIMAL(2,1))");
  EXPECT_EQ(cols[5].type, "DECIMAL(10,2)");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(*rows[0][0], "1");
  EXPECT_FALSE(rows[0][1].has_value());
  EXPECT_EQ(*rows[0][2], "[1, 2]");
  EXPECT_EQ(*rows[0][4], "2024-06-01");
  EXPECT_EQ(*rows[0][5], "12.30");
}

TEST(DuckDbEngineTest, ErrorsCarryDuckDbsMessage) {
  auto e = Open();
  Status s = e->Query("SELEC 1", [](auto) {}, [](TextRow&&) { return true; });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("syntax error"), std::string::npos) << s.message();
  EXPECT_FALSE(e->IsQuery("SELECT 1; SELECT 2").ok());
  EXPECT_TRUE(*e->IsQuery("WITH a AS (SELECT 1) SELECT * FROM a"));
  EXPECT_FALSE(*e->IsQuery("CREATE TABLE t(a INT)"));
}

TEST(DuckDbEngineTest, FindsTheTablesAQueryNames) {
  auto e = Open();
  auto t = e->ReferencedTables(
      "WITH recent AS (SELECT * FROM lake.events WHERE y > 1) SELECT * FROM recent JOIN users u ON true "
      "WHERE EXISTS (SELECT 1 FROM \"Other\".\"Clicks\")");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  std::vector<std::pair<std::string, std::string>> want = {{"lake", "events"}, {"", "users"}, {"Other", "Clicks"}};
  std::sort(t->begin(), t->end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*t, want);
}

TEST(DuckDbEngineTest, CountsTheBytesItReads) {
  const std::string dir = FreshTestDir();
  auto e = Open();
  ASSERT_TRUE(e->Execute("COPY (SELECT range AS id FROM range(100000)) TO '" + dir + "/a.parquet'").ok());
  ASSERT_TRUE(e->CountReads().ok());
  auto before = e->BytesRead();
  ASSERT_TRUE(e->Query("SELECT sum(id) FROM read_parquet('" + dir + "/a.parquet')", [](auto) {},
                       [](TextRow&&) { return true; })
                  .ok());
  auto after = e->BytesRead();
  ASSERT_TRUE(after.ok());
  EXPECT_GT(*after - *before, 1000);
}

TEST(DuckDbEngineTest, AnInterruptStopsALongQuery) {
  auto e = Open();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    e->Interrupt();
  });
  Status s = e->Query("SELECT count(*) FROM range(10000000000) a", [](auto) {}, [](TextRow&&) { return true; });
  stopper.join();
  EXPECT_EQ(s.code(), StatusCode::kCancelled) << s.ToString();
}

}  // namespace
}  // namespace eventlake::query
