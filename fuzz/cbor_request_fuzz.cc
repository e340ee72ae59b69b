// Untrusted CBOR request bodies (Kinesis over application/x-amz-cbor-1.1), and
// the way back to CBOR for whatever JSON they become.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/cbor.h"

using namespace eventlake;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const api::CborShape shape{{"Data"}, {"Timestamp", "ApproximateArrivalTimestamp"}};
  auto json = api::CborRequestToJson(std::string_view(reinterpret_cast<const char*>(data), size), shape);
  if (json.ok()) {
    auto back = api::JsonToCbor(*json, shape);
    if (!back.ok() && back.status().code() != StatusCode::kInternal) std::abort();
  }
  return 0;
}
