#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "auth/crypto.h"
#include "common/test_dir.h"
#include "delivery/codec.h"
#include "delivery/convert.h"
#include "delivery/config.h"
#include "delivery/delivery_service.h"
#include "delivery/prefix.h"
#include "delivery/processors.h"
#include "io/file_system.h"
#include "meta/store.h"
#include "objects/object_store.h"
#include "query/duckdb_engine.h"

namespace eventlake::delivery {
namespace {

// 2018-07-06T23:05:09.123Z
constexpr int64_t kJuly6 = 1530918309123;

std::string Eval(const std::string& text, int64_t ms, const std::string& zone = "UTC") {
  auto t = PrefixTemplate::Parse(text, PrefixTemplate::Kind::kPrefix);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  auto tz = TimeZone::Named(zone);
  EXPECT_TRUE(tz.ok());
  PrefixTemplate::Values v;
  v.time_ms = ms;
  v.zone = &*tz;
  return t->Evaluate(v);
}

TEST(PrefixTest, TimestampPatternsAsJavaFormatsThem) {
  EXPECT_EQ(Eval("myPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/",
                 kJuly6),
            "myPrefix/year=2018/month=07/day=06/hour=23/");
  EXPECT_EQ(Eval("dt=!{timestamp:yyyy'-'MM'-'dd}/", kJuly6), "dt=2018-07-06/");
  EXPECT_EQ(Eval("!{timestamp:yyyy-MM-dd'T'HH:mm:ss.SSS}", kJuly6), "2018-07-06T23:05:09.123");
  EXPECT_EQ(Eval("!{timestamp:yy/M/d/h a/EEE/MMM/D}", kJuly6), "18/7/6/11 PM/Fri/Jul/187");
  EXPECT_EQ(Eval("!{timestamp:''yyyy''}", kJuly6), "'2018'");
  // CustomTimeZone moves the fields.
  EXPECT_EQ(Eval("!{timestamp:yyyy/MM/dd/HH/}", kJuly6, "Asia/Tokyo"), "2018/07/07/08/");
  EXPECT_EQ(Eval("!{timestamp:HH:mmXXX}", kJuly6, "America/New_York"), "19:05-04:00");
}

TEST(PrefixTest, RefusesWhatFirehoseRefuses) {
  using K = PrefixTemplate::Kind;
  EXPECT_FALSE(PrefixTemplate::Parse("a/!{timestamp:yyyy", K::kPrefix).ok());
  EXPECT_FALSE(PrefixTemplate::Parse("a/!{nope:x}/", K::kPrefix).ok());
  EXPECT_FALSE(PrefixTemplate::Parse("a/!{timestamp:yyyy-bb}/", K::kPrefix).ok());
  EXPECT_FALSE(PrefixTemplate::Parse("!{firehose:error-output-type}/", K::kPrefix).ok());
  EXPECT_FALSE(PrefixTemplate::Parse("!{partitionKeyFromQuery:a}/", K::kErrorPrefix).ok());
  EXPECT_FALSE(PrefixTemplate::Parse("!{firehose:bogus}/", K::kPrefix).ok());

  auto prefix = PrefixTemplate::Parse("p/!{timestamp:yyyy}/", K::kPrefix);
  auto no_type = PrefixTemplate::Parse("e/!{timestamp:yyyy}/", K::kErrorPrefix);
  auto with_type = PrefixTemplate::Parse("e/!{firehose:error-output-type}/", K::kErrorPrefix);
  ASSERT_TRUE(prefix.ok() && no_type.ok() && with_type.ok());
  EXPECT_FALSE(ValidatePrefixes(*prefix, nullptr, false).ok());    // expressions need an error prefix
  EXPECT_FALSE(ValidatePrefixes(*prefix, &*no_type, false).ok());  // which names the error type
  EXPECT_TRUE(ValidatePrefixes(*prefix, &*with_type, false).ok());
  auto keyed = PrefixTemplate::Parse("c=!{partitionKeyFromQuery:c}/", K::kPrefix);
  ASSERT_TRUE(keyed.ok());
  EXPECT_FALSE(ValidatePrefixes(*keyed, &*with_type, false).ok());  // keys need dynamic partitioning
  EXPECT_TRUE(ValidatePrefixes(*keyed, &*with_type, true).ok());
  auto plain = PrefixTemplate::Parse("plain/", K::kPrefix);
  EXPECT_TRUE(ValidatePrefixes(*plain, nullptr, false).ok());
}

TEST(PrefixTest, RandomStringsAreNewPerOccurrenceAndRepeatableBySeed) {
  auto t = PrefixTemplate::Parse("!{firehose:random-string}/!{firehose:random-string}/", PrefixTemplate::Kind::kPrefix);
  ASSERT_TRUE(t.ok());
  PrefixTemplate::Values v;
  v.seed = 42;
  const std::string a = t->Evaluate(v);
  EXPECT_EQ(a.size(), 24u);
  EXPECT_NE(a.substr(0, 11), a.substr(12, 11));
  EXPECT_EQ(t->Evaluate(v), a);
}

TEST(CodecTest, EveryFormatRoundTrips) {
  std::string data;
  for (int i = 0; i < 50000; ++i) data += "{\"n\":" + std::to_string(i) + ",\"s\":\"abcabc\"}\n";
  for (auto c : {Compression::kUncompressed, Compression::kGzip, Compression::kZip, Compression::kSnappy,
                 Compression::kHadoopSnappy}) {
    auto packed = Compress(c, data, "entry");
    ASSERT_TRUE(packed.ok()) << CompressionName(c) << ": " << packed.status().ToString();
    if (c != Compression::kUncompressed) {
      EXPECT_LT(packed->size(), data.size() / 2) << CompressionName(c);
    }
    auto unpacked = Decompress(c, *packed, 64 << 20);
    ASSERT_TRUE(unpacked.ok()) << CompressionName(c) << ": " << unpacked.status().ToString();
    EXPECT_EQ(*unpacked, data) << CompressionName(c);
  }
  // The Snappy framing format starts with its stream identifier.
  EXPECT_EQ(Compress(Compression::kSnappy, "x", "")->substr(0, 10), std::string("\xff\x06\x00\x00sNaPpY", 10));
}

TEST(ProcessorTest, SplitsConcatenatedJson) {
  std::vector<std::string_view> parts;
  ASSERT_TRUE(SplitJsonObjects("{\"a\":\"}{\"}{\"b\":[1,{}]}\n {\"c\":2}", &parts));
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], "{\"a\":\"}{\"}");
  EXPECT_EQ(parts[1], "{\"b\":[1,{}]}");
  parts.clear();
  EXPECT_FALSE(SplitJsonObjects("{\"a\":1} 12", &parts));
  EXPECT_FALSE(SplitJsonObjects("{\"a\":1", &parts));
}

