// Request body decompression (Content-Encoding: gzip / deflate), bounded.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace eventlake {

// Inflates a gzip (or zlib) stream. Returns InvalidArgument for corrupt input
// and ResourceExhausted when the output would exceed `max_output` bytes, so a
// small hostile body cannot expand without bound.
Result<std::string> GunzipBounded(std::string_view input, size_t max_output);

}  // namespace eventlake
