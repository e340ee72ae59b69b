#include "api/s3.h"

#include <set>

#include "common/strings.h"

namespace eventlake::api {
namespace {

// The sub-resource named by the query (?versioning, ?tagging, ...), or "".
std::string SubResource(std::string_view query) {
  static const std::set<std::string, std::less<>> kSubresources = {
      "acl",       "cors",      "delete",   "encryption", "lifecycle",      "location", "logging",
      "notification", "policy", "publicAccessBlock", "tagging", "uploads", "uploadId", "versioning",
      "versions",  "website",   "object-lock", "retention", "legal-hold", "attributes", "restore"};
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
  return "s3:" + std::string(method) + "Bucket";
}

std::string ObjectAction(std::string_view method, const std::string& sub) {
  bool get = method == "GET" || method == "HEAD", put = method == "PUT", del = method == "DELETE";
  if (sub == "tagging") return get ? "s3:GetObjectTagging" : del ? "s3:DeleteObjectTagging" : "s3:PutObjectTagging";
  if (sub == "uploadId") return get ? "s3:ListMultipartUploadParts" : del ? "s3:AbortMultipartUpload" : "s3:PutObject";
  if (sub == "uploads") return "s3:PutObject";
  if (get) return "s3:GetObject";
  if (put) return "s3:PutObject";
  if (del) return "s3:DeleteObject";
  return "s3:" + std::string(method) + "Object";
}

}  // namespace

S3Route ClassifyS3Request(const HttpRequest& request) {
  S3Route r;
  std::string_view path = request.path();
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t slash = path.find('/');
  std::string_view bucket = path.substr(0, slash);
  std::string_view key = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  auto dbucket = PercentDecode(bucket), dkey = PercentDecode(key);
  r.bucket = dbucket ? *dbucket : std::string(bucket);
  r.key = dkey ? *dkey : std::string(key);
  std::string sub = SubResource(request.query());
  if (r.bucket.empty()) {
    r.action = "s3:ListAllMyBuckets";
    r.resource = "*";
  } else if (r.key.empty()) {
    r.action = BucketAction(request.method, sub);
    r.resource = "arn:aws:s3:::" + r.bucket;
  } else {
    r.action = ObjectAction(request.method, sub);
    r.resource = "arn:aws:s3:::" + r.bucket + "/" + r.key;
  }
  return r;
}

void HandleS3Request(RequestContext& ctx, const S3Route& route, std::function<void(Result<HttpResponse>)> reply) {
  Status allowed = ctx.Authorize(route.action, route.resource);
  if (!allowed.ok()) {
    reply(allowed);
    return;
  }
  reply(Status::Unimplemented("The S3 operation " + route.action.substr(3) + " is not implemented yet."));
}

}  // namespace eventlake::api
