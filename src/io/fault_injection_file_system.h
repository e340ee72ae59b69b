// An in-memory FileSystem for crash tests. It remembers, for every file, how
// many bytes were synced, and for every directory which entries were made
// durable by SyncDir(). Crash() then forgets everything else, as a power loss
// would: unsynced bytes vanish, files created since their directory's last
// sync disappear, files removed since then come back (with their synced
// bytes). From Crash() until Restart(), nothing the "dead process" does
// reaches the disk: every change fails with IoError, and files opened
// before the crash keep failing after the restart.
//
// Thread-safe (one lock).
#pragma once

#include <map>
#include <mutex>
#include <set>

#include "io/file_system.h"

namespace eventlake::io {

class FaultInjectionFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  Status WriteFileAtomically(const std::string& path, std::string_view contents) override;
  Result<std::string> ReadFile(const std::string& path) override;
  Result<std::vector<std::string>> List(const std::string& dir) override;
  Status CreateDirs(const std::string& dir) override;
  Status Remove(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& dir) override;
  Status RemoveAll(const std::string& dir) override;
  bool Exists(const std::string& path) override;

  // Loses everything not durable, and refuses changes until Restart().
  void Crash();
  // Accepts changes again, as a new process would make them.
  void Restart();
  // Makes every later Append/Sync fail with IoError (a full or failing disk).
  void FailWrites(bool fail);
  // Overwrites bytes of a file in place, durably (for corruption tests).
  Status Corrupt(const std::string& path, uint64_t offset, std::string_view bytes);
  // Page-cache releases so far: bytes, and calls that covered bytes not yet synced.
  uint64_t released_bytes();
  int unsynced_releases();

  struct Node {
    std::string data;          // what reads see now
    std::string durable_data;  // what a crash leaves: `data` as of the last Sync()
  };

 private:
  friend class FaultFile;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Node>> files_;          // guarded by mu_: visible now
  std::map<std::string, std::shared_ptr<Node>> durable_files_;  // guarded by mu_: what a crash leaves
  std::set<std::string> dirs_;                                   // guarded by mu_
  bool fail_writes_ = false;                                     // guarded by mu_
  bool crashed_ = false;                                         // guarded by mu_
  uint64_t generation_ = 0;  // guarded by mu_; files opened in an earlier one are dead
  uint64_t released_bytes_ = 0;                                  // guarded by mu_
  int unsynced_releases_ = 0;                                    // guarded by mu_
};

}  // namespace eventlake::io
