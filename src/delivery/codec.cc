#include "delivery/codec.h"

#include <snappy.h>
#include <zip.h>
#include <zlib.h>

#include <cstring>
#include <memory>

#include "common/compression.h"
#include "log/format.h"

namespace eventlake::delivery {
namespace {

constexpr size_t kSnappyChunk = 65536;           // the framing format's largest uncompressed chunk
constexpr size_t kHadoopBlock = 256 * 1024;      // Hadoop's default io.compression.codec.snappy.buffersize
constexpr char kSnappyStreamId[] = "\xff\x06\x00\x00sNaPpY";

uint32_t MaskedCrc(std::string_view data) {
  const uint32_t crc = log::Crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

void PutLe(std::string& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
void PutBe32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t GetLe(std::string_view in, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(in[at + i])) << (8 * i);
  return v;
}
uint32_t GetBe32(std::string_view in, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  return v;
}

Result<std::string> Gzip(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::Internal("deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::Internal("gzip compression failed");
  return out;
}

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct SourceFree {
  void operator()(zip_source_t* s) const { zip_source_free(s); }
};

Result<std::string> Zip(std::string_view data, const std::string& entry_name) {
  zip_error_t error;
  zip_error_init(&error);
  // The archive is written into this in-memory source, kept alive past zip_close.
  std::unique_ptr<zip_source_t, SourceFree> target(zip_source_buffer_create(nullptr, 0, 0, &error));
  if (!target) return Status::Internal(std::string("zip: ") + zip_error_strerror(&error));
  zip_source_keep(target.get());
  std::unique_ptr<zip_t, ZipCloser> archive(zip_open_from_source(target.get(), ZIP_TRUNCATE, &error));
  if (!archive) return Status::Internal(std::string("zip: ") + zip_error_strerror(&error));
  zip_source_t* entry = zip_source_buffer(archive.get(), data.data(), data.size(), 0);
  if (!entry) return Status::Internal(std::string("zip: ") + zip_strerror(archive.get()));
  const zip_int64_t index = zip_file_add(archive.get(), entry_name.c_str(), entry, ZIP_FL_ENC_UTF_8);
  if (index < 0) {
    zip_source_free(entry);
    return Status::Internal(std::string("zip: ") + zip_strerror(archive.get()));
  }
  zip_set_file_compression(archive.get(), static_cast<zip_uint64_t>(index), ZIP_CM_DEFLATE, 0);
  if (zip_close(archive.get()) != 0) return Status::Internal(std::string("zip: ") + zip_strerror(archive.get()));
  archive.release();  // closed
  zip_stat_t st;
  if (zip_source_stat(target.get(), &st) != 0 || zip_source_open(target.get()) != 0) {
    return Status::Internal("zip: cannot read the archive back");
  }
  std::string out(st.size, '\0');
  const zip_int64_t n = zip_source_read(target.get(), out.data(), out.size());
  zip_source_close(target.get());
  if (n != static_cast<zip_int64_t>(out.size())) return Status::Internal("zip: short read of the archive");
  return out;
}

Result<std::string> Unzip(std::string_view data, size_t max_output) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* src = zip_source_buffer_create(data.data(), data.size(), 0, &error);
  if (!src) return Status::InvalidArgument("zip: cannot read");
  zip_t* archive = zip_open_from_source(src, ZIP_RDONLY, &error);
  if (!archive) {
    zip_source_free(src);
    return Status::InvalidArgument("not a zip archive");
  }
  std::string out;
  const zip_int64_t entries = zip_get_num_entries(archive, 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_stat_t st;
    if (zip_stat_index(archive, i, 0, &st) != 0 || out.size() + st.size > max_output) break;
    zip_file_t* f = zip_fopen_index(archive, i, 0);
    if (!f) break;
    const size_t at = out.size();
    out.resize(at + st.size);
    zip_fread(f, out.data() + at, st.size);
    zip_fclose(f);
  }
  zip_discard(archive);
  return out;
}

std::string SnappyFramed(std::string_view data) {
  std::string out(kSnappyStreamId, sizeof(kSnappyStreamId) - 1);
  std::string compressed;
  for (size_t at = 0; at < data.size(); at += kSnappyChunk) {
    const std::string_view chunk = data.substr(at, kSnappyChunk);
    compressed.clear();
    snappy::Compress(chunk.data(), chunk.size(), &compressed);
    const bool keep_raw = compressed.size() >= chunk.size();
    const std::string_view body = keep_raw ? chunk : std::string_view(compressed);
    out += static_cast<char>(keep_raw ? 0x01 : 0x00);
    PutLe(out, static_cast<uint32_t>(body.size() + 4), 3);
    PutLe(out, MaskedCrc(chunk), 4);
    out.append(body);
  }
  return out;
}

Result<std::string> SnappyUnframe(std::string_view data, size_t max_output) {
  std::string out;
  size_t at = 0;
  while (at + 4 <= data.size()) {
    const uint8_t type = static_cast<uint8_t>(data[at]);
    const uint32_t len = GetLe(data, at + 1, 3);
    at += 4;
    if (at + len > data.size()) return Status::InvalidArgument("truncated snappy frame");
    const std::string_view body = data.substr(at, len);
    at += len;
    if (type == 0xff) continue;  // stream identifier
    if (type >= 0x80) continue;  // skippable
    if (len < 4) return Status::InvalidArgument("snappy chunk too short");
    std::string chunk;
    if (type == 0x00) {
      size_t n = 0;  // checked before Uncompress, which sizes its output by the header's claim
      if (!snappy::GetUncompressedLength(body.data() + 4, body.size() - 4, &n) || n > kSnappyChunk) {
        return Status::InvalidArgument("corrupt snappy chunk");
      }
      if (!snappy::Uncompress(body.data() + 4, body.size() - 4, &chunk)) {
        return Status::InvalidArgument("corrupt snappy chunk");
      }
    } else if (type == 0x01) {
      chunk.assign(body.substr(4));
    } else {
      return Status::InvalidArgument("unknown snappy chunk type");
    }
    if (MaskedCrc(chunk) != GetLe(body, 0, 4)) return Status::InvalidArgument("snappy chunk checksum mismatch");
    if (out.size() + chunk.size() > max_output) return Status::ResourceExhausted("snappy output too large");
    out += chunk;
  }
  return out;
}

std::string HadoopSnappy(std::string_view data) {
  std::string out;
  std::string compressed;
  for (size_t at = 0; at < data.size(); at += kHadoopBlock) {
    const std::string_view block = data.substr(at, kHadoopBlock);
    compressed.clear();
    snappy::Compress(block.data(), block.size(), &compressed);
    PutBe32(out, static_cast<uint32_t>(block.size()));
    PutBe32(out, static_cast<uint32_t>(compressed.size()));
    out += compressed;
  }
  return out;
}

Result<std::string> HadoopUnsnappy(std::string_view data, size_t max_output) {
  std::string out;
  size_t at = 0;
  while (at + 8 <= data.size()) {
    const uint32_t raw = GetBe32(data, at);
    at += 4;
    size_t got = 0;
    while (got < raw) {
      if (at + 4 > data.size()) return Status::InvalidArgument("truncated hadoop-snappy block");
      const uint32_t len = GetBe32(data, at);
      at += 4;
      if (at + len > data.size()) return Status::InvalidArgument("truncated hadoop-snappy chunk");
      std::string chunk;
      size_t n = 0;  // checked before Uncompress, which sizes its output by the header's claim
      if (!snappy::GetUncompressedLength(data.data() + at, len, &n) || n > max_output - out.size() ||
          !snappy::Uncompress(data.data() + at, len, &chunk)) {
        return Status::InvalidArgument("corrupt snappy");
      }
      at += len;
      got += chunk.size();
      if (out.size() + chunk.size() > max_output) return Status::ResourceExhausted("snappy output too large");
      out += chunk;
    }
  }
  return out;
}

}  // namespace

const char* CompressionName(Compression c) {
  switch (c) {
    case Compression::kUncompressed: return "UNCOMPRESSED";
    case Compression::kGzip: return "GZIP";
    case Compression::kZip: return "ZIP";
    case Compression::kSnappy: return "Snappy";
    case Compression::kHadoopSnappy: return "HADOOP_SNAPPY";
  }
  return "UNCOMPRESSED";
}

Result<Compression> ParseCompression(std::string_view name) {
  if (name == "UNCOMPRESSED") return Compression::kUncompressed;
  if (name == "GZIP") return Compression::kGzip;
  if (name == "ZIP") return Compression::kZip;
  if (name == "Snappy") return Compression::kSnappy;
  if (name == "HADOOP_SNAPPY") return Compression::kHadoopSnappy;
  return Status::InvalidArgument("Unknown CompressionFormat '" + std::string(name) + "'");
}

const char* DefaultExtension(Compression c) {
  switch (c) {
    case Compression::kUncompressed: return "";
    case Compression::kGzip: return ".gz";
    case Compression::kZip: return ".zip";
    case Compression::kSnappy: return ".snappy";
    case Compression::kHadoopSnappy: return ".hsnappy";
  }
  return "";
}

Result<std::string> Compress(Compression c, std::string_view data, const std::string& entry_name) {
  switch (c) {
    case Compression::kUncompressed: return std::string(data);
    case Compression::kGzip: return Gzip(data);
    case Compression::kZip: return Zip(data, entry_name);
    case Compression::kSnappy: return SnappyFramed(data);
    case Compression::kHadoopSnappy: return HadoopSnappy(data);
  }
  return Status::Internal("unknown compression");
}

Result<std::string> Decompress(Compression c, std::string_view data, size_t max_output) {
  switch (c) {
    case Compression::kUncompressed: return std::string(data);
    case Compression::kGzip: return GunzipBounded(data, max_output);
    case Compression::kZip: return Unzip(data, max_output);
    case Compression::kSnappy: return SnappyUnframe(data, max_output);
    case Compression::kHadoopSnappy: return HadoopUnsnappy(data, max_output);
  }
  return Status::Internal("unknown compression");
}

}  // namespace eventlake::delivery
