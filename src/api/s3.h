// S3 REST requests: naming the IAM action and resource of a path-style request
// (GET /bucket/key?tagging -> s3:GetObjectTagging on arn:aws:s3:::bucket/key),
// and handing it to the object store.
#pragma once

#include <functional>
#include <string>

#include "api/context.h"
#include "common/http_message.h"

namespace eventlake::api {

struct S3Route {
  std::string bucket;    // empty for the service (GET /)
  std::string key;       // decoded; empty for bucket-level requests
  std::string action;    // "s3:GetObject"
  std::string resource;  // "arn:aws:s3:::bucket/key", or "*" for the service
};

// Classifies a path-style request. Never fails: an unrecognized combination
// is named by its method.
S3Route ClassifyS3Request(const HttpRequest& request);

// Runs one S3 request; replies with the full response or an error.
void HandleS3Request(RequestContext& ctx, const S3Route& route, std::function<void(Result<HttpResponse>)> reply);

}  // namespace eventlake::api
