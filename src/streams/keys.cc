#include "streams/keys.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdint>

namespace eventlake::streams {

std::string HashKeyToString(HashKey key) {
  if (key == 0) return "0";
  std::string out;
  while (key > 0) {
    out.push_back(static_cast<char>('0' + static_cast<int>(key % 10)));
    key /= 10;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::optional<HashKey> ParseHashKey(std::string_view text) {
  if (text.empty() || text.size() > 39 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  HashKey v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    HashKey digit = static_cast<HashKey>(c - '0');
    if (v > (kMaxHashKey - digit) / 10) return std::nullopt;  // past 2^128-1
    v = v * 10 + digit;
  }
  return v;
}

namespace {

// Writes `v` as exactly `width` decimal digits (zero-padded, truncated to the low digits).
void PutDigits(char* out, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

void AppendSequenceNumber(const SequenceParts& p, std::string* out) {
  const size_t at = out->size();
  out->append(56, '0');
  char* d = out->data() + at;
  d[0] = '4';
  d[1] = '9';
  PutDigits(d + 2, static_cast<uint64_t>(p.stream_created_s), 12);
  PutDigits(d + 14, p.shard_index, 10);
  PutDigits(d + 24, p.position, 20);
}

std::string FormatSequenceNumber(const SequenceParts& p) {
  std::string out;
  AppendSequenceNumber(p, &out);
  return out;
}

std::optional<SequenceParts> ParseSequenceNumber(std::string_view t) {
  if (t.size() != 56 || t.substr(0, 2) != "49" || t.substr(44) != "000000000000") return std::nullopt;
  if (!std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  SequenceParts p;
  uint64_t shard = 0;
  auto parse = [&](std::string_view digits, auto* out) {
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), *out);
    return r.ec == std::errc() && r.ptr == digits.data() + digits.size();
  };
  if (!parse(t.substr(2, 12), &p.stream_created_s) || !parse(t.substr(14, 10), &shard) ||
      !parse(t.substr(24, 20), &p.position) || shard > UINT32_MAX) {
    return std::nullopt;  // out of range, not a number we hand out
  }
  p.shard_index = static_cast<uint32_t>(shard);
  return p;
}

std::string ShardIdOf(uint32_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "shardId-%012u", index);
  return buf;
}

std::optional<uint32_t> ParseShardId(std::string_view id) {
  // AWS also accepts the bare number and any "prefix-number" form.
  size_t dash = id.rfind('-');
  std::string_view digits = dash == std::string_view::npos ? id : id.substr(dash + 1);
  if (digits.empty() || digits.size() > 12) return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > INT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

}  // namespace eventlake::streams
