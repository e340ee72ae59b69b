#include "catalog/crawler.h"

#include <gtest/gtest.h>

#include <zlib.h>

#include "query/inspector.h"
#include "query/test_lake.h"

namespace eventlake::query {
namespace {

std::string Gzip(const std::string& text) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(text.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

class CrawlerTest : public ::testing::Test, public LakeWorld {
 protected:
  void SetUp() override {
    ASSERT_TRUE(meta->Migrate(catalog::CrawlerService::Migrations()).ok());
    crawlers = std::make_unique<catalog::CrawlerService>(*meta, *catalog, *objects, inspector, clock);
  }
  catalog::CrawlerDefinition Crawler(const std::string& name, const std::string& path,
                                     const std::string& configuration = "") {
    catalog::CrawlerDefinition d;
    d.name = name;
    d.role = "arn:aws:iam::000000000000:role/crawler";
    d.database = "lake";
    d.targets = {{"S3Targets", nlohmann::json::array({{{"Path", path}}})}};
    d.configuration = configuration;
    return d;
  }
  std::vector<std::string> ColumnNames(const catalog::Table& t) {
    std::vector<std::string> out;
    for (const auto& c : t.storage->columns) out.push_back(c.name + ":" + c.type);
    return out;
  }
  DuckDbInspector inspector;
  std::unique_ptr<catalog::CrawlerService> crawlers;
};

TEST(HiveTypeTest, ComesFromDuckDbsTypes) {
  EXPECT_EQ(HiveType("BIGINT"), "bigint");
  EXPECT_EQ(HiveType("VARCHAR[]"), "array<string>");
  EXPECT_EQ(HiveType("STRUCT(\"name\" VARCHAR, \"tags\" BIGINT[], \"m\" MAP(VARCHAR, DOUBLE))"),
            "struct<name:string,tags:array<bigint>,m:map<string,double>>");
  EXPECT_EQ(HiveType("DECIMAL(10,2)"), "decimal(10,2)");
  EXPECT_EQ(HiveType("JSON"), "string");
}

TEST(CronTest, ParsesAwsCronAndFindsTheNextRun) {
  auto daily = catalog::CronSchedule::Parse("cron(15 12 * * ? *)");
  ASSERT_TRUE(daily.ok()) << daily.status().ToString();
  // 2023-11-14 22:13:20 UTC -> the next 12:15 is on the 15th.
  EXPECT_EQ(*daily->NextMs(1'700'000'000'000), 1'700'050'500'000);
  auto every5 = catalog::CronSchedule::Parse("cron(0/5 * ? * MON-FRI *)");
  ASSERT_TRUE(every5.ok());
  EXPECT_EQ(*every5->NextMs(1'700'000'000'000), 1'700'000'100'000);  // Tuesday 22:15
  for (const char* bad : {"rate(5 minutes)", "cron(* * * * *)", "cron(61 * * * ? *)", "cron(* * 1 * MON *)",
                          "cron(a * * * ? *)"}) {
    EXPECT_FALSE(catalog::CronSchedule::Parse(bad).ok()) << bad;
  }
}

TEST_F(CrawlerTest, KeyValueFoldersBecomePartitionsAndNewFieldsNewColumns) {
  Put("events/year=2024/month=01/a.json", "{\"id\": 1, \"kind\": \"click\"}\n{\"id\": 2, \"kind\": \"view\"}\n");
  Put("events/year=2024/month=02/b.json", "{\"id\": 3, \"kind\": \"click\"}\n");
  Put("events/year=2024/month=02/_SUCCESS", "x");
  ASSERT_TRUE(crawlers->Create(Crawler("c1", "s3://raw/events",
                                       R"({"Version":1.0,"CrawlerOutput":{"Tables":{"AddOrUpdateBehavior":"MergeNewColumns"}}})"))
                  .ok());
  auto report = crawlers->CrawlNow("c1");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->tables_created, 1);
  EXPECT_EQ(report->partitions_added, 2);
  auto t = catalog->GetTable("lake", "events");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(ColumnNames(*t), (std::vector<std::string>{"id:bigint", "kind:string"}));
  ASSERT_EQ(t->partition_keys.size(), 2u);
  EXPECT_EQ(t->partition_keys[0].name, "year");
  EXPECT_EQ(t->parameters.at("classification"), "json");
  EXPECT_EQ(t->storage->location, "s3://raw/events/");
  EXPECT_TRUE(catalog->GetPartition("lake", "events", {"2024", "02"}).ok());

  // A month later the events carry a new field.
  Put("events/year=2024/month=03/c.json", "{\"id\": 4, \"kind\": \"buy\", \"source\": \"app\"}\n");
  report = crawlers->CrawlNow("c1");
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->tables_updated, 1);
  EXPECT_EQ(report->partitions_added, 1);
  t = catalog->GetTable("lake", "events");
  EXPECT_EQ(ColumnNames(*t), (std::vector<std::string>{"id:bigint", "kind:string", "source:string"}));
  auto versions = catalog->ListTableVersions("lake", "events", "", 10);
  ASSERT_EQ(versions->items.size(), 2u);  // the history shows when "source" appeared
  // Nothing new: nothing changes.
  report = crawlers->CrawlNow("c1");
  EXPECT_EQ(report->tables_updated + report->tables_created + report->partitions_added, 0);
  // Ids with fractions: the column widens to double, and every file still reads.
  Put("events/year=2024/month=04/d.json", "{\"id\": 4.5, \"kind\": \"buy\"}\n");
  report = crawlers->CrawlNow("c1");
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->tables_updated, 1);
  t = catalog->GetTable("lake", "events");
  EXPECT_EQ(ColumnNames(*t), (std::vector<std::string>{"id:double", "kind:string", "source:string"}));
}

