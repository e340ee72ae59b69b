#include "api/s3.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <set>

#include "api/s3_upload.h"
#include "auth/crypto.h"
#include "common/strings.h"

namespace eventlake::api {
namespace {

constexpr std::string_view kXmlns = "http://s3.amazonaws.com/doc/2006-03-01/";
constexpr size_t kMaxUserMetadataBytes = 2048;

// ---- routing ----

// The sub-resource named by the query (?versioning, ?tagging, ...), or "".
std::string SubResource(std::string_view query) {
  static const std::set<std::string, std::less<>> kSubresources = {
      "acl",       "cors",      "delete",   "encryption", "lifecycle",      "location", "logging",
      "notification", "policy", "publicAccessBlock", "tagging", "uploads", "uploadId", "versioning",
      "versions",  "website",   "object-lock", "retention", "legal-hold", "attributes", "restore",
      "ownershipControls", "accelerate", "requestPayment", "replication", "analytics", "metrics",
      "inventory", "intelligent-tiering", "policyStatus", "select", "torrent"};
  for (std::string_view piece : Split(query, '&')) {
    std::string_view name = piece.substr(0, piece.find('='));
    if (kSubresources.count(name)) return std::string(name);
  }
  return {};
}

std::string BucketAction(std::string_view method, const std::string& sub) {
  bool get = method == "GET" || method == "HEAD", put = method == "PUT", del = method == "DELETE";
  if (sub.empty()) {
    if (put) return "s3:CreateBucket";
    if (del) return "s3:DeleteBucket";
    if (get) return "s3:ListBucket";
  }
  if (sub == "versions") return "s3:ListBucketVersions";
  if (sub == "uploads") return "s3:ListBucketMultipartUploads";
  if (sub == "location") return "s3:GetBucketLocation";
  if (sub == "delete") return "s3:DeleteObject";
  if (sub == "versioning") return get ? "s3:GetBucketVersioning" : "s3:PutBucketVersioning";
  if (sub == "lifecycle") return get ? "s3:GetLifecycleConfiguration" : "s3:PutLifecycleConfiguration";
  if (sub == "encryption") return get ? "s3:GetEncryptionConfiguration" : "s3:PutEncryptionConfiguration";
  if (sub == "tagging") return get ? "s3:GetBucketTagging" : "s3:PutBucketTagging";
  if (sub == "policy") return get ? "s3:GetBucketPolicy" : del ? "s3:DeleteBucketPolicy" : "s3:PutBucketPolicy";
  if (sub == "notification") return get ? "s3:GetBucketNotification" : "s3:PutBucketNotification";
  if (sub == "publicAccessBlock") {
    return get ? "s3:GetBucketPublicAccessBlock" : "s3:PutBucketPublicAccessBlock";
  }
  static const std::map<std::string, std::pair<const char*, const char*>> kByRead = {
      {"acl", {"s3:GetBucketAcl", "s3:PutBucketAcl"}},
      {"cors", {"s3:GetBucketCORS", "s3:PutBucketCORS"}},
      {"website", {"s3:GetBucketWebsite", "s3:PutBucketWebsite"}},
      {"replication", {"s3:GetReplicationConfiguration", "s3:PutReplicationConfiguration"}},
      {"object-lock", {"s3:GetBucketObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration"}},
      {"ownershipControls", {"s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls"}},
      {"logging", {"s3:GetBucketLogging", "s3:PutBucketLogging"}},
      {"accelerate", {"s3:GetAccelerateConfiguration", "s3:PutAccelerateConfiguration"}},
      {"requestPayment", {"s3:GetBucketRequestPayment", "s3:PutBucketRequestPayment"}},
  };
  if (auto it = kByRead.find(sub); it != kByRead.end()) return get ? it->second.first : it->second.second;
  return "s3:" + std::string(method) + "Bucket";
}

std::string ObjectAction(std::string_view method, const std::string& sub) {
  bool get = method == "GET" || method == "HEAD", put = method == "PUT", del = method == "DELETE";
  if (sub == "tagging") return get ? "s3:GetObjectTagging" : del ? "s3:DeleteObjectTagging" : "s3:PutObjectTagging";
  if (sub == "acl") return get ? "s3:GetObjectAcl" : "s3:PutObjectAcl";
  if (sub == "uploadId") return get ? "s3:ListMultipartUploadParts" : del ? "s3:AbortMultipartUpload" : "s3:PutObject";
  if (sub == "uploads") return "s3:PutObject";
  if (get) return "s3:GetObject";
  if (put) return "s3:PutObject";
  if (del) return "s3:DeleteObject";
  return "s3:" + std::string(method) + "Object";
}

// ---- small helpers ----

std::map<std::string, std::string> QueryParams(std::string_view query) {
  std::map<std::string, std::string> out;
  for (std::string_view piece : Split(query, '&')) {
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    auto name = PercentDecode(piece.substr(0, eq));
    auto value = PercentDecode(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1));
    if (name && value) out.emplace(std::move(*name), std::move(*value));
  }
  return out;
}

std::string Param(const std::map<std::string, std::string>& q, const std::string& name) {
  auto it = q.find(name);
  return it == q.end() ? std::string() : it->second;
}

Status S3Error(StatusCode code, std::string type, std::string message) {
  return Status(code, std::move(message)).WithType(std::move(type));
}
Status InvalidArgument(std::string message) {
  return S3Error(StatusCode::kInvalidArgument, "InvalidArgument", std::move(message));
}
Status MalformedXml() {
  return S3Error(StatusCode::kInvalidArgument, "MalformedXML",
                 "The XML you provided was not well-formed or did not validate against our published schema");
}

std::string Iso8601(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

std::string HttpDate(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// RFC 1123 (and the two obsolete forms HTTP allows), as seconds since the epoch.
std::optional<int64_t> ParseHttpDate(std::string_view text) {
  std::string s(TrimWhitespace(text));
  for (const char* fmt : {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"}) {
    struct tm tm {};
    const char* end = strptime(s.c_str(), fmt, &tm);
    if (end && *end == '\0') return static_cast<int64_t>(timegm(&tm));
  }
  return std::nullopt;
}

std::string Xml(std::string_view root, const std::string& inner) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<";
  out += root;
  out += " xmlns=\"";
  out += kXmlns;
  out += "\">";
  out += inner;
  out += "</";
  out += root;
  out += ">";
  return out;
}

void Tag(std::string& out, std::string_view name, std::string_view value) {
  out += '<';
  out += name;
  out += '>';
  out += XmlEscape(value);
  out += "</";
  out += name;
  out += '>';
}

HttpResponse XmlResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "application/xml"}};
  r.body = std::move(body);
  return r;
}

HttpResponse Empty(int status) {
  HttpResponse r;
  r.status = status;
  return r;
}

// An error answered with headers of its own (delete markers, say).
HttpResponse ErrorWithHeaders(int status, std::string_view code, std::string_view message,
                              std::vector<HttpHeader> headers) {
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>";
  Tag(body, "Code", code);
  Tag(body, "Message", message);
  body += "</Error>";
  HttpResponse r = XmlResponse(status, std::move(body));
  for (auto& h : headers) r.headers.push_back(std::move(h));
  return r;
}

Result<pugi::xml_document> ParseXml(const std::string& body, std::string_view root) {
  pugi::xml_document doc;
  // No DOCTYPE processing, no entity expansion beyond the five predefined.
  pugi::xml_parse_result ok = doc.load_buffer(body.data(), body.size(), pugi::parse_default & ~pugi::parse_doctype);
  if (!ok || std::string_view(doc.document_element().name()) != root) return MalformedXml();
  return doc;
}

std::string ChildText(const pugi::xml_node& node, const char* name) { return node.child(name).text().as_string(); }

// Bucket names as S3 allows them for new buckets.
bool ValidBucketName(const std::string& n) {
  if (n.size() < 3 || n.size() > 63) return false;
  for (char c : n) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
          c == '-')) {
      return false;
    }
  }
  auto alnum = [](char c) { return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)); };
  if (!alnum(n.front()) || !alnum(n.back())) return false;
  if (n.find("..") != std::string::npos || n.find(".-") != std::string::npos || n.find("-.") != std::string::npos) {
    return false;
  }
  if (StartsWith(n, "xn--") || StartsWith(n, "sthree-") ||
      (n.size() >= 8 && n.compare(n.size() - 8, 8, "-s3alias") == 0) ||
      (n.size() >= 6 && n.compare(n.size() - 6, 6, "--ol-s3") == 0)) {
    return false;
  }
  int dots = 0;
  bool digits_and_dots = true;
  for (char c : n) {
    dots += c == '.';
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.')) digits_and_dots = false;
  }
  return !(digits_and_dots && dots == 3);  // not an IP address
}

std::string Owner(const RequestContext& ctx) {
  std::string out = "<Owner>";
  Tag(out, "ID", ctx.server().account_id);
  Tag(out, "DisplayName", "eventlake");
  out += "</Owner>";
  return out;
}

Result<std::map<std::string, std::string>> ParseTagSet(const std::string& body) {
  EL_ASSIGN_OR_RETURN(auto doc, ParseXml(body, "Tagging"));
  std::map<std::string, std::string> tags;
  for (auto tag : doc.document_element().child("TagSet").children("Tag")) {
    std::string key = ChildText(tag, "Key"), value = ChildText(tag, "Value");
    if (key.empty() || key.size() > 128 || value.size() > 256) {
      return S3Error(StatusCode::kInvalidArgument, "InvalidTag", "The TagKey you have provided is invalid");
    }
    if (!tags.emplace(key, value).second) {
      return S3Error(StatusCode::kInvalidArgument, "InvalidTag", "Cannot provide multiple Tags with the same key");
    }
  }
  return tags;
}

std::string TagSetXml(const std::map<std::string, std::string>& tags) {
  std::string inner = "<TagSet>";
  for (const auto& [k, v] : tags) {
    inner += "<Tag>";
    Tag(inner, "Key", k);
    Tag(inner, "Value", v);
    inner += "</Tag>";
  }
  inner += "</TagSet>";
  return Xml("Tagging", inner);
}