TEST(ProcessorTest, JqExtractsPartitionKeys) {
  auto q = JqQuery::Compile("{customer_id: .customer_id, device: .type.device, year: .ts | strftime(\"%Y\")}");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  auto keys = (*q)->Run(R"({"customer_id": 42, "type": {"device": "phone"}, "ts": 1530918309})");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ((*keys)["customer_id"], "42");
  EXPECT_EQ((*keys)["device"], "phone");
  EXPECT_EQ((*keys)["year"], "2018");
  EXPECT_FALSE((*q)->Run("not json").ok());
  // A date beyond what gmtime converts fails the record (jq 1.6 itself would abort the process).
  EXPECT_FALSE((*q)->Run(R"({"customer_id": 1, "type": {"device": "d"}, "ts": 1e20})").ok());
  EXPECT_FALSE((*q)->Run(R"({"type": {}})").ok());  // null keys cannot partition
  EXPECT_FALSE(JqQuery::Compile("{a: .a").ok());
  // Queries that could hang the stream, stop the server or read its environment are refused.
  for (const char* q : {"{a: env.HOME}", "{a: $ENV.PATH}", "{a: [range(1e12)] | length}", "def f: f; {a: f}",
                        "{a: input}", "{a: .x | implode}", "{a: halt}"}) {
    EXPECT_FALSE(JqQuery::Compile(q).ok()) << q;
  }
  EXPECT_TRUE(JqQuery::Compile("{env: .env, a: \"range\"}").ok());  // a field and a string are fine
}

