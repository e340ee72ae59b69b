// Untrusted Authorization headers, presigned queries and dates, and the
// canonicalization of arbitrary targets and header values.
#include <cstdint>
#include <string>

#include "auth/sigv4.h"
#include "common/strings.h"

using namespace eventlake;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto header = auth::ParseAuthorizationHeader(in);
  if (auto* parts = std::get_if<auth::SignatureParts>(&header)) {
    if (parts->signature.size() != 64) std::abort();  // the parser guarantees a 64-hex signature
  }
  (void)auth::ParsePresignedQuery(in);
  Clock::TimePoint t;
  (void)auth::ParseAmzDate(in, &t);
  (void)PercentDecode(in);

  HttpRequest r;
  r.method = "GET";
  size_t nl = in.find('\n');
  r.target = "/" + std::string(in.substr(0, nl));
  r.headers = {{"Host", "example"}, {"X-Fuzz", std::string(nl == std::string_view::npos ? "" : in.substr(nl + 1))}};
  (void)auth::CanonicalRequest(r, {"host", "x-fuzz"}, "UNSIGNED-PAYLOAD",
                               auth::PathCanonicalization::kNormalizeAndEncode, false);
  (void)auth::CanonicalRequest(r, {"host", "x-fuzz"}, "UNSIGNED-PAYLOAD", auth::PathCanonicalization::kS3, true);
  return 0;
}