// The x-amz-tagging header: a URL query ("a=1&b=2").
Result<std::map<std::string, std::string>> TaggingHeader(std::string_view text) {
  std::map<std::string, std::string> tags;
  for (std::string_view piece : Split(text, '&')) {
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    auto k = PercentDecode(piece.substr(0, eq), true);
    auto v = PercentDecode(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1), true);
    if (!k || !v || k->empty() || k->size() > 128 || v->size() > 256) {
      return S3Error(StatusCode::kInvalidArgument, "InvalidTag", "The TagKey you have provided is invalid");
    }
    tags[*k] = *v;
  }
  if (tags.size() > 10) {
    return S3Error(StatusCode::kInvalidArgument, "BadRequest", "Object tags cannot be greater than 10");
  }
  return tags;
}

// The attributes a client sets with the headers of a write.
Result<objects::ObjectAttributes> AttributesFromHeaders(const HttpRequest& r) {
  objects::ObjectAttributes a;
  a.content_type = std::string(r.Header("content-type", ""));
  a.content_encoding = std::string(r.Header("content-encoding"));
  // aws-chunked is the upload's framing, not the object's encoding.
  if (a.content_encoding.find("aws-chunked") != std::string::npos) {
    std::string rest;
    for (auto piece : Split(a.content_encoding, ',')) {
      std::string_view t = TrimWhitespace(piece);
      if (t.empty() || EqualsIgnoreCase(t, "aws-chunked")) continue;
      if (!rest.empty()) rest += ",";
      rest += std::string(t);
    }
    a.content_encoding = rest;
  }
  a.content_disposition = std::string(r.Header("content-disposition"));
  a.content_language = std::string(r.Header("content-language"));
  a.cache_control = std::string(r.Header("cache-control"));
  a.expires = std::string(r.Header("expires"));
  std::string sc(r.Header("x-amz-storage-class", "STANDARD"));
  static const std::set<std::string> kClasses = {"STANDARD",   "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
                                                 "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS",
                                                 "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE"};
  if (!kClasses.count(sc)) {
    return S3Error(StatusCode::kInvalidArgument, "InvalidStorageClass", "The storage class you specified is not valid");
  }
  a.storage_class = sc;
  a.sse = std::string(r.Header("x-amz-server-side-encryption", "AES256"));
  if (a.sse != "AES256" && a.sse != "aws:kms" && a.sse != "aws:kms:dsse") {
    return InvalidArgument("The encryption method specified is not supported");
  }
  a.sse_kms_key_id = std::string(r.Header("x-amz-server-side-encryption-aws-kms-key-id"));
  size_t meta_bytes = 0;
  for (const auto& h : r.headers) {
    if (h.name.size() > 11 && EqualsIgnoreCase(std::string_view(h.name).substr(0, 11), "x-amz-meta-")) {
      std::string name = AsciiLower(h.name.substr(11));
      meta_bytes += name.size() + h.value.size();
      a.user_metadata[name] = h.value;
    }
  }
  if (meta_bytes > kMaxUserMetadataBytes) {
    return S3Error(StatusCode::kInvalidArgument, "MetadataTooLarge",
                   "Your metadata headers exceed the maximum allowed metadata size.");
  }
  if (const std::string* t = r.FindHeader("x-amz-tagging")) {
    EL_ASSIGN_OR_RETURN(a.tags, TaggingHeader(*t));
  }
  return a;
}

// The headers that describe a stored version.
void AddObjectHeaders(HttpResponse& r, const objects::ObjectVersion& v, bool versioned, bool checksum_mode) {
  const auto& a = v.attributes;
  r.headers.push_back({"ETag", v.etag});
  r.headers.push_back({"Last-Modified", HttpDate(v.last_modified_ms)});
  r.headers.push_back({"Accept-Ranges", "bytes"});
  r.headers.push_back({"Content-Type", a.content_type.empty() ? "binary/octet-stream" : a.content_type});
  if (!a.content_encoding.empty()) r.headers.push_back({"Content-Encoding", a.content_encoding});
  if (!a.content_disposition.empty()) r.headers.push_back({"Content-Disposition", a.content_disposition});
  if (!a.content_language.empty()) r.headers.push_back({"Content-Language", a.content_language});
  if (!a.cache_control.empty()) r.headers.push_back({"Cache-Control", a.cache_control});
  if (!a.expires.empty()) r.headers.push_back({"Expires", a.expires});
  if (versioned) r.headers.push_back({"x-amz-version-id", v.version_id});
  if (a.storage_class != "STANDARD" && !a.storage_class.empty()) {
    r.headers.push_back({"x-amz-storage-class", a.storage_class});
  }
  if (!a.sse.empty()) r.headers.push_back({"x-amz-server-side-encryption", a.sse});
  if (!a.sse_kms_key_id.empty()) r.headers.push_back({"x-amz-server-side-encryption-aws-kms-key-id", a.sse_kms_key_id});
  if (!a.tags.empty()) r.headers.push_back({"x-amz-tagging-count", std::to_string(a.tags.size())});
  if (a.parts_count > 0) r.headers.push_back({"x-amz-mp-parts-count", std::to_string(a.parts_count)});
  for (const auto& [k, val] : a.user_metadata) r.headers.push_back({"x-amz-meta-" + k, val});
  if (checksum_mode && !a.checksum_algorithm.empty()) {
    r.headers.push_back({"x-amz-checksum-" + AsciiLower(a.checksum_algorithm), a.checksum_value});
    r.headers.push_back({"x-amz-checksum-type", a.checksum_type.empty() ? "FULL_OBJECT" : a.checksum_type});
  }
}

// A sink that refuses the body: the upload could not start.
class RefusingSink final : public BodySink {
 public:
  explicit RefusingSink(Status s) : status_(std::move(s)) {}
  Status Write(std::string_view) override { return status_; }
  Status Finish() override { return status_; }

 private:
  Status status_;
};

}  // namespace

std::shared_ptr<BodySink> RefuseUpload(Status why) { return std::make_shared<RefusingSink>(std::move(why)); }

namespace {

// Serves a version's bytes to the HTTP layer.
class ReaderSource final : public BodySource {
 public:
  explicit ReaderSource(std::unique_ptr<objects::ObjectReader> r) : reader_(std::move(r)) {}
  Result<size_t> Read(char* buf, size_t n) override { return reader_->Read(buf, n); }
  Result<FileSlice> NextFileSlice(size_t n) override { return reader_->NextFileSlice(n); }

 private:
  std::unique_ptr<objects::ObjectReader> reader_;
};

// A byte range from a Range header: bytes=a-b, bytes=a-, bytes=-n. nullopt
// when the header is absent or not a single byte range (S3 then sends all).
struct ByteRange {
  uint64_t first, last;  // inclusive
};
Result<std::optional<ByteRange>> ParseRange(std::string_view header, uint64_t size) {
  header = TrimWhitespace(header);
  if (header.empty() || !StartsWith(header, "bytes=") || header.find(',') != std::string_view::npos) {
    return std::optional<ByteRange>();
  }
  std::string_view spec = header.substr(6);
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::optional<ByteRange>();
  auto num = [](std::string_view t) -> std::optional<uint64_t> {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size() || t.empty()) return std::nullopt;
    return v;
  };
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  auto invalid = S3Error(StatusCode::kInvalidArgument, "InvalidRange", "The requested range is not satisfiable");
  if (a.empty()) {
    auto n = num(b);
    if (!n) return std::optional<ByteRange>();
    if (*n == 0 || size == 0) return invalid;
    uint64_t len = std::min(*n, size);
    return std::optional<ByteRange>(ByteRange{size - len, size - 1});
  }
  auto first = num(a);
  if (!first) return std::optional<ByteRange>();
  if (*first >= size) return invalid;
  uint64_t last = size - 1;
  if (!b.empty()) {
    auto l = num(b);
    if (!l || *l < *first) return std::optional<ByteRange>();
    last = std::min(*l, size - 1);
  }
  return std::optional<ByteRange>(ByteRange{*first, last});
}

Result<int> PartNumber(const std::map<std::string, std::string>& q) {
  const std::string text = Param(q, "partNumber");
  int n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n < 1 || n > 10000) {
    return InvalidArgument("Part number must be an integer between 1 and 10000, inclusive");
  }
  return n;
}

// ISO 8601 date-times as S3 documents use them ("2026-01-01T00:00:00Z",
// optionally with milliseconds), as milliseconds since the epoch.
std::optional<int64_t> ParseIso8601(const std::string& text) {
  struct tm tm {};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return std::nullopt;
  std::string_view rest(end);
  if (StartsWith(rest, ".")) {
    size_t digits = rest.find_first_not_of("0123456789", 1);
    rest.remove_prefix(digits == std::string_view::npos ? rest.size() : digits);
  }
  if (rest != "Z" && rest != "+00:00") return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

Result<int> PositiveInt(const pugi::xml_node& node, const std::string& what) {
  std::string text = node.text().as_string();
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v <= 0) {
    return InvalidArgument("'" + what + "' must be a positive integer");
  }
  return v;
}

Result<int64_t> MidnightDate(const pugi::xml_node& node) {
  auto ms = ParseIso8601(node.text().as_string());
  if (!ms) return InvalidArgument("The 'Date' is not a valid ISO 8601 date");
  if (*ms % 86'400'000 != 0) return InvalidArgument("'Date' must be at midnight GMT");
  return *ms;
}

