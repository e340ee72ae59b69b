// The durable record log: one ordered, replayable sequence of records (a
// Kinesis shard is one Log), kept as segment files in one directory.
// Format: docs/formats/log.md.
//
// Appends are group-committed: requests that arrive while a write and sync is
// running are written and synced together by the next one, and each request is
// acknowledged only after the sync that covers it. Reads see acknowledged
// records only.
//
// Thread-safety: every method may be called from any thread. The FileSystem
// and Clock must outlive the Log.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "io/file_system.h"

namespace eventlake::log {

struct Record {
  uint64_t position = 0;
  int64_t timestamp_ms = 0;  // arrival time; never decreases along the log
  std::string key;
  std::string value;
};

struct Entry {
  std::string key;
  std::string value;
};

enum class Durability {
  kSync,  // acknowledged after fdatasync (the default)
  kNone,  // acknowledged once written; the OS flushes when it likes
};

struct LogOptions {
  uint64_t segment_bytes = 64ull << 20;      // roll to a new segment past this size
  int64_t segment_age_ms = 3600 * 1000;      // or past this age
  uint32_t index_interval_bytes = 4096;      // sparse index granularity
  Durability durability = Durability::kSync;
  size_t cached_indexes = 32;                // sealed segments' indexes kept in memory at most
  // With kSync, synced bytes older than the newest `cached_tail_bytes` of the
  // active segment are released from the page cache (tailing readers stay in
  // memory, older reads come from disk); 0 leaves caching to the OS.
  uint64_t cached_tail_bytes = 8ull << 20;
  // Runs a commit (write + sync + acknowledgements). The default runs it on
  // the appending thread; a server passes a thread pool so that I/O threads
  // never wait for the disk.
  std::function<void(std::function<void()>)> run_commit;
};

// What Open() found and repaired.
struct RecoveryReport {
  uint64_t segments = 0;
  uint64_t truncated_bytes = 0;  // torn or corrupt tail cut from the active segment
  uint64_t rebuilt_indexes = 0;
  std::vector<std::string> problems;  // one line each, for the server log
};

class Log {
 public:
  // Opens (creating when missing) the log in `dir`, recovering the active
  // segment. Fails only when the directory cannot be used.
  static Result<std::unique_ptr<Log>> Open(io::FileSystem& fs, std::string dir, LogOptions options,
                                           const Clock& clock, RecoveryReport* report = nullptr);
  ~Log();

  // Appends `entries` as consecutive records; `done` gets the first position
  // once they are durable, or the error (IoError after a failed write, after
  // which the log refuses appends until reopened; InvalidArgument for an entry
  // over the size limit; Cancelled once closed). `done` may run on any thread.
  using AppendDone = std::function<void(Result<uint64_t>)>;
  void AppendAsync(std::vector<Entry> entries, AppendDone done);
  // The same, waiting for the outcome.
  Result<uint64_t> Append(std::vector<Entry> entries);

  // Acknowledged records with position >= `from`, at most `max_records`, and
  // stopping once `max_bytes` of keys and values are collected (at least one
  // record is returned when any is available). Empty at the end. Positions
  // before start_position() read from start_position(). Corrupt frames are
  // skipped (and logged), never returned.
  Result<std::vector<Record>> Read(uint64_t from, size_t max_records, size_t max_bytes) const;

  uint64_t start_position() const;  // the oldest retained record
  uint64_t end_position() const;    // one past the newest acknowledged record
  // The first retained position whose record arrived at or after `timestamp_ms`
  // (end_position() when none did).
  Result<uint64_t> PositionAtOrAfter(int64_t timestamp_ms) const;

  // Removes sealed segments whose newest record is older than
  // `min_timestamp_ms` (an idle active segment is sealed first when all its
  // records are that old), and then the oldest sealed segments while the log is
  // larger than `max_bytes` (0: no size limit). Returns segments removed.
  Result<size_t> ApplyRetention(int64_t min_timestamp_ms, uint64_t max_bytes = 0);

  // Total bytes of the segment files.
  uint64_t size_bytes() const;

  // Waits for commits in flight; later appends fail with Cancelled.
  void Close();

