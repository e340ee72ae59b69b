#include <utility>

#include "http/request_parser.h"

#include <boost/beast/http.hpp>

namespace eventlake::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;

Result<HttpRequest> ParseRequest(std::string_view bytes, size_t max_header_bytes, size_t max_body_bytes) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(std::min<size_t>(max_header_bytes, UINT32_MAX)));
  parser.body_limit(max_body_bytes);
  parser.eager(true);
  beast::error_code ec;
  size_t offset = 0;
  while (offset < bytes.size() && !parser.is_done()) {
    size_t used = parser.put(boost::asio::buffer(bytes.data() + offset, bytes.size() - offset), ec);
    if (ec == bhttp::error::need_more) break;
    if (ec == bhttp::error::header_limit || ec == bhttp::error::body_limit) {
      return Status::ResourceExhausted(ec.message());
    }
    if (ec) return Status::InvalidArgument(ec.message());
    if (used == 0) break;
    offset += used;
  }
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return Status::InvalidArgument("incomplete request");
  }
  auto msg = parser.release();
  HttpRequest req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  for (const auto& f : msg) req.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  req.body = std::move(msg.body());
  return req;
}

}  // namespace eventlake::http
