#include "api/kinesis.h"

#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>

#include "auth/crypto.h"
#include "common/test_dir.h"
#include "io/fault_injection_file_system.h"

namespace eventlake::api {
namespace {

class KinesisApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    meta_ = std::move(*meta::OpenSqliteStore(FreshTestDir() + "/meta.db"));
    ASSERT_TRUE(meta_->Migrate(streams::StreamStore::Migrations()).ok());
    streams::StreamStoreOptions o;
    o.data_dir = "/data";
    o.region = "us-east-1";
    o.account_id = "000000000000";
    store_ = std::move(*streams::StreamStore::Open(*meta_, fs_, clock_, o));
    api_ = std::make_unique<KinesisApi>(*store_, clock_, "test-iterator-key");
    service_ = api_->Service();
  }

  // Calls one operation as the front door would, for the root identity.
  Result<nlohmann::json> Call(const std::string& op, const nlohmann::json& body) {
    HttpRequest http;
    RequestContext ctx(http, "request-id", auth::RootPrincipal("000000000000"), info_, authorizer_, "kinesis:" + op);
    std::promise<Result<std::string>> p;
    std::string text = body.dump();
    service_.operations.at(op)(ctx, text, [&](Result<std::string> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    if (!r.ok()) return r.status();
    return nlohmann::json::parse(*r);
  }

  std::string Iterator(const std::string& stream, const std::string& type = "TRIM_HORIZON") {
    auto r = Call("GetShardIterator", {{"StreamName", stream}, {"ShardId", "shardId-000000000000"}, {"ShardIteratorType", type}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["ShardIterator"].get<std::string>() : "";
  }

  void CreateActive(const std::string& name) {
    ASSERT_TRUE(Call("CreateStream", {{"StreamName", name}, {"ShardCount", 1}}).ok());
    clock_.Advance(std::chrono::seconds(1));
  }

  io::FaultInjectionFileSystem fs_;
  ManualClock clock_{Clock::TimePoint(std::chrono::seconds(1'700'000'000))};
  std::unique_ptr<meta::Store> meta_;
  std::unique_ptr<streams::StreamStore> store_;
  std::unique_ptr<KinesisApi> api_;
  JsonService service_;
  ServerInfo info_{"us-east-1", "000000000000", "test"};
  auth::Authorizer authorizer_;
};

TEST_F(KinesisApiTest, IteratorsExpireAfterFiveMinutes) {
  CreateActive("s");
  std::string it = Iterator("s");
  clock_.Advance(std::chrono::seconds(299));
  EXPECT_TRUE(Call("GetRecords", {{"ShardIterator", it}}).ok());
  clock_.Advance(std::chrono::seconds(2));
  auto expired = Call("GetRecords", {{"ShardIterator", it}});
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.status().type(), "ExpiredIteratorException");
}

TEST_F(KinesisApiTest, NextIteratorsAreFreshAndFollowTheRecords) {
  CreateActive("s");
  ASSERT_TRUE(Call("PutRecords", {{"StreamName", "s"},
                                  {"Records", {{{"Data", "YQ=="}, {"PartitionKey", "p"}}, {{"Data", "Yg=="}, {"PartitionKey", "p"}}}}})
                  .ok());
  auto first = Call("GetRecords", {{"ShardIterator", Iterator("s")}, {"Limit", 1}});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ((*first)["Records"].size(), 1u);
  EXPECT_EQ((*first)["Records"][0]["Data"], "YQ==");
  clock_.Advance(std::chrono::seconds(200));
  auto second = Call("GetRecords", {{"ShardIterator", (*first)["NextShardIterator"]}});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)["Records"][0]["Data"], "Yg==");
  clock_.Advance(std::chrono::seconds(200));  // 400 s after the first iterator, 200 s after the next one
  EXPECT_TRUE(Call("GetRecords", {{"ShardIterator", (*second)["NextShardIterator"]}}).ok());
}

TEST_F(KinesisApiTest, AlteredOrForeignIteratorsAreInvalid) {
  CreateActive("s");
  std::string it = Iterator("s");
  auto raw = *auth::Base64Decode(it);
  raw[21] ^= 1;  // the position
  auto altered = Call("GetRecords", {{"ShardIterator", auth::Base64Encode(raw)}});
  ASSERT_FALSE(altered.ok());
  EXPECT_EQ(altered.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(altered.status().message(), "Invalid ShardIterator.");
  KinesisApi other_key(*store_, clock_, "another-key");
  JsonService other = other_key.Service();
  HttpRequest http;
  RequestContext ctx(http, "id", auth::RootPrincipal("000000000000"), info_, authorizer_, "kinesis:GetShardIterator");
  std::string foreign;
  other.operations.at("GetShardIterator")(
      ctx, R"({"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"LATEST"})",
      [&](Result<std::string> r) { foreign = nlohmann::json::parse(*r)["ShardIterator"]; });
  EXPECT_EQ(Call("GetRecords", {{"ShardIterator", foreign}}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(KinesisApiTest, IteratorOfADeletedAndRecreatedStreamIsRefused) {
  CreateActive("s");
  std::string it = Iterator("s");
  ASSERT_TRUE(Call("DeleteStream", {{"StreamName", "s"}}).ok());
  clock_.Advance(std::chrono::seconds(1));
  CreateActive("s");
  auto r = Call("GetRecords", {{"ShardIterator", it}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace eventlake::api