// A LifecycleConfiguration document as S3 validates it.
Result<std::vector<objects::LifecycleRule>> ParseLifecycle(const std::string& body) {
  static const std::set<std::string> kColdClasses = {"STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER",
                                                     "DEEP_ARCHIVE", "GLACIER_IR"};
  EL_ASSIGN_OR_RETURN(auto doc, ParseXml(body, "LifecycleConfiguration"));
  std::vector<objects::LifecycleRule> rules;
  std::set<std::string> ids;
  for (auto node : doc.document_element().children("Rule")) {
    objects::LifecycleRule r;
    r.id = ChildText(node, "ID");
    if (r.id.size() > 255) return InvalidArgument("ID length should not exceed allowed limit of 255");
    if (!r.id.empty() && !ids.insert(r.id).second) return InvalidArgument("Rule ID must be unique. Found same ID for more than one rule");
    std::string status = ChildText(node, "Status");
    if (status != "Enabled" && status != "Disabled") return MalformedXml();
    r.enabled = status == "Enabled";
    bool tag_filter = false;
    auto read_filter = [&](const pugi::xml_node& f) -> Status {
      if (f.child("Prefix")) r.prefix = ChildText(f, "Prefix");
      for (auto tag : f.children("Tag")) {
        r.tags[ChildText(tag, "Key")] = ChildText(tag, "Value");
        tag_filter = true;
      }
      for (auto [name, target] : {std::pair<const char*, std::optional<uint64_t>*>{"ObjectSizeGreaterThan",
                                                                                     &r.size_greater_than},
                                  {"ObjectSizeLessThan", &r.size_less_than}}) {
        if (!f.child(name)) continue;
        std::string t = ChildText(f, name);
        uint64_t v = 0;
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (ec != std::errc() || p != t.data() + t.size()) return MalformedXml();
        *target = v;
      }
      return Status::Ok();
    };
    if (auto filter = node.child("Filter")) {
      EL_RETURN_IF_ERROR(read_filter(filter));
      if (auto conj = filter.child("And")) EL_RETURN_IF_ERROR(read_filter(conj));
    } else if (node.child("Prefix")) {
      r.prefix = ChildText(node, "Prefix");  // the older form of the filter
    }
    if (r.size_greater_than && r.size_less_than && *r.size_less_than <= *r.size_greater_than) {
      return InvalidArgument("ObjectSizeLessThan must be greater than ObjectSizeGreaterThan");
    }
    bool action = false;
    if (auto e = node.child("Expiration")) {
      action = true;
      if (e.child("Days")) {
        EL_ASSIGN_OR_RETURN(r.expiration_days, PositiveInt(e.child("Days"), "Days"));
      }
      if (e.child("Date")) {
        EL_ASSIGN_OR_RETURN(r.expiration_date_ms, MidnightDate(e.child("Date")));
      }
      r.expired_object_delete_marker = ChildText(e, "ExpiredObjectDeleteMarker") == "true";
      const int set = (r.expiration_days ? 1 : 0) + (r.expiration_date_ms ? 1 : 0) + (e.child("ExpiredObjectDeleteMarker") ? 1 : 0);
      if (set != 1) return MalformedXml();
      if (r.expired_object_delete_marker && tag_filter) {
        return InvalidArgument("ExpiredObjectDeleteMarker cannot be specified with a Tag filter.");
      }
    }
    for (auto t : node.children("Transition")) {
      action = true;
      objects::LifecycleRule::Transition tr;
      if (t.child("Days")) {
        std::string d = ChildText(t, "Days");
        int v = -1;
        auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
        if (ec != std::errc() || p != d.data() + d.size() || v < 0) {
          return InvalidArgument("'Days' in Transition action must be nonnegative");
        }
        tr.days = v;
      }
      if (t.child("Date")) {
        EL_ASSIGN_OR_RETURN(tr.date_ms, MidnightDate(t.child("Date")));
      }
      if (tr.days.has_value() == tr.date_ms.has_value()) return MalformedXml();
      tr.storage_class = ChildText(t, "StorageClass");
      if (!kColdClasses.count(tr.storage_class)) return MalformedXml();
      r.transitions.push_back(tr);
    }
    for (auto t : node.children("NoncurrentVersionTransition")) {
      action = true;
      objects::LifecycleRule::NoncurrentTransition tr;
      EL_ASSIGN_OR_RETURN(tr.days, PositiveInt(t.child("NoncurrentDays"), "NoncurrentDays"));
      tr.storage_class = ChildText(t, "StorageClass");
      if (!kColdClasses.count(tr.storage_class)) return MalformedXml();
      r.noncurrent_transitions.push_back(tr);
    }
    if (auto n = node.child("NoncurrentVersionExpiration")) {
      action = true;
      EL_ASSIGN_OR_RETURN(r.noncurrent_days, PositiveInt(n.child("NoncurrentDays"), "NoncurrentDays"));
      if (n.child("NewerNoncurrentVersions")) {
        EL_ASSIGN_OR_RETURN(r.newer_noncurrent_versions,
                            PositiveInt(n.child("NewerNoncurrentVersions"), "NewerNoncurrentVersions"));
      }
    }
    if (auto a = node.child("AbortIncompleteMultipartUpload")) {
      action = true;
      if (tag_filter) {
        return InvalidArgument("Tag-based filter cannot be used with AbortIncompleteMultipartUpload action");
      }
      EL_ASSIGN_OR_RETURN(r.abort_incomplete_upload_days,
                          PositiveInt(a.child("DaysAfterInitiation"), "DaysAfterInitiation"));
    }
    if (!action) return InvalidArgument("At least one action needs to be specified in a rule");
    rules.push_back(std::move(r));
  }
  if (rules.empty() || rules.size() > 1000) return MalformedXml();
  return rules;
}

// A count from the query (max-keys, ...): `fallback` when absent, at most `cap`.
Result<int> CountParam(const std::map<std::string, std::string>& q, const std::string& name, int fallback,
                       int cap = 1000) {
  auto it = q.find(name);
  if (it == q.end()) return fallback;
  const std::string& t = it->second;
  int v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size() || v < 0) {
    return InvalidArgument("Provided " + name + " not an integer or within integer range");
  }
  return std::min(v, cap);
}

void AddCommonPrefixes(std::string& inner, const std::vector<std::string>& prefixes, bool url) {
  for (const auto& p : prefixes) {
    inner += "<CommonPrefixes>";
    Tag(inner, "Prefix", url ? UriEncode(p, true) : p);
    inner += "</CommonPrefixes>";
  }
}

// Continuation tokens: opaque to clients, and tied to what they resume after.
std::string EncodeToken(const objects::ListResult& page) {
  return auth::Base64Encode((page.last_is_prefix ? "p:" : "k:") + page.last);
}
bool DecodeToken(const std::string& token, std::string* after, bool* is_prefix) {
  auto raw = auth::Base64Decode(token);
  if (!raw || raw->size() < 2 || (*raw)[1] != ':' || ((*raw)[0] != 'p' && (*raw)[0] != 'k')) return false;
  *is_prefix = (*raw)[0] == 'p';
  *after = raw->substr(2);
  return true;
}

}  // namespace

