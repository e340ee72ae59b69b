// AWS Signature Version 4: parsing the signature of a request (Authorization
// header or presigned query), building the canonical request and string to
// sign, and verifying a request against the key store.
//
// Spec: "Signature Version 4 signing process" and the S3 variants in the AWS
// documentation; the published SigV4 test suite is in sigv4_test.cc.
//
// Thread-safety: free functions are pure; Verifier is safe to share once built.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/crypto.h"
#include "auth/identity.h"
#include "common/clock.h"
#include "common/http_message.h"

namespace eventlake::auth {

class KeyStore;

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// The largest clock difference accepted between client and server.
inline constexpr std::chrono::minutes kMaxClockSkew{15};
// The longest validity of a presigned URL (X-Amz-Expires), in seconds.
inline constexpr int64_t kMaxPresignSeconds = 7 * 24 * 3600;

// Why a request was not authenticated. Each protocol maps these to its own
// error codes and statuses (api/errors.cc).
enum class AuthFailure {
  kMissingToken,          // neither an Authorization header nor a presigned query
  kIncompleteSignature,   // a signature element is missing or malformed
  kBothAuthForms,         // Authorization header and X-Amz-Algorithm query at once
  kUnsupportedAlgorithm,  // not AWS4-HMAC-SHA256
  kUnknownAccessKey,      // no active key with this id
  kSignatureMismatch,     // the signature does not match
  kTimeSkew,              // request time more than 15 minutes from now
  kPresignExpired,        // presigned URL past X-Amz-Expires
  kWrongRegion,           // credential scope names another region
  kWrongService,          // credential scope names another service
  kWrongScopeDate,        // credential scope date differs from the request date
  kMissingContentSha256,  // S3 request without x-amz-content-sha256
  kInvalidContentSha256,  // x-amz-content-sha256 is not a digest nor a known mode
  kContentSha256Mismatch, // x-amz-content-sha256 is not the body's digest
};

struct AuthError {
  AuthFailure failure;
  std::string message;            // the AWS-worded explanation
  std::string canonical_request;  // kSignatureMismatch: what the server signed
  std::string string_to_sign;     // kSignatureMismatch
  bool presigned = false;         // the request used the query-string form
};

// The most headers a signature may list.
inline constexpr size_t kMaxSignedHeaders = 64;

// The credential scope: <id>/<yyyymmdd>/<region>/<service>/aws4_request.
struct Credential {
  std::string access_key_id;
  std::string date;
  std::string region;
  std::string service;
  std::string terminal;
  std::string Scope() const { return date + "/" + region + "/" + service + "/" + terminal; }
};

// The signature elements of a request, in either form.
struct SignatureParts {
  enum class Form { kHeader, kQuery } form = Form::kHeader;
  Credential credential;
  std::vector<std::string> signed_headers;  // lower-case, as listed
  std::string signature;                    // lower-case hex
  std::string amz_date;                     // yyyymmddThhmmssZ (query form only; header form reads headers)
  int64_t expires_seconds = 0;              // query form only
};

// Parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
std::variant<SignatureParts, AuthError> ParseAuthorizationHeader(std::string_view value);
// Parses the presigned-URL query parameters (X-Amz-Algorithm, X-Amz-Credential, ...).
std::variant<SignatureParts, AuthError> ParsePresignedQuery(std::string_view raw_query);

// How the URI path enters the canonical request.
enum class PathCanonicalization {
  kNormalizeAndEncode,  // every service but S3: remove dot segments, then URI-encode the raw path once more
  kS3,                  // S3: decode and URI-encode each segment once, no normalization
};

// The canonical request over `signed_headers` (lower-case, in order).
// `drop_signature_param` leaves X-Amz-Signature out of the query (presigned form).
std::string CanonicalRequest(const HttpRequest& request, const std::vector<std::string>& signed_headers,
                             std::string_view payload_hash, PathCanonicalization path_mode,
                             bool drop_signature_param);
std::string StringToSign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request);
Digest DeriveSigningKey(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);
std::string SignatureHex(const Digest& signing_key, std::string_view string_to_sign);

// The signature of one chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body
// (aws-chunked): each chunk signs the previous chunk's signature (the seed
// signature of the request for the first) and the chunk's own bytes; the
// final chunk is empty.
std::string ChunkSignatureHex(const Digest& signing_key, std::string_view amz_date, std::string_view scope,
                              std::string_view previous_signature, std::string_view chunk_data);

// The same, from the hex SHA-256 of the chunk's bytes (hashed as they arrive).
std::string ChunkSignatureHexOfDigest(const Digest& signing_key, std::string_view amz_date, std::string_view scope,
                                      std::string_view previous_signature, std::string_view chunk_sha256_hex);
// The signature of the trailing headers of a STREAMING-*-TRAILER body:
// `trailer_lines` is each trailer as "name:value\n"; `previous_signature` the
// final (empty) chunk's.
std::string TrailerSignatureHex(const Digest& signing_key, std::string_view amz_date, std::string_view scope,
                                std::string_view previous_signature, std::string_view trailer_lines);
// Parses yyyymmddThhmmssZ, or an RFC 1123 date ("Sun, 30 Aug 2015 12:36:00 GMT").
bool ParseAmzDate(std::string_view text, Clock::TimePoint* out);

// Signs a request as the AWS SDKs do (the header form, signed payload): adds
// X-Amz-Date, X-Amz-Content-SHA256 and Authorization over every header the
// request has (Host among them).
void SignRequest(HttpRequest& request, std::string_view access_key, std::string_view secret, std::string_view region,
                 std::string_view service, Clock::TimePoint now);
std::string FormatAmzDate(Clock::TimePoint t);

// What a verified request proves, and what a streaming (aws-chunked) body
// needs to check its chunk signatures.
struct VerifiedRequest {
  AccessKey key;
  Credential credential;
  std::string amz_date;
  std::string payload_hash;  // the value signed: a hex digest or a mode such as UNSIGNED-PAYLOAD
  std::string signature;     // the seed signature for chunk chains
  Digest signing_key{};
};

struct VerifyOptions {
  std::string_view region;   // the server's region
  std::string_view service;  // the signing name the route expects ("kinesis", "s3", ...)
  PathCanonicalization path_mode = PathCanonicalization::kNormalizeAndEncode;
  // S3 rules: x-amz-content-sha256 names the payload hash (a digest, or
  // UNSIGNED-PAYLOAD or a STREAMING-* mode) and is required with header
  // signatures; presigned URLs sign UNSIGNED-PAYLOAD and need X-Amz-Expires.
  // Other services always sign the SHA-256 of the body.
  bool s3 = false;
  // S3 bodies that stream past the server: the signature covers the digest
  // the client declared, and whoever takes the body compares it.
  bool body_digest_checked_elsewhere = false;
};

class Verifier {
 public:
  // `keys` and `clock` must outlive the Verifier.
  Verifier(const KeyStore& keys, const Clock& clock) : keys_(keys), clock_(clock) {}

  // Verifies everything the head of the request carries: form, key, scope,
  // time. Returns nullopt when the body may be read; Verify() then checks the
  // signature itself. Lets the server refuse a request before buffering its body.
  std::optional<AuthError> PrecheckHead(const HttpRequest& head, const VerifyOptions& opts) const;

  std::variant<VerifiedRequest, AuthError> Verify(const HttpRequest& request, const VerifyOptions& opts) const;

 private:
  const KeyStore& keys_;
  const Clock& clock_;
};

}  // namespace eventlake::auth
