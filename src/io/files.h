// Small file-system helpers on POSIX: directories, whole-file reads, atomic
// replacement and the data-directory lock. Thread-safe (no shared state).
#pragma once

#include <memory>
#include <string>
#include <sys/types.h>

#include "common/status.h"

namespace eventlake::io {

// Creates `path` and its parents (mode 0755) when missing.
Status EnsureDirectory(const std::string& path);

// Makes the entries of `dir` (creations, renames, removals) durable (fsync of the directory).
Status SyncDirectory(const std::string& dir);

// The whole file. NotFound when it does not exist, IoError otherwise.
Result<std::string> ReadWholeFile(const std::string& path);

// Replaces `path` with `contents` so that a crash leaves either the old or the
// new file, never a mix: writes "<path>.tmp" with `mode`, fsyncs it, renames it
// over `path` and fsyncs the directory.
Status WriteFileAtomically(const std::string& path, std::string_view contents, mode_t mode);

// An exclusive advisory lock (flock) on a file, held for the object's lifetime.
// The lock file holds the owner's pid for the error message of the next one.
class LockFile {
 public:
  // FailedPrecondition, naming the holder's pid, when another process holds it.
  static Result<std::unique_ptr<LockFile>> Acquire(const std::string& path);
  ~LockFile();
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

 private:
  explicit LockFile(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace eventlake::io