// An aggregated record as the KPL writes it.
std::string KplAggregate(const std::vector<std::string>& records) {
  auto varint = [](std::string& out, uint64_t v) {
    while (v >= 0x80) {
      out += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out += static_cast<char>(v);
  };
  std::string msg;
  msg += static_cast<char>(0x0a);  // partition_key_table
  varint(msg, 2);
  msg += "pk";
  for (const auto& r : records) {
    std::string rec;
    rec += static_cast<char>(0x08);  // partition_key_index
    varint(rec, 0);
    rec += static_cast<char>(0x1a);  // data
    varint(rec, r.size());
    rec += r;
    msg += static_cast<char>(0x1a);  // records
    varint(msg, rec.size());
    msg += rec;
  }
  const auto md5 = auth::Md5(msg);
  return std::string("\xF3\x89\x9A\xC2", 4) + msg + std::string(reinterpret_cast<const char*>(md5.data()), 16);
}

TEST(ProcessorTest, DeaggregatesKplRecords) {
  auto out = DeaggregateKpl(KplAggregate({"one", "two", "three"}));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(*DeaggregateKpl("plain"), std::vector<std::string>{"plain"});
}

TEST(ProcessorTest, RunsInFirehoseOrder) {
  std::vector<ProcessorSpec> specs = {
      {"AppendDelimiterToRecord", {}},
      {"MetadataExtraction", {{"MetadataExtractionQuery", "{c: .c}"}, {"JsonParsingEngine", "JQ-1.6"}}},
      {"RecordDeAggregation", {{"SubRecordType", "JSON"}}}};
  auto p = RecordProcessor::Create(specs, false);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::vector<ProcessedRecord> out;
  ProcessingFailure failure;
  ASSERT_TRUE((*p)->Process(R"({"c":"x"}{"c":"y"})", &out, &failure));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, "{\"c\":\"x\"}\n");
  EXPECT_EQ(out[1].partition_keys.at("c"), "y");
  EXPECT_FALSE((*p)->Process("nope", &out, &failure));
  EXPECT_EQ(failure.error_code, "Deaggregation.Failed");
  // A KPL aggregate of JSON records, put directly: opened, then split.
  ASSERT_TRUE((*p)->Process(KplAggregate({R"({"c":"k1"})", R"({"c":"k2"}{"c":"k3"})"}), &out, &failure));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].partition_keys.at("c"), "k3");
}

TEST(ConfigTest, FillsAwsDefaultsAndChecksRules) {
  json config = {{"RoleARN", "arn:aws:iam::000000000000:role/r"}, {"BucketARN", "arn:aws:s3:::raw"}};
  auto d = DescribeNewDestination(config, false);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((*d)["BufferingHints"]["SizeInMBs"], 5);
  EXPECT_EQ((*d)["BufferingHints"]["IntervalInSeconds"], 300);
  EXPECT_EQ((*d)["CompressionFormat"], "UNCOMPRESSED");
  EXPECT_EQ((*d)["EncryptionConfiguration"]["NoEncryptionConfig"], "NoEncryption");
  EXPECT_EQ((*d)["S3BackupMode"], "Disabled");
  auto s = SettingsFrom(*d);
  ASSERT_TRUE(s.ok());
  PrefixTemplate::Values v;
  v.time_ms = kJuly6;
  EXPECT_EQ(s->main.prefix.Evaluate(v), "2018/07/06/23/");
  v.error_type = "processing-failed";
  EXPECT_EQ(s->main.error_prefix.Evaluate(v), "processing-failed/2018/07/06/23/");

  json half = config;
  half["BufferingHints"] = {{"SizeInMBs", 1}};
  EXPECT_FALSE(DescribeNewDestination(half, false).ok());
  json gz = config;
  gz["CompressionFormat"] = "GZIP";
  EXPECT_EQ(SettingsFrom(*DescribeNewDestination(gz, false))->file_extension, ".gz");
  json lambda = config;
  lambda["ProcessingConfiguration"] = {
      {"Enabled", true},
      {"Processors", {{{"Type", "Lambda"}, {"Parameters", {{{"ParameterName", "LambdaArn"}, {"ParameterValue", "x"}}}}}}}};
  auto refused = DescribeNewDestination(lambda, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().type(), "InvalidArgumentException");
  EXPECT_NE(refused.status().message().find("no functions"), std::string::npos);
}

