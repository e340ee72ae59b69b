// Asio needs std::exchange from <utility> before its own headers with g++ 12.
#include <utility>

#include "http/server.h"

#include "http/http2.h"

#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

namespace eventlake::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

// The piece of a streamed request or response body in memory at a time.
constexpr size_t kStreamChunkBytes = 512 * 1024;
// The most one sendfile() of a response body is asked to move.
constexpr size_t kSendfileBytes = 8 << 20;
// What a refused upload may still send after its answer before the connection closes.
constexpr size_t kLingerBytes = 64 << 20;

// How often each I/O thread looks for connections past their deadline.
constexpr std::chrono::milliseconds kSweepInterval{250};

// "Wed, 25 Nov 2026 15:00:00 GMT", formatted once per second per thread.
std::string_view HttpDate() {
  thread_local time_t cached = 0;
  thread_local char buf[40];
  thread_local size_t len = 0;
  time_t now = ::time(nullptr);
  if (now != cached) {
    struct tm tm {};
    gmtime_r(&now, &tm);
    len = strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached = now;
  }
  return {buf, len};
}

// Appends a header field, dropping CR and LF so that no value can split the response.
void AppendField(std::string& out, std::string_view name, std::string_view value) {
  for (char c : name) {
    if (c != '\r' && c != '\n' && c != ':') out.push_back(c);
  }
  out += ": ";
  for (char c : value) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  out += "\r\n";
}

// The hand-off between a handler (which may answer inline or later, on any
// thread) and the connection's coroutine. Whoever comes second completes it:
// an inline answer costs no extra trip through the event loop.
struct PendingResponse {
  enum State : int { kWaiting, kAnswered, kSuspended };
  std::atomic<int> state{kWaiting};
  HttpResponse response;
  // Set before kSuspended; posts the coroutine's continuation. Holds that
  // continuation (and so the suspended coroutine) until called or cleared.
  // Guarded by Liveness::mu once the coroutine is suspended.
  std::function<void()> resume;
};

// Wakes a suspended coroutine, unless the server has stopped.
void Wake(PendingResponse& pending, Liveness& live) {
  std::lock_guard lock(live.mu);
  if (!live.stopped && pending.resume) pending.resume();
}

template <typename Token>
auto AwaitResponse(std::shared_ptr<PendingResponse> pending, std::shared_ptr<Liveness> live, Token&& token) {
  return asio::async_initiate<Token, void()>(
      [pending, live](auto completion) {
        auto executor = asio::get_associated_executor(completion);
        auto shared = std::make_shared<decltype(completion)>(std::move(completion));
        pending->resume = [shared, executor] { asio::post(executor, [shared] { (*shared)(); }); };
        int expected = PendingResponse::kWaiting;
        if (!pending->state.compare_exchange_strong(expected, PendingResponse::kSuspended,
                                                    std::memory_order_acq_rel)) {
          Wake(*pending, *live);  // answered between the check and the suspension
        }
      },
      token);
}

// Shared by every copy of one request's responder. Completes the hand-off
// once; when the last copy goes away unanswered (a handler bug), answers 500
// so that the connection is not left waiting forever.
struct Responder {
  Responder(std::shared_ptr<PendingResponse> p, std::shared_ptr<Liveness> l)
      : pending(std::move(p)), live(std::move(l)) {}
  ~Responder() {
    if (!answered) {
      HttpResponse r;
      r.status = 500;
      r.headers = {{"Content-Type", "text/plain"}};
      r.body = "The request was dropped by the server.\n";
      Answer(std::move(r));
    }
  }
  void Answer(HttpResponse&& response) {
    answered = true;
    pending->response = std::move(response);
    int expected = PendingResponse::kWaiting;
    if (!pending->state.compare_exchange_strong(expected, PendingResponse::kAnswered, std::memory_order_acq_rel)) {
      Wake(*pending, *live);  // the coroutine is suspended: wake it on its own thread
    }
  }
  std::shared_ptr<PendingResponse> pending;
  std::shared_ptr<Liveness> live;
  bool answered = false;
};

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// A request the parser refused (as opposed to a connection that went away).
bool IsMalformed(const beast::error_code& ec) {
  static const auto& category = bhttp::make_error_code(bhttp::error::bad_target).category();
  return ec.category() == category && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

}  // namespace

