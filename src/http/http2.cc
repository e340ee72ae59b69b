#include "http/http2.h"

#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <map>

#include "common/strings.h"

namespace eventlake::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxConnectionBodyBytes = 64 << 20;  // request bodies one connection may hold at once
constexpr size_t kMaxOutputBytes = 16 << 20;          // answers queued for a client that is not reading

struct Stream {
  HttpRequest request;
  size_t header_bytes = 0;
  size_t body_limit = 0;
  bool dispatched = false;
  bool head = false;  // a HEAD request: the answer's Content-Length is the handler's, with no body
  std::string response_body;
  size_t sent = 0;
  std::shared_ptr<BodySource> source;  // instead of response_body, when set
  uint64_t source_left = 0;
  std::shared_ptr<BodySink> sink;  // takes the request body as it arrives, when the handler wants it
  Status sink_status;
  uint64_t streamed = 0;  // body bytes given to the sink
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket& socket, HttpHandler& handler, std::shared_ptr<Liveness> live, std::string remote_ip,
             uint16_t remote_port, size_t max_header_bytes, std::function<void(bool)> set_idle)
      : socket_(socket), handler_(handler), live_(std::move(live)), remote_ip_(std::move(remote_ip)),
        remote_port_(remote_port), max_header_bytes_(max_header_bytes), set_idle_(std::move(set_idle)) {}

  ~Connection() {
    if (session_) nghttp2_session_del(session_);
  }

  bool Start(size_t max_header_bytes) {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(cbs, OnHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, OnFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, OnDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, OnStreamClose);
    nghttp2_option* opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_max_send_header_block_length(opt, 64 * 1024);
    int rc = nghttp2_session_server_new2(&session_, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    if (rc != 0) return false;
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 32},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(max_header_bytes)},
    };
    return nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 3) == 0;
  }

  // Feeds received bytes; false when the session is over.
  bool Receive(std::string_view bytes) {
    in_recv_ = true;
    ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    in_recv_ = false;
    if (n < 0) return false;
    Flush();
    return Alive();
  }

  bool Alive() const { return !closed_ && (nghttp2_session_want_read(session_) || nghttp2_session_want_write(session_)); }
  bool Idle() const { return streams_.empty(); }
  size_t OutputBytes() const { return pending_.size() + in_flight_.size(); }
  void Close() { closed_ = true; }

  // Writes whatever nghttp2 has queued; one write at a time.
  void Flush() {
    if (closed_ || in_recv_) return;  // nghttp2 must not send from inside its own receive callbacks
    for (;;) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) break;
      pending_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (writing_ || pending_.empty()) return;
    writing_ = true;
    in_flight_.swap(pending_);
    pending_.clear();
    asio::async_write(socket_, asio::buffer(in_flight_),
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                        self->writing_ = false;
                        self->in_flight_.clear();
                        if (self->closed_) return;  // the socket may be gone
                        if (ec) {
                          self->closed_ = true;
                          boost::system::error_code ignored;
                          self->socket_.cancel(ignored);
                          return;
                        }
                        self->Flush();
                      });
  }

 private:
  static Connection& Self(void* user) { return *static_cast<Connection*>(user); }

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      Connection& c = Self(user);
      Stream& s = c.streams_[frame->hd.stream_id];
      s.request.remote_address = c.remote_ip_;
      s.request.remote_port = c.remote_port_;
      c.set_idle_(false);
    }
    return 0;
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto it = Self(user).streams_.find(frame->hd.stream_id);
    if (it == Self(user).streams_.end()) return 0;
    // nghttp2 does not hold peers to our SETTINGS_MAX_HEADER_LIST_SIZE: count (as RFC 9113 does) and refuse.
    it->second.header_bytes += namelen + valuelen + 32;
    if (it->second.header_bytes > Self(user).max_header_bytes_) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    HttpRequest& r = it->second.request;
    if (n == ":method") {
      r.method = std::move(v);
    } else if (n == ":path") {
      r.target = std::move(v);
    } else if (n == ":authority") {
      // Kept under both names: SDKs sign ":authority" over HTTP/2, and everything else reads Host.
      r.headers.push_back({":authority", v});
      r.headers.push_back({"host", std::move(v)});
    } else if (!n.empty() && n[0] != ':') {
      r.headers.push_back({std::string(n), std::move(v)});
    }
    return 0;
  }

  static int OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    Connection& c = Self(user);
    auto it = c.streams_.find(frame->hd.stream_id);
    if (it == c.streams_.end()) return 0;
    Stream& s = it->second;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      s.head = s.request.method == "HEAD";
      s.body_limit = c.handler_.BodyLimit(s.request);
      if (const std::string* len = s.request.FindHeader("content-length")) {
        if (std::strtoull(len->c_str(), nullptr, 10) > s.body_limit) {
          c.Answer(frame->hd.stream_id, c.handler_.Reject(s.request, 413, "The request body exceeds the limit."));
          return 0;
        }
      }
      if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        if (auto refusal = c.handler_.Precheck(s.request)) {
          c.Answer(frame->hd.stream_id, std::move(*refusal));
          return 0;
        }
        s.sink = c.handler_.StreamBody(s.request);
      }
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !s.dispatched) {
      c.Dispatch(frame->hd.stream_id, s);
    }
    (void)session;
    return 0;
  }

  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len, void* user) {
    Connection& c = Self(user);
    auto it = c.streams_.find(stream_id);
    if (it == c.streams_.end() || it->second.dispatched) return 0;
    Stream& s = it->second;
    if (s.sink) {
      // Streamed: nothing is held here. After a refusal the rest is read and dropped (flow control
      // goes on), and the handler answers with the sink's status when the stream ends.
      s.streamed += len;
      if (s.streamed > s.body_limit) {
        c.Answer(stream_id, c.handler_.Reject(s.request, 413, "The request body exceeds the limit."));
        return 0;
      }
      if (s.sink_status.ok()) s.sink_status = s.sink->Write(std::string_view(reinterpret_cast<const char*>(data), len));
      return 0;
    }
    if (s.request.body.size() + len > s.body_limit) {
      c.Answer(stream_id, c.handler_.Reject(s.request, 413, "The request body exceeds the limit."));
      return 0;
    }
    if (c.body_bytes_ + len > kMaxConnectionBodyBytes) {
      HttpResponse busy = c.handler_.Reject(s.request, 503, "Too many request bodies on this connection; retry later.");
      busy.SetHeader("Retry-After", "1");
      c.Answer(stream_id, std::move(busy));
      return 0;
    }
    c.body_bytes_ += len;
    s.request.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t, void* user) {
    Connection& c = Self(user);
    auto it = c.streams_.find(stream_id);
    if (it == c.streams_.end()) return 0;
    if (!it->second.dispatched) c.body_bytes_ -= it->second.request.body.size();
    c.streams_.erase(it);
    if (c.streams_.empty()) c.set_idle_(true);
    return 0;
  }

  static ssize_t ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source*, void* user) {
    auto it = Self(user).streams_.find(stream_id);
    if (it == Self(user).streams_.end()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    Stream& s = it->second;
    if (s.source) {
      Result<size_t> n = s.source_left > 0 ? s.source->Read(reinterpret_cast<char*>(buf),
                                                            static_cast<size_t>(std::min<uint64_t>(length, s.source_left)))
                                           : Result<size_t>(size_t{0});
      if (!n.ok() || (*n == 0 && s.source_left > 0)) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
      s.source_left -= *n;
      if (s.source_left == 0) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(*n);
    }
    size_t n = std::min(length, s.response_body.size() - s.sent);
    std::memcpy(buf, s.response_body.data() + s.sent, n);
    s.sent += n;
    if (s.sent == s.response_body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  void Dispatch(int32_t stream_id, Stream& s) {
    s.dispatched = true;
    body_bytes_ -= s.request.body.size();
    if (s.sink) {
      if (s.sink_status.ok()) s.sink_status = s.sink->Finish();
      s.request.body_sink = std::move(s.sink);
      s.request.body_status = std::move(s.sink_status);
    }
    std::weak_ptr<Connection> weak = weak_from_this();
    auto executor = socket_.get_executor();
    auto live = live_;
    handler_.Handle(std::move(s.request), [weak, executor, live, stream_id](HttpResponse&& response) {
      std::lock_guard lock(live->mu);
      if (live->stopped) return;
      asio::post(executor, [weak, stream_id, response = std::move(response)]() mutable {
        if (auto self = weak.lock()) self->Answer(stream_id, std::move(response));
      });
    });
  }

  // Sends a response on a stream (and ends the stream).
  void Answer(int32_t stream_id, HttpResponse&& response) {
    auto it = streams_.find(stream_id);
    if (it == streams_.end() || closed_) return;
    Stream& s = it->second;
    if (!s.dispatched) {
      body_bytes_ -= s.request.body.size();
      s.request.body.clear();
      s.dispatched = true;
    }
    s.response_body = std::move(response.body);
    uint64_t body_length = s.response_body.size();
    if (s.head) {
      const std::string* len = response.FindHeader("content-length");
      body_length = len ? std::strtoull(len->c_str(), nullptr, 10) : 0;
      s.response_body.clear();
      response.body_source.reset();
    } else if (response.body_source) {
      const std::string* len = response.FindHeader("content-length");
      body_length = len ? std::strtoull(len->c_str(), nullptr, 10) : 0;
      if (response.status != 304 && response.status != 204) {
        s.source = std::move(response.body_source);
        s.source_left = body_length;
      }
    }
    std::vector<std::string> names, values;  // HTTP/2 header names are lower case
    names.push_back(":status");
    values.push_back(std::to_string(response.status));
    for (const auto& h : response.headers) {
      std::string name = AsciiLower(h.name);
      if (name == "connection" || name == "content-length" || name == "transfer-encoding") continue;
      names.push_back(std::move(name));
      values.push_back(h.value);
    }
    names.push_back("content-length");
    values.push_back(std::to_string(body_length));
    std::vector<nghttp2_nv> nv;
    for (size_t i = 0; i < names.size(); ++i) {
      nv.push_back({reinterpret_cast<uint8_t*>(names[i].data()), reinterpret_cast<uint8_t*>(values[i].data()),
                    names[i].size(), values[i].size(), NGHTTP2_NV_FLAG_NONE});
    }
    nghttp2_data_provider provider;
    provider.source.ptr = nullptr;
    provider.read_callback = ReadBody;
    nghttp2_submit_response(session_, stream_id, nv.data(), nv.size(),
                            s.response_body.empty() && s.source_left == 0 ? nullptr : &provider);
    Flush();
  }

  tcp::socket& socket_;
  HttpHandler& handler_;
  std::shared_ptr<Liveness> live_;
  std::string remote_ip_;
  uint16_t remote_port_;
  const size_t max_header_bytes_;
  std::function<void(bool)> set_idle_;
  size_t body_bytes_ = 0;  // request bytes held by streams not yet handed to the handler
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Stream> streams_;
  std::string pending_, in_flight_;
  bool writing_ = false;
  bool in_recv_ = false;
  bool closed_ = false;
};

}  // namespace

asio::awaitable<void> ServeHttp2(tcp::socket& socket, std::string received, HttpHandler& handler,
                                 const Http2Limits& limits, std::shared_ptr<Liveness> live, std::string remote_ip,
                                 uint16_t remote_port, std::function<void(bool idle)> set_idle) {
  auto c = std::make_shared<Connection>(socket, handler, std::move(live), std::move(remote_ip), remote_port,
                                        limits.max_header_bytes, set_idle);
  set_idle(true);
  if (!c->Start(limits.max_header_bytes) || !c->Receive(received)) co_return;
  std::string buf(64 * 1024, '\0');
  asio::steady_timer timer(socket.get_executor());
  auto backlogged_since = std::chrono::steady_clock::time_point::max();
  for (;;) {
    if (c->OutputBytes() > kMaxOutputBytes) {
      // The client is not taking its answers: read nothing more from it until it does, for a while.
      auto now = std::chrono::steady_clock::now();
      if (backlogged_since == std::chrono::steady_clock::time_point::max()) backlogged_since = now;
      if (now - backlogged_since > limits.idle_timeout) break;
      timer.expires_after(std::chrono::milliseconds(5));
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    backlogged_since = std::chrono::steady_clock::time_point::max();
    boost::system::error_code ec;
    size_t n = co_await socket.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !c->Receive(std::string_view(buf.data(), n))) break;
  }
  c->Close();
}

}  // namespace eventlake::http
