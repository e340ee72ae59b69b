// Kinesis Data Streams semantics: streams, shards and their hash-key ranges,
// records routed to shards and kept in one durable log per shard, iterator
// positions, resharding, retention, tags and consumers. Control-plane state
// lives in the meta store; records in <data-dir>/streams/<stream id>/<shard>/.
//
// Thread-safety: every method may be called from any thread. Put() answers
// through a callback, on a commit thread, once the records are durable.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/shared_mutex.h"
#include "common/status.h"
#include "common/thread_pool.h"
#include "io/file_system.h"
#include "log/log.h"
#include "meta/store.h"
#include "streams/keys.h"

namespace eventlake::streams {

enum class StreamStatus { kCreating, kActive, kUpdating, kDeleting };
enum class StreamMode { kProvisioned, kOnDemand };
const char* StreamStatusName(StreamStatus s);
const char* StreamModeName(StreamMode m);

struct ShardInfo {
  uint32_t index = 0;
  std::string id;               // shardId-000000000000
  std::string parent;           // empty when none
  std::string adjacent_parent;  // empty when none
  HashKey start = 0, end = 0;   // inclusive range
  uint64_t first_position = 0;  // the oldest retained record
  std::optional<uint64_t> end_position;  // closed shards: one past their last record
  int64_t created_ms = 0;
  int64_t closed_ms = 0;  // closed shards: when
  bool expired = false;   // a closed shard past retention: gone from listings, its records removed
  bool open() const { return !end_position.has_value(); }
};

struct ConsumerInfo {
  std::string name;
  std::string arn;
  int64_t created_ms = 0;
};

struct StreamInfo {
  std::string name, id, arn;
  StreamStatus status = StreamStatus::kActive;
  StreamMode mode = StreamMode::kProvisioned;
  int retention_hours = 24;
  int64_t created_ms = 0;
  std::string encryption_type = "NONE";  // or KMS
  std::string key_id;
  int max_record_kib = 1024;
  std::vector<std::string> shard_level_metrics;
  std::vector<ShardInfo> shards;  // every retained shard, by index
  std::map<std::string, std::string> tags;
  std::vector<ConsumerInfo> consumers;
};

struct StreamStoreOptions {
  std::string data_dir;  // streams live in <data_dir>/streams
  std::string region;
  std::string account_id;
  log::LogOptions log_options;
  // How long a stream stays CREATING, and UPDATING after a reshard or mode change.
  std::chrono::milliseconds create_delay{200};
  std::chrono::milliseconds update_delay{200};
  int commit_threads = 2;
  // Per-shard throughput limits as AWS applies them to provisioned shards
  // (writes 1 MiB/s and 1,000 records/s, reads 2 MiB/s and 5 GetRecords/s),
  // answered with ProvisionedThroughputExceededException. Off by default;
  // on, they let users test their retry logic.
  bool shard_limits = false;
  std::chrono::seconds retention_interval{60};  // how often expired segments are removed
};

// One record to put: its routing key and payload.
struct PutInput {
  HashKey hash_key;
  std::string partition_key;
  std::string data;
};
struct PutOutput {
  uint32_t shard_index = 0;
  SequenceParts sequence;  // FormatSequenceNumber / AppendSequenceNumber give its wire form
  bool kms = false;        // the stream was KMS-encrypted when the record was written
};

// Where a shard iterator starts.
enum class IteratorType { kAtSequenceNumber, kAfterSequenceNumber, kTrimHorizon, kLatest, kAtTimestamp };

struct ReadOutput {
  struct Item {
    std::string sequence_number;
    int64_t arrival_ms;
    std::string partition_key;
    std::string data;
    std::string encryption_type;
  };
  std::vector<Item> records;
  uint64_t next_position = 0;
  int64_t millis_behind_latest = 0;
  bool shard_ended = false;         // a closed shard read to its end: no next iterator
  std::vector<ShardInfo> children;  // set with shard_ended
};

class StreamStore {
 public:
  // The migrations that create this room's tables; apply before Open.
  static std::vector<meta::Migration> Migrations();
  // Loads every stream and opens its shards' logs. `meta`, `fs` and `clock`
  // must outlive the store.
  static Result<std::unique_ptr<StreamStore>> Open(meta::Store& meta, io::FileSystem& fs, const Clock& clock,
                                                   StreamStoreOptions options);
  ~StreamStore();
  // Finishes commits in flight and stops the background work. Idempotent.
  void Stop();

  const StreamStoreOptions& options() const { return options_; }

  // The name of the stream a name, ARN or id refers to (NotFound otherwise).
  // `arn` must name this region and account.
  Result<std::string> Resolve(std::string_view name, std::string_view arn, std::string_view id) const;

  // AlreadyExists (ResourceInUseException) when the name is taken.
  Status CreateStream(const std::string& name, int shard_count, StreamMode mode,
                      const std::map<std::string, std::string>& tags, int max_record_kib);
  Status DeleteStream(const std::string& name, bool enforce_consumer_deletion);
  Result<StreamInfo> Describe(const std::string& name) const;
  // The largest record (data and partition key) the stream takes, in bytes.
  Result<size_t> MaxRecordBytes(const std::string& name) const;
  std::vector<StreamInfo> ListSummaries() const;  // without shards

