// Where object bytes live: immutable blobs named by random ids, on a hot and
// a cold tier. The object store keeps everything else (keys, versions,
// metadata) and refers to blobs by id, so a backend only stores bytes. The
// embedded default keeps blobs as local files (docs/formats/objects.md); an
// S3-compatible remote backend can implement the same interface.
//
// Thread-safety: every method may be called from any thread; one Writer or
// Reader is used by one thread at a time.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "io/file_system.h"

namespace eventlake::objects {

enum class Tier { kHot, kCold };
const char* TierName(Tier tier);  // "hot", "cold": as stored in the meta store
std::optional<Tier> ParseTier(std::string_view name);

// Bytes on their way into a new blob.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  virtual Status Write(std::string_view bytes) = 0;
  // Sends what has been written so far to the disk and waits for it, so that
  // the commit that follows has little left to do. It commits nothing: a
  // caller with other work to finish first (hashing the tail, say) overlaps
  // the two.
  virtual Status Flush() { return Status::Ok(); }
  virtual uint64_t size() const = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // A new blob. Nothing sees it before Commit(); a writer destroyed
  // uncommitted leaves nothing behind.
  class Writer : public BlobWriter {
   public:
    virtual const std::string& id() const = 0;
    // Durable on the hot tier under id() when this returns Ok.
    virtual Status Commit() = 0;
  };
  class Reader {
   public:
    virtual ~Reader() = default;
    // Up to `n` bytes at `offset` into `buf` (fewer only at the end): how many.
    virtual Result<size_t> ReadAt(uint64_t offset, char* buf, size_t n) = 0;
    // The blob's file descriptor, for sendfile; -1 when it is not in a local file.
    virtual int NativeHandle() const { return -1; }
  };

  virtual Result<std::unique_ptr<Writer>> Create() = 0;
  virtual Result<std::unique_ptr<Reader>> Open(const std::string& id, Tier tier) = 0;
  // NotFound when it is not there.
  virtual Status Remove(const std::string& id, Tier tier) = 0;
  // A durable copy of a blob on another tier; the original stays until removed.
  virtual Status Copy(const std::string& id, Tier from, Tier to) = 0;
  // Every blob stored, for the sweep that removes blobs nothing refers to.
  virtual Status ForEach(const std::function<void(const std::string& id, Tier tier)>& fn) = 0;
  // Removes what uploads a crash interrupted left; returns how many.
  virtual Result<size_t> DiscardUnfinished() = 0;
  // The path of a blob's file, for readers that open files themselves (an
  // embedded query engine); Unimplemented for backends without local files.
  virtual Result<std::string> LocalPath(const std::string& /*id*/, Tier /*tier*/) const {
    return Status::Unimplemented("this object backend keeps no local files");
  }
};

// Blobs as files: <root>/tmp while written, <root>/blobs/<id[0:2]>/<id> on
// the hot tier, <cold_root>/blobs/<id[0:2]>/<id> on the cold one.
Result<std::unique_ptr<BlobStore>> NewLocalBlobStore(io::FileSystem& fs, std::string root, std::string cold_root);

}  // namespace eventlake::objects