S3Route ClassifyS3Request(const HttpRequest& request, const std::vector<std::string>& virtual_host_domains) {
  S3Route r;
  std::string_view path = request.path();
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  // Virtual-hosted style: the bucket is the Host's first label.
  std::string host = AsciiLower(request.Header("host"));
  if (size_t colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos) {
    host.resize(colon);
  }
  // The longest domain the host ends with decides (so that b.s3.localhost is bucket b, not b.s3); a host
  // that is a domain itself is the service endpoint, addressed path-style.
  std::string vhost_bucket;
  size_t matched = 0;
  for (const auto& domain : virtual_host_domains) {
    if (host == domain) {
      vhost_bucket.clear();
      matched = std::string::npos;
      break;
    }
    if (domain.size() > matched && host.size() > domain.size() + 1 &&
        host.compare(host.size() - domain.size(), domain.size(), domain) == 0 &&
        host[host.size() - domain.size() - 1] == '.') {
      vhost_bucket = host.substr(0, host.size() - domain.size() - 1);
      matched = domain.size();
    }
  }
  std::string_view bucket, key;
  if (!vhost_bucket.empty()) {
    bucket = vhost_bucket;
    key = path;
  } else {
    size_t slash = path.find('/');
    bucket = path.substr(0, slash);
    key = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  auto dbucket = PercentDecode(bucket), dkey = PercentDecode(key);
  r.bucket = dbucket ? *dbucket : std::string(bucket);
  r.key = dkey ? *dkey : std::string(key);
  r.sub = SubResource(request.query());
  if (r.bucket.empty()) {
    r.action = "s3:ListAllMyBuckets";
    r.resource = "*";
  } else if (r.key.empty()) {
    r.action = BucketAction(request.method, r.sub);
    r.resource = "arn:aws:s3:::" + r.bucket;
  } else {
    r.action = ObjectAction(request.method, r.sub);
    r.resource = "arn:aws:s3:::" + r.bucket + "/" + r.key;
  }
  return r;
}

S3Api::S3Api(objects::ObjectStore& store, S3Options options)
    : store_(store), options_(std::move(options)), pool_(std::max(1, options_.threads)) {}

S3Api::~S3Api() { pool_.Stop(); }

bool S3Api::StreamsBody(const S3Route& route, const HttpRequest& head) const {
  if (head.method != "PUT" || route.bucket.empty() || route.key.empty()) return false;
  if (head.FindHeader("x-amz-copy-source")) return false;
  return route.sub.empty() || route.sub == "uploadId";
}

std::shared_ptr<BodySink> S3Api::StartUpload(const HttpRequest& head, const auth::VerifiedRequest* verified) {
  // A part of an upload created with a checksum algorithm gets that checksum, named or not.
  std::string default_algorithm;
  S3Route route = ClassifyS3Request(head, options_.virtual_host_domains);
  if (route.sub == "uploadId") {
    auto upload = store_.GetUpload(route.bucket, route.key, Param(QueryParams(head.query()), "uploadId"));
    if (upload.ok()) default_algorithm = AsciiLower(upload->attributes.checksum_algorithm);
  }
  auto blob = store_.NewBlob();
  if (!blob.ok()) return std::make_shared<RefusingSink>(blob.status());
  auto sink = S3UploadSink::Create(head, verified, std::move(*blob), options_.max_object_bytes, default_algorithm);
  if (!sink.ok()) return std::make_shared<RefusingSink>(sink.status());
  return *sink;
}

void S3Api::Handle(RequestContext& ctx, const S3Route& route, HttpRequest& request,
                   std::function<void(Result<HttpResponse>)> reply) {
  Status allowed = ctx.Authorize(route.action, route.resource);
  if (!allowed.ok()) {
    reply(allowed);
    return;
  }
  pool_.Post([this, &ctx, &route, &request, reply = std::move(reply)] {
    Result<HttpResponse> out = Status::Internal("unanswered");
    try {
      out = Run(ctx, route, request);
    } catch (const std::exception& e) {
      out = Status::Internal(e.what());
    }
    reply(std::move(out));
  });
}

Result<HttpResponse> S3Api::Run(RequestContext& ctx, const S3Route& route, HttpRequest& request) {
  if (route.bucket.empty()) return Service(ctx, route, request);
  if (route.key.empty()) return Bucket(ctx, route, request);
  return Object(ctx, route, request);
}

Result<HttpResponse> S3Api::Service(RequestContext& ctx, const S3Route&, HttpRequest& request) {
  if (request.method != "GET") {
    return S3Error(StatusCode::kFailedPrecondition, "MethodNotAllowed",
                   "The specified method is not allowed against this resource.");
  }
  std::string inner = Owner(ctx) + "<Buckets>";
  for (const auto& b : store_.ListBuckets()) {
    inner += "<Bucket>";
    Tag(inner, "Name", b.name);
    Tag(inner, "CreationDate", Iso8601(b.created_ms));
    Tag(inner, "BucketRegion", b.region);
    inner += "</Bucket>";
  }
  inner += "</Buckets>";
  return XmlResponse(200, Xml("ListAllMyBucketsResult", inner));
}

Result<HttpResponse> S3Api::Bucket(RequestContext& ctx, const S3Route& route, HttpRequest& request) {
  const std::string& m = request.method;
  const std::string& sub = route.sub;
  const std::string& bucket = route.bucket;
  if (sub.empty() && m == "PUT") {
    if (!ValidBucketName(bucket)) {
      return S3Error(StatusCode::kInvalidArgument, "InvalidBucketName", "The specified bucket is not valid.");
    }
    std::string region = options_.region;
    if (!TrimWhitespace(request.body).empty()) {
      EL_ASSIGN_OR_RETURN(auto doc, ParseXml(request.body, "CreateBucketConfiguration"));
      std::string constraint = ChildText(doc.document_element(), "LocationConstraint");
      if (!constraint.empty() && constraint != options_.region) {
        return S3Error(StatusCode::kInvalidArgument, "IllegalLocationConstraintException",
                       "The " + constraint + " location constraint is incompatible for the region specific endpoint "
                       "this request was sent to.");
      }
    }
    EL_RETURN_IF_ERROR(store_.CreateBucket(bucket, region));
    HttpResponse r = Empty(200);
    r.headers.push_back({"Location", "/" + bucket});
    return r;
  }
  EL_ASSIGN_OR_RETURN(objects::BucketInfo info, store_.GetBucket(bucket));
  if (sub.empty() && m == "HEAD") {
    HttpResponse r = Empty(200);
    r.headers.push_back({"x-amz-bucket-region", info.region});
    return r;
  }
  if (sub.empty() && m == "DELETE") {
    EL_RETURN_IF_ERROR(store_.DeleteBucket(bucket));
    return Empty(204);
  }
  if (sub.empty() && m == "GET") return ListObjects(route, request);
  if (sub == "location" && m == "GET") {
    std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"" +
                       std::string(kXmlns) + "\">" + (info.region == "us-east-1" ? "" : XmlEscape(info.region)) +
                       "</LocationConstraint>";
    return XmlResponse(200, body);
  }
  if (sub == "versions" && m == "GET") return ListVersions(route, request);
  if (sub == "versioning") {
    if (m == "GET") {
      std::string inner;
      if (!info.versioning.empty()) Tag(inner, "Status", info.versioning);
      return XmlResponse(200, Xml("VersioningConfiguration", inner));
    }
    if (m == "PUT") {
      EL_ASSIGN_OR_RETURN(auto doc, ParseXml(request.body, "VersioningConfiguration"));
      std::string status = ChildText(doc.document_element(), "Status");
      if (status != "Enabled" && status != "Suspended") {
        return S3Error(StatusCode::kInvalidArgument, "IllegalVersioningConfigurationException",
                       "The Versioning element must be specified");
      }
      EL_RETURN_IF_ERROR(store_.SetVersioning(bucket, status));
      return Empty(200);
    }
  }
  if (sub == "tagging") {
    if (m == "GET") {
      auto stored = store_.GetBucketConfig(bucket, "tagging");
      if (!stored.ok()) {
        return S3Error(StatusCode::kNotFound, "NoSuchTagSet", "The TagSet does not exist");
      }
      auto tags = nlohmann::json::parse(*stored, nullptr, false);
      std::map<std::string, std::string> map;
      if (tags.is_object()) map = tags.get<std::map<std::string, std::string>>();
      return XmlResponse(200, TagSetXml(map));
    }
    if (m == "PUT") {
      EL_ASSIGN_OR_RETURN(auto tags, ParseTagSet(request.body));
      if (tags.size() > 50) {
        return S3Error(StatusCode::kInvalidArgument, "InvalidTag", "Bucket tag count cannot be greater than 50");
      }
      EL_RETURN_IF_ERROR(store_.SetBucketConfig(bucket, "tagging", nlohmann::json(tags).dump()));
      return Empty(204);
    }
    if (m == "DELETE") {
      EL_RETURN_IF_ERROR(store_.SetBucketConfig(bucket, "tagging", ""));
      return Empty(204);
    }
  }
  // Documents kept as given (their rules are applied by the rooms that own them).
  struct Document {
    const char* sub;
    const char* root;
    const char* missing_code;
    const char* missing_message;
  };
  static const Document kDocuments[] = {
      {"lifecycle", "LifecycleConfiguration", "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"},
      {"encryption", "ServerSideEncryptionConfiguration", "ServerSideEncryptionConfigurationNotFoundError",
       "The server side encryption configuration was not found"},
      {"notification", "NotificationConfiguration", nullptr, nullptr},
      // Settings tools such as Terraform read and write on every bucket: kept as given, not acted on.
      {"cors", "CORSConfiguration", "NoSuchCORSConfiguration", "The CORS configuration does not exist"},
      {"website", "WebsiteConfiguration", "NoSuchWebsiteConfiguration",
       "The specified bucket does not have a website configuration"},
      {"replication", "ReplicationConfiguration", "ReplicationConfigurationNotFoundError",
       "The replication configuration was not found"},
      {"object-lock", "ObjectLockConfiguration", "ObjectLockConfigurationNotFoundError",
       "Object Lock configuration does not exist for this bucket"},
      {"ownershipControls", "OwnershipControls", "OwnershipControlsNotFoundError",
       "The bucket ownership controls were not found"},
      {"publicAccessBlock", "PublicAccessBlockConfiguration", "NoSuchPublicAccessBlockConfiguration",
       "The public access block configuration was not found"},
      {"logging", "BucketLoggingStatus", nullptr, nullptr},
      {"accelerate", "AccelerateConfiguration", nullptr, nullptr},
      {"requestPayment", "RequestPaymentConfiguration", nullptr, nullptr},
  };
  for (const auto& d : kDocuments) {
    if (sub != d.sub) continue;
    if (m == "GET") {
      auto stored = store_.GetBucketConfig(bucket, sub);
      if (stored.ok()) return XmlResponse(200, *stored);
      if (sub == "encryption") {  // every bucket encrypts with SSE-S3 unless told otherwise
        return XmlResponse(200, Xml("ServerSideEncryptionConfiguration",
                                    "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
                                    "</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled>"
                                    "</Rule>"));
      }
      if (sub == "requestPayment") return XmlResponse(200, Xml(d.root, "<Payer>BucketOwner</Payer>"));
      if (!d.missing_code) return XmlResponse(200, Xml(d.root, ""));
      return S3Error(StatusCode::kNotFound, d.missing_code, d.missing_message);
    }
    if (m == "PUT") {
      EL_RETURN_IF_ERROR(ParseXml(request.body, d.root).status());
      if (sub == "lifecycle") {
        EL_ASSIGN_OR_RETURN(auto rules, ParseLifecycle(request.body));
        EL_RETURN_IF_ERROR(store_.SetLifecycle(bucket, rules));
      }
      EL_RETURN_IF_ERROR(store_.SetBucketConfig(bucket, sub, request.body));
      return Empty(200);
    }
    if (m == "DELETE") {
      if (sub == "lifecycle") EL_RETURN_IF_ERROR(store_.SetLifecycle(bucket, {}));
      EL_RETURN_IF_ERROR(store_.SetBucketConfig(bucket, sub, ""));
      return Empty(204);
    }
  }
  if (sub == "acl") return Acl(ctx, m);
  if (sub == "policy") {
    // Stored as given (a JSON document); the policy language comes with the security work.
    if (m == "GET") {
      auto stored = store_.GetBucketConfig(bucket, "policy");
      if (!stored.ok()) {
        return S3Error(StatusCode::kNotFound, "NoSuchBucketPolicy", "The bucket policy does not exist");
      }
      HttpResponse r = Empty(200);
      r.headers.push_back({"Content-Type", "application/json"});
      r.body = *stored;
      return r;
    }
    if (m == "PUT") {
      if (!nlohmann::json::accept(request.body)) {
        return S3Error(StatusCode::kInvalidArgument, "MalformedPolicy", "Policies must be valid JSON");
      }
      EL_RETURN_IF_ERROR(store_.SetBucketConfig(bucket, "policy", request.body));
      return Empty(204);
    }
    if (m == "DELETE") {
      EL_RETURN_IF_ERROR(store_.SetBucketConfig(bucket, "policy", ""));
      return Empty(204);
    }
  }
  if (sub == "delete" && m == "POST") return DeleteObjects(ctx, route, request);
  if (sub == "uploads" && m == "GET") return ListUploads(ctx, route, request);
  return S3Error(StatusCode::kUnimplemented, "NotImplemented",
                 "A header or query you provided implies functionality that is not implemented: " +
                     route.action.substr(3));
}

Result<HttpResponse> S3Api::Object(RequestContext& ctx, const S3Route& route, HttpRequest& request) {
  const std::string& m = request.method;
  const std::string& sub = route.sub;
  auto q = QueryParams(request.query());
  if (sub.empty()) {
    if (m == "PUT") {
      if (request.FindHeader("x-amz-copy-source")) return CopyObject(ctx, route, request);
      return PutObject(ctx, route, request);
    }
    if (m == "GET" || m == "HEAD") return GetObject(route, request, m == "HEAD");
    if (m == "DELETE") {
      EL_ASSIGN_OR_RETURN(objects::BucketInfo info, store_.GetBucket(route.bucket));
      EL_ASSIGN_OR_RETURN(auto del, store_.DeleteObject(route.bucket, route.key, Param(q, "versionId")));
      HttpResponse r = Empty(204);
      if (del.delete_marker) r.headers.push_back({"x-amz-delete-marker", "true"});
      if (!info.versioning.empty() || !Param(q, "versionId").empty()) {
        r.headers.push_back({"x-amz-version-id", del.version_id});
      }
      return r;
    }
  }
  if (sub == "uploads" && m == "POST") return CreateUpload(route, request);
  if (sub == "acl") {
    EL_ASSIGN_OR_RETURN(auto v, store_.Head(route.bucket, route.key, Param(q, "versionId")));
    if (v.delete_marker) return S3Error(StatusCode::kNotFound, "NoSuchKey", "The specified key does not exist.");
    return Acl(ctx, m);
  }
  if (sub == "uploadId") {
    if (m == "PUT") return UploadPart(ctx, route, request);
    if (m == "POST") return CompleteUpload(route, request);
    if (m == "GET") return ListParts(ctx, route, request);
    if (m == "DELETE") {
      EL_RETURN_IF_ERROR(store_.AbortUpload(route.bucket, route.key, Param(q, "uploadId")));
      return Empty(204);
    }
  }
  if (sub == "tagging") {
    const std::string version = Param(q, "versionId");
    if (m == "GET") {
      EL_ASSIGN_OR_RETURN(auto v, store_.Head(route.bucket, route.key, version));
      if (v.delete_marker) {
        return version.empty() ? S3Error(StatusCode::kNotFound, "NoSuchKey", "The specified key does not exist.")
                               : S3Error(StatusCode::kFailedPrecondition, "MethodNotAllowed",
                                         "The specified method is not allowed against this resource.");
      }
      HttpResponse r = XmlResponse(200, TagSetXml(v.attributes.tags));
      r.headers.push_back({"x-amz-version-id", v.version_id});
      return r;
    }
    if (m == "PUT" || m == "DELETE") {
      std::map<std::string, std::string> tags;
      if (m == "PUT") {
        EL_ASSIGN_OR_RETURN(tags, ParseTagSet(request.body));
        if (tags.size() > 10) {
          return S3Error(StatusCode::kInvalidArgument, "BadRequest", "Object tags cannot be greater than 10");
        }
      }
      std::string version_out;
      EL_RETURN_IF_ERROR(store_.SetObjectTags(route.bucket, route.key, version, tags, &version_out));
      HttpResponse r = Empty(m == "PUT" ? 200 : 204);
      r.headers.push_back({"x-amz-version-id", version_out});
      return r;
    }
  }
  return S3Error(StatusCode::kUnimplemented, "NotImplemented",
                 "A header or query you provided implies functionality that is not implemented: " +
                     route.action.substr(3));
}

Result<HttpResponse> S3Api::PutObject(RequestContext& ctx, const S3Route& route, HttpRequest& request) {
  if (route.key.size() > 1024) {
    return S3Error(StatusCode::kInvalidArgument, "KeyTooLongError", "Your key is too long");
  }
  if (!request.body_sink && !request.FindHeader("content-length") && !request.FindHeader("transfer-encoding")) {
    return S3Error(StatusCode::kInvalidArgument, "MissingContentLength",
                   "You must provide the Content-Length HTTP header.");
  }
  EL_ASSIGN_OR_RETURN(S3UploadSink * upload, FinishedUpload(ctx, request));
  EL_ASSIGN_OR_RETURN(objects::ObjectAttributes attrs, AttributesFromHeaders(request));
  if (!upload->algorithm().empty()) {
    attrs.checksum_algorithm = upload->algorithm();
    attrs.checksum_value = upload->checksum();
    attrs.checksum_type = "FULL_OBJECT";
  }
  objects::WriteConditions cond;
  cond.if_none_match_any = TrimWhitespace(request.Header("if-none-match")) == "*";
  cond.if_match = std::string(TrimWhitespace(request.Header("if-match")));
  const std::string etag = "\"" + HexEncode(upload->md5()) + "\"";
  EL_ASSIGN_OR_RETURN(objects::BucketInfo info, store_.GetBucket(route.bucket));
  EL_ASSIGN_OR_RETURN(auto v, store_.PutObject(route.bucket, route.key, upload->TakeBlob(), etag, attrs, cond));
  HttpResponse r = Empty(200);
  r.headers.push_back({"ETag", etag});
  r.headers.push_back({"x-amz-server-side-encryption", v.attributes.sse});
  if (!info.versioning.empty()) r.headers.push_back({"x-amz-version-id", v.version_id});
  if (!attrs.checksum_algorithm.empty()) {
    r.headers.push_back({"x-amz-checksum-" + AsciiLower(attrs.checksum_algorithm), attrs.checksum_value});
    r.headers.push_back({"x-amz-checksum-type", "FULL_OBJECT"});
  }
  return r;
}

Result<HttpResponse> S3Api::GetObject(const S3Route& route, const HttpRequest& request, bool head) {
  auto q = QueryParams(request.query());
  const std::string version = Param(q, "versionId");
  EL_ASSIGN_OR_RETURN(objects::BucketInfo info, store_.GetBucket(route.bucket));
  EL_ASSIGN_OR_RETURN(objects::ObjectVersion v, store_.Head(route.bucket, route.key, version));
  if (v.delete_marker) {
    std::vector<HttpHeader> h = {{"x-amz-delete-marker", "true"}, {"x-amz-version-id", v.version_id}};
    if (version.empty()) return ErrorWithHeaders(404, "NoSuchKey", "The specified key does not exist.", h);
    h.push_back({"Allow", "DELETE"});
    return ErrorWithHeaders(405, "MethodNotAllowed", "The specified method is not allowed against this resource.", h);
  }
  // Conditions, in the order S3 applies them.
  const int64_t modified_s = v.last_modified_ms / 1000;
  std::string_view if_match = TrimWhitespace(request.Header("if-match"));
  std::string_view if_none = TrimWhitespace(request.Header("if-none-match"));
  auto etag_in = [&](std::string_view list) {
    for (auto piece : Split(list, ',')) {
      std::string_view t = TrimWhitespace(piece);
      if (t == "*" || t == v.etag || "\"" + std::string(t) + "\"" == v.etag) return true;
    }
    return false;
  };
  auto precondition_failed = S3Error(StatusCode::kFailedPrecondition, "PreconditionFailed",
                                     "At least one of the pre-conditions you specified did not hold");
  if (!if_match.empty() && !etag_in(if_match)) return precondition_failed;
  if (if_match.empty()) {
    if (auto t = ParseHttpDate(request.Header("if-unmodified-since")); t && modified_s > *t) return precondition_failed;
  }
  bool not_modified = false;
  if (!if_none.empty()) {
    not_modified = etag_in(if_none);
  } else if (auto t = ParseHttpDate(request.Header("if-modified-since")); t && modified_s <= *t) {
    not_modified = true;
  }
  const bool versioned = !info.versioning.empty() || !version.empty();
  const bool checksum_mode = EqualsIgnoreCase(TrimWhitespace(request.Header("x-amz-checksum-mode")), "ENABLED");
  if (not_modified) {
    HttpResponse r = Empty(304);
    r.headers.push_back({"ETag", v.etag});
    r.headers.push_back({"Last-Modified", HttpDate(v.last_modified_ms)});
    return r;
  }
  EL_ASSIGN_OR_RETURN(auto range, ParseRange(request.Header("range"), v.size));
  if (q.count("partNumber")) {  // one part of a multipart object (the whole of any other as part 1)
    if (range) return InvalidArgument("Cannot specify both Range header and partNumber query parameter");
    EL_ASSIGN_OR_RETURN(int part, PartNumber(q));
    EL_ASSIGN_OR_RETURN(auto sizes, store_.PartSizes(route.bucket, v));
    if (static_cast<size_t>(part) > std::max<size_t>(sizes.size(), 1)) {
      return S3Error(StatusCode::kInvalidArgument, "InvalidPartNumber", "The requested partnumber is not satisfiable");
    }
    uint64_t first = 0;
    for (int i = 1; i < part; ++i) first += sizes[static_cast<size_t>(i - 1)];
    const uint64_t len = sizes.empty() ? v.size : sizes[static_cast<size_t>(part - 1)];
    if (len > 0) range = ByteRange{first, first + len - 1};
  }
  HttpResponse r = Empty(range ? 206 : 200);
  AddObjectHeaders(r, v, versioned, checksum_mode && !range);
  // response-* query parameters override what the object says about itself.
  static const std::pair<const char*, const char*> kOverrides[] = {
      {"response-content-type", "Content-Type"},           {"response-content-language", "Content-Language"},
      {"response-expires", "Expires"},                     {"response-cache-control", "Cache-Control"},
      {"response-content-disposition", "Content-Disposition"}, {"response-content-encoding", "Content-Encoding"}};
  for (const auto& [param, header] : kOverrides) {
    if (auto it = q.find(param); it != q.end()) r.SetHeader(header, it->second);
  }
  uint64_t offset = 0, length = v.size;
  if (range) {
    offset = range->first;
    length = range->last - range->first + 1;
    r.headers.push_back({"Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                              std::to_string(range->last) + "/" + std::to_string(v.size)});
  }
  r.headers.push_back({"Content-Length", std::to_string(length)});
  if (!head && length > 0) {
    EL_ASSIGN_OR_RETURN(auto reader, store_.Read(route.bucket, v, offset, length));
    r.body_source = std::make_shared<ReaderSource>(std::move(reader));
  }
  return r;
}

Result<S3Api::CopySource> S3Api::ResolveCopySource(RequestContext& ctx, const S3Route& route,
                                                  const HttpRequest& request) {
  std::string_view source = TrimWhitespace(request.Header("x-amz-copy-source"));
  CopySource out;
  if (size_t qm = source.find('?'); qm != std::string_view::npos) {
    std::string_view query = source.substr(qm + 1);
    source = source.substr(0, qm);
    if (StartsWith(query, "versionId=")) out.version_id = std::string(query.substr(10));
  }
  auto decoded = PercentDecode(source);
  if (!decoded) return InvalidArgument("Invalid copy source encoding");
  std::string src = *decoded;
  if (!src.empty() && src.front() == '/') src.erase(0, 1);
  size_t slash = src.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == src.size()) {
    return InvalidArgument("Invalid copy source object key");
  }
  out.bucket = src.substr(0, slash);
  out.key = src.substr(slash + 1);
  EL_RETURN_IF_ERROR(ctx.Authorize("s3:GetObject", "arn:aws:s3:::" + out.bucket + "/" + out.key));
  EL_RETURN_IF_ERROR(ctx.Authorize(route.action, route.resource));
  EL_ASSIGN_OR_RETURN(out.version, store_.Head(out.bucket, out.key, out.version_id));
  if (out.version.delete_marker) {
    return S3Error(StatusCode::kNotFound, "NoSuchKey", "The specified key does not exist.");
  }
  return out;
}

Result<S3UploadSink*> S3Api::FinishedUpload(RequestContext& ctx, HttpRequest& request) {
  if (!request.body_sink) {  // the body arrived whole (HTTP/2): through the same checks
    request.body_sink = StartUpload(request, ctx.signature());
    request.body_status = request.body_sink->Write(request.body);
    if (request.body_status.ok()) request.body_status = request.body_sink->Finish();
  }
  EL_RETURN_IF_ERROR(request.body_status);
  auto* upload = dynamic_cast<S3UploadSink*>(request.body_sink.get());
  if (!upload) return Status::Internal("no upload sink");
  return upload;
}

Result<HttpResponse> S3Api::CopyObject(RequestContext& ctx, const S3Route& route, const HttpRequest& request) {
  EL_ASSIGN_OR_RETURN(CopySource source, ResolveCopySource(ctx, route, request));
  const std::string& src_bucket = source.bucket;
  const std::string& src_key = source.key;
  const std::string& source_version = source.version_id;
  objects::ObjectVersion& v = source.version;
  auto precondition_failed = S3Error(StatusCode::kFailedPrecondition, "PreconditionFailed",
                                     "At least one of the pre-conditions you specified did not hold");
  std::string_view if_match = TrimWhitespace(request.Header("x-amz-copy-source-if-match"));
  if (!if_match.empty() && if_match != v.etag && "\"" + std::string(if_match) + "\"" != v.etag) {
    return precondition_failed;
  }
  std::string_view if_none = TrimWhitespace(request.Header("x-amz-copy-source-if-none-match"));
  if (!if_none.empty() && (if_none == v.etag || "\"" + std::string(if_none) + "\"" == v.etag)) return precondition_failed;

  const bool replace = request.Header("x-amz-metadata-directive") == "REPLACE";
  objects::ObjectAttributes attrs = v.attributes;
  if (replace) {
    EL_ASSIGN_OR_RETURN(attrs, AttributesFromHeaders(request));
    attrs.tags = v.attributes.tags;  // tags follow their own directive (COPY by default)
    attrs.checksum_algorithm = v.attributes.checksum_algorithm;  // the bytes are the same
    attrs.checksum_value = v.attributes.checksum_value;
    attrs.checksum_type = v.attributes.checksum_type;
  } else {
    if (const std::string* sc = request.FindHeader("x-amz-storage-class")) attrs.storage_class = *sc;
  }
  if (request.Header("x-amz-tagging-directive") == "REPLACE") {
    EL_ASSIGN_OR_RETURN(attrs.tags, TaggingHeader(request.Header("x-amz-tagging")));
  }
  // Copying the current version onto itself must change something; an older version may be copied
  // over the current one (that is how a version is restored).
  if (src_bucket == route.bucket && src_key == route.key && v.latest && !replace &&
      !request.FindHeader("x-amz-storage-class") && !request.FindHeader("x-amz-server-side-encryption")) {
    return S3Error(StatusCode::kInvalidArgument, "InvalidRequest",
                   "This copy request is illegal because it is trying to copy an object to itself without changing "
                   "the object's metadata, storage class, website redirect location or encryption attributes.");
  }
  // The bytes are copied into a blob of the new version's own.
  std::string md5;
  EL_ASSIGN_OR_RETURN(auto blob, CopyBytes(src_bucket, v, 0, v.size, &md5, "", nullptr));
  // A multipart source keeps its ETag's form only in S3's own copy; here the copy is one part.
  const std::string etag = v.attributes.parts_count > 0 ? "\"" + HexEncode(md5) + "\"" : v.etag;
  attrs.parts_count = 0;
  EL_ASSIGN_OR_RETURN(objects::BucketInfo info, store_.GetBucket(route.bucket));
  EL_ASSIGN_OR_RETURN(auto written, store_.PutObject(route.bucket, route.key, std::move(blob), etag, attrs));
  std::string inner;
  Tag(inner, "LastModified", Iso8601(written.last_modified_ms));
  Tag(inner, "ETag", etag);
  if (!attrs.checksum_algorithm.empty()) Tag(inner, "Checksum" + attrs.checksum_algorithm, attrs.checksum_value);
  HttpResponse r = XmlResponse(200, Xml("CopyObjectResult", inner));
  if (!info.versioning.empty()) r.headers.push_back({"x-amz-version-id", written.version_id});
  if (!source_version.empty()) r.headers.push_back({"x-amz-copy-source-version-id", v.version_id});
  return r;
}

Result<std::unique_ptr<objects::BlobWriter>> S3Api::CopyBytes(const std::string& bucket,
                                                              const objects::ObjectVersion& v, uint64_t first,
                                                              uint64_t length, std::string* md5_out,
                                                              const std::string& algorithm,
                                                              std::string* checksum_b64) {
  EL_ASSIGN_OR_RETURN(auto reader, store_.Read(bucket, v, first, length));
  EL_ASSIGN_OR_RETURN(auto blob, store_.NewBlob());
  auth::StreamingDigest md5(auth::StreamingDigest::Algorithm::kMd5);
  std::optional<S3Checksum> checksum;
  if (!algorithm.empty()) checksum.emplace(algorithm);
  std::string buf(1 << 20, '\0');
  for (;;) {
    EL_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data(), buf.size()));
    if (n == 0) break;
    const std::string_view piece(buf.data(), n);
    md5.Update(piece);
    if (checksum) checksum->Update(piece);
    EL_RETURN_IF_ERROR(blob->Write(piece));
  }
  if (blob->size() != length) return Status::DataLoss("the copy source is shorter than recorded");
  *md5_out = md5.Final();
  if (checksum) *checksum_b64 = auth::Base64Encode(checksum->Final());
  return blob;
}

