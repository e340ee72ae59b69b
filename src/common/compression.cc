#include "common/compression.h"

#include <zlib.h>

namespace eventlake {

Result<std::string> GunzipBounded(std::string_view input, size_t max_output) {
  z_stream zs{};
  // 15 window bits + 32: detect gzip or zlib headers automatically.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return Status::Internal("inflateInit2 failed");
  std::string out;
  out.resize(std::min<size_t>(max_output, std::max<size_t>(input.size() * 4, 4096)));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(input.size());
  size_t produced = 0;
  int rc = Z_OK;
  while (true) {
    if (produced == out.size()) {
      if (out.size() >= max_output) {
        inflateEnd(&zs);
        return Status::ResourceExhausted("decompressed body exceeds " + std::to_string(max_output) +
                                         " bytes");
      }
      out.resize(std::min(max_output, out.size() * 2));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Concatenated gzip members (RFC 1952 2.2) decode as one body; anything
      // else after the end is an error, not silently dropped.
      if (zs.avail_in < 2 || zs.next_in[0] != 0x1f || zs.next_in[1] != 0x8b) {
        inflateEnd(&zs);
        return Status::InvalidArgument("unexpected bytes after the end of the gzip body");
      }
      inflateReset(&zs);
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      inflateEnd(&zs);
      return Status::InvalidArgument("truncated gzip body");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      inflateEnd(&zs);
      return Status::InvalidArgument(std::string("corrupt gzip body: ") + (zs.msg ? zs.msg : "inflate error"));
    }
  }
  inflateEnd(&zs);
  out.resize(produced);
  return out;
}

}  // namespace eventlake
