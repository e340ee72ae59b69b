// Kinesis hash keys and sequence numbers.
//
// Hash keys are 128-bit unsigned integers (MD5 of the partition key, or an
// explicit key), written in decimal on the wire. Sequence numbers are
// fixed-width decimal strings, strictly increasing within a shard:
//
//   "49" | stream creation, seconds (12 digits) | shard index (10 digits)
//        | position in the shard's log (20 digits) | "000000000000"
//
// 56 digits, like the ones AWS hands out, so that clients comparing them as
// big integers (KCL checkpoints) order them correctly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eventlake::streams {

using HashKey = unsigned __int128;
inline constexpr HashKey kMaxHashKey = ~HashKey{0};

std::string HashKeyToString(HashKey key);
// Decimal 0 .. 2^128-1 without sign or leading zeros (as the model's pattern
// `0|([1-9]\d{0,38})` says); nullopt otherwise.
std::optional<HashKey> ParseHashKey(std::string_view text);

struct SequenceParts {
  int64_t stream_created_s = 0;
  uint32_t shard_index = 0;
  uint64_t position = 0;
};
std::string FormatSequenceNumber(const SequenceParts& parts);
// Appends the 56 digits to `out` without allocating.
void AppendSequenceNumber(const SequenceParts& parts, std::string* out);
std::optional<SequenceParts> ParseSequenceNumber(std::string_view text);

// "shardId-000000000007"
std::string ShardIdOf(uint32_t index);
std::optional<uint32_t> ParseShardId(std::string_view id);

}  // namespace eventlake::streams
