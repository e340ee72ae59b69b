#include "auth/sigv4.h"

#include <time.h>

#include <algorithm>
#include <unordered_map>

#include "auth/keys.h"
#include "common/strings.h"

namespace eventlake::auth {
namespace {

AuthError Fail(AuthFailure f, std::string message) { return AuthError{f, std::move(message), {}, {}}; }

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

struct QueryParam {
  std::string key;    // decoded
  std::string value;  // decoded
};

// Splits a raw query into decoded pairs; malformed escapes are kept literally
// (the canonical form then re-encodes the '%', as AWS does).
std::vector<QueryParam> ParseQuery(std::string_view raw) {
  std::vector<QueryParam> out;
  if (raw.empty()) return out;
  for (std::string_view piece : Split(raw, '&')) {
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    std::string_view k = piece.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    auto dk = PercentDecode(k), dv = PercentDecode(v);
    out.push_back({dk ? *dk : std::string(k), dv ? *dv : std::string(v)});
  }
  return out;
}

// RFC 3986 5.2.4 as AWS signers apply it: drops "." and empty segments and
// resolves "..", keeping a leading and a trailing slash.
std::string RemoveDotSegments(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> out;
  for (std::string_view seg : Split(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else {
      out.push_back(seg);
    }
  }
  std::string result = path.front() == '/' ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) result += '/';
    result += out[i];
  }
  if (path.back() == '/' && !out.empty()) result += '/';
  return result;
}

std::string CanonicalUri(std::string_view raw_path, PathCanonicalization mode) {
  if (raw_path.empty()) return "/";
  if (mode == PathCanonicalization::kNormalizeAndEncode) {
    return UriEncode(RemoveDotSegments(raw_path), /*keep_slash=*/true);
  }
  auto decoded = PercentDecode(raw_path);
  return UriEncode(decoded ? *decoded : std::string(raw_path), /*keep_slash=*/true);
}

std::string CanonicalQuery(std::string_view raw_query, bool drop_signature_param) {
  std::vector<std::pair<std::string, std::string>> params;
  for (auto& p : ParseQuery(raw_query)) {
    if (drop_signature_param && p.key == "X-Amz-Signature") continue;
    params.emplace_back(UriEncode(p.key, false), UriEncode(p.value, false));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

// Trims and folds runs of whitespace into one space, as signers do.
void AppendCanonicalHeaderValue(std::string_view v, std::string* out) {
  bool pending_space = false, any = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      pending_space = any;
      continue;
    }
    if (pending_space) out->push_back(' ');
    pending_space = false;
    any = true;
    out->push_back(c);
  }
}

const std::string* FindParam(const std::vector<QueryParam>& params, std::string_view key) {
  for (const auto& p : params) {
    if (p.key == key) return &p.value;
  }
  return nullptr;
}

bool IsStreamingMode(std::string_view v) {
  return v == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" || v == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" ||
         v == "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
}

std::variant<Credential, AuthError> ParseCredential(std::string_view text, bool query_form) {
  auto parts = Split(text, '/');
  if (parts.size() != 5) {
    return Fail(AuthFailure::kIncompleteSignature,
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
                "got '" + std::string(text) + "'");
  }
  Credential c{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]), std::string(parts[3]),
               std::string(parts[4])};
  if (c.access_key_id.empty()) {
    return Fail(AuthFailure::kIncompleteSignature, "Credential must name an access key id");
  }
  (void)query_form;
  return c;
}

