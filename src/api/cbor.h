// CBOR for AWS JSON services that also speak it (Kinesis: the Java SDK and
// KCL send `application/x-amz-cbor-1.1` by default). Requests are turned into
// the JSON the operations already decode, and their JSON answers into CBOR:
// blob members travel as CBOR byte strings, and timestamps as tag 1 with
// integer epoch milliseconds in both directions (the Kinesis rule, not RFC
// 8949's seconds).
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "common/status.h"

namespace eventlake::api {

inline constexpr std::string_view kCborContentType = "application/x-amz-cbor-1.1";

struct CborShape {
  std::set<std::string, std::less<>> blobs;       // member names holding bytes ("Data")
  std::set<std::string, std::less<>> timestamps;  // member names holding timestamps
};

// A CBOR request body as JSON text: byte strings become base64, timestamp
// members epoch seconds. SerializationException for malformed CBOR.
Result<std::string> CborRequestToJson(std::string_view cbor, const CborShape& shape);

// A JSON answer as CBOR: blob members (base64 in JSON) become byte strings,
// timestamp members (epoch seconds in JSON) tag 1 with milliseconds.
Result<std::string> JsonToCbor(std::string_view json_text, const CborShape& shape);

}  // namespace eventlake::api
