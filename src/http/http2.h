// HTTP/2 over cleartext with prior knowledge ("h2c"), the way the AWS SDKs for
// Java v2 and JavaScript v3 reach Kinesis (their default HTTP handler for it
// speaks only HTTP/2). Framing, HPACK and flow control are nghttp2's; this
// file maps streams to HttpHandler requests and answers.
//
// Internal to http/: server.cc hands a connection here once it has read the
// client's connection preface.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/http_message.h"

namespace eventlake::http {

// The HTTP/2 connection preface a client sends first (RFC 9113 3.4).
inline constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Guards waking a connection through an io_context that the server may have
// shut down: answers that arrive after that are dropped.
struct Liveness {
  std::mutex mu;
  bool stopped = false;  // guarded by mu
};

struct Http2Limits {
  size_t max_header_bytes;
  std::chrono::seconds idle_timeout;
};

// Serves one connection until the client or the server ends it. `received`
// holds the bytes read so far (the preface, maybe more). `set_deadline` is
// called with the time after which the connection may be closed as idle.
boost::asio::awaitable<void> ServeHttp2(boost::asio::ip::tcp::socket& socket, std::string received,
                                        HttpHandler& handler, const Http2Limits& limits,
                                        std::shared_ptr<Liveness> live, std::string remote_ip, uint16_t remote_port,
                                        std::function<void(bool idle)> set_idle);

}  // namespace eventlake::http
