#include "api/front_door.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "api/s3.h"
#include "api/services.h"
#include "auth/keys.h"
#include "common/strings.h"
#include "common/test_dir.h"
#include "io/files.h"
#include "meta/store.h"

namespace eventlake::api {
namespace {

constexpr char kKeyId[] = "AKIATESTTESTTESTTEST";
constexpr char kSecret[] = "test/secret/key/test/secret/key/test/sec";

class FrontDoorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir();
    store_ = std::move(*meta::OpenSqliteStore(dir_ + "/meta.db"));
    ASSERT_TRUE(store_->Migrate(auth::KeyStore::Migrations()).ok());
    keys_ = std::move(*auth::KeyStore::Open(*store_, "000000000000"));
    ASSERT_TRUE(keys_->PutRootKey(kKeyId, kSecret).ok());
    audit_ = std::move(*auth::AuditLog::Open(dir_ + "/audit"));
    verifier_ = std::make_unique<auth::Verifier>(*keys_, clock_);
    FrontDoorOptions opts;
    opts.server = {"us-east-1", "000000000000", "test"};
    door_ = std::make_unique<FrontDoor>(opts, *verifier_, authorizer_, *audit_, clock_);
    for (auto& svc : AwsJsonServices()) {
      if (svc.target_prefix == "Kinesis_20131202") {
        svc.error_names[StatusCode::kInvalidArgument] = "InvalidArgumentException";
        svc.operations["Echo"] = [](RequestContext& ctx, std::string_view body, JsonReply reply) {
          if (Status s = ctx.Authorize("kinesis:Echo", "*"); !s.ok()) return reply(s);
          reply(std::string(body));
        };
        svc.operations["Forgetful"] = [](RequestContext&, std::string_view, JsonReply reply) { reply(std::string("{}")); };
        svc.operations["Fail"] = [](RequestContext& ctx, std::string_view body, JsonReply reply) {
          if (Status s = ctx.Authorize("kinesis:Fail", "arn:aws:kinesis:us-east-1:000000000000:stream/s"); !s.ok()) {
            return reply(s);
          }
          if (body == R"({"kind":"missing"})") {
            reply(Status::NotFound("Stream s under account 000000000000 not found."));
          } else {
            reply(Status::InvalidArgument("bad"));
          }
        };
      }
      door_->AddJsonService(std::move(svc));
    }
    door_->SetReady({"auth", "api"});
  }

  // Signs `r` as a current SDK would, for `service`.
  void Sign(HttpRequest& r, const std::string& service, const std::string& secret = kSecret) {
    std::string amz_date = auth::FormatAmzDate(clock_.Now());
    r.headers.push_back({"Host", "127.0.0.1:4566"});
    r.headers.push_back({"X-Amz-Date", amz_date});
    std::string payload = auth::Sha256Hex(r.body);
    if (service == "s3") r.headers.push_back({"x-amz-content-sha256", payload});
    std::vector<std::string> names;
    for (const auto& h : r.headers) names.push_back(AsciiLower(h.name));
    std::sort(names.begin(), names.end());
    auto mode = service == "s3" ? auth::PathCanonicalization::kS3 : auth::PathCanonicalization::kNormalizeAndEncode;
    std::string scope = amz_date.substr(0, 8) + "/us-east-1/" + service + "/aws4_request";
    std::string sts = auth::StringToSign(amz_date, scope, auth::CanonicalRequest(r, names, payload, mode, false));
    std::string signed_list;
    for (const auto& n : names) signed_list += (signed_list.empty() ? "" : ";") + n;
    std::string sig =
        auth::SignatureHex(auth::DeriveSigningKey(secret, amz_date.substr(0, 8), "us-east-1", service), sts);
    r.headers.push_back({"Authorization", "AWS4-HMAC-SHA256 Credential=" + std::string(kKeyId) + "/" + scope +
                                              ", SignedHeaders=" + signed_list + ", Signature=" + sig});
  }

  static HttpRequest Json(const std::string& target, std::string body = "{}") {
    HttpRequest r;
    r.method = "POST";
    r.target = "/";
    r.remote_address = "127.0.0.1";
    r.headers = {{"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Target", target}};
    r.body = std::move(body);
    return r;
  }

  HttpResponse Call(HttpRequest r) {
    HttpResponse out;
    bool called = false;
    door_->Handle(std::move(r), [&](HttpResponse&& resp) {
      out = std::move(resp);
      called = true;
    });
    EXPECT_TRUE(called);
    return out;
  }

