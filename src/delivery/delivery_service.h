// Firehose semantics: delivery streams that take records (put directly or
// read from a Kinesis stream), keep them in a durable log, and deliver them
// to S3 objects in the lake: buffered by size and time, processed, partitioned,
// compressed, named as Firehose names them.
//
// Exactly once: each object's name is derived from the first record it holds,
// and each object is followed by one meta-store transaction that records, per
// buffer, the last log position it delivered and the position below which
// everything is delivered (the checkpoint). After a crash, delivery re-reads
// from the checkpoint, skips what the recorded positions say was delivered,
// and rewrites an object whose transaction was lost under the same name
// (docs/formats/delivery.md).
//
// Thread-safety: every method may be called from any thread. Each stream has
// one delivery thread of its own.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/thread_pool.h"
#include "io/file_system.h"
#include "log/log.h"
#include "meta/store.h"
#include "objects/object_store.h"
#include "streams/stream_store.h"

namespace eventlake::delivery {

using json = nlohmann::json;

struct DeliveryOptions {
  std::string data_dir;  // logs live in <data_dir>/delivery/<stream id>/
  std::string region, account_id;
  log::LogOptions log_options;
  int max_streams = 50;                         // AWS's default quota per region
  uint64_t backlog_limit_bytes = 1ull << 30;    // undelivered bytes past which puts are refused
  uint64_t memory_limit_bytes = 256ull << 20;   // buffered bytes per stream before the largest buffer is written
  int max_active_partitions = 500;              // dynamic partitioning's quota
  std::chrono::hours retention{24};             // records kept this long while the destination fails
  std::chrono::milliseconds max_backoff{30000}; // between retries of a failing destination
};

struct EncryptionSettings {
  std::string key_type;  // AWS_OWNED_CMK or CUSTOMER_MANAGED_CMK; empty: never configured
  std::string key_arn;
  std::string status = "DISABLED";  // ENABLED or DISABLED
};

struct DeliveryStreamInfo {
  std::string name, id, arn;
  std::string type = "DirectPut";  // or KinesisStreamAsSource
  std::string status = "ACTIVE";
  int version = 1;
  int64_t created_ms = 0, updated_ms = 0;
  json destination;  // the ExtendedS3DestinationDescription
  bool legacy = false;  // created with S3DestinationConfiguration
  std::string destination_id = "destinationId-000000000001";
  // KinesisStreamAsSource:
  std::string kinesis_stream_arn, source_role_arn;
  int64_t delivery_start_ms = 0;
  int throughput_hint_mb = 0;  // DirectPutSourceConfiguration, as given
  EncryptionSettings encryption;
  std::map<std::string, std::string> tags;
  // The destination's last failure (Type and Details), while it lasts.
  std::string failure_type, failure_details;
};

struct CreateRequest {
  std::string name;
  std::string type = "DirectPut";
  std::string kinesis_stream_arn, source_role_arn;
  int throughput_hint_mb = 0;
  json destination_config;  // ExtendedS3DestinationConfiguration (or S3DestinationConfiguration when legacy)
  bool legacy = false;
  std::optional<EncryptionSettings> encryption;
  std::map<std::string, std::string> tags;
};

// What a put acknowledged: the records were appended at consecutive positions
// from `first_position`.
struct PutResult {
  std::string stream_id;
  uint64_t first_position = 0;
  bool encrypted = false;
};

class DeliveryService {
 public:
  static std::vector<meta::Migration> Migrations();
  // `streams` (may be null: no Kinesis sources), `catalog` (may be null: no
  // format conversion) and the rest must outlive the service.
  DeliveryService(meta::Store& meta, io::FileSystem& fs, const Clock& clock, objects::ObjectStore& objects,
                  streams::StreamStore* streams, catalog::Catalog* catalog, DeliveryOptions options);
  ~DeliveryService();

  // Loads every stream, opens its log and starts its delivery thread.
  Status Start();
  // Stops delivery threads (what is buffered stays in the logs). Idempotent.
  void Stop();

  Result<std::string> Create(CreateRequest request);  // the ARN
  // Deletes the stream after writing what it has buffered (best effort).
  Status Delete(const std::string& name);
  Result<DeliveryStreamInfo> Describe(const std::string& name) const;
  // Names in order, of `type` when not empty, after `start` when not empty.
  std::vector<std::string> List(const std::string& type, const std::string& start, size_t limit, bool* more) const;

  // Replaces the destination (UpdateDestination): `update` is an
  // ExtendedS3DestinationUpdate (or S3DestinationUpdate when `legacy`).
  Status UpdateDestination(const std::string& name, int current_version, const std::string& destination_id,
                           const json& update, bool legacy);

  Status AddTags(const std::string& name, const std::map<std::string, std::string>& tags);
  Status RemoveTags(const std::string& name, const std::vector<std::string>& keys);
  Status SetEncryption(const std::string& name, std::optional<EncryptionSettings> enable);

  // Appends records to a DirectPut stream's log; `done` runs once they are
  // durable (on a commit thread) with the first position, or the error.
  void Put(const std::string& name, std::vector<std::string> records, std::function<void(Result<PutResult>)> done);
  // The opaque RecordId of a record at `position` of a stream.
  static std::string RecordId(const std::string& stream_id, uint64_t position);

  // Waits until every record acknowledged so far has been written to the
  // lake or `timeout` passes (for tests and `eventlake` tools). True when done.
  bool WaitDelivered(const std::string& name, std::chrono::milliseconds timeout);

  // The largest record Firehose takes (1,000 KiB).
  static constexpr size_t kMaxRecordBytes = 1000 * 1024;

 private:
  class Worker;
  struct Stream {
    DeliveryStreamInfo info;
    std::shared_ptr<log::Log> log;
    std::shared_ptr<Worker> worker;
    bool deleting = false;  // Delete is writing what is buffered: the name stays taken
  };

  Result<std::unique_ptr<Stream>> OpenStream(DeliveryStreamInfo info);
  Status Persist(const DeliveryStreamInfo& info);
  // A stream that may be changed (not being deleted). Caller holds mu_.
  Result<Stream*> Changeable(const std::string& name);
  std::string Arn(const std::string& name) const;
  int64_t NowMs() const;

  meta::Store& meta_;
  io::FileSystem& fs_;
  const Clock& clock_;
  objects::ObjectStore& objects_;
  streams::StreamStore* streams_;
  catalog::Catalog* catalog_;
  const DeliveryOptions options_;
  ThreadPool commits_{2};  // runs the logs' commits, so that put threads never wait for the disk

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Stream>> streams_by_name_;  // guarded by mu_
  bool started_ = false;                                             // guarded by mu_
};

}  // namespace eventlake::delivery