namespace {

std::string UpperAlgo(std::string a) {
  for (auto& c : a) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return a;
}

void AddUploadInfo(std::string& inner, const std::string& account) {
  inner += "<Initiator><ID>arn:aws:iam::" + account + ":root</ID><DisplayName>eventlake</DisplayName></Initiator>";
  inner += "<Owner><ID>owner</ID><DisplayName>eventlake</DisplayName></Owner>";
}

}  // namespace

Result<HttpResponse> S3Api::Acl(RequestContext& ctx, const std::string& method) {
  // Every bucket and object is private to the account: the owner has FULL_CONTROL. Canned ACLs and
  // grants are accepted and not applied (access is decided by the account's keys and policies).
  if (method == "PUT") return Empty(200);
  if (method != "GET") {
    return S3Error(StatusCode::kFailedPrecondition, "MethodNotAllowed",
                   "The specified method is not allowed against this resource.");
  }
  std::string inner = Owner(ctx);
  inner += "<AccessControlList><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
           "xsi:type=\"CanonicalUser\">";
  Tag(inner, "ID", ctx.server().account_id);
  Tag(inner, "DisplayName", "eventlake");
  inner += "</Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList>";
  return XmlResponse(200, Xml("AccessControlPolicy", inner));
}

Result<HttpResponse> S3Api::CreateUpload(const S3Route& route, const HttpRequest& request) {
  if (route.key.size() > 1024) return S3Error(StatusCode::kInvalidArgument, "KeyTooLongError", "Your key is too long");
  EL_ASSIGN_OR_RETURN(objects::ObjectAttributes attrs, AttributesFromHeaders(request));
  std::string algo = AsciiLower(TrimWhitespace(request.Header("x-amz-checksum-algorithm")));
  if (!algo.empty() && !IsS3ChecksumAlgorithm(algo)) {
    return InvalidArgument("Checksum algorithm provided is unsupported. Please try again with any of the valid types: "
                           "[CRC32, CRC32C, CRC64NVME, SHA1, SHA256]");
  }
  std::string type = std::string(TrimWhitespace(request.Header("x-amz-checksum-type")));
  if (!type.empty() && type != "COMPOSITE" && type != "FULL_OBJECT") return InvalidArgument("Invalid checksum type");
  if (type == "FULL_OBJECT" && (algo == "sha1" || algo == "sha256")) {
    return InvalidArgument("The FULL_OBJECT checksum type cannot be used with the " + UpperAlgo(algo) +
                           " checksum algorithm.");
  }
  if (algo == "crc64nvme" && type == "COMPOSITE") {
    return InvalidArgument("The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.");
  }
  if (!algo.empty()) {
    attrs.checksum_algorithm = UpperAlgo(algo);
    attrs.checksum_type = !type.empty() ? type : algo == "crc64nvme" ? "FULL_OBJECT" : "COMPOSITE";
  }
  EL_ASSIGN_OR_RETURN(auto upload, store_.CreateUpload(route.bucket, route.key, attrs));
  std::string inner;
  Tag(inner, "Bucket", route.bucket);
  Tag(inner, "Key", route.key);
  Tag(inner, "UploadId", upload.upload_id);
  HttpResponse r = XmlResponse(200, Xml("InitiateMultipartUploadResult", inner));
  if (!attrs.checksum_algorithm.empty()) {
    r.headers.push_back({"x-amz-checksum-algorithm", attrs.checksum_algorithm});
    r.headers.push_back({"x-amz-checksum-type", attrs.checksum_type});
  }
  r.headers.push_back({"x-amz-server-side-encryption", attrs.sse});
  return r;
}

