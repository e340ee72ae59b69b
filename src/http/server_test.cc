#include <utility>

#include "http/server.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace eventlake::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

// Echoes the method, target and body; "/slow" answers only when released.
// Counts what it is given and sums it, so that a test can check the whole
// body arrived; "/stream-fail" refuses after the first megabyte.
class CountingSink : public BodySink {
 public:
  explicit CountingSink(bool fail) : fail_(fail) {}
  Status Write(std::string_view bytes) override {
    ++writes;
    for (unsigned char c : bytes) sum += c;
    count += bytes.size();
    if (fail_ && count > (1 << 20)) return Status::InvalidArgument("refused mid-body");
    return Status::Ok();
  }
  Status Finish() override {
    finished = true;
    return Status::Ok();
  }
  uint64_t count = 0, sum = 0, writes = 0;
  bool finished = false;

 private:
  bool fail_;
};

// n bytes of a repeating pattern, in whatever pieces the server asks for.
class PatternSource : public BodySource {
 public:
  explicit PatternSource(uint64_t n) : left_(n) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, left_));
    for (size_t i = 0; i < k; ++i) buf[i] = static_cast<char>('a' + (pos_++ % 26));
    left_ -= k;
    return k;
  }

 private:
  uint64_t left_, pos_ = 0;
};