  static std::string JsonType(const HttpResponse& r) { return nlohmann::json::parse(r.body).value("__type", ""); }
  static std::string XmlCode(const HttpResponse& r) {
    size_t a = r.body.find("<Code>"), b = r.body.find("</Code>");
    return a == std::string::npos ? "" : r.body.substr(a + 6, b - a - 6);
  }

  std::string dir_;
  ManualClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<meta::Store> store_;
  std::unique_ptr<auth::KeyStore> keys_;
  std::unique_ptr<auth::AuditLog> audit_;
  std::unique_ptr<auth::Verifier> verifier_;
  auth::Authorizer authorizer_;
  std::unique_ptr<FrontDoor> door_;
};

TEST_F(FrontDoorTest, HealthAnswersOnlyWhileReady) {
  HttpRequest h;
  h.method = "GET";
  h.target = "/health";
  HttpResponse ok = Call(h);
  EXPECT_EQ(ok.status, 200);
  auto body = nlohmann::json::parse(ok.body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["rooms"]["auth"], "running");
  door_->SetStopping();
  EXPECT_EQ(Call(h).status, 503);
}

TEST_F(FrontDoorTest, UnknownTargetIsUnknownOperationInJsonShape) {
  HttpResponse r = Call(Json("NoSuchService_2020.Do"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(JsonType(r), "UnknownOperationException");
  EXPECT_EQ(*r.FindHeader("x-amzn-ErrorType"), "UnknownOperationException");
  EXPECT_EQ(r.FindHeader("x-amzn-RequestId")->size(), 36u);
  EXPECT_EQ(*r.FindHeader("Content-Type"), "application/x-amz-json-1.1");
}

TEST_F(FrontDoorTest, KnownServiceChecksTheSignatureBeforeNamingOperations) {
  EXPECT_EQ(JsonType(Call(Json("Kinesis_20131202.NoSuchOp"))), "MissingAuthenticationTokenException");
  HttpRequest signed_req = Json("Kinesis_20131202.NoSuchOp");
  Sign(signed_req, "kinesis");
  EXPECT_EQ(JsonType(Call(signed_req)), "UnknownOperationException");
}

TEST_F(FrontDoorTest, SignedJsonCallReachesTheOperation) {
  HttpRequest r = Json("Kinesis_20131202.Echo", R"({"StreamName":"s"})");
  Sign(r, "kinesis");
  HttpResponse resp = Call(r);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, R"({"StreamName":"s"})");
}

TEST_F(FrontDoorTest, SignatureFailuresHaveTheirAwsCodes) {
  HttpRequest wrong_secret = Json("Kinesis_20131202.Echo");
  Sign(wrong_secret, "kinesis", "wrong-secret");
  HttpResponse r = Call(wrong_secret);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(JsonType(r), "InvalidSignatureException");

  HttpRequest tampered = Json("Kinesis_20131202.Echo", R"({"a":1})");
  Sign(tampered, "kinesis");
  tampered.body = R"({"a":2})";
  EXPECT_EQ(JsonType(Call(tampered)), "InvalidSignatureException");

  HttpRequest wrong_service = Json("Kinesis_20131202.Echo");
  Sign(wrong_service, "firehose");
  EXPECT_EQ(JsonType(Call(wrong_service)), "InvalidSignatureException");

  HttpRequest old = Json("Kinesis_20131202.Echo");
  Sign(old, "kinesis");
  clock_.Advance(std::chrono::minutes(20));
  HttpResponse expired = Call(old);
  EXPECT_EQ(JsonType(expired), "InvalidSignatureException");
  EXPECT_NE(nlohmann::json::parse(expired.body)["message"].get<std::string>().find("Signature expired"),
            std::string::npos);

  HttpRequest garbled = Json("Kinesis_20131202.Echo");
  garbled.headers.push_back({"Authorization", "AWS4-HMAC-SHA256 Credential=x"});
  EXPECT_EQ(JsonType(Call(garbled)), "IncompleteSignatureException");
}

TEST_F(FrontDoorTest, OperationErrorsMapThroughTheServiceTable) {
  HttpRequest missing = Json("Kinesis_20131202.Fail", R"({"kind":"missing"})");
  Sign(missing, "kinesis");
  HttpResponse r = Call(missing);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(JsonType(r), "ResourceNotFoundException");
  HttpRequest invalid = Json("Kinesis_20131202.Fail", R"({"kind":"invalid"})");
  Sign(invalid, "kinesis");
  EXPECT_EQ(JsonType(Call(invalid)), "InvalidArgumentException");
}

TEST_F(FrontDoorTest, AnOperationThatSkipsAuthorizationCannotSucceed) {
  HttpRequest r = Json("Kinesis_20131202.Forgetful");
  Sign(r, "kinesis");
  HttpResponse resp = Call(r);
  EXPECT_EQ(resp.status, 500);
  EXPECT_EQ(JsonType(resp), "InternalFailure");
}

TEST_F(FrontDoorTest, GzipBodiesAreInflatedAfterTheSignatureCheck) {
  const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48,
                              0xcd, 0xc9, 0xc9, 0x57, 0x28, 0xcf, 0x2f, 0xca, 0x49, 0xe1, 0x02, 0x00,
                              0x2d, 0x3b, 0x08, 0xaf, 0x0c, 0x00, 0x00, 0x00};
  HttpRequest r = Json("Kinesis_20131202.Echo", std::string(reinterpret_cast<const char*>(gz), sizeof(gz)));
  r.headers.push_back({"Content-Encoding", "gzip"});
  Sign(r, "kinesis");
  HttpResponse resp = Call(r);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "hello world\n");

  HttpRequest bad = Json("Kinesis_20131202.Echo", "definitely not gzip");
  bad.headers.push_back({"Content-Encoding", "gzip"});
  Sign(bad, "kinesis");
  EXPECT_EQ(JsonType(Call(bad)), "SerializationException");
}

