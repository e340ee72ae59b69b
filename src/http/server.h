// The HTTP/1.1 server: accepts connections, parses requests with Beast within
// header, body and time limits, and hands each one to an HttpHandler.
//
// One I/O thread per core, each with its own io_context and its own listening
// socket on the same port (SO_REUSEPORT), so threads share nothing on the hot
// path. Keep-alive and pipelining are supported: requests on one connection
// are answered in order. An idle connection costs a small coroutine frame and
// a buffer of a few hundred bytes.
//
// Thread-safety: Create/Start/Stop from one controlling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/http_message.h"
#include "common/status.h"

namespace eventlake::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 4566;  // 0 picks a free port; see Server::port()
  int threads = 0;       // 0: one per core
  size_t max_header_bytes = 64 * 1024;
  std::chrono::seconds idle_timeout{60};   // keep-alive idle, and the time to send a request's headers
  std::chrono::seconds body_timeout{300};  // the time to send a request's body
  std::chrono::seconds write_timeout{60};  // the time for the client to take a response
  size_t max_connections = 16384;          // past this, new connections are closed at once
  // Request bodies held in memory at once, over all connections. A body that
  // would pass it is refused before it is read (503 with Retry-After), so
  // memory stays bounded however many clients upload at once.
  size_t max_buffered_body_bytes = size_t{1} << 30;
};

class Server {
 public:
  // Binds the listening sockets (InvalidArgument for a bad address, IoError
  // when the port is taken). `handler` must outlive the Server.
  static Result<std::unique_ptr<Server>> Create(const ServerOptions& options, HttpHandler& handler);
  ~Server();

  // The bound port (useful with port 0).
  uint16_t port() const;
  // Starts the I/O threads.
  void Start();
  // Stops accepting, closes idle connections, lets requests in flight finish
  // (their connections then close) for at most `grace`, then stops the
  // threads. Idempotent.
  void Stop(std::chrono::milliseconds grace);
  // Open connections right now.
  size_t connection_count() const;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eventlake::http
