// The front door: every HTTP request enters here. It recognizes the protocol
// (AWS JSON 1.1 by X-Amz-Target, the Query protocol by a form body, S3 REST
// otherwise, plus GET /health), verifies the SigV4 signature, hands the request
// to the operation with a RequestContext, and turns the outcome into the
// protocol's response shape and one audit record.
//
// Thread-safety: register services before the server starts; Handle() is then
// called concurrently from every I/O thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/context.h"
#include "api/errors.h"
#include "api/json_service.h"
#include "api/s3.h"
#include "auth/audit.h"
#include "auth/authorizer.h"
#include "auth/sigv4.h"
#include "common/clock.h"
#include "common/http_message.h"

namespace eventlake::api {

struct FrontDoorOptions {
  ServerInfo server;
  // When false, any well-formed or absent signature is accepted as the root
  // identity (for throwaway test set-ups); the audit trail still names the key.
  bool verify_signatures = true;
  size_t max_query_body_bytes = 1 << 20;  // Query protocol (STS) form bodies
  size_t max_s3_body_bytes = 64 << 20;    // S3 requests buffered whole (documents; uploads over HTTP/2)
  size_t max_other_body_bytes = 1 << 20;
};

class FrontDoor final : public HttpHandler {
 public:
  // All references must outlive the FrontDoor.
  FrontDoor(FrontDoorOptions options, const auth::Verifier& verifier, const auth::Authorizer& authorizer,
            auth::AuditLog& audit, const Clock& clock);

  // Adds a JSON 1.1 service. Call before serving.
  void AddJsonService(JsonService service);
  // Serves S3 REST requests with `s3` (which must outlive the FrontDoor);
  // without it they are authenticated and answered NotImplemented.
  void SetS3(S3Api* s3) { s3_ = s3; }

  // Marks the server as started (every room up): GET /health answers 200 with
  // `rooms` listed. Before that, and after SetStopping(), it answers 503.
  // Call SetReady at most once, before or while serving.
  void SetReady(const std::vector<std::string>& rooms);
  void SetStopping();

  size_t BodyLimit(const HttpRequest& head) const override;
  HttpResponse Reject(const HttpRequest& head, int status, std::string_view reason) const override;
  std::optional<HttpResponse> Precheck(const HttpRequest& head) override;
  std::shared_ptr<BodySink> StreamBody(const HttpRequest& head) override;
  void Handle(HttpRequest&& request, HttpResponder respond) override;

 private:
  struct Exchange;

  enum class Kind { kHealth, kJson, kQuery, kS3 };
  Kind Classify(const HttpRequest& request) const;
  const JsonService* FindJsonService(const HttpRequest& request, std::string_view* operation) const;

  void HandleJson(std::shared_ptr<Exchange> ex);
  void HandleQuery(std::shared_ptr<Exchange> ex);
  void HandleS3(std::shared_ptr<Exchange> ex);

  // The signature rules of the API a request is meant for; false when none
  // applies (health, an unknown JSON service).
  bool SignatureRules(const HttpRequest& request, Kind kind, auth::VerifyOptions* opts) const;
  // Verifies the signature by the rules of `kind` and fills ex->ctx; on failure answers
  // the protocol's error and returns false.
  bool Authenticate(Exchange& ex, Kind kind);
  // Fills what the exchange's protocol needs to answer and audit it: shape,
  // content type, the default action and (S3) the route.
  void Describe(Exchange& ex, Kind kind) const;
  void Finish(Exchange& ex, HttpResponse&& response, const std::string& error_code);
  void FinishError(Exchange& ex, const WireError& error);
  // Answers `status` through the error table (logging unexpected failures).
  void FailWith(Exchange& ex, const Status& status, const ErrorNames& names = {});

  const FrontDoorOptions options_;
  const auth::Verifier& verifier_;
  const auth::Authorizer& authorizer_;
  auth::AuditLog& audit_;
  const Clock& clock_;
  std::unordered_map<std::string, JsonService> json_services_;  // by target prefix; fixed once serving
  S3Api* s3_ = nullptr;
  std::string health_body_;      // written once by SetReady before ready_ is set
  std::atomic<bool> ready_{false};
};

}  // namespace eventlake::api
