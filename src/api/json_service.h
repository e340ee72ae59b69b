// The JSON 1.1 service table: each AWS JSON service (Kinesis, Firehose,
// EventBridge, Glue, Athena) registers its target prefix, signing name and
// operations here; the front door dispatches `X-Amz-Target: <prefix>.<Op>`.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/cbor.h"
#include "api/context.h"
#include "api/errors.h"

namespace eventlake::api {

// A handler's answer: the JSON response body (an object; "{}" when empty), or
// the error to send. Called once, from any thread.
using JsonReply = std::function<void(Result<std::string>)>;

// Handles one operation. `body` is the decompressed request body (valid until
// `reply` is called); it has not been parsed: the operation decodes its own
// input and answers SerializationException / ValidationException as AWS does.
// It must call ctx.Authorize() before acting.
using JsonOperation = std::function<void(RequestContext& ctx, std::string_view body, JsonReply reply)>;

struct JsonService {
  std::string target_prefix;  // "Kinesis_20131202"
  std::string signing_name;   // "kinesis": the SigV4 scope and the IAM action prefix
  std::unordered_map<std::string, JsonOperation> operations;
  ErrorNames error_names;                 // where this service names errors its own way
  size_t max_body_bytes = 16 << 20;       // the largest (decompressed) request body
  // Set for services that also accept application/x-amz-cbor-1.1.
  std::optional<CborShape> cbor;
};

}  // namespace eventlake::api
