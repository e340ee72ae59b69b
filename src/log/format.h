// Constants and framing of the record log. The format is specified in
// docs/formats/log.md; keep the two in step.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eventlake::log {

inline constexpr char kSegmentMagic[4] = {'E', 'L', 'S', 'G'};
inline constexpr char kIndexMagic[4] = {'E', 'L', 'I', 'X'};
inline constexpr uint8_t kFormatVersion = 1;
inline constexpr size_t kSegmentHeaderBytes = 32;
inline constexpr size_t kFrameHeaderBytes = 8;       // crc:u32 length:u32
inline constexpr size_t kBodyFixedBytes = 20;        // position:u64 timestamp_ms:i64 key_length:u32
inline constexpr uint32_t kMaxBodyBytes = (16u << 20) + 4096;
inline constexpr size_t kIndexHeaderBytes = 16;
inline constexpr size_t kIndexEntryBytes = 24;

// Little-endian fixed-width integers, as every field of the format is stored.
inline void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// CRC32C (Castagnoli) of `data`, continuing from `crc` (0 to start).
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

struct SegmentHeader {
  uint64_t base_position = 0;
  int64_t created_ms = 0;
};
std::string EncodeSegmentHeader(const SegmentHeader& h);
// nullopt when the bytes are not a valid version-1 header.
std::optional<SegmentHeader> DecodeSegmentHeader(std::string_view bytes);

// Appends one frame to `out`.
void EncodeFrame(uint64_t position, int64_t timestamp_ms, std::string_view key, std::string_view value,
                 std::string* out);

struct FrameView {
  uint64_t position;
  int64_t timestamp_ms;
  std::string_view key;
  std::string_view value;
  size_t size;  // the whole frame, header included
};
enum class FrameResult { kOk, kIncomplete, kCorrupt };
// Decodes the frame at the start of `bytes`. kIncomplete when `bytes` ends
// before the frame does (more may follow); kCorrupt when the length is out of
// range or the CRC does not match.
FrameResult DecodeFrame(std::string_view bytes, FrameView* out);
// The frame's total size from its header alone, when the length is in range.
std::optional<size_t> PeekFrameSize(std::string_view bytes);

}  // namespace eventlake::log