TEST_F(CrawlerTest, FirehoseFoldersAndCompressedFilesAndSeparateTables) {
  Put("stream/2024/06/01/13/delivery-1-2024-06-01-13-00-00-abc.gz", Gzip("{\"a\": 1}\n{\"a\": 2}\n"));
  Put("stream/2024/06/01/14/delivery-1-2024-06-01-14-00-00-abd.gz", Gzip("{\"a\": 3}\n"));
  ASSERT_TRUE(crawlers->Create(Crawler("fh", "s3://raw/stream/")).ok());
  ASSERT_TRUE(crawlers->CrawlNow("fh").ok());
  auto t = catalog->GetTable("lake", "stream");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->partition_keys.size(), 4u);
  EXPECT_EQ(t->partition_keys[3].name, "partition_3");
  EXPECT_EQ(t->parameters.at("compressionType"), "gzip");
  EXPECT_TRUE(catalog->GetPartition("lake", "stream", {"2024", "06", "01", "14"}).ok());

  // Two kinds of data under one path: a table each.
  Put("mixed/orders/a.json", "{\"order\": 1, \"total\": 2.5}\n");
  Put("mixed/users/a.json", "{\"user\": \"x\", \"email\": \"y\", \"age\": 3}\n");
  ASSERT_TRUE(crawlers->Create(Crawler("mx", "s3://raw/mixed/")).ok());
  auto report = crawlers->CrawlNow("mx");
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->tables_created, 2);
  EXPECT_TRUE(catalog->GetTable("lake", "orders").ok());
  EXPECT_TRUE(catalog->GetTable("lake", "users").ok());
}

TEST_F(CrawlerTest, ParquetAndCsvAndMissingFiles) {
  auto engine = std::move(*Engine::Open({}));
  const std::string local = dir + "/x.parquet";
  ASSERT_TRUE(engine->Execute("COPY (SELECT 1::INTEGER AS n, 'a' AS s, [1.5::DOUBLE] AS l) TO '" + local + "'").ok());
  Put("pq/part-0.parquet", *fs.ReadFile(local));
  Put("csv/a.csv", "name,count\nx,1\ny,2\n");
  ASSERT_TRUE(crawlers->Create(Crawler("pq", "s3://raw/pq/")).ok());
  ASSERT_TRUE(crawlers->CrawlNow("pq").ok());
  auto t = catalog->GetTable("lake", "pq");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(ColumnNames(*t), (std::vector<std::string>{"n:int", "s:string", "l:array<double>"}));
  EXPECT_EQ(t->parameters.at("classification"), "parquet");
  ASSERT_TRUE(crawlers->Create(Crawler("csv", "s3://raw/csv/")).ok());
  ASSERT_TRUE(crawlers->CrawlNow("csv").ok());
  t = catalog->GetTable("lake", "csv");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(ColumnNames(*t), (std::vector<std::string>{"name:string", "count:bigint"}));
  EXPECT_FALSE(crawlers->CrawlNow("nope").ok());
}

TEST_F(CrawlerTest, AScheduleStartsCrawlsOnTheClock) {
  Put("sched/a.json", "{\"x\": 1}\n");
  catalog::CrawlerDefinition d = Crawler("sched", "s3://raw/sched/");
  d.schedule = "cron(0 * * * ? *)";  // on the hour
  ASSERT_TRUE(crawlers->Create(d).ok());
  ASSERT_TRUE(crawlers->Start(std::chrono::milliseconds(5)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the scheduler notes the next run
  EXPECT_TRUE(crawlers->Get("sched")->last_status.empty());
  clock.Advance(std::chrono::hours(1));
  for (int i = 0; i < 500 && crawlers->Get("sched")->last_status.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int i = 0; i < 500 && crawlers->Get("sched")->state != "READY"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(crawlers->Get("sched")->last_status, "SUCCEEDED");
  EXPECT_TRUE(catalog->GetTable("lake", "sched").ok());
  crawlers->Stop();
}

TEST_F(CrawlerTest, StartRunsInTheBackgroundAndReportsItsState) {
  Put("bg/a.json", "{\"x\": 1}\n");
  ASSERT_TRUE(crawlers->Create(Crawler("bg", "s3://raw/bg/")).ok());
  EXPECT_EQ(crawlers->Create(Crawler("bg", "s3://raw/bg/")).type(), "AlreadyExistsException");
  ASSERT_TRUE(crawlers->Start(std::chrono::milliseconds(10)).ok());
  ASSERT_TRUE(crawlers->StartCrawl("bg").ok());
  for (int i = 0; i < 500 && crawlers->Get("bg")->state != "READY"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto s = crawlers->Get("bg");
  EXPECT_EQ(s->state, "READY");
  EXPECT_EQ(s->last_status, "SUCCEEDED");
  EXPECT_EQ(s->last_report.tables_created, 1);
  EXPECT_EQ(crawlers->StopCrawl("bg").type(), "CrawlerNotRunningException");
  crawlers->Stop();
}

}  // namespace
}  // namespace eventlake::query