struct Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  bool idle = true;                        // waiting for the next request's headers
  SteadyTime deadline = SteadyTime::max();  // the current phase's; max while a handler works
};

struct Worker {
  std::unordered_set<Connection*> connections;  // touched only on this worker's thread; outlives `io`
  asio::io_context io{1};
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> sweeper;
  // Coroutines waiting for a handler's answer; touched only on this worker's
  // thread, and by Stop() once the thread has ended.
  std::unordered_set<std::shared_ptr<PendingResponse>> suspended;
  SteadyTime now = std::chrono::steady_clock::now();  // refreshed by every sweep
  std::thread thread;
};

struct Server::Impl {
  ServerOptions options;
  HttpHandler* handler = nullptr;
  uint16_t port = 0;
  std::vector<std::unique_ptr<Worker>> workers;
  std::atomic<size_t> connections{0};
  std::atomic<size_t> buffered_body_bytes{0};  // reserved by requests whose bodies are in memory
  std::atomic<bool> draining{false};
  std::shared_ptr<Liveness> live = std::make_shared<Liveness>();
  bool started = false, stopped = false;

  asio::awaitable<void> AcceptLoop(Worker& w);
  asio::awaitable<void> Sweep(Worker& w);
  asio::awaitable<void> Session(Worker& w, tcp::socket socket);
  asio::awaitable<void> Serve(Worker& w, Connection& conn, const std::string& remote_ip, uint16_t remote_port);
  asio::awaitable<bool> Write(Worker& w, Connection& conn, HttpResponse&& response, unsigned version, bool head,
                              bool keep_alive);
  // Sends the whole slice with sendfile(), waiting while the socket is full.
  asio::awaitable<bool> SendFile(Worker& w, Connection& conn, FileSlice slice);
};