// ---------------------------------------------------------------------------

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir();
    Open();
  }
  void Open() {
    meta_ = std::move(*meta::OpenSqliteStore(dir_ + "/meta.db"));
    auto migrations = objects::ObjectStore::Migrations();
    for (auto& m : DeliveryService::Migrations()) migrations.push_back(m);
    for (auto& m : catalog::Catalog::Migrations()) migrations.push_back(m);
    ASSERT_TRUE(meta_->Migrate(migrations).ok());
    catalog_ = std::make_unique<catalog::Catalog>(*meta_, clock_);
    catalog::Database db;
    db.name = "lake";
    Status created = catalog_->CreateDatabase(db);
    ASSERT_TRUE(created.ok() || created.code() == StatusCode::kAlreadyExists);
    objects::ObjectStoreOptions o;
    o.data_dir = dir_;
    o.zones = {"raw", "processed"};
    o.lifecycle_interval = std::chrono::milliseconds(0);
    objects_ = std::move(*objects::ObjectStore::Open(*meta_, io::PosixFileSystem(), clock_, o));
    DeliveryOptions d;
    d.data_dir = dir_;
    d.region = "us-east-1";
    d.account_id = "000000000000";
    d.backlog_limit_bytes = backlog_limit_;
    d.max_backoff = std::chrono::milliseconds(200);
    service_ = std::make_unique<DeliveryService>(*meta_, io::PosixFileSystem(), clock_, *objects_, nullptr, catalog_.get(), d);
    ASSERT_TRUE(service_->Start().ok());
  }
  void Close() {
    service_->Stop();
    service_.reset();
    catalog_.reset();
    objects_->Stop();
    objects_.reset();
    meta_.reset();
  }
  void TearDown() override {
    if (service_) Close();
  }

  void Create(const std::string& name, json destination) {
    CreateRequest r;
    r.name = name;
    destination["RoleARN"] = "arn:aws:iam::000000000000:role/r";
    r.destination_config = destination;
    auto arn = service_->Create(r);
    ASSERT_TRUE(arn.ok()) << arn.status().ToString();
  }
  uint64_t Put(const std::string& name, std::vector<std::string> records) {
    std::promise<Result<PutResult>> p;
    service_->Put(name, std::move(records), [&](Result<PutResult> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->first_position : 0;
  }
  // Moves the clock past buffering intervals until the stream has delivered everything.
  bool Drain(const std::string& name) {
    for (int i = 0; i < 100; ++i) {
      clock_.Advance(std::chrono::seconds(61));
      if (service_->WaitDelivered(name, std::chrono::milliseconds(100))) return true;
    }
    return false;
  }
  // Every object in `bucket`: key -> body.
  std::map<std::string, std::string> Objects(const std::string& bucket) {
    std::map<std::string, std::string> out;
    objects::ListRequest req;
    auto list = objects_->List(bucket, req);
    EXPECT_TRUE(list.ok());
    for (const auto& v : list->objects) {
      auto reader = objects_->Read(bucket, v, 0, v.size);
      std::string body(v.size, '\0');
      size_t got = 0;
      while (got < v.size) {
        auto n = (*reader)->Read(body.data() + got, v.size - got);
        if (!n.ok() || *n == 0) break;
        got += *n;
      }
      out[v.key] = body;
    }
    return out;
  }

  std::string dir_;
  uint64_t backlog_limit_ = 1ull << 30;
  ManualClock clock_{Clock::TimePoint(std::chrono::milliseconds(kJuly6))};
  std::unique_ptr<meta::Store> meta_;
  std::unique_ptr<objects::ObjectStore> objects_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<DeliveryService> service_;
};

TEST_F(ServiceTest, ZeroBufferingDeliversUnderTheDefaultPrefix) {
  Create("s1", {{"BucketARN", "arn:aws:s3:::raw"}, {"BufferingHints", {{"SizeInMBs", 1}, {"IntervalInSeconds", 0}}}});
  Put("s1", {"a\n", "b\n"});
  ASSERT_TRUE(service_->WaitDelivered("s1", std::chrono::seconds(10)));
  auto objects = Objects("raw");
  ASSERT_EQ(objects.size(), 1u);
  const std::string key = objects.begin()->first;
  EXPECT_EQ(key.substr(0, 35), "2018/07/06/23/s1-1-2018-07-06-23-05");
  EXPECT_EQ(objects.begin()->second, "a\nb\n");
}

TEST_F(ServiceTest, BuffersUntilTheIntervalPasses) {
  Create("s2", {{"BucketARN", "arn:aws:s3:::raw"},
                {"Prefix", "p/"},
                {"CompressionFormat", "GZIP"},
                {"BufferingHints", {{"SizeInMBs", 1}, {"IntervalInSeconds", 60}}}});
  Put("s2", {"x"});
  Put("s2", {"y"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(Objects("raw").empty());
  clock_.Advance(std::chrono::seconds(61));
  ASSERT_TRUE(service_->WaitDelivered("s2", std::chrono::seconds(10)));
  auto objects = Objects("raw");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects.begin()->first.substr(0, 17), "p/2018/07/06/23/s");
  EXPECT_EQ(objects.begin()->first.substr(objects.begin()->first.size() - 3), ".gz");
  EXPECT_EQ(*Decompress(Compression::kGzip, objects.begin()->second, 1 << 20), "xy");
}

TEST_F(ServiceTest, SizeHintCutsObjectsBetweenRecords) {
  Create("s3", {{"BucketARN", "arn:aws:s3:::raw"}, {"BufferingHints", {{"SizeInMBs", 1}, {"IntervalInSeconds", 900}}}});
  const std::string big(300 * 1024, 'r');
  for (int i = 0; i < 8; ++i) Put("s3", {big});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto objects = Objects("raw");
  ASSERT_EQ(objects.size(), 2u);  // 4 records reach 1 MiB, twice
  for (const auto& [k, v] : objects) EXPECT_EQ(v.size(), 4 * big.size());
}

TEST_F(ServiceTest, AnObjectCutInTheMiddleOfAReadCheckpointsOnlyWhatItHolds) {
  Create("s7", {{"BucketARN", "arn:aws:s3:::raw"}, {"BufferingHints", {{"SizeInMBs", 1}, {"IntervalInSeconds", 900}}}});
  std::vector<std::string> records;
  for (char c = 'a'; c < 'g'; ++c) records.push_back(std::string(300 * 1024, c));
  Put("s7", records);  // one read of six records; the size hint cuts an object after the fourth
  for (int i = 0; i < 100 && Objects("raw").empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(Objects("raw").size(), 1u);
  Close();  // the last two records were only in memory
  Open();
  ASSERT_TRUE(Drain("s7"));
  std::map<char, int> seen;
  for (const auto& [k, v] : Objects("raw")) {
    for (size_t at = 0; at < v.size(); at += 300 * 1024) seen[v[at]]++;
  }
  EXPECT_EQ(seen, (std::map<char, int>{{'a', 1}, {'b', 1}, {'c', 1}, {'d', 1}, {'e', 1}, {'f', 1}}));
}

TEST_F(ServiceTest, DynamicPartitioningSendsUnpartitionableRecordsToErrors) {
  json d = {{"BucketARN", "arn:aws:s3:::raw"},
            {"Prefix", "c=!{partitionKeyFromQuery:c}/"},
            {"ErrorOutputPrefix", "errors/!{firehose:error-output-type}/"},
            {"BufferingHints", {{"SizeInMBs", 64}, {"IntervalInSeconds", 0}}},
            {"DynamicPartitioningConfiguration", {{"Enabled", true}}},
            {"ProcessingConfiguration",
             {{"Enabled", true},
              {"Processors",
               {{{"Type", "MetadataExtraction"},
                 {"Parameters",
                  {{{"ParameterName", "MetadataExtractionQuery"}, {"ParameterValue", "{c: .c}"}},
                   {{"ParameterName", "JsonParsingEngine"}, {"ParameterValue", "JQ-1.6"}}}}},
                {{"Type", "AppendDelimiterToRecord"}}}}}}};
  Create("dp", d);
  Put("dp", {R"({"c":"a","n":1})", R"({"c":"b","n":2})", R"({"c":"a","n":3})", "not json"});
  ASSERT_TRUE(service_->WaitDelivered("dp", std::chrono::seconds(10)));
  auto objects = Objects("raw");
  ASSERT_EQ(objects.size(), 3u);
  std::map<std::string, std::string> by_first;
  for (const auto& [k, v] : objects) by_first[k.substr(0, k.find('/'))] = v;
  EXPECT_EQ(by_first["c=a"], "{\"c\":\"a\",\"n\":1}\n{\"c\":\"a\",\"n\":3}\n");
  EXPECT_EQ(by_first["c=b"], "{\"c\":\"b\",\"n\":2}\n");
  json error = json::parse(by_first["errors"]);
  EXPECT_EQ(error["errorCode"], "DynamicPartitioning.MetadataExtractionFailed");
  EXPECT_EQ(*auth::Base64Decode(error["rawData"].get<std::string>()), "not json");
  for (const auto& [k, v] : objects) {
    if (k.rfind("errors/", 0) == 0) {
      EXPECT_EQ(k.substr(0, 25), "errors/processing-failed/");
    }
  }
}

TEST_F(ServiceTest, RestartDeliversEveryRecordOnce) {
  Create("s4", {{"BucketARN", "arn:aws:s3:::raw"}, {"BufferingHints", {{"SizeInMBs", 1}, {"IntervalInSeconds", 60}}}});
  Put("s4", {"1,", "2,"});
  ASSERT_TRUE(Drain("s4"));
  Put("s4", {"3,", "4,"});  // buffered, not delivered, when the server stops
  Close();
  Open();
  ASSERT_TRUE(Drain("s4"));
  std::string all;
  for (const auto& [k, v] : Objects("raw")) all += v;
  EXPECT_EQ(all.size(), 8u);
  for (const char* r : {"1,", "2,", "3,", "4,"}) EXPECT_NE(all.find(r), std::string::npos) << r;
}

TEST_F(ServiceTest, AFailingDestinationKeepsRecordsAndPushesBackOnlyAtTheBacklogLimit) {
  ASSERT_TRUE(objects_->CreateBucket("gone", "us-east-1").ok());
  Create("s6", {{"BucketARN", "arn:aws:s3:::gone"}, {"BufferingHints", {{"SizeInMBs", 1}, {"IntervalInSeconds", 0}}}});
  ASSERT_TRUE(objects_->DeleteBucket("gone").ok());
  Put("s6", {"kept"});
  for (int i = 0; i < 100 && service_->Describe("s6")->failure_type.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto info = service_->Describe("s6");
  EXPECT_EQ(info->failure_type, "UNKNOWN_ERROR");
  EXPECT_NE(info->failure_details.find("gone"), std::string::npos);
  // Past the backlog limit (1 KiB here), puts are refused until delivery catches up.
  Close();
  backlog_limit_ = 1024;
  Open();
  const std::string big(2048, 'x');
  Put("s6", {big});
  std::promise<Result<PutResult>> refused;
  service_->Put("s6", {"more"}, [&](Result<PutResult> r) { refused.set_value(std::move(r)); });
  auto r = refused.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().type(), "ServiceUnavailableException");
  // The bucket comes back: everything acknowledged is delivered, and the failure clears.
  ASSERT_TRUE(objects_->CreateBucket("gone", "us-east-1").ok());
  ASSERT_TRUE(Drain("s6"));
  std::string all;
  for (const auto& [k, v] : Objects("gone")) all += v;
  EXPECT_EQ(all.size(), 4 + big.size());
  EXPECT_NE(all.find("kept"), std::string::npos);
  EXPECT_TRUE(service_->Describe("s6")->failure_type.empty());
}

TEST_F(ServiceTest, AnUpdateWhileFailingSendsWhatIsBufferedToTheNewBucket) {
  ASSERT_TRUE(objects_->CreateBucket("old", "us-east-1").ok());
  Create("s8", {{"BucketARN", "arn:aws:s3:::old"}, {"BufferingHints", {{"SizeInMBs", 1}, {"IntervalInSeconds", 0}}}});
  ASSERT_TRUE(objects_->DeleteBucket("old").ok());
  Put("s8", {"a", "b"});
  for (int i = 0; i < 100 && service_->Describe("s8")->failure_type.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(service_->Describe("s8")->failure_type.empty());
  ASSERT_TRUE(service_->UpdateDestination("s8", 1, "destinationId-000000000001",
                                          {{"BucketARN", "arn:aws:s3:::processed"}}, false)
                  .ok());
  ASSERT_TRUE(Drain("s8"));
  std::string all;
  for (const auto& [k, v] : Objects("processed")) all += v;
  EXPECT_EQ(all, "ab");
}

TEST_F(ServiceTest, ObjectsWrittenButNeverRecordedAreRemovedAtStart) {
  Create("s9", {{"BucketARN", "arn:aws:s3:::raw"}});
  const std::string id = service_->Describe("s9")->id;
  Close();
  // As if the server died between writing an object and recording its delivery.
  Open();
  service_->Stop();
  auto blob = objects_->NewBlob();
  ASSERT_TRUE((*blob)->Write("half-delivered").ok());
  ASSERT_TRUE(objects_->PutObject("raw", "orphan", std::move(*blob), "\"x\"", {}).ok());
  ASSERT_TRUE(meta_->RunInTransaction([&](meta::Transaction& txn) {
                     return txn
                         .Execute("INSERT INTO delivery_pending (stream_id, target, bucket, object_key) "
                                  "VALUES (?, 'm/', 'raw', 'orphan')",
                                  {id})
                         .status();
                   })
                  .ok());
  Close();
  Open();
  EXPECT_TRUE(Objects("raw").empty());
  auto rows = meta_->Query("SELECT count(*) FROM delivery_pending");
  EXPECT_EQ(meta::AsInt((*rows)[0][0]), 0);
}

TEST_F(ServiceTest, UpdateDestinationChecksTheVersion) {
  Create("s5", {{"BucketARN", "arn:aws:s3:::raw"}});
  auto before = service_->Describe("s5");
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->version, 1);
  json update = {{"Prefix", "new/"}};
  Status stale = service_->UpdateDestination("s5", 7, "destinationId-000000000001", update, false);
  EXPECT_EQ(stale.type(), "ConcurrentModificationException");
  ASSERT_TRUE(service_->UpdateDestination("s5", 1, "destinationId-000000000001", update, false).ok());
  auto after = service_->Describe("s5");
  EXPECT_EQ(after->version, 2);
  EXPECT_EQ(after->destination["Prefix"], "new/");
  EXPECT_EQ(after->destination["BufferingHints"]["SizeInMBs"], 5);
}

TEST(ConvertTest, OpenXTimestamps) {
  const int64_t t = 1518033528000000;  // 2018-02-07T19:58:48Z
  EXPECT_EQ(*ParseOpenXTimestamp("2018-02-07T19:58:48Z"), t);
  EXPECT_EQ(*ParseOpenXTimestamp("2018-02-07T19:58:48.123Z"), t + 123000);
  EXPECT_EQ(*ParseOpenXTimestamp("2018-2-7 19:58:48"), t);
  EXPECT_EQ(*ParseOpenXTimestamp("2018-02-07 20:58:48.5+01:00"), t + 500000);
  EXPECT_EQ(*ParseOpenXTimestamp("1518033528"), t);
  EXPECT_EQ(*ParseOpenXTimestamp("1518033528000"), t);
  EXPECT_EQ(*ParseOpenXTimestamp("1518033528.25"), t + 250000);
  EXPECT_FALSE(ParseOpenXTimestamp("yesterday").ok());
  EXPECT_FALSE(ParseOpenXTimestamp("2018-13-07 19:58:48").ok());
}

TEST(ConvertTest, HiveTimestampFormats) {
  const int64_t t = 1518033528000000;  // 2018-02-07T19:58:48Z
  auto parse = [](const char* text, const char* pattern) -> int64_t {
    auto r = ParseJodaTimestamp(text, pattern);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    return r.ok() ? *r : 0;
  };
  EXPECT_EQ(parse("07/02/2018 07:58:48 PM", "dd/MM/yyyy hh:mm:ss a"), t);
  EXPECT_EQ(parse("2018-Feb-07T19:58:48.5+0000", "yyyy-MMM-dd'T'HH:mm:ss.SZ"), t + 500000);
  EXPECT_EQ(parse("20180207 205848 +01:00", "yyyyMMdd HHmmss Z"), t);
  EXPECT_FALSE(ParseJodaTimestamp("2018-02-07", "yyyy/MM/dd").ok());
}

catalog::Table EventsTable(std::vector<std::pair<std::string, std::string>> columns) {
  catalog::Table t;
  t.database = "lake";
  t.name = "events";
  t.storage.emplace();
  for (auto& [n, ty] : columns) t.storage->columns.push_back({n, ty, {}, {}});
  t.storage->location = "s3://processed/events/";
  t.storage->input_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
  t.version_id = "0";
  return t;
}

TEST(ConvertTest, OpenXRulesIntoParquet) {
  ConversionSpec spec;
  spec.database = "lake";
  spec.table = "events";
  spec.dots_to_underscores = true;
  spec.column_to_json_key = {{"kind", "event-type"}};
  auto table = EventsTable({{"id", "bigint"},
                            {"name", "string"},
                            {"price", "decimal(10,2)"},
                            {"ok", "boolean"},
                            {"at", "timestamp"},
                            {"day", "date"},
                            {"user_id", "int"},
                            {"kind", "string"},
                            {"tags", "array<string>"},
                            {"geo", "struct<lat:double,lon:double>"},
                            {"attrs", "map<string,int>"}});
  auto c = RecordConverter::Create(table, spec);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const std::string good =
      R"({"ID": 7, "Name": {"first": "Ada"}, "price": "12.50", "ok": "TRUE", "at": "2018-02-07T19:58:48Z",)"
      R"( "day": "2018-02-07", "user.id": "42", "event-type": "click", "extra": 1, "tags": ["a", "b"],)"
      R"( "geo": {"LAT": 1.5, "lon": 2}, "attrs": {"x": 1}}{"id": 8})";
  ASSERT_TRUE((*c)->Check(good).ok()) << (*c)->Check(good).ToString();
  EXPECT_FALSE((*c)->Check(R"({"id": "seven"})").ok());
  EXPECT_FALSE((*c)->Check(R"({"id": 1.5})").ok());
  EXPECT_FALSE((*c)->Check(R"({"user_id": 3000000000})").ok());
  EXPECT_FALSE((*c)->Check(R"({"price": 123456789.5})").ok());
  EXPECT_FALSE((*c)->Check(R"({"at": "soon"})").ok());
  EXPECT_FALSE((*c)->Check(R"([1, 2])").ok());
  EXPECT_FALSE((*c)->Check(R"({"tags": "x"})").ok());
  ASSERT_TRUE((*c)->Append(good).ok());
  EXPECT_EQ((*c)->rows(), 2u);
  const std::string path = FreshTestDir() + "/out.parquet";
  ASSERT_TRUE((*c)->WriteFile(path).ok());
  EXPECT_EQ((*c)->rows(), 0u);

  auto engine = query::Engine::Open({});
  ASSERT_TRUE(engine.ok());
  std::vector<query::ResultColumn> cols;
  std::vector<query::TextRow> rows;
  ASSERT_TRUE((*engine)
                  ->Query("SELECT * FROM read_parquet('" + path + "') ORDER BY id",
                          [&](std::vector<query::ResultColumn> c) { cols = std::move(c); },
                          [&](query::TextRow&& r) {
                            rows.push_back(std::move(r));
                            return true;
                          })
                  .ok());
  ASSERT_EQ(rows.size(), 2u);
  std::map<std::string, std::string> types, first;
  for (size_t i = 0; i < cols.size(); ++i) {
    types[cols[i].name] = cols[i].type;
    first[cols[i].name] = rows[0][i].value_or("NULL");
  }
  EXPECT_EQ(types["id"], "BIGINT");
  EXPECT_EQ(types["price"], "DECIMAL(10,2)");
  EXPECT_EQ(types["at"], "TIMESTAMP");
  EXPECT_EQ(types["day"], "DATE");
  EXPECT_EQ(types["user_id"], "INTEGER");
  EXPECT_EQ(types["tags"], "VARCHAR[]");
  EXPECT_EQ(first["id"], "7");
  EXPECT_EQ(first["name"], "{\"first\":\"Ada\"}");
  EXPECT_EQ(first["price"], "12.50");
  EXPECT_EQ(first["ok"], "true");
  EXPECT_EQ(first["at"], "2018-02-07 19:58:48");
  EXPECT_EQ(first["day"], "2018-02-07");
  EXPECT_EQ(first["user_id"], "42");
  EXPECT_EQ(first["kind"], "click");
  EXPECT_EQ(first["tags"], "[a, b]");
  EXPECT_EQ(first["geo"], "{'lat': 1.5, 'lon': 2.0}");
  EXPECT_EQ(first["attrs"], "{x=1}");
  EXPECT_EQ(rows[1][1].value_or("NULL"), "NULL");
}

TEST_F(ServiceTest, ConvertsToParquetAndRegistersPartitions) {
  auto table = EventsTable({{"id", "bigint"}, {"msg", "string"}});
  table.partition_keys = {{"dt", "string", {}, {}}};
  ASSERT_TRUE(catalog_->CreateTable("lake", table).ok());
  json d = {{"BucketARN", "arn:aws:s3:::processed"},
            {"Prefix", "events/dt=!{timestamp:yyyy-MM-dd}/"},
            {"ErrorOutputPrefix", "errors/!{firehose:error-output-type}/"},
            {"BufferingHints", {{"SizeInMBs", 64}, {"IntervalInSeconds", 0}}},
            {"DataFormatConversionConfiguration",
             {{"SchemaConfiguration", {{"DatabaseName", "lake"}, {"TableName", "events"}, {"RoleARN", "r"}}},
              {"InputFormatConfiguration", {{"Deserializer", {{"OpenXJsonSerDe", json::object()}}}}},
              {"OutputFormatConfiguration", {{"Serializer", {{"ParquetSerDe", {{"Compression", "ZSTD"}}}}}}}}}};
  Create("pq", d);
  Put("pq", {R"({"id":1,"msg":"a"})", R"({"ID":2,"MSG":"b"}{"id":3})", R"({"id":"x"})"});
  ASSERT_TRUE(Drain("pq"));
  auto objects = Objects("processed");
  ASSERT_EQ(objects.size(), 2u);
  std::string parquet_key, error_body;
  for (const auto& [k, v] : objects) {
    if (k.rfind("events/dt=2018-07-06/pq-1-", 0) == 0) parquet_key = k;
    if (k.rfind("errors/format-conversion-failed/", 0) == 0) error_body = v;
  }
  ASSERT_FALSE(parquet_key.empty());
  EXPECT_EQ(parquet_key.substr(parquet_key.size() - 8), ".parquet");
  EXPECT_EQ(objects[parquet_key].substr(0, 4), "PAR1");
  json error = json::parse(error_body);
  EXPECT_EQ(error["lastErrorCode"], "DataFormatConversion.MalformedData");
  EXPECT_EQ(*auth::Base64Decode(error["rawData"].get<std::string>()), R"({"id":"x"})");
  EXPECT_EQ(error["dataCatalogTable"]["tableName"], "events");
  auto partition = catalog_->GetPartition("lake", "events", {"2018-07-06"});
  ASSERT_TRUE(partition.ok()) << partition.status().ToString();
  EXPECT_EQ(partition->storage->location, "s3://processed/events/dt=2018-07-06/");
}

}  // namespace
}  // namespace eventlake::delivery
