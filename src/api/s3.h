// The S3 REST API over the object store: routing a request (path-style or
// virtual-hosted-style) to its operation and IAM action, decoding headers,
// query and XML bodies, and encoding S3's XML answers and errors.
//
// Thread-safety: an S3Api is shared by every I/O thread. Operations that touch
// the disk or the meta store run on its own thread pool.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/context.h"
#include "auth/sigv4.h"
#include "common/http_message.h"
#include "common/thread_pool.h"
#include "objects/object_store.h"

namespace eventlake::api {

class S3UploadSink;

struct S3Route {
  std::string bucket;    // empty for the service (GET /)
  std::string key;       // decoded; empty for bucket-level requests
  std::string sub;       // the sub-resource (?versioning, ?tagging, ...), or empty
  std::string action;    // "s3:GetObject"
  std::string resource;  // "arn:aws:s3:::bucket/key", or "*" for the service
};

// Classifies a request. A Host of the form <bucket>.<domain> for one of
// `virtual_host_domains` names the bucket (virtual-hosted style); otherwise
// the first path segment does. Never fails: an unrecognized combination is
// named by its method.
S3Route ClassifyS3Request(const HttpRequest& request, const std::vector<std::string>& virtual_host_domains = {});

// A body sink that refuses every byte with `why` (an upload that cannot start).
std::shared_ptr<BodySink> RefuseUpload(Status why);

struct S3Options {
  std::string region = "us-east-1";
  std::vector<std::string> virtual_host_domains = {"localhost", "s3.localhost"};
  uint64_t max_object_bytes = uint64_t{5} << 30;  // one PutObject or part: 5 GiB
  uint64_t min_part_bytes = uint64_t{5} << 20;    // every part of a multipart upload but the last
  int threads = 4;                                // for blocking operations
};

class S3Api {
 public:
  // `store` must outlive the S3Api.
  S3Api(objects::ObjectStore& store, S3Options options);
  ~S3Api();

  const S3Options& options() const { return options_; }
  // Whether the request's body is object data to stream into a blob (uploads)
  // rather than a document to buffer.
  bool StreamsBody(const S3Route& route, const HttpRequest& head) const;
  // The sink for an upload's body; `verified` is the request's proven
  // signature (null when not checked). A sink that refuses every byte when
  // the upload cannot start.
  std::shared_ptr<BodySink> StartUpload(const HttpRequest& head, const auth::VerifiedRequest* verified);
  // Runs one request; replies with the response or an error.
  void Handle(RequestContext& ctx, const S3Route& route, HttpRequest& request,
              std::function<void(Result<HttpResponse>)> reply);

 private:
  Result<HttpResponse> Run(RequestContext& ctx, const S3Route& route, HttpRequest& request);
  Result<HttpResponse> Service(RequestContext& ctx, const S3Route& route, HttpRequest& request);
  Result<HttpResponse> Bucket(RequestContext& ctx, const S3Route& route, HttpRequest& request);
  Result<HttpResponse> Object(RequestContext& ctx, const S3Route& route, HttpRequest& request);
  Result<HttpResponse> PutObject(RequestContext& ctx, const S3Route& route, HttpRequest& request);
  Result<HttpResponse> GetObject(const S3Route& route, const HttpRequest& request, bool head);
  Result<HttpResponse> CopyObject(RequestContext& ctx, const S3Route& route, const HttpRequest& request);
  Result<HttpResponse> ListObjects(const S3Route& route, const HttpRequest& request);
  Result<HttpResponse> ListVersions(const S3Route& route, const HttpRequest& request);
  Result<HttpResponse> DeleteObjects(RequestContext& ctx, const S3Route& route, const HttpRequest& request);
  Result<HttpResponse> CreateUpload(const S3Route& route, const HttpRequest& request);
  Result<HttpResponse> Acl(RequestContext& ctx, const std::string& method);
  Result<HttpResponse> UploadPart(RequestContext& ctx, const S3Route& route, HttpRequest& request);
  Result<HttpResponse> CompleteUpload(const S3Route& route, const HttpRequest& request);
  Result<HttpResponse> ListParts(RequestContext& ctx, const S3Route& route, const HttpRequest& request);
  Result<HttpResponse> ListUploads(RequestContext& ctx, const S3Route& route, const HttpRequest& request);
  struct CopySource {
    std::string bucket, key, version_id;
    objects::ObjectVersion version;
  };
  // The x-amz-copy-source of a copy, authorized (read it, write the target) and found.
  Result<CopySource> ResolveCopySource(RequestContext& ctx, const S3Route& route, const HttpRequest& request);
  // The upload sink of a PutObject or UploadPart whose body has arrived (or, over
  // HTTP/2, the body run through one), once it accepted the whole body.
  Result<S3UploadSink*> FinishedUpload(RequestContext& ctx, HttpRequest& request);
  // Copies `length` bytes of a version from `first` into a new blob, with
  // their MD5 and (when `algorithm` is set) their checksum in base64.
  Result<std::unique_ptr<objects::BlobWriter>> CopyBytes(const std::string& bucket, const objects::ObjectVersion& v,
                                                         uint64_t first, uint64_t length, std::string* md5,
                                                         const std::string& algorithm, std::string* checksum_b64);

  objects::ObjectStore& store_;
  S3Options options_;
  ThreadPool pool_;
};

}  // namespace eventlake::api
