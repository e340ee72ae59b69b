#include "api/front_door.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "api/s3.h"
#include "api/s3_upload.h"
#include "api/sts.h"
#include "auth/identity.h"
#include "common/compression.h"
#include "common/ids.h"
#include "common/strings.h"

namespace eventlake::api {

// One request between Handle() and its response.
struct FrontDoor::Exchange {
  HttpRequest request;
  HttpResponder respond;
  std::string request_id;
  Protocol protocol = Protocol::kJson;
  std::string content_type = "application/x-amz-json-1.1";  // JSON responses echo the request's version
  std::string s3_resource;                                   // S3 errors' <Resource>
  S3Route s3_route;                                          // S3 requests: what they ask for
  std::string default_action;
  std::string access_key_id;
  std::unique_ptr<RequestContext> ctx;  // set once authenticated
  std::atomic<bool> answered{false};    // Finish() runs once, whichever thread gets there first
};

namespace {

constexpr std::string_view kJson10 = "application/x-amz-json-1.0";
constexpr std::string_view kJson11 = "application/x-amz-json-1.1";

bool IsFormContentType(std::string_view ct) {
  return StartsWith(AsciiLower(TrimWhitespace(ct)), "application/x-www-form-urlencoded");
}

bool QueryHasAction(std::string_view query) {
  for (auto piece : Split(query, '&')) {
    if (StartsWith(piece, "Action=")) return true;
  }
  return false;
}

// The access key id a request presents, for the audit trail, without
// verifying anything.
std::string PresentedAccessKey(const HttpRequest& r) {
  std::string_view cred;
  if (const std::string* a = r.FindHeader("authorization")) {
    std::string_view v(*a);
    size_t p = v.find("Credential=");
    if (p != std::string_view::npos) cred = v.substr(p + 11);
  } else {
    std::string_view q = r.query();
    size_t p = q.find("X-Amz-Credential=");
    if (p != std::string_view::npos) cred = q.substr(p + 17);
  }
  size_t end = cred.find_first_of("/%,& ");
  return std::string(cred.substr(0, std::min<size_t>(end, 128)));
}

}  // namespace

FrontDoor::FrontDoor(FrontDoorOptions options, const auth::Verifier& verifier, const auth::Authorizer& authorizer,
                     auth::AuditLog& audit, const Clock& clock)
    : options_(std::move(options)),
      verifier_(verifier),
      authorizer_(authorizer),
      audit_(audit),
      clock_(clock) {}

void FrontDoor::AddJsonService(JsonService service) {
  std::string prefix = service.target_prefix;
  json_services_.insert_or_assign(std::move(prefix), std::move(service));
}

void FrontDoor::SetReady(const std::vector<std::string>& rooms) {
  nlohmann::ordered_json body = {{"status", "ok"}, {"version", options_.server.version}};
  nlohmann::ordered_json r = nlohmann::ordered_json::object();
  for (const auto& room : rooms) r[room] = "running";
  body["rooms"] = r;
  if (ready_.load()) return;
  health_body_ = body.dump();
  ready_.store(true, std::memory_order_release);
}

void FrontDoor::SetStopping() { ready_.store(false, std::memory_order_release); }

FrontDoor::Kind FrontDoor::Classify(const HttpRequest& r) const {
  if ((r.method == "GET" || r.method == "HEAD") && r.path() == "/health") return Kind::kHealth;
  if (r.FindHeader("x-amz-target")) return Kind::kJson;
  if (r.path() == "/") {
    if (r.method == "POST" && IsFormContentType(r.Header("content-type"))) return Kind::kQuery;
    if (r.method == "GET" && QueryHasAction(r.query())) return Kind::kQuery;
  }
  return Kind::kS3;
}

const JsonService* FrontDoor::FindJsonService(const HttpRequest& r, std::string_view* operation) const {
  std::string_view target = r.Header("x-amz-target");
  size_t dot = target.rfind('.');
  if (dot == std::string_view::npos) return nullptr;
  auto it = json_services_.find(std::string(target.substr(0, dot)));
  if (it == json_services_.end()) return nullptr;
  *operation = target.substr(dot + 1);
  return &it->second;
}

size_t FrontDoor::BodyLimit(const HttpRequest& head) const {
  switch (Classify(head)) {
    case Kind::kHealth: return options_.max_other_body_bytes;
    case Kind::kJson: {
      std::string_view op;
      const JsonService* svc = FindJsonService(head, &op);
      return svc ? svc->max_body_bytes : options_.max_other_body_bytes;
    }
    case Kind::kQuery: return options_.max_query_body_bytes;
    case Kind::kS3: {
      if (s3_ && s3_->StreamsBody(ClassifyS3Request(head, s3_->options().virtual_host_domains), head)) {
        // An upload streams to disk: its limit is the object's, plus aws-chunked framing.
        const uint64_t max = s3_->options().max_object_bytes;
        return static_cast<size_t>(max + max / 16 + (64 << 10));
      }
      return options_.max_s3_body_bytes;
    }
  }
  return options_.max_other_body_bytes;
}

HttpResponse FrontDoor::Reject(const HttpRequest& head, int status, std::string_view reason) const {
  std::string id = NewRequestId();
  WireError e;
  e.http_status = status;
  e.message = std::string(reason);
  if (head.method.empty()) {  // the head itself could not be parsed: no protocol to speak
    e.code = status == 431 ? "RequestHeaderFieldsTooLarge" : "BadRequest";
    return RenderError(e, Protocol::kJson, id);
  }
  Kind kind = Classify(head);
  if (kind == Kind::kS3) {
    if (status == 503) {
      e.code = "SlowDown";
    } else {
      e.code = status == 413 ? "EntityTooLarge" : status == 431 ? "RequestHeaderSectionTooLarge" : "BadRequest";
      e.http_status = 400;  // S3 answers all three with 400
    }
    return RenderError(e, Protocol::kRestXml, id);
  }
  if (kind == Kind::kQuery) {
    e.code = status == 503 ? "ServiceUnavailable" : status == 413 ? "RequestEntityTooLarge" : "MalformedInput";
    return RenderError(e, Protocol::kQuery, id);
  }
  e.code = status == 503   ? "ServiceUnavailableException"
           : status == 413 ? "RequestEntityTooLargeException"
                           : "SerializationException";
  return RenderError(e, Protocol::kJson, id);
}

bool FrontDoor::SignatureRules(const HttpRequest& request, Kind kind, auth::VerifyOptions* opts) const {
  opts->region = options_.server.region;
  switch (kind) {
    case Kind::kJson: {
      std::string_view op;
      const JsonService* svc = FindJsonService(request, &op);
      if (!svc) return false;
      opts->service = svc->signing_name;
      return true;
    }
    case Kind::kQuery: opts->service = "sts"; return true;
    case Kind::kS3:
      opts->service = "s3";
      opts->path_mode = auth::PathCanonicalization::kS3;
      opts->s3 = true;
      return true;
    default: return false;
  }
}

void FrontDoor::Describe(Exchange& ex, Kind kind) const {
  const HttpRequest& r = ex.request;
  switch (kind) {
    case Kind::kJson: {
      ex.protocol = Protocol::kJson;
      std::string ct = AsciiLower(TrimWhitespace(r.Header("content-type")));
      if (StartsWith(ct, kJson10)) ex.content_type = std::string(kJson10);
      if (StartsWith(ct, kCborContentType)) ex.content_type = std::string(kCborContentType);  // errors in CBOR too
      std::string_view op;
      if (const JsonService* svc = FindJsonService(r, &op)) {
        ex.default_action = svc->signing_name + ":" + std::string(op);
      } else {
        std::string_view target = r.Header("x-amz-target");
        size_t dot = target.rfind('.');
        if (dot != std::string_view::npos) {
          ex.default_action = std::string(target.substr(0, std::min<size_t>(dot, 128))) + ":" +
                              std::string(target.substr(dot + 1, 128));
        }
      }
      break;
    }
    case Kind::kQuery:
      ex.protocol = Protocol::kQuery;
      ex.default_action = "sts:*";
      break;
    default:
      ex.protocol = Protocol::kRestXml;
      ex.s3_route = s3_ ? ClassifyS3Request(r, s3_->options().virtual_host_domains) : ClassifyS3Request(r);
      ex.default_action = ex.s3_route.action;
      ex.s3_resource = std::string(r.path().substr(0, 1024));
  }
}

std::optional<HttpResponse> FrontDoor::Precheck(const HttpRequest& head) {
  if (!options_.verify_signatures) return std::nullopt;
  Kind kind = Classify(head);
  auth::VerifyOptions opts;
  if (!SignatureRules(head, kind, &opts)) return std::nullopt;
  std::optional<auth::AuthError> err = verifier_.PrecheckHead(head, opts);
  if (!err) return std::nullopt;
  // Answer exactly as Handle() would have, audit record included.
  auto ex = std::make_shared<Exchange>();
  ex->request.method = head.method;
  ex->request.target = head.target;
  ex->request.headers = head.headers;
  ex->request.remote_address = head.remote_address;
  ex->request_id = NewRequestId();
  ex->access_key_id = PresentedAccessKey(head);
  Describe(*ex, kind);
  std::optional<HttpResponse> out;
  ex->respond = [&out](HttpResponse&& r) { out = std::move(r); };
  FinishError(*ex, AuthWireError(*err, ex->protocol));
  return out;
}

std::shared_ptr<BodySink> FrontDoor::StreamBody(const HttpRequest& head) {
  if (!s3_ || Classify(head) != Kind::kS3) return nullptr;
  if (!s3_->StreamsBody(ClassifyS3Request(head, s3_->options().virtual_host_domains), head)) return nullptr;
  // S3 signs the payload digest the client declares, so the whole signature
  // is checked now; the body's digest and chunk signatures as it arrives.
  if (!options_.verify_signatures) return s3_->StartUpload(head, nullptr);
  auth::VerifyOptions opts;
  SignatureRules(head, Kind::kS3, &opts);
  opts.body_digest_checked_elsewhere = true;
  auto verified = verifier_.Verify(head, opts);
  if (auto* err = std::get_if<auth::AuthError>(&verified)) {
    // Handle() authenticates again and answers this error; nothing is stored meanwhile.
    return RefuseUpload(Status::Unauthenticated(err->message));
  }
  return s3_->StartUpload(head, &std::get<auth::VerifiedRequest>(verified));
}

void FrontDoor::Handle(HttpRequest&& request, HttpResponder respond) {
  Kind kind = Classify(request);
  if (kind == Kind::kHealth) {
    const bool ready = ready_.load(std::memory_order_acquire);
    HttpResponse r;
    r.status = ready ? 200 : 503;
    r.body = ready ? health_body_ : std::string(R"({"status":"unavailable"})");
    r.headers = {{"Content-Type", "application/json"}};
    if (request.method == "HEAD") r.headers.push_back({"Content-Length", std::to_string(r.body.size())});
    respond(std::move(r));
    return;
  }
  auto ex = std::make_shared<Exchange>();
  ex->request = std::move(request);
  ex->respond = std::move(respond);
  ex->request_id = NewRequestId();
  ex->access_key_id = PresentedAccessKey(ex->request);
  Describe(*ex, kind);
  std::shared_ptr<Exchange> keep = ex;
  try {
    switch (kind) {
      case Kind::kJson: HandleJson(std::move(ex)); return;
      case Kind::kQuery: HandleQuery(std::move(ex)); return;
      default: HandleS3(std::move(ex)); return;
    }
  } catch (const std::exception& e) {
    // A handler bug must not take the connection down. Finish() does nothing
    // when the exchange was answered already.
    spdlog::error("request {} failed with an exception: {}", keep->request_id, e.what());
    FailWith(*keep, Status::Internal(e.what()));
  }
}

bool FrontDoor::Authenticate(Exchange& ex, Kind kind) {
  if (!options_.verify_signatures) {
    ex.ctx = std::make_unique<RequestContext>(ex.request, ex.request_id, auth::RootPrincipal(options_.server.account_id),
                                              options_.server, authorizer_, ex.default_action);
    return true;
  }
  // An upload that streamed was verified when its head arrived (however long its body then took);
  // its sink holds what the signature proved, and compared the body's digest.
  if (auto* upload = dynamic_cast<S3UploadSink*>(ex.request.body_sink.get()); upload && upload->verified()) {
    ex.ctx = std::make_unique<RequestContext>(ex.request, ex.request_id, upload->verified()->key.principal,
                                              options_.server, authorizer_, ex.default_action);
    ex.ctx->set_signature(*upload->verified());
    return true;
  }
  auth::VerifyOptions opts;
  SignatureRules(ex.request, kind, &opts);
  opts.body_digest_checked_elsewhere = ex.request.body_sink != nullptr;  // the sink compared it
  auto verified = verifier_.Verify(ex.request, opts);
  if (auto* err = std::get_if<auth::AuthError>(&verified)) {
    WireError e = AuthWireError(*err, ex.protocol);
    spdlog::debug("request {} refused: {} {}", ex.request_id, e.code, err->message);
    FinishError(ex, e);
    return false;
  }
  auto& v = std::get<auth::VerifiedRequest>(verified);
  ex.ctx = std::make_unique<RequestContext>(ex.request, ex.request_id, v.key.principal, options_.server, authorizer_,
                                            ex.default_action);
  ex.ctx->set_signature(std::move(v));
  return true;
}

void FrontDoor::HandleJson(std::shared_ptr<Exchange> ex) {
  std::string ct = AsciiLower(TrimWhitespace(ex->request.Header("content-type")));
  const bool cbor = StartsWith(ct, kCborContentType);
  std::string_view op_name;
  const JsonService* svc = FindJsonService(ex->request, &op_name);
  const JsonOperation* op = nullptr;
  if (svc) {
    auto it = svc->operations.find(std::string(op_name));
    if (it != svc->operations.end()) op = &it->second;
  }
  // An unknown service is refused before anything else; a known service
  // checks the signature first, so that a caller learns which operations
  // exist only once authenticated.
  if (!svc) {
    FinishError(*ex, {400, "UnknownOperationException", ""});
    return;
  }
  if (!Authenticate(*ex, Kind::kJson)) return;
  if (!op || ex->request.method != "POST") {
    FinishError(*ex, {400, "UnknownOperationException", ""});
    return;
  }
  if (cbor && !svc->cbor) {
    FinishError(*ex, {400, "SerializationException", "This service does not accept CBOR; send application/x-amz-json-1.1"});
    return;
  }
  if (!ct.empty() && !cbor && !StartsWith(ct, kJson11) && !StartsWith(ct, kJson10) &&
      !StartsWith(ct, "application/json")) {
    FinishError(*ex, {400, "SerializationException",
                      "Unsupported Content-Type '" + ct.substr(0, 64) + "'; send application/x-amz-json-1.1"});
    return;
  }

  std::string_view encoding = TrimWhitespace(ex->request.Header("content-encoding"));
  if (EqualsIgnoreCase(encoding, "gzip") || EqualsIgnoreCase(encoding, "deflate")) {
    auto inflated = GunzipBounded(ex->request.body, svc->max_body_bytes);
    if (!inflated.ok()) {
      bool too_big = inflated.status().code() == StatusCode::kResourceExhausted;
      FinishError(*ex, {too_big ? 413 : 400, too_big ? "RequestEntityTooLargeException" : "SerializationException",
                        inflated.status().message()});
      return;
    }
    ex->request.body = std::move(*inflated);
  } else if (!encoding.empty() && !EqualsIgnoreCase(encoding, "identity")) {
    FinishError(*ex, {400, "SerializationException", "Unsupported Content-Encoding '" +
                                                         std::string(encoding.substr(0, 64)) + "'"});
    return;
  }

  if (cbor) {
    auto as_json = CborRequestToJson(ex->request.body, *svc->cbor);
    if (!as_json.ok()) {
      FailWith(*ex, as_json.status());
      return;
    }
    ex->request.body = std::move(*as_json);
  }
  const ErrorNames* names = &svc->error_names;
  const CborShape* cbor_shape = cbor ? &*svc->cbor : nullptr;
  RequestContext& ctx = *ex->ctx;
  std::string_view body = ex->request.body;
  (*op)(ctx, body, [this, ex, names, cbor_shape](Result<std::string> result) {
    if (!result.ok()) {
      FailWith(*ex, result.status(), *names);
      return;
    }
    if (cbor_shape) {
      auto encoded = JsonToCbor(*result, *cbor_shape);
      if (!encoded.ok()) {
        FailWith(*ex, encoded.status());
        return;
      }
      result = std::move(*encoded);
    }
    if (!ex->ctx->authorized()) {
      FailWith(*ex, Status::Internal("operation answered without authorizing " + ex->ctx->action()));
      return;
    }
    HttpResponse r;
    r.body = std::move(result).value();
    r.headers = {{"Content-Type", ex->content_type}, {"x-amzn-RequestId", ex->request_id}};
    Finish(*ex, std::move(r), {});
  });
}

void FrontDoor::HandleQuery(std::shared_ptr<Exchange> ex) {
  if (!Authenticate(*ex, Kind::kQuery)) return;
  std::string_view encoding = TrimWhitespace(ex->request.Header("content-encoding"));
  if (EqualsIgnoreCase(encoding, "gzip") || EqualsIgnoreCase(encoding, "deflate")) {
    auto inflated = GunzipBounded(ex->request.body, options_.max_query_body_bytes);
    if (!inflated.ok()) {
      FinishError(*ex, {400, "MalformedInput", inflated.status().message()});
      return;
    }
    ex->request.body = std::move(*inflated);
  }
  auto params = ParseFormParams(ex->request.method == "POST" ? std::string_view(ex->request.body)
                                                             : ex->request.query());
  if (!params.ok()) {
    FailWith(*ex, params.status());
    return;
  }
  HandleStsAction(*ex->ctx, *params, [this, ex](Result<std::string> result) {
    if (!result.ok()) {
      FailWith(*ex, result.status());
      return;
    }
    HttpResponse r;
    r.body = std::move(result).value();
    r.headers = {{"Content-Type", "text/xml"}, {"x-amzn-RequestId", ex->request_id}};
    Finish(*ex, std::move(r), {});
  });
}

void FrontDoor::HandleS3(std::shared_ptr<Exchange> ex) {
  if (!Authenticate(*ex, Kind::kS3)) return;
  if (!s3_) {
    Status allowed = ex->ctx->Authorize(ex->s3_route.action, ex->s3_route.resource);
    FailWith(*ex, allowed.ok() ? Status::Unimplemented("S3 is not served by this server.") : allowed);
    return;
  }
  s3_->Handle(*ex->ctx, ex->s3_route, ex->request, [this, ex](Result<HttpResponse> result) {
    if (!result.ok()) {
      FailWith(*ex, result.status());
      return;
    }
    if (!ex->ctx->authorized()) {
      FailWith(*ex, Status::Internal("operation answered without authorizing " + ex->ctx->action()));
      return;
    }
    HttpResponse r = std::move(result).value();
    r.SetHeader("x-amz-request-id", ex->request_id);
    Finish(*ex, std::move(r), {});
  });
}

void FrontDoor::FailWith(Exchange& ex, const Status& status, const ErrorNames& names) {
  if (IsUnexpected(status.code())) {
    spdlog::error("request {} ({}) failed: {}", ex.request_id, ex.default_action, status.ToString());
  }
  FinishError(ex, ToWireError(status, ex.protocol, names));
}

void FrontDoor::FinishError(Exchange& ex, const WireError& error) {
  Finish(ex, RenderError(error, ex.protocol, ex.request_id, ex.content_type, ex.s3_resource), error.code);
}

void FrontDoor::Finish(Exchange& ex, HttpResponse&& response, const std::string& error_code) {
  if (ex.answered.exchange(true, std::memory_order_acq_rel)) return;  // answered already
  auth::AuditRecord rec;
  rec.time = clock_.Now();
  rec.request_id = ex.request_id;
  rec.principal = ex.ctx ? ex.ctx->principal().arn : "anonymous";
  rec.access_key_id = ex.access_key_id;
  rec.action = ex.ctx ? ex.ctx->action() : ex.default_action;
  rec.resource = ex.ctx ? ex.ctx->resource() : "*";
  rec.source_ip = ex.request.remote_address;
  rec.user_agent = std::string(ex.request.Header("user-agent").substr(0, 256));
  rec.http_status = response.status;
  rec.error_code = error_code;
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("{} {} {} {} {} {}{}", rec.source_ip, ex.request.method, rec.action.empty() ? "-" : rec.action,
                  rec.resource, response.status, rec.request_id, error_code.empty() ? "" : " " + error_code);
  }
  audit_.Record(rec);
  HttpResponder respond = std::move(ex.respond);
  respond(std::move(response));
}

}  // namespace eventlake::api
