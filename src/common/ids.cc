#include "common/ids.h"

#include <random>

namespace eventlake {
namespace {

// xoshiro256** seeded from the OS once per thread.
struct Xoshiro {
  uint64_t s[4];
  Xoshiro() {
    std::random_device rd;
    for (auto& w : s) w = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t Next() {
    uint64_t result = Rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = Rotl(s[3], 45);
    return result;
  }
};

thread_local Xoshiro tls_rng;

}  // namespace

uint64_t FastRandom64() { return tls_rng.Next(); }

std::string NewRequestId() {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t hi = FastRandom64(), lo = FastRandom64();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  std::string out(36, '-');
  int pos = 0;
  auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      out[pos++] = kHex[(v >> (i * 4)) & 15];
    }
  };
  put(hi, 16);
  put(lo, 16);
  return out;
}

}  // namespace eventlake
