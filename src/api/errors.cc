#include "api/errors.h"

#include "api/cbor.h"

#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace eventlake::api {
namespace {

struct Default {
  int status;
  const char* code;
};

// The protocol defaults, one row per status code: {JSON, Query, REST-XML}.
struct Row {
  StatusCode code;
  Default json, query, xml;
};

constexpr Row kTable[] = {
    {StatusCode::kInvalidArgument, {400, "ValidationException"}, {400, "ValidationError"}, {400, "InvalidArgument"}},
    {StatusCode::kNotFound, {400, "ResourceNotFoundException"}, {404, "NotFound"}, {404, "NoSuchKey"}},
    {StatusCode::kAlreadyExists, {400, "ResourceInUseException"}, {409, "EntityAlreadyExists"}, {409, "BucketAlreadyOwnedByYou"}},
    {StatusCode::kFailedPrecondition, {400, "ResourceInUseException"}, {400, "InvalidAction"}, {412, "PreconditionFailed"}},
    {StatusCode::kResourceExhausted, {400, "ThrottlingException"}, {400, "Throttling"}, {503, "SlowDown"}},
    {StatusCode::kUnauthenticated, {400, "UnrecognizedClientException"}, {403, "InvalidClientTokenId"}, {403, "InvalidAccessKeyId"}},
    {StatusCode::kPermissionDenied, {400, "AccessDeniedException"}, {403, "AccessDenied"}, {403, "AccessDenied"}},
    {StatusCode::kUnimplemented, {400, "UnknownOperationException"}, {400, "InvalidAction"}, {501, "NotImplemented"}},
    {StatusCode::kUnavailable, {503, "ServiceUnavailableException"}, {503, "ServiceUnavailable"}, {503, "ServiceUnavailable"}},
    {StatusCode::kDeadlineExceeded, {500, "InternalFailure"}, {500, "InternalFailure"}, {500, "InternalError"}},
    {StatusCode::kCancelled, {503, "ServiceUnavailableException"}, {503, "ServiceUnavailable"}, {503, "ServiceUnavailable"}},
};
constexpr Default kInternal[3] = {{500, "InternalFailure"}, {500, "InternalFailure"}, {500, "InternalError"}};

Default Lookup(StatusCode code, Protocol protocol) {
  int p = static_cast<int>(protocol);
  for (const Row& row : kTable) {
    if (row.code == code) return p == 0 ? row.json : p == 1 ? row.query : row.xml;
  }
  return kInternal[p];
}

}  // namespace

bool IsUnexpected(StatusCode code) {
  return code == StatusCode::kInternal || code == StatusCode::kIoError || code == StatusCode::kDataLoss ||
         code == StatusCode::kDeadlineExceeded;
}

// S3 error codes whose HTTP status is not their status code's default.
int S3HttpStatus(std::string_view code, int fallback) {
  static const std::pair<std::string_view, int> kStatuses[] = {
      {"BucketNotEmpty", 409},         {"BucketAlreadyExists", 409},  {"BucketAlreadyOwnedByYou", 409},
      {"OperationAborted", 409},       {"MethodNotAllowed", 405},     {"InvalidRange", 416},
      {"PreconditionFailed", 412},     {"MissingContentLength", 411}, {"NoSuchBucket", 404},
      {"NoSuchKey", 404},              {"NoSuchVersion", 404},        {"NoSuchUpload", 404},
      {"NoSuchTagSet", 404},           {"NoSuchLifecycleConfiguration", 404},
      {"ServerSideEncryptionConfigurationNotFoundError", 404},        {"NotImplemented", 501},
      {"SignatureDoesNotMatch", 403},  {"InvalidPartNumber", 416},  {"AccessDenied", 403},         {"SlowDown", 503}};
  for (const auto& [c, st] : kStatuses) {
    if (c == code) return st;
  }
  return fallback;
}

WireError ToWireError(const Status& status, Protocol protocol, const ErrorNames& names) {
  Default d = Lookup(status.code(), protocol);
  WireError e{d.status, d.code, status.message()};
  if (!status.type().empty()) {
    e.code = status.type();
    if (protocol == Protocol::kRestXml) e.http_status = S3HttpStatus(e.code, e.http_status);
  } else if (auto it = names.find(status.code()); it != names.end()) {
    e.code = it->second;
  }
  if (IsUnexpected(status.code()) && status.type().empty()) {
    e.message = "An internal error occurred. Try the request again.";  // details stay in the server log
  }
  return e;
}

