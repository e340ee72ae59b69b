#include "log/format.h"

#include <isa-l/crc.h>

#include <cstring>

namespace eventlake::log {

uint32_t Crc32c(std::string_view data, uint32_t crc) {
  // ISA-L's iSCSI CRC is CRC32C without the initial and final inversion.
  uint32_t raw = crc32_iscsi(reinterpret_cast<unsigned char*>(const_cast<char*>(data.data())),
                             static_cast<int>(data.size()), ~crc);
  return ~raw;
}

std::string EncodeSegmentHeader(const SegmentHeader& h) {
  std::string out(kSegmentMagic, 4);
  out.push_back(static_cast<char>(kFormatVersion));
  out.append(3, '\0');
  PutU64(&out, h.base_position);
  PutU64(&out, static_cast<uint64_t>(h.created_ms));
  PutU32(&out, 0);
  PutU32(&out, Crc32c(out));
  return out;
}

std::optional<SegmentHeader> DecodeSegmentHeader(std::string_view b) {
  if (b.size() < kSegmentHeaderBytes) return std::nullopt;
  if (std::memcmp(b.data(), kSegmentMagic, 4) != 0 || static_cast<uint8_t>(b[4]) != kFormatVersion) {
    return std::nullopt;
  }
  if (GetU32(b.data() + 28) != Crc32c(b.substr(0, 28))) return std::nullopt;
  return SegmentHeader{GetU64(b.data() + 8), static_cast<int64_t>(GetU64(b.data() + 16))};
}

void EncodeFrame(uint64_t position, int64_t timestamp_ms, std::string_view key, std::string_view value,
                 std::string* out) {
  const size_t start = out->size();
  const auto length = static_cast<uint32_t>(kBodyFixedBytes + key.size() + value.size());
  PutU32(out, 0);  // the CRC, filled in below
  PutU32(out, length);
  PutU64(out, position);
  PutU64(out, static_cast<uint64_t>(timestamp_ms));
  PutU32(out, static_cast<uint32_t>(key.size()));
  out->append(key);
  out->append(value);
  uint32_t crc = Crc32c(std::string_view(*out).substr(start + 4));
  for (int i = 0; i < 4; ++i) (*out)[start + i] = static_cast<char>(crc >> (8 * i));
}

std::optional<size_t> PeekFrameSize(std::string_view b) {
  if (b.size() < kFrameHeaderBytes) return std::nullopt;
  uint32_t length = GetU32(b.data() + 4);
  if (length < kBodyFixedBytes || length > kMaxBodyBytes) return std::nullopt;
  return kFrameHeaderBytes + length;
}

FrameResult DecodeFrame(std::string_view b, FrameView* out) {
  if (b.size() < kFrameHeaderBytes) return FrameResult::kIncomplete;
  uint32_t length = GetU32(b.data() + 4);
  if (length < kBodyFixedBytes || length > kMaxBodyBytes) return FrameResult::kCorrupt;
  if (b.size() < kFrameHeaderBytes + length) return FrameResult::kIncomplete;
  if (GetU32(b.data()) != Crc32c(b.substr(4, 4 + length))) return FrameResult::kCorrupt;
  const char* body = b.data() + kFrameHeaderBytes;
  uint32_t key_length = GetU32(body + 16);
  if (key_length > length - kBodyFixedBytes) return FrameResult::kCorrupt;
  out->position = GetU64(body);
  out->timestamp_ms = static_cast<int64_t>(GetU64(body + 8));
  out->key = std::string_view(body + kBodyFixedBytes, key_length);
  out->value = std::string_view(body + kBodyFixedBytes + key_length, length - kBodyFixedBytes - key_length);
  out->size = kFrameHeaderBytes + length;
  return FrameResult::kOk;
}

}  // namespace eventlake::log