Result<HttpResponse> S3Api::UploadPart(RequestContext& ctx, const S3Route& route, HttpRequest& request) {
  auto q = QueryParams(request.query());
  EL_ASSIGN_OR_RETURN(int part, PartNumber(q));
  const std::string upload_id = Param(q, "uploadId");
  EL_ASSIGN_OR_RETURN(objects::UploadInfo upload, store_.GetUpload(route.bucket, route.key, upload_id));
  const std::string& algo = upload.attributes.checksum_algorithm;
  if (request.FindHeader("x-amz-copy-source")) {  // UploadPartCopy
    EL_ASSIGN_OR_RETURN(CopySource source, ResolveCopySource(ctx, route, request));
    const std::string& src_bucket = source.bucket;
    const std::string& source_version = source.version_id;
    objects::ObjectVersion& v = source.version;
    uint64_t first = 0, length = v.size;
    if (const std::string* range = request.FindHeader("x-amz-copy-source-range")) {
      auto parsed = ParseRange(*range, v.size);
      if (!parsed.ok() || !*parsed) {
        return InvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first "
                               "and last are the zero-based offsets of the first and last bytes to copy");
      }
      first = (*parsed)->first;
      length = (*parsed)->last - first + 1;
    }
    if (length > options_.max_object_bytes) {
      return S3Error(StatusCode::kInvalidArgument, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
    }
    std::string md5, checksum;
    EL_ASSIGN_OR_RETURN(auto blob, CopyBytes(src_bucket, v, first, length, &md5, algo, &checksum));
    const std::string etag = "\"" + HexEncode(md5) + "\"";
    EL_ASSIGN_OR_RETURN(auto stored,
                        store_.PutPart(route.bucket, route.key, upload_id, part, std::move(blob), etag, checksum));
    std::string inner;
    Tag(inner, "LastModified", Iso8601(stored.last_modified_ms));
    Tag(inner, "ETag", etag);
    if (!checksum.empty()) Tag(inner, "Checksum" + algo, checksum);
    HttpResponse r = XmlResponse(200, Xml("CopyPartResult", inner));
    if (!source_version.empty()) r.headers.push_back({"x-amz-copy-source-version-id", v.version_id});
    return r;
  }
  EL_ASSIGN_OR_RETURN(S3UploadSink * upload_sink, FinishedUpload(ctx, request));
  std::string checksum;
  if (!algo.empty()) {
    if (!upload_sink->algorithm().empty() && upload_sink->algorithm() != algo) {
      return InvalidArgument("Checksum Type mismatch occurred, expected checksum Type: " + AsciiLower(algo) +
                             ", actual checksum Type: " + AsciiLower(upload_sink->algorithm()));
    }
    checksum = upload_sink->algorithm().empty() ? "" : upload_sink->checksum();
  }
  const std::string etag = "\"" + HexEncode(upload_sink->md5()) + "\"";
  EL_ASSIGN_OR_RETURN(auto stored, store_.PutPart(route.bucket, route.key, upload_id, part, upload_sink->TakeBlob(),
                                                  etag, checksum));
  (void)stored;
  HttpResponse r = Empty(200);
  r.headers.push_back({"ETag", etag});
  r.headers.push_back({"x-amz-server-side-encryption", upload.attributes.sse});
  if (!checksum.empty()) r.headers.push_back({"x-amz-checksum-" + AsciiLower(algo), checksum});
  return r;
}