TEST_F(FrontDoorTest, StsGetCallerIdentityAnswersInQueryShape) {
  HttpRequest r;
  r.method = "POST";
  r.target = "/";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.body = "Action=GetCallerIdentity&Version=2011-06-15";
  HttpResponse unsigned_resp = Call(r);
  EXPECT_EQ(unsigned_resp.status, 403);
  EXPECT_EQ(XmlCode(unsigned_resp), "MissingAuthenticationToken");
  EXPECT_NE(unsigned_resp.body.find("<ErrorResponse"), std::string::npos);
  Sign(r, "sts");
  HttpResponse ok = Call(r);
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("<Arn>arn:aws:iam::000000000000:root</Arn>"), std::string::npos);

  HttpRequest other = r;
  other.headers.resize(1);
  other.body = "Action=AssumeRole&Version=2011-06-15";
  Sign(other, "sts");
  EXPECT_EQ(XmlCode(Call(other)), "InvalidAction");
}

TEST_F(FrontDoorTest, S3RequestsAreAuthenticatedAndAnswerInXml) {
  HttpRequest r;
  r.method = "GET";
  r.target = "/bucket/key.json";
  HttpResponse anon = Call(r);
  EXPECT_EQ(anon.status, 403);
  EXPECT_EQ(XmlCode(anon), "AccessDenied");
  EXPECT_NE(anon.body.find("<Resource>/bucket/key.json</Resource>"), std::string::npos);
  Sign(r, "s3");
  HttpResponse signed_resp = Call(r);
  EXPECT_EQ(signed_resp.status, 501);
  EXPECT_EQ(XmlCode(signed_resp), "NotImplemented");
  EXPECT_EQ(signed_resp.FindHeader("x-amz-request-id")->size(), 36u);
}

TEST_F(FrontDoorTest, RejectsAreShapedForTheirProtocol) {
  HttpResponse json = door_->Reject(Json("Kinesis_20131202.PutRecords"), 413, "too big");
  EXPECT_EQ(json.status, 413);
  EXPECT_EQ(JsonType(json), "RequestEntityTooLargeException");
  HttpRequest put;
  put.method = "PUT";
  put.target = "/b/k";
  HttpResponse s3 = door_->Reject(put, 413, "too big");
  EXPECT_EQ(s3.status, 400);
  EXPECT_EQ(XmlCode(s3), "EntityTooLarge");
  EXPECT_EQ(door_->BodyLimit(Json("Kinesis_20131202.PutRecords")), size_t{16} << 20);
}

TEST_F(FrontDoorTest, PrecheckRefusesUnauthenticatedBodiesAndPassesSignedOnes) {
  HttpRequest put;
  put.method = "PUT";
  put.target = "/raw/big.bin";
  put.headers = {{"Content-Length", "1000000"}};
  auto refused = door_->Precheck(put);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(XmlCode(*refused), "AccessDenied");

  HttpRequest json = Json("Kinesis_20131202.Echo", "{}");
  Sign(json, "kinesis");
  json.body.clear();  // the precheck sees only the head
  EXPECT_FALSE(door_->Precheck(json).has_value());
  HttpRequest wrong_service = Json("Kinesis_20131202.Echo", "{}");
  Sign(wrong_service, "s3");
  ASSERT_TRUE(door_->Precheck(wrong_service).has_value());
  EXPECT_EQ(JsonType(*door_->Precheck(wrong_service)), "InvalidSignatureException");
}

