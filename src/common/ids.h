// Identifiers: request ids and random tokens. Thread-safe (per-thread state).
#pragma once

#include <cstdint>
#include <string>

namespace eventlake {

// A random RFC 4122 version-4 UUID, lower-case with dashes. Fast, not secret:
// use auth/crypto.h for anything that must be unpredictable.
std::string NewRequestId();

// A fast per-thread pseudo-random 64-bit value (not for secrets).
uint64_t FastRandom64();

}  // namespace eventlake