Result<HttpResponse> S3Api::CompleteUpload(const S3Route& route, const HttpRequest& request) {
  auto q = QueryParams(request.query());
  const std::string upload_id = Param(q, "uploadId");
  EL_ASSIGN_OR_RETURN(objects::UploadInfo upload, store_.GetUpload(route.bucket, route.key, upload_id));
  EL_ASSIGN_OR_RETURN(auto doc, ParseXml(request.body, "CompleteMultipartUpload"));
  std::vector<objects::CompletePart> parts;
  const std::string& algo = upload.attributes.checksum_algorithm;
  for (auto p : doc.document_element().children("Part")) {
    objects::CompletePart cp;
    std::string number = ChildText(p, "PartNumber");
    auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), cp.part_number);
    if (ec != std::errc() || ptr != number.data() + number.size()) return MalformedXml();
    cp.etag = ChildText(p, "ETag");
    if (!algo.empty()) cp.checksum = ChildText(p, ("Checksum" + algo).c_str());
    parts.push_back(std::move(cp));
  }
  if (parts.empty()) {
    return MalformedXml();
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].part_number <= parts[i - 1].part_number) {
      return S3Error(StatusCode::kInvalidArgument, "InvalidPartOrder",
                     "The list of parts was not in ascending order. The parts list must be specified in order by part "
                     "number.");
    }
  }
  // The ETag and checksum of the whole, from the parts as stored.
  bool truncated = false;
  EL_ASSIGN_OR_RETURN(auto stored, store_.ListParts(route.bucket, route.key, upload_id, 0, 10000, &truncated));
  std::map<int, objects::PartInfo> by_number;
  for (auto& p : stored) by_number[p.part_number] = p;
  std::string md5s, checksums, full_crc;
  uint64_t total = 0;
  for (const auto& cp : parts) {
    auto it = by_number.find(cp.part_number);
    if (it == by_number.end()) continue;  // CompleteUpload reports InvalidPart
    std::string hex = it->second.etag;
    if (hex.size() >= 2 && hex.front() == '"') hex = hex.substr(1, hex.size() - 2);
    for (size_t i = 0; i + 1 < hex.size(); i += 2) md5s.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    if (!algo.empty()) {
      if (it->second.checksum.empty()) {
        return S3Error(StatusCode::kInvalidArgument, "InvalidRequest",
                       "The upload was created using a " + AsciiLower(algo) +
                           " checksum. The complete request must include the checksum for each part. It was missing "
                           "for part " + std::to_string(cp.part_number) + " in the request.");
      }
      if (!cp.checksum.empty() && cp.checksum != it->second.checksum) {
        return S3Error(StatusCode::kInvalidArgument, "InvalidPart",
                       "One or more of the specified parts could not be found. The part may not have been uploaded, "
                       "or the specified entity tag may not match the part's entity tag.");
      }
      auto raw = auth::Base64Decode(it->second.checksum);
      if (!raw) return Status::DataLoss("a stored part checksum is not base64");
      checksums += *raw;
      full_crc = full_crc.empty() ? *raw : CombineCrc(algo, full_crc, *raw, it->second.size);
    }
    total += it->second.size;
  }
  auth::StreamingDigest md5(auth::StreamingDigest::Algorithm::kMd5);
  md5.Update(md5s);
  const std::string etag = "\"" + HexEncode(md5.Final()) + "-" + std::to_string(parts.size()) + "\"";
  objects::ObjectAttributes attrs = upload.attributes;
  if (!algo.empty()) {
    if (attrs.checksum_type == "FULL_OBJECT") {
      attrs.checksum_value = auth::Base64Encode(full_crc);
    } else {
      attrs.checksum_value = auth::Base64Encode(ChecksumOf(algo, checksums)) + "-" + std::to_string(parts.size());
    }
  }
  objects::WriteConditions cond;
  cond.if_none_match_any = TrimWhitespace(request.Header("if-none-match")) == "*";
  cond.if_match = std::string(TrimWhitespace(request.Header("if-match")));
  EL_ASSIGN_OR_RETURN(objects::BucketInfo info, store_.GetBucket(route.bucket));
  EL_ASSIGN_OR_RETURN(auto v, store_.CompleteUpload(route.bucket, route.key, upload_id, parts, etag, attrs,
                                                    options_.min_part_bytes, cond));
  (void)total;
  std::string inner;
  Tag(inner, "Location", "/" + route.bucket + "/" + route.key);
  Tag(inner, "Bucket", route.bucket);
  Tag(inner, "Key", route.key);
  Tag(inner, "ETag", etag);
  if (!algo.empty()) {
    Tag(inner, "Checksum" + algo, attrs.checksum_value);
    Tag(inner, "ChecksumType", attrs.checksum_type);
  }
  HttpResponse r = XmlResponse(200, Xml("CompleteMultipartUploadResult", inner));
  if (!info.versioning.empty()) r.headers.push_back({"x-amz-version-id", v.version_id});
  r.headers.push_back({"x-amz-server-side-encryption", attrs.sse});
  return r;
}

Result<HttpResponse> S3Api::ListParts(RequestContext& ctx, const S3Route& route, const HttpRequest& request) {
  auto q = QueryParams(request.query());
  const std::string upload_id = Param(q, "uploadId");
  EL_ASSIGN_OR_RETURN(int max_parts, CountParam(q, "max-parts", 1000));
  EL_ASSIGN_OR_RETURN(int marker, CountParam(q, "part-number-marker", 0, 10000));
  EL_ASSIGN_OR_RETURN(objects::UploadInfo upload, store_.GetUpload(route.bucket, route.key, upload_id));
  bool truncated = false;
  EL_ASSIGN_OR_RETURN(auto parts, store_.ListParts(route.bucket, route.key, upload_id, marker, max_parts, &truncated));
  std::string inner;
  Tag(inner, "Bucket", route.bucket);
  Tag(inner, "Key", route.key);
  Tag(inner, "UploadId", upload_id);
  Tag(inner, "PartNumberMarker", std::to_string(marker));
  if (!parts.empty()) Tag(inner, "NextPartNumberMarker", std::to_string(parts.back().part_number));
  Tag(inner, "MaxParts", std::to_string(max_parts));
  Tag(inner, "IsTruncated", truncated ? "true" : "false");
  if (!upload.attributes.checksum_algorithm.empty()) {
    Tag(inner, "ChecksumAlgorithm", upload.attributes.checksum_algorithm);
    Tag(inner, "ChecksumType", upload.attributes.checksum_type);
  }
  for (const auto& p : parts) {
    inner += "<Part>";
    Tag(inner, "PartNumber", std::to_string(p.part_number));
    Tag(inner, "LastModified", Iso8601(p.last_modified_ms));
    Tag(inner, "ETag", p.etag);
    Tag(inner, "Size", std::to_string(p.size));
    if (!p.checksum.empty()) Tag(inner, "Checksum" + upload.attributes.checksum_algorithm, p.checksum);
    inner += "</Part>";
  }
  AddUploadInfo(inner, ctx.server().account_id);
  Tag(inner, "StorageClass", upload.attributes.storage_class);
  return XmlResponse(200, Xml("ListPartsResult", inner));
}

Result<HttpResponse> S3Api::ListUploads(RequestContext& ctx, const S3Route& route, const HttpRequest& request) {
  auto q = QueryParams(request.query());
  EL_ASSIGN_OR_RETURN(int max_uploads, CountParam(q, "max-uploads", 1000));
  const bool url = Param(q, "encoding-type") == "url";
  auto enc = [&](const std::string& s) { return url ? UriEncode(s, true) : s; };
  EL_ASSIGN_OR_RETURN(auto page, store_.ListUploads(route.bucket, Param(q, "prefix"), Param(q, "delimiter"),
                                                    Param(q, "key-marker"), Param(q, "upload-id-marker"), max_uploads));
  std::string inner;
  Tag(inner, "Bucket", route.bucket);
  Tag(inner, "KeyMarker", enc(Param(q, "key-marker")));
  Tag(inner, "UploadIdMarker", Param(q, "upload-id-marker"));
  if (page.truncated) {
    Tag(inner, "NextKeyMarker", enc(page.next_key_marker));
    Tag(inner, "NextUploadIdMarker", page.next_upload_id_marker);
  }
  if (q.count("prefix")) Tag(inner, "Prefix", enc(Param(q, "prefix")));
  if (q.count("delimiter")) Tag(inner, "Delimiter", enc(Param(q, "delimiter")));
  Tag(inner, "MaxUploads", std::to_string(max_uploads));
  if (url) Tag(inner, "EncodingType", "url");
  Tag(inner, "IsTruncated", page.truncated ? "true" : "false");
  for (const auto& u : page.uploads) {
    inner += "<Upload>";
    Tag(inner, "Key", enc(u.key));
    Tag(inner, "UploadId", u.upload_id);
    AddUploadInfo(inner, ctx.server().account_id);
    Tag(inner, "StorageClass", u.attributes.storage_class);
    Tag(inner, "Initiated", Iso8601(u.initiated_ms));
    if (!u.attributes.checksum_algorithm.empty()) Tag(inner, "ChecksumAlgorithm", u.attributes.checksum_algorithm);
    inner += "</Upload>";
  }
  AddCommonPrefixes(inner, page.common_prefixes, url);
  return XmlResponse(200, Xml("ListMultipartUploadsResult", inner));
}