// The signed header names: lower-case, strictly ascending (so no name twice)
// and at most kMaxSignedHeaders, as every SigV4 signer produces them. Anything
// else could make the canonical request arbitrarily large.
std::optional<AuthError> ParseSignedHeaders(std::string_view text, std::vector<std::string>* out) {
  for (auto h : Split(text, ';')) {
    if (h.empty()) continue;
    std::string name = AsciiLower(h);
    if (!out->empty() && name <= out->back()) {
      return Fail(AuthFailure::kIncompleteSignature,
                  "SignedHeaders must be lower-case, sorted and without duplicates.");
    }
    if (out->size() == kMaxSignedHeaders) {
      return Fail(AuthFailure::kIncompleteSignature,
                  "SignedHeaders may list at most " + std::to_string(kMaxSignedHeaders) + " headers.");
    }
    out->push_back(std::move(name));
  }
  return std::nullopt;
}

// A small per-thread cache of derived signing keys: deriving one costs four
// HMACs, and a client keeps one scope for a whole day.
const Digest& CachedSigningKey(const AccessKey& key, const Credential& cred) {
  struct Entry {
    std::string secret;
    Digest digest;
  };
  thread_local std::unordered_map<std::string, Entry> cache;
  std::string id = key.id + '/' + cred.Scope();
  auto it = cache.find(id);
  if (it != cache.end() && it->second.secret == key.secret) return it->second.digest;
  if (cache.size() >= 256) cache.clear();
  Entry& e = cache[id];
  e.secret = key.secret;
  e.digest = DeriveSigningKey(key.secret, cred.date, cred.region, cred.service);
  return e.digest;
}

}  // namespace

std::variant<SignatureParts, AuthError> ParseAuthorizationHeader(std::string_view value) {
  value = TrimWhitespace(value);
  size_t sp = value.find(' ');
  std::string_view algorithm = value.substr(0, sp);
  if (algorithm != kAlgorithm) {
    return Fail(AuthFailure::kUnsupportedAlgorithm,
                "Unsupported authorization type '" + std::string(algorithm.substr(0, 64)) +
                    "'; use AWS4-HMAC-SHA256 (Signature Version 4).");
  }
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : value.substr(sp + 1);
  SignatureParts parts;
  parts.form = SignatureParts::Form::kHeader;
  bool have_cred = false, have_headers = false, have_sig = false;
  std::string missing;
  for (std::string_view item : Split(rest, ',')) {
    item = TrimWhitespace(item);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Fail(AuthFailure::kIncompleteSignature,
                  "Authorization header element '" + std::string(item.substr(0, 64)) +
                      "' is not a key=value pair. Authorization=" + std::string(value.substr(0, 512)));
    }
    std::string_view k = TrimWhitespace(item.substr(0, eq)), v = TrimWhitespace(item.substr(eq + 1));
    if (k == "Credential") {
      auto c = ParseCredential(v, false);
      if (auto* err = std::get_if<AuthError>(&c)) return *err;
      parts.credential = std::get<Credential>(std::move(c));
      have_cred = true;
    } else if (k == "SignedHeaders") {
      if (auto err = ParseSignedHeaders(v, &parts.signed_headers)) return *err;
      have_headers = !parts.signed_headers.empty();
    } else if (k == "Signature") {
      parts.signature = AsciiLower(v);
      have_sig = !v.empty();
    }
  }
  if (!have_cred) missing += "Authorization header requires 'Credential' parameter. ";
  if (!have_sig) missing += "Authorization header requires 'Signature' parameter. ";
  if (!have_headers) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!missing.empty()) {
    return Fail(AuthFailure::kIncompleteSignature, missing + "Authorization=" + std::string(value.substr(0, 512)));
  }
  if (parts.signature.size() != 64 || !IsLowerHex(parts.signature)) {
    return Fail(AuthFailure::kIncompleteSignature, "Signature must be 64 hexadecimal characters.");
  }
  return parts;
}

