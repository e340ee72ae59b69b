#include "http/client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace eventlake::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

Result<std::pair<std::string, uint16_t>> ParseEndpoint(const std::string& endpoint) {
  std::string rest = endpoint;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  if (rest.rfind("https://", 0) == 0) return Status::InvalidArgument("https endpoints are not supported here yet");
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return Status::InvalidArgument("endpoint needs host:port: " + endpoint);
  std::string host = rest.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const int port = std::atoi(rest.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return Status::InvalidArgument("bad port in endpoint " + endpoint);
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Result<ClientResponse> Send(const std::string& host, uint16_t port, const HttpRequest& request,
                            std::chrono::seconds timeout) {
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    asio::ip::tcp::resolver resolver(io);
    stream.connect(resolver.resolve(host, std::to_string(port)));
    bhttp::request<bhttp::string_body> req;
    req.method_string(request.method);
    req.target(request.target);
    req.version(11);
    for (const auto& h : request.headers) req.set(h.name, h.value);
    req.body() = request.body;
    req.prepare_payload();
    bhttp::write(stream, req);
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1ULL << 30);
    bhttp::read(stream, buffer, parser);
    ClientResponse out;
    out.status = static_cast<int>(parser.get().result_int());
    out.body = std::move(parser.get().body());
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    return out;
  } catch (const std::exception& e) {
    return Status::Unavailable("cannot reach " + host + ":" + std::to_string(port) + ": " + e.what());
  }
}

}  // namespace eventlake::http