Result<HttpResponse> S3Api::ListObjects(const S3Route& route, const HttpRequest& request) {
  auto q = QueryParams(request.query());
  const bool v2 = Param(q, "list-type") == "2";
  const std::string encoding = Param(q, "encoding-type");
  if (!encoding.empty() && encoding != "url") return InvalidArgument("Invalid Encoding Method specified in Request");
  const bool url = encoding == "url";
  auto enc = [&](const std::string& s) { return url ? UriEncode(s, true) : s; };
  objects::ListRequest req;
  req.prefix = Param(q, "prefix");
  req.delimiter = Param(q, "delimiter");
  EL_ASSIGN_OR_RETURN(req.max_keys, CountParam(q, "max-keys", 1000));
  const std::string token = Param(q, "continuation-token");
  if (v2) {
    if (q.count("continuation-token")) {
      if (!DecodeToken(token, &req.start_after, &req.start_after_prefix)) {
        return InvalidArgument("The continuation token provided is incorrect");
      }
    } else {
      req.start_after = Param(q, "start-after");
    }
  } else {
    req.start_after = Param(q, "marker");
    // A NextMarker that was a common prefix resumes after everything under it.
    req.start_after_prefix = !req.delimiter.empty() && !req.start_after.empty() &&
                             req.start_after.size() >= req.prefix.size() + req.delimiter.size() &&
                             req.start_after.compare(0, req.prefix.size(), req.prefix) == 0 &&
                             req.start_after.find(req.delimiter, req.prefix.size()) ==
                                 req.start_after.size() - req.delimiter.size();
  }
  EL_ASSIGN_OR_RETURN(auto page, store_.List(route.bucket, req));
  std::string inner;
  Tag(inner, "Name", route.bucket);
  Tag(inner, "Prefix", enc(req.prefix));
  if (!v2) Tag(inner, "Marker", enc(Param(q, "marker")));
  if (v2 && page.truncated) Tag(inner, "NextContinuationToken", EncodeToken(page));
  if (!v2 && page.truncated && !req.delimiter.empty()) Tag(inner, "NextMarker", enc(page.last));
  if (v2) Tag(inner, "KeyCount", std::to_string(page.objects.size() + page.common_prefixes.size()));
  Tag(inner, "MaxKeys", std::to_string(req.max_keys));
  if (!req.delimiter.empty()) Tag(inner, "Delimiter", enc(req.delimiter));
  if (url) Tag(inner, "EncodingType", "url");
  Tag(inner, "IsTruncated", page.truncated ? "true" : "false");
  if (v2 && q.count("continuation-token")) Tag(inner, "ContinuationToken", token);
  if (v2 && q.count("start-after")) Tag(inner, "StartAfter", enc(Param(q, "start-after")));
  const bool owner = !v2 || Param(q, "fetch-owner") == "true";
  for (const auto& o : page.objects) {
    inner += "<Contents>";
    Tag(inner, "Key", enc(o.key));
    Tag(inner, "LastModified", Iso8601(o.last_modified_ms));
    Tag(inner, "ETag", o.etag);
    if (!o.attributes.checksum_algorithm.empty()) {
      Tag(inner, "ChecksumAlgorithm", o.attributes.checksum_algorithm);
      Tag(inner, "ChecksumType", o.attributes.checksum_type.empty() ? "FULL_OBJECT" : o.attributes.checksum_type);
    }
    Tag(inner, "Size", std::to_string(o.size));
    if (owner) inner += "<Owner><ID>owner</ID><DisplayName>eventlake</DisplayName></Owner>";
    Tag(inner, "StorageClass", o.attributes.storage_class.empty() ? "STANDARD" : o.attributes.storage_class);
    inner += "</Contents>";
  }
  AddCommonPrefixes(inner, page.common_prefixes, url);
  return XmlResponse(200, Xml("ListBucketResult", inner));
}

Result<HttpResponse> S3Api::ListVersions(const S3Route& route, const HttpRequest& request) {
  auto q = QueryParams(request.query());
  const std::string encoding = Param(q, "encoding-type");
  if (!encoding.empty() && encoding != "url") return InvalidArgument("Invalid Encoding Method specified in Request");
  const bool url = encoding == "url";
  auto enc = [&](const std::string& s) { return url ? UriEncode(s, true) : s; };
  objects::VersionListRequest req;
  req.prefix = Param(q, "prefix");
  req.delimiter = Param(q, "delimiter");
  req.key_marker = Param(q, "key-marker");
  req.version_id_marker = Param(q, "version-id-marker");
  if (!req.version_id_marker.empty() && req.key_marker.empty()) {
    return InvalidArgument("A version-id marker cannot be specified without a key marker.");
  }
  EL_ASSIGN_OR_RETURN(req.max_keys, CountParam(q, "max-keys", 1000));
  EL_ASSIGN_OR_RETURN(auto page, store_.ListVersions(route.bucket, req));
  std::string inner;
  Tag(inner, "Name", route.bucket);
  Tag(inner, "Prefix", enc(req.prefix));
  Tag(inner, "KeyMarker", enc(req.key_marker));
  Tag(inner, "VersionIdMarker", req.version_id_marker);
  if (page.truncated) {
    Tag(inner, "NextKeyMarker", enc(page.next_key_marker));
    if (!page.next_version_id_marker.empty()) Tag(inner, "NextVersionIdMarker", page.next_version_id_marker);
  }
  Tag(inner, "MaxKeys", std::to_string(req.max_keys));
  if (!req.delimiter.empty()) Tag(inner, "Delimiter", enc(req.delimiter));
  if (url) Tag(inner, "EncodingType", "url");
  Tag(inner, "IsTruncated", page.truncated ? "true" : "false");
  for (const auto& v : page.versions) {
    inner += v.delete_marker ? "<DeleteMarker>" : "<Version>";
    Tag(inner, "Key", enc(v.key));
    Tag(inner, "VersionId", v.version_id);
    Tag(inner, "IsLatest", v.latest ? "true" : "false");
    Tag(inner, "LastModified", Iso8601(v.last_modified_ms));
    if (!v.delete_marker) {
      Tag(inner, "ETag", v.etag);
      Tag(inner, "Size", std::to_string(v.size));
      Tag(inner, "StorageClass", v.attributes.storage_class.empty() ? "STANDARD" : v.attributes.storage_class);
    }
    inner += "<Owner><ID>owner</ID><DisplayName>eventlake</DisplayName></Owner>";
    inner += v.delete_marker ? "</DeleteMarker>" : "</Version>";
  }
  AddCommonPrefixes(inner, page.common_prefixes, url);
  return XmlResponse(200, Xml("ListVersionsResult", inner));
}

Result<HttpResponse> S3Api::DeleteObjects(RequestContext& ctx, const S3Route& route, const HttpRequest& request) {
  // S3 requires an integrity check on this request.
  const bool has_checksum = std::any_of(request.headers.begin(), request.headers.end(), [](const HttpHeader& h) {
    std::string n = AsciiLower(h.name);
    return n == "content-md5" || (StartsWith(n, "x-amz-checksum-") && IsS3ChecksumAlgorithm(n.substr(15)));
  });
  if (!has_checksum) {
    return S3Error(StatusCode::kInvalidArgument, "InvalidRequest",
                   "Missing required header for this request: Content-MD5");
  }
  if (const std::string* md5 = request.FindHeader("content-md5")) {
    if (auth::Base64Encode(std::string(reinterpret_cast<const char*>(auth::Md5(request.body).data()), 16)) !=
        TrimWhitespace(*md5)) {
      return S3Error(StatusCode::kInvalidArgument, "BadDigest",
                     "The Content-MD5 you specified did not match what we received.");
    }
  }
  EL_ASSIGN_OR_RETURN(auto doc, ParseXml(request.body, "Delete"));
  const bool quiet = std::string_view(doc.document_element().child("Quiet").text().as_string()) == "true";
  std::vector<std::pair<std::string, std::string>> targets;
  for (auto o : doc.document_element().children("Object")) {
    targets.emplace_back(ChildText(o, "Key"), ChildText(o, "VersionId"));
  }
  if (targets.empty() || targets.size() > 1000) return MalformedXml();
  std::string inner;
  for (const auto& [key, version] : targets) {
    Status allowed = ctx.Authorize("s3:DeleteObject", "arn:aws:s3:::" + route.bucket + "/" + key);
    Result<objects::DeleteResult> del =
        allowed.ok() ? store_.DeleteObject(route.bucket, key, version) : Result<objects::DeleteResult>(allowed);
    if (!del.ok()) {
      inner += "<Error>";
      Tag(inner, "Key", key);
      if (!version.empty()) Tag(inner, "VersionId", version);
      Tag(inner, "Code", del.status().type().empty() ? "InternalError" : del.status().type());
      Tag(inner, "Message", del.status().message());
      inner += "</Error>";
      continue;
    }
    if (quiet) continue;
    inner += "<Deleted>";
    Tag(inner, "Key", key);
    if (!version.empty()) Tag(inner, "VersionId", version);
    if (del->delete_marker) {
      Tag(inner, "DeleteMarker", "true");
      Tag(inner, "DeleteMarkerVersionId", del->version_id);
    }
    inner += "</Deleted>";
  }
  ctx.Authorize(route.action, route.resource).IgnoreError();
  return XmlResponse(200, Xml("DeleteResult", inner));
}

}  // namespace eventlake::api
