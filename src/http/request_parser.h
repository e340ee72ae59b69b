// Parsing one whole HTTP/1.1 request from bytes, with the server's header and
// body limits. The server itself reads incrementally from sockets with the
// same parser settings; this entry point serves the fuzzer and tests.
#pragma once

#include <string_view>

#include "common/http_message.h"
#include "common/status.h"

namespace eventlake::http {

// InvalidArgument for malformed or incomplete input, ResourceExhausted when a
// limit is passed.
Result<HttpRequest> ParseRequest(std::string_view bytes, size_t max_header_bytes, size_t max_body_bytes);

}  // namespace eventlake::http