 private:
  struct IndexEntry {
    uint64_t position;
    uint64_t offset;
    int64_t timestamp_ms;
  };
  struct Segment {
    uint64_t base = 0;
    uint64_t end = 0;            // one past the last record (active: as of the last commit)
    int64_t last_timestamp = 0;  // of the last record
    int64_t created_ms = 0;
    std::string path;
    std::shared_ptr<io::File> file;
    bool sealed = false;
    uint64_t committed_bytes = 0;        // active segment: bytes up to the last acknowledged frame
    uint64_t cache_released = 0;         // active segment: page cache released below this offset
    std::vector<IndexEntry> live_index;  // active segment only
  };
  // What a reader needs of a segment, copied out under the lock.
  struct SegmentRef {
    uint64_t base;
    uint64_t end;
    int64_t last_timestamp;
    std::string path;
    std::shared_ptr<io::File> file;
    bool sealed;
    uint64_t start_offset;  // where to start scanning
    uint64_t limit;         // bytes that may be read
    std::vector<IndexEntry> live_index;
    std::shared_ptr<const std::vector<IndexEntry>> sealed_index;  // set by PositionIndex for sealed segments
    const std::vector<IndexEntry>& index() const { return sealed_index ? *sealed_index : live_index; }
  };
  struct PendingAppend {
    std::vector<Entry> entries;
    AppendDone done;
  };

  Log(io::FileSystem& fs, std::string dir, LogOptions options, const Clock& clock)
      : fs_(fs), dir_(std::move(dir)), options_(std::move(options)), clock_(clock) {}

  Status Recover(RecoveryReport* report);
  Status StartSegment(uint64_t base);
  Status SealActive();
  // Seals an idle active segment whose records are all older than
  // `min_timestamp_ms`, so that retention can remove it.
  Status SealExpiredActive(int64_t min_timestamp_ms);
  // Releases the page cache of the active segment's synced bytes up to `upto`.
  void ReleaseCacheUpTo(Segment& active, uint64_t upto);
  void Commit();  // drains pending_ until empty; runs as the one committer
  Status WriteBatch(std::vector<PendingAppend>& batch, std::vector<Result<uint64_t>>* results);
  std::string SegmentPath(uint64_t base, const char* ext) const;
  Result<std::shared_ptr<const std::vector<IndexEntry>>> IndexOf(const Segment& seg) const;
  Result<std::vector<IndexEntry>> ScanSegment(io::File& file, uint64_t base, uint64_t* valid_end,
                                              RecoveryReport* report, const std::string& path) const;
  Status WriteIndex(const Segment& seg, const std::vector<IndexEntry>& index);
  // The segments that may hold `from` and later positions.
  std::vector<SegmentRef> SegmentsFrom(uint64_t from) const;
  // Sets ref.start_offset to the index entry before `position` (or before the
  // first record at or after `timestamp_ms` when by_time).
  Status PositionIndex(SegmentRef& ref, uint64_t position, int64_t timestamp_ms, bool by_time) const;
  // Appends records of `seg` with positions >= from to `out`.
  Status ReadSegment(const SegmentRef& seg, uint64_t from, size_t max_records, size_t max_bytes,
                     std::vector<Record>* out, size_t* bytes) const;

  io::FileSystem& fs_;
  const std::string dir_;
  const LogOptions options_;
  const Clock& clock_;

  // The committer's state: only the thread that set committing_ touches these.
  uint64_t next_position_ = 0;
  int64_t last_timestamp_ = 0;
  uint64_t bytes_since_index_ = 0;
  uint64_t last_frame_offset_ = 0;

  mutable std::mutex pending_mu_;
  std::condition_variable idle_cv_;
  std::vector<PendingAppend> pending_;  // guarded by pending_mu_
  bool committing_ = false;             // guarded by pending_mu_
  bool closed_ = false;                 // guarded by pending_mu_
  Status failed_;                       // guarded by pending_mu_: the write error that stopped appends

  // Segment fields are written by the committer under the unique lock and read
  // by everyone under a shared one. The vector only grows at the back (by the
  // committer) and shrinks at the front (retention), and the committer holds
  // a pointer to the back element across a commit: it is a std::deque for that.
  mutable std::shared_mutex segments_mu_;
  std::deque<Segment> segments_;  // guarded by segments_mu_; ordered by base, last one active
  std::atomic<uint64_t> end_position_{0};

  // Sealed segments' indexes, loaded on demand, least recently used first.
  mutable std::mutex cache_mu_;
  mutable std::list<std::pair<uint64_t, std::shared_ptr<const std::vector<IndexEntry>>>> index_cache_;
};

}  // namespace eventlake::log
