// A run of bytes in an open file, for senders that can hand a file to the
// socket without copying it through memory (sendfile).
#pragma once

#include <cstddef>
#include <cstdint>

namespace eventlake {

struct FileSlice {
  int fd = -1;  // -1: the bytes are not in a file the caller can use
  uint64_t offset = 0;
  size_t length = 0;
};

}  // namespace eventlake
