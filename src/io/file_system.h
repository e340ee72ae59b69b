// The file-system boundary. Everything durable goes through a FileSystem so
// that tests can substitute FaultInjectionFileSystem, which forgets whatever
// was not synced, and check that nothing acknowledged is lost.
//
// Thread-safety: a FileSystem may be used from any thread. A File may be read
// (ReadAt) from several threads while one thread appends to it.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace eventlake::io {

class File {
 public:
  virtual ~File() = default;
  // Appends at the end. Not durable until Sync().
  virtual Status Append(std::string_view data) = 0;
  // Makes everything appended so far durable (fdatasync).
  virtual Status Sync() = 0;
  // Reads up to `n` bytes at `offset` into `out` (resized to what was read;
  // shorter only at the end of the file).
  virtual Status ReadAt(uint64_t offset, size_t n, std::string* out) const = 0;
  // The same into `buf`, without a copy on the way where the file system
  // allows: the number of bytes read.
  // The OS file descriptor, for sendfile; -1 when there is none.
  virtual int NativeHandle() const { return -1; }
  virtual Result<size_t> ReadInto(uint64_t offset, char* buf, size_t n) const {
    std::string out;
    EL_RETURN_IF_ERROR(ReadAt(offset, n, &out));
    std::memcpy(buf, out.data(), out.size());
    return out.size();
  }
  // Cuts the file to `size` bytes (durable after Sync()).
  virtual Status Truncate(uint64_t size) = 0;
  virtual uint64_t Size() const = 0;
  // Advises that the synced bytes in [offset, offset + length) will not be
  // read soon, so the OS may reuse their page-cache memory. Reads still work.
  virtual void ReleaseCache(uint64_t /*offset*/, uint64_t /*length*/) {}
  // Advises that the file will be read from start to end, so the OS may read
  // further ahead.
  virtual void AdviseSequential() {}
  // Starts writing [offset, offset + length) to the disk without waiting, so
  // that a later Sync() has less left to do. Durability still needs Sync().
  virtual void StartWriteback(uint64_t /*offset*/, uint64_t /*length*/) {}
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  enum class OpenMode { kCreateNew, kOpenExisting };
  // Opens for appending and reading. kCreateNew fails with AlreadyExists when
  // the file exists; kOpenExisting with NotFound when it does not. A new
  // file's directory entry is durable only after SyncDir().
  virtual Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) = 0;
  // Writes a whole file atomically (temporary name, sync, rename, SyncDir).
  virtual Status WriteFileAtomically(const std::string& path, std::string_view contents) = 0;
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`; NotFound when missing.
  virtual Result<std::vector<std::string>> List(const std::string& dir) = 0;
  virtual Status CreateDirs(const std::string& dir) = 0;
  // Durable after SyncDir() of its directory.
  virtual Status Remove(const std::string& path) = 0;
  // Renames a file, replacing `to` if it exists; durable after SyncDir() of
  // both directories.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status SyncDir(const std::string& dir) = 0;
  // Removes a directory and everything in it (durable after SyncDir of its parent).
  virtual Status RemoveAll(const std::string& dir) = 0;
  virtual bool Exists(const std::string& path) = 0;
};

// The real file system. A process-wide instance.
FileSystem& PosixFileSystem();

}  // namespace eventlake::io