asio::awaitable<bool> Server::Impl::SendFile(Worker& w, Connection& conn, FileSlice slice) {
  beast::error_code ec;
  conn.socket.native_non_blocking(true, ec);
  if (ec) co_return false;
  auto offset = static_cast<off_t>(slice.offset);
  size_t left = slice.length;
  while (left > 0) {
    ssize_t n = ::sendfile(conn.socket.native_handle(), slice.fd, &offset, left);
    if (n > 0) {
      left -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      conn.deadline = w.now + options.write_timeout;
      co_await conn.socket.async_wait(tcp::socket::wait_write, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return false;
      continue;
    }
    // The file is shorter than recorded, or the peer went away.
    if (n == 0) spdlog::warn("response body ended {} bytes short: the file is shorter than recorded", left);
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Server::Impl::AcceptLoop(Worker& w) {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = co_await w.acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !w.acceptor->is_open()) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      // Out of descriptors or memory: wait a little rather than spin.
      asio::steady_timer timer(w.io, std::chrono::milliseconds(50));
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (connections.load(std::memory_order_relaxed) >= options.max_connections) {
      socket.close(ec);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(w.io, Session(w, std::move(socket)), asio::detached);
  }
}

// Closes connections whose client is too slow or idle too long. One timer per
// thread instead of one per socket operation keeps the request path free of
// timer bookkeeping; deadlines are therefore exact to kSweepInterval.
asio::awaitable<void> Server::Impl::Sweep(Worker& w) {
  for (;;) {
    w.sweeper->expires_after(kSweepInterval);
    beast::error_code ec;
    co_await w.sweeper->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    w.now = std::chrono::steady_clock::now();
    for (Connection* c : w.connections) {
      if (c->deadline < w.now) c->socket.cancel(ec);
    }
  }
}

asio::awaitable<void> Server::Impl::Session(Worker& w, tcp::socket socket) {
  beast::error_code ec;
  tcp::endpoint remote = socket.remote_endpoint(ec);
  Connection conn(std::move(socket));
  // Registered for the sweeper and Stop() for exactly the lifetime of `conn`,
  // however this frame ends (an exception, or destruction at shutdown).
  struct Registration {
    Worker& w;
    Connection& conn;
    std::atomic<size_t>& count;
    Registration(Worker& w, Connection& c, std::atomic<size_t>& n) : w(w), conn(c), count(n) {
      count.fetch_add(1, std::memory_order_relaxed);
      w.connections.insert(&conn);
    }
    ~Registration() {
      w.connections.erase(&conn);
      count.fetch_sub(1, std::memory_order_relaxed);
    }
  } registration(w, conn, connections);
  try {
    co_await Serve(w, conn, remote.address().to_string(), remote.port());
  } catch (const std::exception& e) {
    spdlog::warn("connection from {} failed: {}", remote.address().to_string(), e.what());
  } catch (...) {
    spdlog::warn("connection from {} failed with an unknown exception", remote.address().to_string());
  }
  conn.socket.close(ec);
}

asio::awaitable<bool> Server::Impl::Write(Worker& w, Connection& conn, HttpResponse&& response, unsigned version,
                                          bool head, bool keep_alive) {
  std::string out;
  out.reserve(256);
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  auto reason = bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(response.status)));
  out.append(reason.data(), reason.size());
  out += "\r\nServer: eventlake\r\nDate: ";
  out += HttpDate();
  out += "\r\n";
  bool has_length = false;
  for (const auto& h : response.headers) {
    if (beast::iequals(h.name, "content-length")) {
      if (!head && !response.body_source) continue;  // the body's own length is what goes out
      has_length = true;
    }
    AppendField(out, h.name, h.value);
  }
  const bool bodyless_status = response.status < 200 || response.status == 204 || response.status == 304;
  if (!has_length && !bodyless_status) {
    out += "Content-Length: ";
    out += std::to_string(response.body.size());
    out += "\r\n";
  }
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (version == 10) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  beast::error_code ec;
  if (response.body_source && !head && !bodyless_status) {
    // Exactly Content-Length bytes, a chunk at a time; a source that fails or
    // ends early leaves the client a short body, so the connection closes.
    uint64_t left = 0;
    if (const std::string* len = response.FindHeader("content-length")) left = std::strtoull(len->c_str(), nullptr, 10);
    conn.deadline = w.now + options.write_timeout;
    co_await asio::async_write(conn.socket, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
    std::unique_ptr<char[]> chunk;
    while (!ec && left > 0) {
      // Bytes in a local file go from the page cache to the socket without a copy through here.
      Result<FileSlice> slice = response.body_source->NextFileSlice(static_cast<size_t>(std::min<uint64_t>(left, kSendfileBytes)));
      if (!slice.ok() || (slice->fd >= 0 && slice->length == 0)) {
        spdlog::warn("response body ended {} bytes short: {}", left, slice.ok() ? "no more data" : slice.status().ToString());
        co_return false;
      }
      if (slice->fd >= 0) {
        if (!co_await SendFile(w, conn, *slice)) co_return false;
        left -= slice->length;
        continue;
      }
      if (!chunk) chunk.reset(new char[kStreamChunkBytes]);
      Result<size_t> n = response.body_source->Read(chunk.get(), static_cast<size_t>(std::min<uint64_t>(left, kStreamChunkBytes)));
      if (!n.ok() || *n == 0) {
        spdlog::warn("response body ended {} bytes short: {}", left, n.ok() ? "no more data" : n.status().ToString());
        co_return false;
      }
      left -= *n;
      conn.deadline = w.now + options.write_timeout;
      co_await asio::async_write(conn.socket, asio::buffer(chunk.get(), *n), asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return !ec;
  }
  const size_t body_bytes = head || bodyless_status ? 0 : response.body.size();
  std::array<asio::const_buffer, 2> buffers = {asio::buffer(out), asio::buffer(response.body.data(), body_bytes)};
  conn.deadline = w.now + options.write_timeout;
  co_await asio::async_write(conn.socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

asio::awaitable<void> Server::Impl::Serve(Worker& w, Connection& conn, const std::string& remote_ip,
                                          uint16_t remote_port) {
  beast::flat_buffer buffer;
  // HTTP/2 with prior knowledge opens with a fixed preface, which no HTTP/1.1
  // request can start like: read just enough to tell them apart.
  conn.deadline = w.now + options.idle_timeout;
  for (;;) {
    const size_t have = buffer.size();
    std::string_view got(static_cast<const char*>(buffer.data().data()), have);
    if (got != kHttp2Preface.substr(0, have)) break;  // HTTP/1.x
    if (have == kHttp2Preface.size()) {
      Http2Limits limits{options.max_header_bytes, options.idle_timeout};
      co_await ServeHttp2(conn.socket, std::string(got), *handler, limits, live, remote_ip, remote_port,
                          [this, &w, &conn](bool idle) {
                            conn.idle = idle;
                            conn.deadline = idle ? w.now + options.idle_timeout : SteadyTime::max();
                          });
      co_return;
    }
    beast::error_code ec;
    size_t n = co_await conn.socket.async_read_some(buffer.prepare(kHttp2Preface.size() - have),
                                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    buffer.commit(n);
  }
  for (;;) {
    if (draining.load(std::memory_order_relaxed)) co_return;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    conn.idle = true;
    conn.deadline = w.now + options.idle_timeout;
    beast::error_code ec;
    co_await bhttp::async_read_header(conn.socket, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    conn.idle = false;

    HttpRequest req;
    req.remote_address = remote_ip;
    req.remote_port = remote_port;
    if (ec) {
      if (ec == bhttp::error::header_limit) {
        co_await Write(w, conn, handler->Reject(req, 431, "The request headers are too large."), 11, false, false);
      } else if (IsMalformed(ec)) {
        co_await Write(w, conn, handler->Reject(req, 400, "Malformed HTTP request: " + ec.message()), 11, false,
                       false);
      }
      co_return;  // closed, timed out, reset or cancelled for shutdown
    }

    auto& msg = parser.get();
    const unsigned version = msg.version();
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.headers.reserve(16);
    for (const auto& f : msg) req.headers.push_back({std::string(f.name_string()), std::string(f.value())});

    const size_t limit = handler->BodyLimit(req);
    if (auto len = parser.content_length(); len && *len > limit) {
      co_await Write(w, conn,
                     handler->Reject(req, 413, "The request body of " + std::to_string(*len) +
                                                   " bytes exceeds the limit of " + std::to_string(limit) + " bytes."),
                     version, false, false);
      co_return;
    }
    parser.body_limit(limit);
    // Memory reserved for this request's body until its response is written.
    struct BodyReservation {
      std::atomic<size_t>* pool = nullptr;
      size_t bytes = 0;
      ~BodyReservation() {
        if (pool) pool->fetch_sub(bytes, std::memory_order_relaxed);
      }
    } reservation;
    bool keep_alive = msg.keep_alive();
    bool body_unread = false;  // a sink refused part of the body: it is still coming
    const bool head = msg.method() == bhttp::verb::head;
    const bool expect_continue = beast::iequals(msg[bhttp::field::expect], "100-continue");
    std::shared_ptr<BodySink> sink;
    if (!parser.is_done()) {
      if (std::optional<HttpResponse> refusal = handler->Precheck(req)) {
        co_await Write(w, conn, std::move(*refusal), version, false, false);
        co_return;  // the unread body makes the connection unusable
      }
      sink = handler->StreamBody(req);
      if (!sink) {
        const size_t want = parser.content_length() ? static_cast<size_t>(*parser.content_length()) : limit;
        if (buffered_body_bytes.fetch_add(want, std::memory_order_relaxed) + want > options.max_buffered_body_bytes) {
          buffered_body_bytes.fetch_sub(want, std::memory_order_relaxed);
          HttpResponse busy =
              handler->Reject(req, 503, "The server is holding too many request bodies; retry later.");
          busy.SetHeader("Retry-After", "1");
          co_await Write(w, conn, std::move(busy), version, false, false);
          co_return;
        }
        reservation.pool = &buffered_body_bytes;
        reservation.bytes = want;
      }
      if (expect_continue) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        conn.deadline = w.now + options.write_timeout;
        co_await asio::async_write(conn.socket, asio::buffer(kContinue.data(), kContinue.size()),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
      }
      if (sink) {
        // Chunk by chunk into the sink; the deadline is for progress, so that
        // a large upload over a slow link is not cut off as a whole.
        std::unique_ptr<char[]> chunk(new char[kStreamChunkBytes]);
        Status st;
        if (auto length = parser.content_length()) {
          // A known length: straight from the socket in large reads (Beast's
          // parser would hand over at most 64 KiB a call), after whatever the
          // header read already buffered.
          uint64_t left = *length;
          const size_t buffered = static_cast<size_t>(std::min<uint64_t>(buffer.size(), left));
          if (buffered > 0) {
            st = sink->Write(std::string_view(static_cast<const char*>(buffer.data().data()), buffered));
            buffer.consume(buffered);
            left -= buffered;
          }
          while (st.ok() && left > 0) {
            conn.deadline = w.now + options.body_timeout;
            const size_t want = static_cast<size_t>(std::min<uint64_t>(left, kStreamChunkBytes));
            const size_t n = co_await conn.socket.async_read_some(asio::buffer(chunk.get(), want),
                                                                  asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            left -= n;
            st = sink->Write(std::string_view(chunk.get(), n));
          }
        } else {
          bhttp::request_parser<bhttp::buffer_body> streaming(std::move(parser));
          while (st.ok() && !streaming.is_done()) {
            streaming.get().body().data = chunk.get();
            streaming.get().body().size = kStreamChunkBytes;
            conn.deadline = w.now + options.body_timeout;
            co_await bhttp::async_read_some(conn.socket, buffer, streaming,
                                            asio::redirect_error(asio::use_awaitable, ec));
            if (ec == bhttp::error::need_buffer) ec = {};
            if (ec) break;
            const size_t n = kStreamChunkBytes - streaming.get().body().size;
            if (n > 0) st = sink->Write(std::string_view(chunk.get(), n));
          }
        }
        if (!ec) {
          if (st.ok()) st = sink->Finish();
          body_unread = !st.ok();
          if (body_unread) keep_alive = false;
          req.body_sink = std::move(sink);
          req.body_status = std::move(st);
        }
      } else {
        conn.deadline = w.now + options.body_timeout;
        co_await bhttp::async_read(conn.socket, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec) {
        if (ec == bhttp::error::body_limit) {
          co_await Write(w, conn,
                         handler->Reject(req, 413, "The request body exceeds the limit of " + std::to_string(limit) +
                                                       " bytes."),
                         version, false, false);
        } else if (IsMalformed(ec)) {
          co_await Write(w, conn, handler->Reject(req, 400, "Malformed HTTP request body: " + ec.message()), version,
                         false, false);
        }
        co_return;
      }
    }
    if (buffer.capacity() > 64 * 1024) buffer.shrink_to_fit();

    if (!req.body_sink) req.body = std::move(msg.body());

    conn.deadline = SteadyTime::max();  // the handler's time is not the client's fault
    auto pending = std::make_shared<PendingResponse>();
    {
      auto responder = std::make_shared<Responder>(pending, live);
      handler->Handle(std::move(req), [responder](HttpResponse&& response) { responder->Answer(std::move(response)); });
    }
    if (pending->state.load(std::memory_order_acquire) != PendingResponse::kAnswered) {
      w.suspended.insert(pending);
      co_await AwaitResponse(pending, live, asio::use_awaitable);
      w.suspended.erase(pending);
    }

    keep_alive = keep_alive && !draining.load(std::memory_order_relaxed);
    if (!co_await Write(w, conn, std::move(pending->response), version, head, keep_alive)) co_return;
    if (!keep_alive) {
      conn.socket.shutdown(tcp::socket::shutdown_send, ec);
      if (body_unread) {
        // Closing with unread bytes would reset the connection, and the client
        // might lose the answer before reading it: take (and drop) what it is
        // still sending, for a little while.
        conn.deadline = w.now + std::chrono::seconds(2);
        std::unique_ptr<char[]> scratch(new char[kStreamChunkBytes]);
        for (size_t drained = 0; drained < kLingerBytes;) {
          drained += co_await conn.socket.async_read_some(asio::buffer(scratch.get(), kStreamChunkBytes),
                                                          asio::redirect_error(asio::use_awaitable, ec));
          if (ec) break;
        }
      }
      co_return;
    }
  }
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(std::chrono::milliseconds(0)); }

Result<std::unique_ptr<Server>> Server::Create(const ServerOptions& options, HttpHandler& handler) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = &handler;
  beast::error_code ec;
  auto address = asio::ip::make_address(options.address, ec);
  if (ec) return Status::InvalidArgument("invalid listen address '" + options.address + "': " + ec.message());
  int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  uint16_t port = options.port;
  for (int i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    tcp::endpoint ep(address, port);
    w->acceptor.emplace(w->io);
    w->acceptor->open(ep.protocol(), ec);
    if (!ec) w->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) w->acceptor->set_option(ReusePort(true), ec);
    if (!ec) w->acceptor->bind(ep, ec);
    if (!ec) w->acceptor->listen(4096, ec);
    if (ec) {
      return Status::IoError("listen on " + options.address + ":" + std::to_string(port) + ": " + ec.message());
    }
    // With port 0 the first socket picks the port and the others join it.
    port = w->acceptor->local_endpoint().port();
    w->sweeper.emplace(w->io);
    impl->workers.push_back(std::move(w));
  }
  impl->port = port;
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->port; }

size_t Server::connection_count() const { return impl_->connections.load(); }

void Server::Start() {
  if (impl_->started) return;
  impl_->started = true;
  for (auto& w : impl_->workers) {
    Worker* worker = w.get();
    asio::co_spawn(worker->io, impl_->AcceptLoop(*worker), asio::detached);
    asio::co_spawn(worker->io, impl_->Sweep(*worker), asio::detached);
    worker->thread = std::thread([worker] {
      for (;;) {
        try {
          worker->io.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("I/O thread caught: {}", e.what());
        }
      }
    });
  }
}

void Server::Stop(std::chrono::milliseconds grace) {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->draining.store(true);
  if (!impl_->started) return;
  for (auto& w : impl_->workers) {
    Worker* worker = w.get();
    asio::post(worker->io, [worker] {
      beast::error_code ec;
      worker->acceptor->close(ec);
      for (Connection* c : worker->connections) {
        if (c->idle) c->socket.cancel(ec);
      }
    });
  }
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (impl_->connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (size_t left = impl_->connections.load(); left > 0) {
    spdlog::warn("closing {} connection(s) with requests still in flight after the {} ms grace period", left,
                 grace.count());
  }
  for (auto& w : impl_->workers) w->io.stop();
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  // Requests still waiting for their handler will never be answered: end
  // their coroutines now, while the I/O contexts they belong to still exist.
  std::lock_guard lock(impl_->live->mu);
  impl_->live->stopped = true;
  for (auto& w : impl_->workers) {
    for (const auto& pending : w->suspended) pending->resume = nullptr;
    w->suspended.clear();
  }
}

}  // namespace eventlake::http