TEST_F(FrontDoorTest, SignedHeaderListsMustBeSortedAndUnique) {
  HttpRequest r = Json("Kinesis_20131202.Echo");
  std::string date = auth::FormatAmzDate(clock_.Now());
  r.headers.push_back({"Host", "h"});
  r.headers.push_back({"X-Amz-Date", date});
  std::string many = "host";
  for (int i = 0; i < 1000; ++i) many += ";x-amz-date";
  r.headers.push_back({"Authorization", "AWS4-HMAC-SHA256 Credential=" + std::string(kKeyId) + "/" +
                                            date.substr(0, 8) + "/us-east-1/kinesis/aws4_request, SignedHeaders=" +
                                            many + ", Signature=" + std::string(64, 'a')});
  EXPECT_EQ(JsonType(Call(r)), "IncompleteSignatureException");
}

TEST_F(FrontDoorTest, EveryApiRequestLeavesOneAuditRecord) {
  HttpRequest ok = Json("Kinesis_20131202.Echo");
  Sign(ok, "kinesis");
  Call(ok);
  Call(Json("Kinesis_20131202.Echo"));  // unsigned
  HttpRequest health;
  health.method = "GET";
  health.target = "/health";
  Call(health);  // not an API request
  audit_->Stop();
  auto text = io::ReadWholeFile(dir_ + "/audit/audit.jsonl");
  ASSERT_TRUE(text.ok());
  auto lines = Split(*text, '\n');
  ASSERT_EQ(lines.size(), 3u);  // two records and the final newline
  auto first = nlohmann::json::parse(lines[0]), second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(first["principal"], "arn:aws:iam::000000000000:root");
  EXPECT_EQ(first["action"], "kinesis:Echo");
  EXPECT_EQ(first["outcome"], "Success");
  EXPECT_EQ(first["sourceIPAddress"], "127.0.0.1");
  EXPECT_EQ(first["requestId"].get<std::string>().size(), 36u);
  EXPECT_EQ(second["principal"], "anonymous");
  EXPECT_EQ(second["outcome"], "Failure");
  EXPECT_EQ(second["errorCode"], "MissingAuthenticationTokenException");
}

TEST(S3RouteTest, NamesActionsAndResources) {
  auto route = [](const char* method, const char* target) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    return ClassifyS3Request(r);
  };
  EXPECT_EQ(route("GET", "/").action, "s3:ListAllMyBuckets");
  EXPECT_EQ(route("PUT", "/raw").action, "s3:CreateBucket");
  EXPECT_EQ(route("PUT", "/raw").resource, "arn:aws:s3:::raw");
  EXPECT_EQ(route("GET", "/raw?list-type=2&prefix=a").action, "s3:ListBucket");
  EXPECT_EQ(route("PUT", "/raw?versioning").action, "s3:PutBucketVersioning");
  EXPECT_EQ(route("GET", "/raw/a%20b/c.json").resource, "arn:aws:s3:::raw/a b/c.json");
  EXPECT_EQ(route("GET", "/raw/k?tagging").action, "s3:GetObjectTagging");
  EXPECT_EQ(route("DELETE", "/raw/k?uploadId=1").action, "s3:AbortMultipartUpload");
  EXPECT_EQ(route("HEAD", "/raw/k").action, "s3:GetObject");
}

TEST(ErrorTableTest, StatusCodesMapPerProtocol) {
  WireError j = ToWireError(Status::ResourceExhausted("slow down"), Protocol::kJson);
  EXPECT_EQ(j.http_status, 400);
  EXPECT_EQ(j.code, "ThrottlingException");
  WireError x = ToWireError(Status::ResourceExhausted("slow down"), Protocol::kRestXml);
  EXPECT_EQ(x.http_status, 503);
  EXPECT_EQ(x.code, "SlowDown");
  WireError typed = ToWireError(Status::InvalidArgument("expired").WithType("ExpiredIteratorException"),
                                Protocol::kJson);
  EXPECT_EQ(typed.code, "ExpiredIteratorException");
  EXPECT_EQ(typed.http_status, 400);
  WireError internal = ToWireError(Status::Internal("secret detail"), Protocol::kJson);
  EXPECT_EQ(internal.http_status, 500);
  EXPECT_EQ(internal.code, "InternalFailure");
  EXPECT_EQ(internal.message.find("secret"), std::string::npos);
}

}  // namespace
}  // namespace eventlake::api