class EchoHandler : public HttpHandler {
 public:
  size_t BodyLimit(const HttpRequest& head) const override {
    return head.target.rfind("/stream", 0) == 0 ? size_t{1} << 40 : 1024;
  }
  std::shared_ptr<BodySink> StreamBody(const HttpRequest& head) override {
    if (head.target.rfind("/stream", 0) != 0) return nullptr;
    return std::make_shared<CountingSink>(head.target == "/stream-fail");
  }
  HttpResponse Reject(const HttpRequest&, int status, std::string_view reason) const override {
    HttpResponse r;
    r.status = status;
    r.body = std::string(reason);
    return r;
  }
  void Handle(HttpRequest&& req, HttpResponder respond) override {
    HttpResponse r;
    if (req.body_sink) {
      auto& sink = static_cast<CountingSink&>(*req.body_sink);
      r.status = req.body_status.ok() ? 200 : 400;
      r.body = std::to_string(sink.count) + " " + std::to_string(sink.sum) + " " + (sink.finished ? "finished" : "cut") +
               (sink.writes > 1 ? " in pieces" : " at once");
      return respond(std::move(r));
    }
    if (req.target.rfind("/download/", 0) == 0) {
      const std::string n = req.target.substr(10);
      r.body_source = std::make_shared<PatternSource>(std::stoull(n));
      r.headers.push_back({"Content-Length", n});
      return respond(std::move(r));
    }
    r.body = req.method + " " + req.target + " " + req.body;
    r.headers.push_back({"X-Remote", req.remote_address});
    if (req.target == "/drop") return;  // a buggy handler: the responder dies unanswered
    if (req.target == "/slow") {
      std::unique_lock lock(mu_);
      slow_ = std::move(respond);
      slow_response_ = std::move(r);
      cv_.notify_all();
      return;
    }
    respond(std::move(r));
  }
  void WaitForSlow() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return slow_ != nullptr; });
  }
  // Answers the held request from another thread, after the server may be gone.
  void ReleaseSlowLate() {
    std::unique_lock lock(mu_);
    slow_(std::move(slow_response_));
    slow_ = nullptr;
  }
  void ReleaseSlowFromAnotherThread() {
    std::thread([this] {
      std::unique_lock lock(mu_);
      slow_(std::move(slow_response_));
    }).join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  HttpResponder slow_;
  HttpResponse slow_response_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions opts;
    opts.port = 0;
    opts.threads = 2;
    opts.max_header_bytes = 2048;
    auto s = Server::Create(opts, handler_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    server_->Start();
  }
  void TearDown() override {
    if (server_) server_->Stop(std::chrono::seconds(5));
  }

  tcp::socket Connect() {
    tcp::socket sock(io_);
    sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    return sock;
  }
  static void Send(tcp::socket& sock, const std::string& raw) { asio::write(sock, asio::buffer(raw)); }
  static bhttp::response<bhttp::string_body> Read(tcp::socket& sock, beast::flat_buffer& buf) {
    bhttp::response<bhttp::string_body> res;
    bhttp::read(sock, buf, res);
    return res;
  }
  // True when the server closed the connection (reads EOF).
  static bool ClosedByServer(tcp::socket& sock, beast::flat_buffer& buf) {
    beast::error_code ec;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(sock, buf, res, ec);
    return ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset || ec == asio::error::eof;
  }

  asio::io_context io_;
  EchoHandler handler_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto sock = Connect();
  beast::flat_buffer buf;
  for (int i = 0; i < 3; ++i) {
    Send(sock, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
    auto res = Read(sock, buf);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "POST /x abc");
    EXPECT_EQ(res[bhttp::field::server], "eventlake");
    EXPECT_EQ(res["X-Remote"], "127.0.0.1");
    EXPECT_TRUE(res.keep_alive());
  }
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto sock = Connect();
  Send(sock,
       "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
       "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
       "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
  beast::flat_buffer buf;
  EXPECT_EQ(Read(sock, buf).body(), "GET /a ");
  EXPECT_EQ(Read(sock, buf).body(), "GET /b ");
  EXPECT_EQ(Read(sock, buf).body(), "POST /c hi");
}

TEST_F(ServerTest, OversizedBodyIsRefusedBeforeItIsRead) {
  auto sock = Connect();
  Send(sock, "PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n");
  beast::flat_buffer buf;
  auto res = Read(sock, buf);
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(ServerTest, OversizedChunkedBodyIsRefused) {
  auto sock = Connect();
  std::string chunk(2000, 'x');
  Send(sock, "PUT /big HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + chunk + "\r\n0\r\n\r\n");
  beast::flat_buffer buf;
  EXPECT_EQ(Read(sock, buf).result_int(), 413);
}

TEST_F(ServerTest, OversizedHeadersGet431) {
  auto sock = Connect();
  Send(sock, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  beast::flat_buffer buf;
  EXPECT_EQ(Read(sock, buf).result_int(), 431);
}

TEST_F(ServerTest, MalformedRequestGets400AndClose) {
  auto sock = Connect();
  Send(sock, "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: nope\r\n\r\n");
  beast::flat_buffer buf;
  auto res = Read(sock, buf);
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_TRUE(ClosedByServer(sock, buf));
}

TEST_F(ServerTest, HeadResponseCarriesLengthButNoBody) {
  auto sock = Connect();
  Send(sock, "HEAD /h HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n");
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> head_parser;
  head_parser.skip(true);
  bhttp::read(sock, buf, head_parser);
  EXPECT_EQ(head_parser.get()[bhttp::field::content_length], "8");  // "HEAD /h "
  EXPECT_EQ(Read(sock, buf).body(), "GET /next ");
}

TEST_F(ServerTest, AStreamedBodyReachesTheSinkWholeAndInPieces) {
  const std::string body(8 << 20, 'z');  // far past what the server would buffer for this handler
  auto sock = Connect();
  beast::flat_buffer buf;
  Send(sock, "PUT /stream HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  auto res = Read(sock, buf);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), std::to_string(body.size()) + " " + std::to_string(body.size() * 'z') + " finished in pieces");
  // Chunked transfer coding is removed before the sink sees the bytes; the connection lives on.
  Send(sock, "PUT /stream HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  res = Read(sock, buf);
  EXPECT_EQ(res.body().substr(0, 14), "5 " + std::to_string('a' + 'b' + 'c' + 'd' + 'e') + " finished");
  EXPECT_TRUE(res.keep_alive());
}

TEST_F(ServerTest, ASinkThatRefusesStopsTheUploadAndTheConnection) {
  const std::string body(4 << 20, 'z');
  auto sock = Connect();
  beast::flat_buffer buf;
  std::thread sender([&] {
    beast::error_code ec;
    asio::write(sock, asio::buffer("PUT /stream-fail HTTP/1.1\r\nHost: h\r\nContent-Length: " +
                                   std::to_string(body.size()) + "\r\n\r\n" + body), ec);  // may be cut off
  });
  auto res = Read(sock, buf);
  sender.join();
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_NE(res.body().find("cut"), std::string::npos);
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(ServerTest, AResponseFromASourceIsSentWholeAndHeadSendsOnlyItsLength) {
  auto sock = Connect();
  beast::flat_buffer buf;
  Send(sock, "GET /download/5000000 HTTP/1.1\r\nHost: h\r\n\r\n");
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  bhttp::read(sock, buf, parser);
  const std::string& got = parser.get().body();
  ASSERT_EQ(got.size(), 5000000u);
  EXPECT_EQ(got[0], 'a');
  EXPECT_EQ(got[4999999], static_cast<char>('a' + 4999999 % 26));
  Send(sock, "HEAD /download/77 HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n");
  bhttp::response_parser<bhttp::string_body> head_parser;
  head_parser.skip(true);
  bhttp::read(sock, buf, head_parser);
  EXPECT_EQ(head_parser.get()[bhttp::field::content_length], "77");
  EXPECT_EQ(Read(sock, buf).body(), "GET /next ");
}

TEST_F(ServerTest, StopClosesIdleConnectionsAndFinishesRequestsInFlight) {
  auto idle = Connect();
  auto busy = Connect();
  Send(busy, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
  handler_.WaitForSlow();
  std::thread stopper([&] { server_->Stop(std::chrono::seconds(10)); });
  beast::flat_buffer idle_buf;
  EXPECT_TRUE(ClosedByServer(idle, idle_buf));
  handler_.ReleaseSlowFromAnotherThread();
  beast::flat_buffer busy_buf;
  auto res = Read(busy, busy_buf);
  EXPECT_EQ(res.body(), "GET /slow ");
  EXPECT_FALSE(res.keep_alive());
  stopper.join();
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(ServerTest, ADroppedResponderAnswers500AndTheConnectionLivesOn) {
  auto sock = Connect();
  beast::flat_buffer buf;
  Send(sock, "GET /drop HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(Read(sock, buf).result_int(), 500);
  Send(sock, "GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(Read(sock, buf).body(), "GET /after ");
}

TEST_F(ServerTest, AnAnswerArrivingAfterStopIsDroppedSafely) {
  auto busy = Connect();
  Send(busy, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
  handler_.WaitForSlow();
  server_->Stop(std::chrono::milliseconds(50));  // gives up on the request in flight
  server_.reset();                               // and destroys the I/O contexts
  handler_.ReleaseSlowLate();                    // must not touch them
  SUCCEED();
}

TEST(ServerBudgetTest, BodiesPastTheMemoryBudgetAreRefusedWith503) {
  EchoHandler handler;
  ServerOptions opts;
  opts.port = 0;
  opts.threads = 1;
  opts.max_buffered_body_bytes = 1500;
  auto server = Server::Create(opts, handler);
  ASSERT_TRUE(server.ok());
  (*server)->Start();
  asio::io_context io;
  tcp::socket held(io), refused(io);
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), (*server)->port());
  held.connect(ep);
  refused.connect(ep);
  // Two bodies of 1000 bytes are announced and not sent: whichever the server
  // takes first holds its reservation, and the other would pass the budget.
  const std::string head = "PUT /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\nxx";
  asio::write(held, asio::buffer(head));
  asio::write(refused, asio::buffer(head));
  tcp::socket* answered = nullptr;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!answered && std::chrono::steady_clock::now() < deadline) {
    if (held.available() > 0) answered = &held;
    if (refused.available() > 0) answered = &refused;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_NE(answered, nullptr);
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(*answered, buf, res);
  EXPECT_EQ(res.result_int(), 503);
  EXPECT_EQ(res["Retry-After"], "1");
  (*server)->Stop(std::chrono::milliseconds(100));
}

TEST_F(ServerTest, InvalidListenAddressIsRefused) {
  ServerOptions opts;
  opts.address = "not-an-address";
  EXPECT_EQ(Server::Create(opts, handler_).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace eventlake::http
