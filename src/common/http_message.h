// Wire-neutral HTTP request and response, shared by http/ (which fills them
// from the socket), auth/ (which verifies signatures over them) and api/ (which
// decodes them). Nothing here knows about Beast or any protocol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_slice.h"
#include "common/status.h"

namespace eventlake {

struct HttpHeader {
  std::string name;   // as received; compare case-insensitively
  std::string value;  // as received, untrimmed
};

// Takes a request body as it arrives, for handlers that store bodies rather
// than parse them (object uploads), so that memory stays bounded by one chunk
// however large the body. Called on one thread at a time, in order.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // The next bytes of the body (Transfer-Encoding already removed). An error
  // stops the upload: nothing more is read, and the handler sees the error.
  virtual Status Write(std::string_view bytes) = 0;
  // The whole body has arrived.
  virtual Status Finish() = 0;
};

// Produces a response body chunk by chunk (a file being downloaded). The
// handler sets Content-Length; the server sends exactly that many bytes.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Fills up to `n` bytes of `buf`; 0 only once everything has been read.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  // Or: the next at most `n` bytes as a slice of an open file, taken as read,
  // for a sender that hands them to the socket itself. A slice with fd -1
  // takes nothing: the sender uses Read(). The file stays open while the
  // source lives.
  virtual Result<FileSlice> NextFileSlice(size_t /*n*/) { return FileSlice{}; }
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // the raw request-target: path and query, still percent-encoded
  std::vector<HttpHeader> headers;
  std::string body;  // fully read; Transfer-Encoding already removed
  // Set when the body went to the sink HttpHandler::StreamBody gave (`body` is
  // then empty), with what came of it: an error from the sink, or Ok.
  std::shared_ptr<BodySink> body_sink;
  Status body_status;
  std::string remote_address;
  uint16_t remote_port = 0;

  // The first header called `name` (case-insensitive), or nullptr.
  const std::string* FindHeader(std::string_view name) const;
  // The value of `name`, or `fallback` when absent.
  std::string_view Header(std::string_view name, std::string_view fallback = {}) const;
  // The raw path (before '?') and raw query (after '?', may be empty).
  std::string_view path() const;
  std::string_view query() const;
};

struct HttpResponse {
  int status = 200;
  std::vector<HttpHeader> headers;
  std::string body;
  // When set, the body comes from here instead (`body` is ignored), and the
  // Content-Length header must say how long it is.
  std::shared_ptr<BodySource> body_source;

  void SetHeader(std::string name, std::string value);
  const std::string* FindHeader(std::string_view name) const;
};

// Completes one request. May be called from any thread, exactly once.
using HttpResponder = std::function<void(HttpResponse&&)>;

// What http/ hands every request to. Implementations must be thread-safe: they
// are called concurrently from every I/O thread.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // The largest body accepted for a request with this method, target and
  // headers (body still empty). Larger bodies are refused with 413 before read.
  virtual size_t BodyLimit(const HttpRequest& head) const = 0;
  // The response for a request whose body could not be accepted: too large
  // (413), malformed framing (400), or headers too large (431). Shaped by the
  // protocol the request was meant for.
  virtual HttpResponse Reject(const HttpRequest& head, int status, std::string_view reason) const = 0;
  // Called once the headers of a request with a body are in, before the body
  // is read: a response here (an authentication failure, say) is sent at once
  // and the connection closed, so that nobody can make the server buffer
  // bodies it will refuse anyway.
  virtual std::optional<HttpResponse> Precheck(const HttpRequest& head) { return std::nullopt; }
  // Called after Precheck for a request with a body: a sink returned here
  // takes the body as it arrives instead of the server holding it in memory
  // (over HTTP/1.1 and HTTP/2 alike).
  virtual std::shared_ptr<BodySink> StreamBody(const HttpRequest& head) { return nullptr; }
  // Handles one request; `respond` is called once, possibly later on another
  // thread. A responder destroyed without being called answers 500.
  virtual void Handle(HttpRequest&& request, HttpResponder respond) = 0;
};

}  // namespace eventlake