WireError AuthWireError(const auth::AuthError& error, Protocol protocol) {
  using auth::AuthFailure;
  const std::string& m = error.message;
  switch (protocol) {
    case Protocol::kJson: {
      std::string detail = m;
      if (error.failure == AuthFailure::kSignatureMismatch) {
        // At most a few KiB of it: the canonical request echoes the client's own headers.
        constexpr size_t kMaxEcho = 4096;
        detail += "\n\nThe Canonical String for this request should have been\n'" +
                  error.canonical_request.substr(0, kMaxEcho) + "'\n\nThe String-to-Sign should have been\n'" +
                  error.string_to_sign + "'\n";
      }
      switch (error.failure) {
        case AuthFailure::kMissingToken: return {400, "MissingAuthenticationTokenException", m};
        case AuthFailure::kIncompleteSignature:
        case AuthFailure::kUnsupportedAlgorithm:
        case AuthFailure::kMissingContentSha256: return {400, "IncompleteSignatureException", m};
        case AuthFailure::kUnknownAccessKey: return {400, "UnrecognizedClientException", m};
        default: return {400, "InvalidSignatureException", detail};
      }
    }
    case Protocol::kQuery: {
      switch (error.failure) {
        case AuthFailure::kMissingToken: return {403, "MissingAuthenticationToken", "Request is missing Authentication Token"};
        case AuthFailure::kIncompleteSignature:
        case AuthFailure::kUnsupportedAlgorithm:
        case AuthFailure::kMissingContentSha256: return {400, "IncompleteSignature", m};
        case AuthFailure::kUnknownAccessKey: return {403, "InvalidClientTokenId", m};
        default: return {403, "SignatureDoesNotMatch", m};
      }
    }
    case Protocol::kRestXml: {
      if (error.presigned &&
          (error.failure == AuthFailure::kIncompleteSignature || error.failure == AuthFailure::kWrongRegion ||
           error.failure == AuthFailure::kWrongService || error.failure == AuthFailure::kWrongScopeDate)) {
        return {400, "AuthorizationQueryParametersError", m};
      }
      switch (error.failure) {
        case AuthFailure::kMissingToken: return {403, "AccessDenied", "Access Denied"};
        case AuthFailure::kIncompleteSignature:
        case AuthFailure::kWrongRegion:
        case AuthFailure::kWrongService:
        case AuthFailure::kWrongScopeDate: return {400, "AuthorizationHeaderMalformed", "The authorization header is malformed; " + m};
        case AuthFailure::kUnsupportedAlgorithm: return {400, "InvalidArgument", m};
        case AuthFailure::kBothAuthForms:
          return {400, "InvalidArgument",
                  "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
                  "string parameter or the Authorization header should be specified"};
        case AuthFailure::kUnknownAccessKey:
          return {403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."};
        case AuthFailure::kSignatureMismatch:
          return {403, "SignatureDoesNotMatch",
                  "The request signature we calculated does not match the signature you provided. Check your key "
                  "and signing method."};
        case AuthFailure::kTimeSkew:
          return {403, "RequestTimeTooSkewed",
                  "The difference between the request time and the current time is too large. " + m};
        case AuthFailure::kPresignExpired: return {403, "AccessDenied", "Request has expired"};
        case AuthFailure::kMissingContentSha256: return {400, "InvalidRequest", m};
        case AuthFailure::kInvalidContentSha256: return {400, "InvalidArgument", m};
        case AuthFailure::kContentSha256Mismatch: return {400, "XAmzContentSHA256Mismatch", m};
      }
      return {403, "AccessDenied", m};
    }
  }
  return {500, "InternalFailure", m};
}

HttpResponse RenderError(const WireError& error, Protocol protocol, std::string_view request_id,
                         std::string_view content_type, std::string_view resource) {
  HttpResponse r;
  r.status = error.http_status;
  switch (protocol) {
    case Protocol::kJson: {
      nlohmann::json body = {{"__type", error.code}, {"message", error.message}};
      if (content_type == kCborContentType) {
        r.body = JsonToCbor(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), CborShape{}).value();
      } else {
        r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
      r.headers = {{"Content-Type", std::string(content_type)},
                   {"x-amzn-RequestId", std::string(request_id)},
                   {"x-amzn-ErrorType", error.code}};
      break;
    }
    case Protocol::kQuery: {
      const char* type = error.http_status >= 500 ? "Receiver" : "Sender";
      r.body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>" +
               std::string(type) + "</Type>\n    <Code>" + XmlEscape(error.code) + "</Code>\n    <Message>" +
               XmlEscape(error.message) + "</Message>\n  </Error>\n  <RequestId>" + std::string(request_id) +
               "</RequestId>\n</ErrorResponse>\n";
      r.headers = {{"Content-Type", "text/xml"}, {"x-amzn-RequestId", std::string(request_id)}};
      break;
    }
    case Protocol::kRestXml: {
      r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + XmlEscape(error.code) +
               "</Code><Message>" + XmlEscape(error.message) + "</Message>";
      if (!resource.empty()) r.body += "<Resource>" + XmlEscape(resource) + "</Resource>";
      r.body += "<RequestId>" + std::string(request_id) + "</RequestId></Error>";
      r.headers = {{"Content-Type", "application/xml"},
                   {"x-amz-request-id", std::string(request_id)},
                   {"x-amz-id-2", std::string(request_id)}};
      break;
    }
  }
  return r;
}

}  // namespace eventlake::api
