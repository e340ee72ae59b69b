// What every API handler gets besides its input: who is calling, the request
// id, the server's identity, and the single authorization call through which
// it names the action and resource of the request.
#pragma once

#include <optional>
#include <string>

#include "auth/authorizer.h"
#include "auth/identity.h"
#include "auth/sigv4.h"
#include "common/clock.h"
#include "common/http_message.h"

namespace eventlake::api {

struct ServerInfo {
  std::string region;      // us-east-1
  std::string account_id;  // 000000000000
  std::string version;     // the eventlake version
};

// One request in flight. Owned by the front door until the handler replies;
// handlers may keep the reference until then, from any thread, but must not
// use it concurrently from two threads.
class RequestContext {
 public:
  RequestContext(const HttpRequest& http, std::string request_id, auth::Principal principal,
                 const ServerInfo& server, const auth::Authorizer& authorizer, std::string default_action)
      : http_(http),
        request_id_(std::move(request_id)),
        principal_(std::move(principal)),
        server_(server),
        authorizer_(authorizer),
        action_(std::move(default_action)) {}

  const HttpRequest& http() const { return http_; }
  const std::string& request_id() const { return request_id_; }
  const auth::Principal& principal() const { return principal_; }
  const ServerInfo& server() const { return server_; }

  // Asks whether the caller may perform `action` ("kinesis:PutRecord") on
  // `resource` (an ARN, or "*"), and records both for the audit trail. Every
  // handler calls this before it touches a room; PermissionDenied otherwise.
  Status Authorize(std::string action, std::string resource);

  const std::string& action() const { return action_; }
  const std::string& resource() const { return resource_; }
  bool authorized() const { return authorized_; }

  // What the signature proved (null when signatures are not verified): the
  // signing key and seed signature that aws-chunked bodies continue.
  const auth::VerifiedRequest* signature() const { return signature_ ? &*signature_ : nullptr; }
  void set_signature(auth::VerifiedRequest v) { signature_ = std::move(v); }

 private:
  const HttpRequest& http_;
  const std::string request_id_;
  const auth::Principal principal_;
  const ServerInfo& server_;
  const auth::Authorizer& authorizer_;
  std::string action_;
  std::string resource_ = "*";
  bool authorized_ = false;
  std::optional<auth::VerifiedRequest> signature_;
};

}  // namespace eventlake::api