std::variant<SignatureParts, AuthError> ParsePresignedQuery(std::string_view raw_query) {
  auto params = ParseQuery(raw_query);
  SignatureParts parts;
  parts.form = SignatureParts::Form::kQuery;
  std::string missing;
  for (const char* name : {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders",
                           "X-Amz-Date"}) {
    const std::string* v = FindParam(params, name);
    if (!v || v->empty()) missing += std::string("AWS query-string parameters must include '") + name + "'. ";
  }
  if (!missing.empty()) {
    return Fail(AuthFailure::kIncompleteSignature, missing + "Re-examine the query-string parameters.");
  }
  if (*FindParam(params, "X-Amz-Algorithm") != kAlgorithm) {
    return Fail(AuthFailure::kUnsupportedAlgorithm,
                "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  auto c = ParseCredential(*FindParam(params, "X-Amz-Credential"), true);
  if (auto* err = std::get_if<AuthError>(&c)) return *err;
  parts.credential = std::get<Credential>(std::move(c));
  if (auto err = ParseSignedHeaders(*FindParam(params, "X-Amz-SignedHeaders"), &parts.signed_headers)) {
    err->presigned = true;
    return *err;
  }
  parts.signature = AsciiLower(*FindParam(params, "X-Amz-Signature"));
  parts.amz_date = *FindParam(params, "X-Amz-Date");
  parts.expires_seconds = -1;
  if (const std::string* exp = FindParam(params, "X-Amz-Expires")) {
    int64_t n = 0;
    bool digits = !exp->empty() && exp->size() <= 12 &&
                  std::all_of(exp->begin(), exp->end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (digits) n = std::stoll(*exp);
    if (!digits) {
      return Fail(AuthFailure::kIncompleteSignature, "X-Amz-Expires should be a number");
    }
    if (n > kMaxPresignSeconds) {
      return Fail(AuthFailure::kIncompleteSignature,
                  "X-Amz-Expires must be less than a week (in seconds) that is 604800");
    }
    parts.expires_seconds = n;
  }
  if (parts.signature.size() != 64 || !IsLowerHex(parts.signature)) {
    return Fail(AuthFailure::kIncompleteSignature, "X-Amz-Signature must be 64 hexadecimal characters.");
  }
  return parts;
}

std::string CanonicalRequest(const HttpRequest& request, const std::vector<std::string>& signed_headers,
                             std::string_view payload_hash, PathCanonicalization path_mode,
                             bool drop_signature_param) {
  std::string out;
  out.reserve(512);
  out += request.method;
  out += '\n';
  out += CanonicalUri(request.path(), path_mode);
  out += '\n';
  out += CanonicalQuery(request.query(), drop_signature_param);
  out += '\n';
  for (const auto& name : signed_headers) {
    out += name;
    out += ':';
    bool first = true;
    for (const auto& h : request.headers) {
      if (!EqualsIgnoreCase(h.name, name)) continue;
      if (!first) out += ',';
      AppendCanonicalHeaderValue(h.value, &out);
      first = false;
    }
    out += '\n';
  }
  out += '\n';
  for (size_t i = 0; i < signed_headers.size(); ++i) {
    if (i) out += ';';
    out += signed_headers[i];
  }
  out += '\n';
  out += payload_hash;
  return out;
}

namespace {

// The lines of a string to sign, joined by '\n'.
std::string JoinLines(std::initializer_list<std::string_view> lines) {
  std::string out;
  out.reserve(256);
  bool first = true;
  for (std::string_view line : lines) {
    if (!first) out += '\n';
    out += line;
    first = false;
  }
  return out;
}

}  // namespace

std::string StringToSign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request) {
  return JoinLines({kAlgorithm, amz_date, scope, Sha256Hex(canonical_request)});
}

Digest DeriveSigningKey(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  std::string k = "AWS4";
  k += secret;
  Digest d = HmacSha256(k, date);
  d = HmacSha256(AsBytes(d), region);
  d = HmacSha256(AsBytes(d), service);
  return HmacSha256(AsBytes(d), "aws4_request");
}

std::string SignatureHex(const Digest& signing_key, std::string_view string_to_sign) {
  return HexEncode(AsBytes(HmacSha256(AsBytes(signing_key), string_to_sign)));
}

std::string ChunkSignatureHex(const Digest& signing_key, std::string_view amz_date, std::string_view scope,
                              std::string_view previous_signature, std::string_view chunk_data) {
  return ChunkSignatureHexOfDigest(signing_key, amz_date, scope, previous_signature, Sha256Hex(chunk_data));
}

std::string ChunkSignatureHexOfDigest(const Digest& signing_key, std::string_view amz_date, std::string_view scope,
                                      std::string_view previous_signature, std::string_view chunk_sha256_hex) {
  static const std::string kEmptyHash = Sha256Hex("");
  return SignatureHex(signing_key, JoinLines({"AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous_signature,
                                              kEmptyHash, chunk_sha256_hex}));
}

std::string TrailerSignatureHex(const Digest& signing_key, std::string_view amz_date, std::string_view scope,
                                std::string_view previous_signature, std::string_view trailer_lines) {
  return SignatureHex(signing_key, JoinLines({"AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous_signature,
                                              Sha256Hex(trailer_lines)}));
}

bool ParseAmzDate(std::string_view text, Clock::TimePoint* out) {
  struct tm tm {};
  std::string s(TrimWhitespace(text));
  const char* end = nullptr;
  if (s.size() == 16 && s[8] == 'T' && s[15] == 'Z') {
    end = strptime(s.c_str(), "%Y%m%dT%H%M%SZ", &tm);
  } else {
    end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  }
  if (end == nullptr || *end != '\0') return false;
  if (tm.tm_year < 70 || tm.tm_year > 200) return false;  // 1970..2100 keeps time arithmetic in range
  time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) return false;
  *out = Clock::TimePoint(std::chrono::seconds(t));
  return true;
}

std::string FormatAmzDate(Clock::TimePoint t) {
  time_t secs = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

namespace {

// What the head of a request establishes before the signature is checked.
struct CheckedHead {
  SignatureParts parts;
  AccessKey key;
  std::string amz_date;  // ISO basic form
};

std::variant<CheckedHead, AuthError> CheckHead(const HttpRequest& request, const VerifyOptions& opts,
                                               const KeyStore& keys, Clock::TimePoint now) {
  const std::string* authorization = request.FindHeader("authorization");
  bool presigned = false;
  std::string_view query = request.query();
  if (!query.empty()) {
    for (const auto& p : ParseQuery(query)) {
      if (p.key == "X-Amz-Algorithm") presigned = true;
    }
  }
  if (authorization && presigned) {
    return Fail(AuthFailure::kBothAuthForms,
                "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
  }
  if (!authorization && !presigned) return Fail(AuthFailure::kMissingToken, "Missing Authentication Token");

  auto parsed = authorization ? ParseAuthorizationHeader(*authorization) : ParsePresignedQuery(query);
  if (auto* err = std::get_if<AuthError>(&parsed)) {
    err->presigned = presigned;
    return *err;
  }
  CheckedHead head;
  head.parts = std::get<SignatureParts>(std::move(parsed));
  const SignatureParts& parts = head.parts;
  const bool header_form = parts.form == SignatureParts::Form::kHeader;
  auto fail = [&](AuthFailure f, std::string message) {
    AuthError e = Fail(f, std::move(message));
    e.presigned = !header_form;
    return e;
  };

  // The request time.
  std::string amz_date = parts.amz_date;
  if (header_form) {
    if (const std::string* d = request.FindHeader("x-amz-date")) {
      amz_date = *d;
    } else if (const std::string* d2 = request.FindHeader("date")) {
      amz_date = *d2;
    } else {
      return fail(AuthFailure::kIncompleteSignature,
                  "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
                  "Authorization=" + authorization->substr(0, 512));
    }
  } else if (opts.s3 && parts.expires_seconds < 0) {
    return fail(AuthFailure::kIncompleteSignature, "Query-string authentication requires the X-Amz-Expires parameter.");
  }
  Clock::TimePoint signed_at;
  if (!ParseAmzDate(amz_date, &signed_at)) {
    return fail(AuthFailure::kIncompleteSignature,
                "Date must be in ISO-8601 'basic format'. Got '" + amz_date.substr(0, 64) +
                    "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
  amz_date = FormatAmzDate(signed_at);  // an RFC 1123 Date header signs in ISO form

  std::optional<AccessKey> key = keys.Lookup(parts.credential.access_key_id);
  if (!key) return fail(AuthFailure::kUnknownAccessKey, "The security token included in the request is invalid.");

  const Credential& cred = parts.credential;
  if (cred.terminal != "aws4_request") {
    return fail(AuthFailure::kIncompleteSignature,
                "Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                    cred.terminal.substr(0, 64) + "'.");
  }
  if (cred.date != amz_date.substr(0, 8)) {
    return fail(AuthFailure::kWrongScopeDate,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
                    cred.date.substr(0, 16) + "' != '" + amz_date.substr(0, 8) + "', from '" + amz_date + "'.");
  }
  if (cred.region != opts.region) {
    return fail(AuthFailure::kWrongRegion, "Credential should be scoped to a valid region, not '" +
                                               cred.region.substr(0, 64) + "'. This endpoint serves '" +
                                               std::string(opts.region) + "'.");
  }
  if (cred.service != opts.service) {
    return fail(AuthFailure::kWrongService,
                "Credential should be scoped to correct service: '" + std::string(opts.service) + "'. ");
  }

  const auto now_s = std::chrono::time_point_cast<std::chrono::seconds>(now);
  if (header_form || parts.expires_seconds < 0) {
    if (signed_at < now - kMaxClockSkew) {
      return fail(AuthFailure::kTimeSkew, "Signature expired: " + amz_date + " is now earlier than " +
                                              FormatAmzDate(now_s - kMaxClockSkew) + " (" + FormatAmzDate(now_s) +
                                              " - 15 min.)");
    }
  } else if (signed_at + std::chrono::seconds(parts.expires_seconds) < now) {
    return fail(AuthFailure::kPresignExpired, "Request has expired: signed at " + amz_date + ", valid for " +
                                                  std::to_string(parts.expires_seconds) + " seconds, now " +
                                                  FormatAmzDate(now_s) + ".");
  }
  if (signed_at > now + kMaxClockSkew) {
    return fail(AuthFailure::kTimeSkew, "Signature not yet current: " + amz_date + " is still later than " +
                                            FormatAmzDate(now_s + kMaxClockSkew) + " (" + FormatAmzDate(now_s) +
                                            " + 15 min.)");
  }
  const auto& signed_names = parts.signed_headers;
  if (std::find(signed_names.begin(), signed_names.end(), "host") == signed_names.end() &&
      std::find(signed_names.begin(), signed_names.end(), ":authority") == signed_names.end()) {
    return fail(AuthFailure::kIncompleteSignature,
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (opts.s3 && header_form && !request.FindHeader("x-amz-content-sha256")) {
    return fail(AuthFailure::kMissingContentSha256, "Missing required header for this request: x-amz-content-sha256");
  }
  head.key = std::move(*key);
  head.amz_date = std::move(amz_date);
  return head;
}

}  // namespace

std::optional<AuthError> Verifier::PrecheckHead(const HttpRequest& head, const VerifyOptions& opts) const {
  auto checked = CheckHead(head, opts, keys_, clock_.Now());
  if (auto* err = std::get_if<AuthError>(&checked)) return std::move(*err);
  return std::nullopt;
}

std::variant<VerifiedRequest, AuthError> Verifier::Verify(const HttpRequest& request,
                                                          const VerifyOptions& opts) const {
  auto checked = CheckHead(request, opts, keys_, clock_.Now());
  if (auto* err = std::get_if<AuthError>(&checked)) return std::move(*err);
  CheckedHead& head = std::get<CheckedHead>(checked);
  const SignatureParts& parts = head.parts;
  const bool header_form = parts.form == SignatureParts::Form::kHeader;

  // The payload hash the client signed. Only S3 lets the client name it
  // (and leave the body unsigned or stream it); every other service signs
  // the body's digest.
  std::string payload_hash;
  bool check_body_digest = false;
  const std::string* content_sha = opts.s3 ? request.FindHeader("x-amz-content-sha256") : nullptr;
  if (content_sha) {
    std::string v(TrimWhitespace(*content_sha));
    std::string lower = AsciiLower(v);
    if (lower.size() == 64 && IsLowerHex(lower)) {
      payload_hash = v;  // signed exactly as sent
      check_body_digest = true;
    } else if (v == kUnsignedPayload || IsStreamingMode(v)) {
      payload_hash = v;
    } else {
      AuthError e = Fail(AuthFailure::kInvalidContentSha256,
                         "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
                         "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a "
                         "valid sha256 value.");
      e.presigned = !header_form;
      return e;
    }
  } else if (opts.s3) {
    payload_hash = std::string(kUnsignedPayload);  // presigned (the header form requires the header)
  } else {
    payload_hash = Sha256Hex(request.body);
  }

  const Credential& cred = parts.credential;
  const std::string canonical =
      CanonicalRequest(request, parts.signed_headers, payload_hash, opts.path_mode, !header_form);
  std::string to_sign = StringToSign(head.amz_date, cred.Scope(), canonical);
  const Digest& signing_key = CachedSigningKey(head.key, cred);
  std::string expected = SignatureHex(signing_key, to_sign);
  if (!ConstantTimeEquals(expected, parts.signature)) {
    AuthError err = Fail(AuthFailure::kSignatureMismatch,
                         "The request signature we calculated does not match the signature you provided. Check "
                         "your AWS Secret Access Key and signing method. Consult the service documentation for "
                         "details.");
    err.canonical_request = canonical;
    err.string_to_sign = std::move(to_sign);
    err.presigned = !header_form;
    return err;
  }
  if (check_body_digest && !opts.body_digest_checked_elsewhere && !ConstantTimeEquals(AsciiLower(payload_hash), Sha256Hex(request.body))) {
    return Fail(AuthFailure::kContentSha256Mismatch,
                "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }

  VerifiedRequest out;
  out.key = std::move(head.key);
  out.credential = cred;
  out.amz_date = std::move(head.amz_date);
  out.payload_hash = std::move(payload_hash);
  out.signature = parts.signature;
  out.signing_key = signing_key;
  return out;
}

void SignRequest(HttpRequest& request, std::string_view access_key, std::string_view secret, std::string_view region,
                 std::string_view service, Clock::TimePoint now) {
  const std::string amz_date = FormatAmzDate(now);
  const std::string date = amz_date.substr(0, 8);
  const std::string payload = Sha256Hex(request.body);
  request.headers.push_back({"X-Amz-Date", amz_date});
  request.headers.push_back({"X-Amz-Content-SHA256", payload});
  std::vector<std::string> names;
  for (const auto& h : request.headers) names.push_back(AsciiLower(h.name));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  const std::string scope = date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  const std::string canonical = CanonicalRequest(request, names, payload, PathCanonicalization::kNormalizeAndEncode, false);
  const std::string signature =
      SignatureHex(DeriveSigningKey(secret, date, region, service), StringToSign(amz_date, scope, canonical));
  std::string signed_headers;
  for (const auto& n : names) signed_headers += (signed_headers.empty() ? "" : ";") + n;
  request.headers.push_back({"Authorization", "AWS4-HMAC-SHA256 Credential=" + std::string(access_key) + "/" + scope +
                                                  ", SignedHeaders=" + signed_headers + ", Signature=" + signature});
}

}  // namespace eventlake::auth
