// A small blocking HTTP/1.1 client, for the command line talking to a server.
#pragma once

#include <chrono>
#include <string>

#include "common/http_message.h"
#include "common/status.h"

namespace eventlake::http {

struct ClientResponse {
  int status = 0;
  std::string body;
};

// Sends one request to `host`:`port` on a new connection and reads the whole
// answer. Unavailable when the server cannot be reached.
Result<ClientResponse> Send(const std::string& host, uint16_t port, const HttpRequest& request,
                            std::chrono::seconds timeout = std::chrono::seconds(60));

// Splits "http://host:port" (or "host:port") into its parts.
Result<std::pair<std::string, uint16_t>> ParseEndpoint(const std::string& endpoint);

}  // namespace eventlake::http