  Status SetRetention(const std::string& name, int hours, bool increase);
  Status AddTags(const std::string& name, const std::map<std::string, std::string>& tags);
  Status RemoveTags(const std::string& name, const std::vector<std::string>& keys);
  Status SetEncryption(const std::string& name, const std::string& type, const std::string& key_id);
  Status SetMode(const std::string& name, StreamMode mode);
  Status SetShardLevelMetrics(const std::string& name, const std::vector<std::string>& metrics, bool enable,
                              std::vector<std::string>* before, std::vector<std::string>* after);
  Status SetMaxRecordSize(const std::string& name, int kib);

  Status SplitShard(const std::string& name, const std::string& shard_id, HashKey new_start);
  Status MergeShards(const std::string& name, const std::string& shard_id, const std::string& adjacent_id);
  // Reaches `target` open shards by splits and merges. Returns the open count before.
  Result<int> UpdateShardCount(const std::string& name, int target);

  Result<ConsumerInfo> RegisterConsumer(const std::string& name, const std::string& consumer);
  Status DeregisterConsumer(const std::string& name, const std::string& consumer);

  // Writes records; `done` gets one result per input, in order.
  using PutDone = std::function<void(std::vector<Result<PutOutput>>)>;
  void Put(const std::string& name, std::vector<PutInput> records, PutDone done);

  // The position an iterator of `type` starts at in the shard.
  Result<uint64_t> IteratorPosition(const std::string& name, uint32_t shard_index, IteratorType type,
                                    const std::string& sequence_number, int64_t timestamp_ms) const;
  // Reads from `position` of a shard, at most `limit` records and about `max_bytes`.
  Result<ReadOutput> Read(const std::string& name, uint32_t shard_index, uint64_t position, size_t limit,
                          size_t max_bytes) const;

  // Removes records past retention now (the background task does it periodically).
  Status ApplyRetention();

  // The sequence number of a shard position.
  std::string SequenceNumberOf(const StreamInfo& stream, uint32_t shard_index, uint64_t position) const;

 private:
  // Token buckets of one shard, refilled continuously; each holds one second's worth.
  struct Throughput {
    std::mutex mu;
    int64_t updated_ms = 0;           // guarded by mu
    double write_records = 1000;      // guarded by mu
    double write_bytes = 1 << 20;     // guarded by mu
    double read_calls = 5;            // guarded by mu
    double read_bytes = 2 << 20;      // guarded by mu; may go below zero after a large read
    void Refill(int64_t now_ms);
  };
  struct Shard {
    ShardInfo info;
    std::shared_ptr<log::Log> log;
    std::shared_ptr<Throughput> throughput = std::make_shared<Throughput>();
  };
  struct Stream {
    StreamInfo info;  // shards, tags, consumers kept in the fields below
    int64_t updated_ms = 0;
    std::vector<Shard> shards;  // by index
  };

  StreamStore(meta::Store& meta, io::FileSystem& fs, const Clock& clock, StreamStoreOptions options);
  Status Load();
  int64_t NowMs() const;
  StreamStatus StatusOf(const Stream& s) const;
  std::string StreamDir(const std::string& id) const;
  Result<std::shared_ptr<log::Log>> OpenLog(const std::string& stream_id, uint32_t index);
  // The stream, or NotFound in the AWS wording. Caller holds mu_.
  Result<Stream*> Find(const std::string& name) const;
  Result<Stream*> FindActive(const std::string& name) const;
  // The stream, if ACTIVE (ResourceInUseException otherwise): the state every change of shape needs.
  Result<Stream*> FindReshardable(const std::string& name) const;
  // A shard that exists and has not expired (ResourceNotFoundException otherwise). Caller holds mu_.
  Result<const Shard*> LiveShard(const Stream& s, uint32_t shard_index) const;
  // Removes closed shards whose records have all passed retention.
  Status ExpireClosedShards();
  // The index of an open shard of `s` (ResourceNotFoundException otherwise).
  Result<uint32_t> ReshardableShard(const Stream& s, const std::string& shard_id) const;
  Status PersistShard(meta::Transaction& txn, const std::string& stream_id, const ShardInfo& s);
  struct ChildSpec {
    HashKey start, end;
    std::string parent, adjacent;
  };
  // Closes `parents` and adds `children`, in the store first and in memory
  // only once the store has committed. Caller holds mu_ exclusively.
  Status Reshard(Stream& s, const std::vector<uint32_t>& parents, const std::vector<ChildSpec>& children);
  Result<uint32_t> AddShard(Stream& s, HashKey start, HashKey end, const std::string& parent,
                            const std::string& adjacent, meta::Transaction& txn);
  Status DoSplit(Stream& s, uint32_t index, HashKey new_start);
  Status DoMerge(Stream& s, uint32_t a, uint32_t b);
  StreamInfo Snapshot(const Stream& s, bool with_shards) const;
  void RetentionLoop();

  meta::Store& meta_;
  io::FileSystem& fs_;
  const Clock& clock_;
  const StreamStoreOptions options_;
  ThreadPool commits_;

  mutable WriterFirstSharedMutex mu_;  // reshards must not wait behind a steady stream of puts
  std::map<std::string, std::unique_ptr<Stream>> streams_;  // guarded by mu_; by name

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::thread retention_thread_;
};

}  // namespace eventlake::streams
