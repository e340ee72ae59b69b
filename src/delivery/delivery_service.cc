#include "delivery/delivery_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <set>
#include <thread>

#include "auth/crypto.h"
#include "common/ids.h"
#include "common/strings.h"
#include "delivery/codec.h"
#include "delivery/config.h"
#include "delivery/convert.h"
#include "delivery/processors.h"
#include "io/files.h"

namespace eventlake::delivery {
namespace {

Status Invalid(std::string message) {
  return Status::InvalidArgument(std::move(message)).WithType("InvalidArgumentException");
}
Status NotFound(const std::string& name) {
  return Status::NotFound("Firehose " + name + " under account not found.").WithType("ResourceNotFoundException");
}

uint64_t Fnv1a(std::string_view data, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t Mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A version-4-shaped UUID drawn from `seed`.
std::string UuidFrom(uint64_t seed) {
  const uint64_t a = Mix(seed), b = Mix(a ^ 0x5bd1e995ull);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

std::string Two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

json InfoToJson(const DeliveryStreamInfo& i) {
  json j = {{"Name", i.name},
            {"Id", i.id},
            {"Type", i.type},
            {"Version", i.version},
            {"CreatedMs", i.created_ms},
            {"UpdatedMs", i.updated_ms},
            {"Destination", i.destination},
            {"Legacy", i.legacy},
            {"DestinationId", i.destination_id},
            {"KinesisStreamARN", i.kinesis_stream_arn},
            {"SourceRoleARN", i.source_role_arn},
            {"DeliveryStartMs", i.delivery_start_ms},
            {"ThroughputHintInMBs", i.throughput_hint_mb},
            {"Encryption",
             {{"KeyType", i.encryption.key_type}, {"KeyARN", i.encryption.key_arn}, {"Status", i.encryption.status}}},
            {"Tags", i.tags}};
  return j;
}

DeliveryStreamInfo InfoFromJson(const json& j) {
  DeliveryStreamInfo i;
  i.name = j.value("Name", "");
  i.id = j.value("Id", "");
  i.type = j.value("Type", "DirectPut");
  i.version = j.value("Version", 1);
  i.created_ms = j.value("CreatedMs", int64_t{0});
  i.updated_ms = j.value("UpdatedMs", int64_t{0});
  i.destination = j.value("Destination", json::object());
  i.legacy = j.value("Legacy", false);
  i.destination_id = j.value("DestinationId", "destinationId-000000000001");
  i.kinesis_stream_arn = j.value("KinesisStreamARN", "");
  i.source_role_arn = j.value("SourceRoleARN", "");
  i.delivery_start_ms = j.value("DeliveryStartMs", int64_t{0});
  i.throughput_hint_mb = j.value("ThroughputHintInMBs", 0);
  const json& e = j.value("Encryption", json::object());
  i.encryption.key_type = e.value("KeyType", "");
  i.encryption.key_arn = e.value("KeyARN", "");
  i.encryption.status = e.value("Status", "DISABLED");
  i.tags = j.value("Tags", std::map<std::string, std::string>{});
  return i;
}

}  // namespace

// ---------------------------------------------------------------------------
// The delivery thread of one stream.

class DeliveryService::Worker {
 public:
  Worker(DeliveryService& svc, DeliveryStreamInfo info, std::shared_ptr<log::Log> log)
      : svc_(svc), info_(std::move(info)), log_(std::move(log)) {}
  ~Worker() { Stop(false); }

  Status Init() {
    EL_RETURN_IF_ERROR(Configure(info_));
    auto checkpoints = svc_.meta_.Query("SELECT source, position FROM delivery_checkpoints WHERE stream_id = ?",
                                        {info_.id});
    if (!checkpoints.ok()) return checkpoints.status();
    for (const auto& row : *checkpoints) checkpoint_[meta::AsText(row[0])] = meta::AsInt(row[1]);
    auto progress = svc_.meta_.Query(
        "SELECT source, target, through FROM delivery_progress WHERE stream_id = ?", {info_.id});
    if (!progress.ok()) return progress.status();
    for (const auto& row : *progress) {
      progress_[meta::AsText(row[1])][meta::AsText(row[0])] = static_cast<uint64_t>(meta::AsInt(row[2]));
    }
    // Objects written before a crash and never recorded: their records are delivered again from the
    // checkpoint, so the objects go (a name drawn again may differ: with several sources, say).
    auto pending = svc_.meta_.Query("SELECT bucket, object_key FROM delivery_pending WHERE stream_id = ?", {info_.id});
    if (!pending.ok()) return pending.status();
    for (const auto& row : *pending) {
      const std::string bucket = meta::AsText(row[0]), key = meta::AsText(row[1]);
      auto removed = svc_.objects_.DeleteObject(bucket, key, "");
      if (!removed.ok() && removed.status().code() != StatusCode::kNotFound) return removed.status();
      spdlog::info("delivery {}: removed s3://{}/{}, written before a stop and never recorded", info_.name, bucket, key);
    }
    if (!pending->empty()) {
      EL_RETURN_IF_ERROR(svc_.meta_.RunInTransaction([&](meta::Transaction& txn) {
        return txn.Execute("DELETE FROM delivery_pending WHERE stream_id = ?", {info_.id}).status();
      }));
    }
    if (info_.type == "DirectPut") {
      Source s;
      s.id = "";
      auto it = checkpoint_.find("");
      s.next = it == checkpoint_.end() ? log_->start_position() : std::max<uint64_t>(it->second, 0);
      sources_.push_back(s);
    } else {
      RefreshShards();
    }
    return Status::Ok();
  }

  void Start() { thread_ = std::thread([this] { Run(); }); }

  // Stops the thread; with `flush`, first writes what is buffered.
  void Stop(bool flush) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      flush_on_stop_ = flush;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void Notify() {
    {
      std::lock_guard lock(mu_);
      pending_ = true;
    }
    cv_.notify_all();
  }

  void Reconfigure(const DeliveryStreamInfo& info) {
    {
      std::lock_guard lock(mu_);
      next_info_ = info;
    }
    cv_.notify_all();
  }

  void Failure(std::string* type, std::string* details) const {
    std::lock_guard lock(mu_);
    *type = failure_type_;
    *details = failure_details_;
  }

  bool WaitDelivered(std::chrono::milliseconds timeout) {
    const uint64_t target = log_ ? log_->end_position() : 0;
    std::unique_lock lock(mu_);
    return done_cv_.wait_for(lock, timeout, [&] { return delivered_through_ >= target && buffers_empty_; });
  }

 private:
  struct Source {
    std::string id;  // "" for the stream's own log, else the Kinesis shard id
    uint32_t shard_index = 0;
    uint64_t next = 0;
    bool ended = false;
  };
  struct Item {
    size_t src;  // index into sources_
    uint64_t pos;
    int64_t arrival_ms;
    std::string data;
  };
  enum class Kind { kMain, kError, kBackup };
  struct Buffer {
    std::string target;
    Kind kind = Kind::kMain;
    std::map<std::string, std::string> keys;
    std::string error_type;
    std::vector<Item> items;
    uint64_t bytes = 0;
    int64_t opened_ms = 0;
  };

  int64_t Now() const { return svc_.NowMs(); }

  Status Configure(const DeliveryStreamInfo& info) {
    auto settings = SettingsFrom(info.destination);
    if (!settings.ok()) return settings.status();
    auto processor = RecordProcessor::Create(settings->processors, info.type == "KinesisStreamAsSource");
    if (!processor.ok()) return processor.status();
    settings_ = std::move(*settings);
    processor_ = std::move(*processor);
    version_ = info.version;
    converter_.reset();
    converter_error_.clear();
    last_schema_check_ms_ = 0;
    return Status::Ok();
  }

  void SetFailure(const std::string& type, const std::string& details) {
    std::lock_guard lock(mu_);
    if (failure_details_ != details) spdlog::warn("delivery {}: {}", info_.name, details);
    failure_type_ = type;
    failure_details_ = details;
  }
  void ClearFailure() {
    std::lock_guard lock(mu_);
    if (!failure_type_.empty()) spdlog::info("delivery {}: the destination works again", info_.name);
    failure_type_.clear();
    failure_details_.clear();
  }

  // Kinesis sources: picks up shards that appeared (resharding) since the last look.
  void RefreshShards() {
    if (!svc_.streams_) return;
    last_refresh_ms_ = Now();
    auto name = svc_.streams_->Resolve("", info_.kinesis_stream_arn, "");
    if (!name.ok()) {
      SetFailure("UNKNOWN_ERROR", "The source Kinesis stream " + info_.kinesis_stream_arn + " does not exist.");
      read_failed_ = true;
      return;
    }
    source_stream_ = *name;
    auto stream = svc_.streams_->Describe(*name);
    if (!stream.ok()) return;
    source_info_ = *stream;
    for (const auto& shard : stream->shards) {
      if (shard.expired) continue;
      bool known = false;
      for (const auto& s : sources_) known = known || s.id == shard.id;
      if (known) continue;
      Source s;
      s.id = shard.id;
      s.shard_index = shard.index;
      auto it = checkpoint_.find(shard.id);
      if (it != checkpoint_.end()) {
        s.next = it->second;
      } else {
        auto pos = svc_.streams_->IteratorPosition(*name, shard.index, streams::IteratorType::kAtTimestamp, "",
                                                   info_.delivery_start_ms);
        s.next = pos.ok() ? *pos : shard.first_position;
      }
      sources_.push_back(s);
    }
  }

  // The next records of a source (none when none are waiting), and where
  // reading goes on once they are all handled. The source's own position
  // moves only as records are handled: checkpoints are computed from it.
  struct Batch {
    std::vector<log::Record> records;
    uint64_t next_after = 0;
    bool ended = false;
  };
  Result<Batch> Read(const Source& s) {
    Batch b;
    b.next_after = s.next;
    if (s.ended) return b;
    if (s.id.empty()) {
      auto records = log_->Read(s.next, 1000, 4 << 20);
      if (!records.ok()) return records.status();
      b.records = std::move(*records);
      if (!b.records.empty()) b.next_after = b.records.back().position + 1;
      return b;
    }
    auto out = svc_.streams_->Read(source_stream_, s.shard_index, s.next, 1000, 4 << 20);
    if (!out.ok()) return out.status();
    const uint64_t first = out->next_position - out->records.size();
    for (size_t i = 0; i < out->records.size(); ++i) {
      auto& item = out->records[i];
      b.records.push_back({first + i, item.arrival_ms, {}, std::move(item.data)});
    }
    b.next_after = out->next_position;
    b.ended = out->shard_ended;
    return b;
  }

  bool Covered(const std::string& target, size_t src, uint64_t pos) const {
    auto t = progress_.find(target);
    if (t == progress_.end()) return false;
    auto p = t->second.find(sources_[src].id);
    return p != t->second.end() && pos <= p->second;
  }

  Buffer& BufferFor(const std::string& target, Kind kind) {
    auto [it, inserted] = buffers_.try_emplace(target);
    if (inserted) {
      it->second.target = target;
      it->second.kind = kind;
      it->second.opened_ms = Now();
    }
    return it->second;
  }

  void Add(Buffer& b, size_t src, const log::Record& r, std::string data) {
    b.bytes += data.size();
    buffered_bytes_ += data.size();
    b.items.push_back({src, r.position, r.timestamp_ms, std::move(data)});
  }

  std::string ErrorLine(const log::Record& r, const std::string& code, const std::string& message) {
    json line = {{"attemptsMade", 1},
                 {"arrivalTimestamp", r.timestamp_ms},
                 {"errorCode", code},
                 {"errorMessage", message},
                 {"attemptEndingTimestamp", Now()},
                 {"rawData", auth::Base64Encode(r.value)}};
    return line.dump() + "\n";
  }

  // Firehose's format-conversion-failed line for a record.
  std::string ConversionErrorLine(size_t src, uint64_t position, int64_t arrival_ms, const std::string& data,
                                  const Status& why) {
    const ConversionSpec& c = *settings_.conversion;
    const bool missing = why.code() == StatusCode::kNotFound || converter_ == nullptr;
    json line = {{"attemptsMade", 1},
                 {"arrivalTimestamp", arrival_ms},
                 {"lastErrorCode", missing ? "DataFormatConversion.EntityNotFound" : "DataFormatConversion.MalformedData"},
                 {"lastErrorMessage", why.message()},
                 {"attemptEndingTimestamp", Now()},
                 {"rawData", auth::Base64Encode(data)},
                 {"dataCatalogTable",
                  {{"catalogId", svc_.options_.account_id},
                   {"databaseName", c.database},
                   {"tableName", c.table},
                   {"region", svc_.options_.region},
                   {"versionId", c.version_id},
                   {"catalogArn", "arn:aws:glue:" + svc_.options_.region + ":" + svc_.options_.account_id + ":catalog"}}}};
    if (!sources_[src].id.empty()) {
      line["sequenceNumber"] = source_info_ ? svc_.streams_->SequenceNumberOf(*source_info_, sources_[src].shard_index,
                                                                              position)
                                            : std::to_string(position);
      line["subSequenceNumber"] = 0;
    }
    return line.dump() + "\n";
  }

  // A record that does not convert goes to the error output.
  void AddConversionError(size_t src, const log::Record& r, const std::string& data, const Status& why,
                          std::vector<std::string>* touched) {
    const std::string target = "e/format-conversion-failed";
    if (Covered(target, src, r.position)) return;
    Buffer& b = BufferFor(target, Kind::kError);
    b.error_type = "format-conversion-failed";
    Add(b, src, r, ConversionErrorLine(src, r.position, r.timestamp_ms, data, why));
    touched->push_back(target);
  }

  // A buffer of checked records that could not be written as Parquet after all: its records go to
  // the error output, delivered (and recorded) as the buffer's own.
  bool FlushAsConversionErrors(const std::string& target, const Status& why) {
    Buffer& b = buffers_.at(target);
    b.kind = Kind::kError;
    b.error_type = "format-conversion-failed";
    buffered_bytes_ -= b.bytes;
    b.bytes = 0;
    for (auto& item : b.items) {
      item.data = ConversionErrorLine(item.src, item.pos, item.arrival_ms, item.data, why);
      b.bytes += item.data.size();
    }
    buffered_bytes_ += b.bytes;
    return Flush(target);
  }

  // Keeps the converter on the table's schema: at most once a second it looks
  // for a new version (VersionId LATEST), and before switching writes what was
  // buffered under the old one, so that every buffer converts with the schema
  // its records were checked against.
  void RefreshSchema(bool may_flush = true) {
    if (!settings_.conversion) return;
    if (converter_ && settings_.conversion->version_id != "LATEST") return;
    if (Now() - last_schema_check_ms_ < 1000 && (converter_ || !converter_error_.empty())) return;
    last_schema_check_ms_ = Now();
    const ConversionSpec& c = *settings_.conversion;
    if (!svc_.catalog_) {
      converter_error_ = "format conversion needs the catalog";
      return;
    }
    Result<catalog::Table> table = Status::NotFound("");
    if (c.version_id == "LATEST") {
      table = svc_.catalog_->GetTable(c.database, c.table);
    } else {
      auto v = svc_.catalog_->GetTableVersion(c.database, c.table, c.version_id);
      table = v.ok() ? Result<catalog::Table>(v->table) : Result<catalog::Table>(v.status());
    }
    if (!table.ok()) {
      if (converter_ && may_flush) {
        FlushMain();
        if (failing_) return;  // switch once what was checked against the old schema is out
      }
      converter_.reset();
      converter_error_ = "The table " + c.database + "." + c.table + " (version " + c.version_id +
                         ") was not found in the catalog: " + table.status().message();
      return;
    }
    if (converter_ && converter_->table_version() == table->version_id) return;
    auto converter = RecordConverter::Create(*table, c);
    if (converter_ && may_flush) {
      FlushMain();
      if (failing_) return;
    }
    if (!converter.ok()) {
      converter_.reset();
      converter_error_ = converter.status().message();
      return;
    }
    if (converter_) {
      spdlog::info("delivery {}: converting with version {} of {}.{}", info_.name, table->version_id, c.database,
                   c.table);
    }
    converter_ = std::move(*converter);
    converter_error_.clear();
    table_ = std::move(*table);
  }

  void FlushMain() {
    std::vector<std::string> targets;
    for (const auto& [target, b] : buffers_) {
      if (b.kind == Kind::kMain) targets.push_back(target);
    }
    for (const auto& t : targets) {
      if (!Flush(t)) break;
    }
  }

  void AddError(size_t src, const log::Record& r, const std::string& type, const std::string& code,
                const std::string& message, std::vector<std::string>* touched) {
    const std::string target = "e/" + type;
    if (Covered(target, src, r.position)) return;
    Buffer& b = BufferFor(target, Kind::kError);
    b.error_type = type;
    Add(b, src, r, ErrorLine(r, code, message));
    touched->push_back(target);
  }

  // Runs one source record through the processors into its buffers.
  void Handle(size_t src, const log::Record& r) {
    std::vector<std::string> touched;
    if (settings_.backup && !Covered("b", src, r.position)) {
      Add(BufferFor("b", Kind::kBackup), src, r, r.value);
      touched.push_back("b");
    }
    std::vector<ProcessedRecord> out;
    ProcessingFailure failure;
    if (!processor_->Process(r.value, &out, &failure)) {
      AddError(src, r, "processing-failed", failure.error_code, failure.message, &touched);
    } else {
      for (auto& rec : out) {
        std::string target = "m/";
        if (settings_.dynamic_partitioning) {
          for (const auto& [k, v] : rec.partition_keys) target += k + "=" + v + "/";
          // Keys the prefix names must have values.
          std::string missing;
          for (const auto& k : settings_.main.prefix.query_keys()) {
            if (!rec.partition_keys.count(k)) missing = k;
          }
          if (!missing.empty()) {
            AddError(src, r, "processing-failed", "DynamicPartitioning.MetadataExtractionFailed",
                     "The partition key '" + missing + "' named in the prefix was not extracted", &touched);
            continue;
          }
          if (Covered(target, src, r.position)) continue;  // delivered before a restart
          if (!buffers_.count(target) && ActivePartitions() >= svc_.options_.max_active_partitions) {
            AddError(src, r, "processing-failed", "DynamicPartitioning.PartitionCountExceeded",
                     "The Firehose stream has reached its quota of " +
                         std::to_string(svc_.options_.max_active_partitions) + " active partitions",
                     &touched);
            continue;
          }
        }
        if (Covered(target, src, r.position)) continue;
        if (settings_.conversion) {
          Status converted = converter_ ? converter_->Check(rec.data) : Status::InvalidArgument(converter_error_);
          if (!converted.ok()) {
            AddConversionError(src, r, rec.data, converted, &touched);
            continue;
          }
        }
        Buffer& b = BufferFor(target, Kind::kMain);
        if (b.items.empty()) b.keys = rec.partition_keys;
        Add(b, src, r, std::move(rec.data));
        touched.push_back(target);
      }
    }
    // Size triggers are checked between source records only, so that one
    // record's outputs are never split across two objects of one buffer.
    for (const auto& target : touched) {
      auto it = buffers_.find(target);
      if (it == buffers_.end()) continue;
      const S3Target& t = TargetOf(it->second);
      if (it->second.bytes >= static_cast<uint64_t>(t.size_mb) << 20) Flush(target);
    }
    while (buffered_bytes_ > svc_.options_.memory_limit_bytes && !failing_) {
      auto largest = std::max_element(buffers_.begin(), buffers_.end(),
                                      [](const auto& a, const auto& b) { return a.second.bytes < b.second.bytes; });
      if (largest == buffers_.end()) break;
      Flush(largest->first);
    }
  }

  int ActivePartitions() const {
    int n = 0;
    for (const auto& [target, b] : buffers_) n += b.kind == Kind::kMain;
    return n;
  }

  const S3Target& TargetOf(const Buffer& b) const {
    return b.kind == Kind::kBackup ? *settings_.backup : settings_.main;
  }

  // Writes a buffer's object and records the delivery. False when the write
  // failed (the buffer stays, and a retry is scheduled).
  bool Flush(const std::string& target) {
    auto it = buffers_.find(target);
    if (it == buffers_.end()) return true;
    Buffer& b = it->second;
    if (b.items.empty()) {
      buffers_.erase(it);
      return true;
    }
    const S3Target& t = TargetOf(b);
    const Item& first = b.items.front();
    int64_t oldest = first.arrival_ms;
    for (const auto& item : b.items) oldest = std::min(oldest, item.arrival_ms);
    const uint64_t seed = Fnv1a(target, Fnv1a(info_.id)) ^ Mix(Fnv1a(sources_[first.src].id) + first.pos);

    PrefixTemplate::Values values;
    values.time_ms = oldest;
    values.zone = &settings_.zone;
    values.partition_keys = &b.keys;
    values.error_type = b.error_type;
    values.seed = seed;
    const std::string prefix =
        b.kind == Kind::kError ? t.error_prefix.Evaluate(values) : t.prefix.Evaluate(values);
    const auto f = settings_.zone.Local(oldest);
    const std::string extension =
        b.kind == Kind::kMain ? settings_.file_extension : std::string(DefaultExtension(t.compression));
    const std::string name = info_.name + "-" + std::to_string(version_) + "-" + std::to_string(f.year) + "-" +
                             Two(f.month) + "-" + Two(f.day) + "-" + Two(f.hour) + "-" + Two(f.minute) + "-" +
                             Two(f.second) + "-" + UuidFrom(seed);
    const std::string key = prefix + name + extension;

    std::string body;
    Status s = Status::Ok();
    if (b.kind == Kind::kMain && settings_.conversion) {
      s = ConvertToParquet(b, &body);
      if (s.code() == StatusCode::kInvalidArgument) {
        // Records checked against one schema and written against another (or a value DuckDB
        // refuses after all): the buffer goes to the error output rather than stopping the stream.
        spdlog::warn("delivery {}: {} records could not be written as Parquet ({}); they go to the error output",
                     info_.name, b.items.size(), s.message());
        return FlushAsConversionErrors(target, s);
      }
    } else {
      body.reserve(b.bytes);
      for (const auto& item : b.items) body += item.data;
    }
    if (s.ok()) s = RecordPending(b.target, t.bucket, key);
    if (s.ok()) s = WriteObject(t, key, name, body);
    if (!s.ok()) {
      failing_ = true;
      backoff_ms_ = std::min<int64_t>(backoff_ms_ ? backoff_ms_ * 2 : 1000, svc_.options_.max_backoff.count());
      retry_at_ms_ = Now() + backoff_ms_;
      const bool missing = s.code() == StatusCode::kNotFound;
      SetFailure("UNKNOWN_ERROR", std::string(missing ? "The bucket " + t.bucket + " does not exist: " : "") +
                                      "could not write s3://" + t.bucket + "/" + key + ": " + s.message() +
                                      " (retrying in " + fmt::format("{:.1f}", backoff_ms_ / 1000.0) + " s)");
      return false;
    }
    s = Commit(b, t.bucket, key);
    if (!s.ok()) {
      // The object is written; the next attempt writes the same name again.
      failing_ = true;
      retry_at_ms_ = Now() + 1000;
      SetFailure("UNKNOWN_ERROR", "could not record the delivery of " + key + ": " + s.message());
      return false;
    }
    if (failing_) ClearFailure();
    failing_ = false;
    backoff_ms_ = 0;
    spdlog::debug("delivery {}: wrote s3://{}/{} ({} records, {} bytes)", info_.name, t.bucket, key, b.items.size(),
                  body.size());
    if (b.kind == Kind::kMain && settings_.conversion) RegisterPartition(t.bucket, key);
    buffered_bytes_ -= b.bytes;
    minute_objects_++;
    minute_records_ += b.items.size();
    minute_bytes_ += body.size();
    buffers_.erase(target);
    delivered_objects_++;
    return true;
  }

  // The buffer's records as one Parquet file.
  Status ConvertToParquet(const Buffer& b, std::string* body) {
    if (!converter_) {
      last_schema_check_ms_ = 0;  // the settings changed under this buffer: look again now
      RefreshSchema(/*may_flush=*/false);
    }
    if (!converter_) return Status::InvalidArgument(converter_error_);
    for (const auto& item : b.items) {
      Status appended = converter_->Append(item.data);
      if (!appended.ok()) {
        converter_->Discard().IgnoreError();
        return appended;
      }
    }
    const std::string dir = svc_.options_.data_dir + "/delivery/tmp";
    EL_RETURN_IF_ERROR(io::EnsureDirectory(dir));
    const std::string path = dir + "/" + info_.id + ".parquet";
    Status s = converter_->WriteFile(path);
    if (s.ok()) {
      auto bytes = io::ReadWholeFile(path);
      if (bytes.ok()) {
        *body = std::move(*bytes);
      } else {
        s = bytes.status();
      }
    }
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return s;
  }

  // Makes a new partition folder of the table known to the catalog, so that
  // queries see the object at once.
  void RegisterPartition(const std::string& bucket, const std::string& key) {
    if (!svc_.catalog_ || !table_ || table_->partition_keys.empty() || !table_->storage) return;
    std::string location = table_->storage->location;
    const std::string want = "s3://" + bucket + "/";
    if (location.rfind(want, 0) != 0) return;
    std::string prefix = location.substr(want.size());
    if (!prefix.empty() && prefix.back() != '/') prefix += '/';
    if (key.rfind(prefix, 0) != 0) return;
    const std::string rest = key.substr(prefix.size());
    std::vector<std::string> folders;
    for (auto f : Split(rest, '/')) folders.emplace_back(f);
    folders.pop_back();  // the object's own name
    const auto& keys = table_->partition_keys;
    if (folders.size() < keys.size()) return;
    std::vector<std::string> values;
    std::string path = prefix;
    for (size_t i = 0; i < keys.size(); ++i) {
      const std::string& f = folders[i];
      const size_t eq = f.find('=');
      values.push_back(eq == std::string::npos ? f : f.substr(eq + 1));
      path += f + "/";
    }
    const std::string id = table_->database + "." + table_->name + ":" + Join(values, "/");
    if (known_partitions_.count(id)) return;
    if (svc_.catalog_->GetPartition(table_->database, table_->name, values).ok()) {
      known_partitions_.insert(id);
      return;
    }
    catalog::Partition p;
    p.values = values;
    p.creation_time_ms = Now();
    p.storage = table_->storage;
    p.storage->location = want + path;
    Status s = svc_.catalog_->CreatePartition(table_->database, table_->name, p);
    if (s.ok() || s.code() == StatusCode::kAlreadyExists) {
      known_partitions_.insert(id);
      if (s.ok()) spdlog::info("delivery {}: added partition {} of {}.{}", info_.name, want + path, table_->database, table_->name);
    } else {
      spdlog::warn("delivery {}: could not add partition {}: {}", info_.name, want + path, s.ToString());
    }
  }

  Status WriteObject(const S3Target& t, const std::string& key, const std::string& entry, const std::string& body) {
    auto compressed = Compress(t.compression, body, entry);
    if (!compressed.ok()) return compressed.status();
    auto bucket = svc_.objects_.GetBucket(t.bucket);
    if (!bucket.ok()) return bucket.status();
    auto blob = svc_.objects_.NewBlob();
    if (!blob.ok()) return blob.status();
    EL_RETURN_IF_ERROR((*blob)->Write(*compressed));
    const auto md5 = auth::Md5(*compressed);
    const std::string etag =
        "\"" + HexEncode(std::string_view(reinterpret_cast<const char*>(md5.data()), md5.size())) + "\"";
    objects::ObjectAttributes attrs;
    attrs.content_type = "application/octet-stream";
    return svc_.objects_.PutObject(t.bucket, key, std::move(*blob), etag, std::move(attrs)).status();
  }

  // Records that `b` is delivered: its last position per source, and the
  // checkpoints that follow from what is still buffered.
  // Notes an object about to be written for a buffer, so that a crash before Commit removes it.
  Status RecordPending(const std::string& target, const std::string& bucket, const std::string& key) {
    return svc_.meta_.RunInTransaction([&](meta::Transaction& txn) {
      return txn
          .Execute("INSERT INTO delivery_pending (stream_id, target, bucket, object_key) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (stream_id, bucket, object_key) DO NOTHING",
                   {info_.id, target, bucket, key})
          .status();
    });
  }

  // Objects of earlier attempts for this buffer under other names (a retry after the settings
  // changed): removed before the delivery is recorded.
  Status RemoveOtherAttempts(const std::string& target, const std::string& bucket, const std::string& key) {
    auto rows = svc_.meta_.Query(
        "SELECT bucket, object_key FROM delivery_pending WHERE stream_id = ? AND target = ?", {info_.id, target});
    if (!rows.ok()) return rows.status();
    for (const auto& row : *rows) {
      const std::string other_bucket = meta::AsText(row[0]), other_key = meta::AsText(row[1]);
      if (other_bucket == bucket && other_key == key) continue;
      auto removed = svc_.objects_.DeleteObject(other_bucket, other_key, "");
      if (!removed.ok() && removed.status().code() != StatusCode::kNotFound) return removed.status();
    }
    return Status::Ok();
  }

  Status Commit(const Buffer& b, const std::string& bucket, const std::string& key) {
    EL_RETURN_IF_ERROR(RemoveOtherAttempts(b.target, bucket, key));
    std::map<size_t, uint64_t> through;
    for (const auto& item : b.items) through[item.src] = std::max(through[item.src], item.pos);
    std::map<size_t, uint64_t> checkpoints;
    for (size_t i = 0; i < sources_.size(); ++i) checkpoints[i] = sources_[i].next;
    for (const auto& [target, other] : buffers_) {
      if (target == b.target) continue;
      for (const auto& item : other.items) checkpoints[item.src] = std::min(checkpoints[item.src], item.pos);
    }
    Status s = svc_.meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
      auto cleared = txn.Execute("DELETE FROM delivery_pending WHERE stream_id = ? AND target = ?", {info_.id, b.target});
      if (!cleared.ok()) return cleared.status();
      for (const auto& [src, pos] : through) {
        auto r = txn.Execute(
            "INSERT INTO delivery_progress (stream_id, source, target, through) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (stream_id, source, target) DO UPDATE SET through = excluded.through",
            {info_.id, sources_[src].id, b.target, static_cast<int64_t>(pos)});
        if (!r.ok()) return r.status();
      }
      for (const auto& [src, cp] : checkpoints) {
        auto r = txn.Execute(
            "INSERT INTO delivery_checkpoints (stream_id, source, position) VALUES (?, ?, ?) "
            "ON CONFLICT (stream_id, source) DO UPDATE SET position = excluded.position",
            {info_.id, sources_[src].id, static_cast<int64_t>(cp)});
        if (!r.ok()) return r.status();
        r = txn.Execute("DELETE FROM delivery_progress WHERE stream_id = ? AND source = ? AND through < ?",
                        {info_.id, sources_[src].id, static_cast<int64_t>(cp)});
        if (!r.ok()) return r.status();
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    for (const auto& [src, pos] : through) progress_[b.target][sources_[src].id] = pos;
    for (const auto& [src, cp] : checkpoints) {
      checkpoint_[sources_[src].id] = cp;
      for (auto& [target, per_source] : progress_) {
        auto p = per_source.find(sources_[src].id);
        if (p != per_source.end() && p->second < cp) per_source.erase(p);
      }
    }
    return Status::Ok();
  }

  // Writes every buffer whose interval has passed; the soonest deadline left.
  int64_t FlushDue(bool all) {
    const int64_t now = Now();
    int64_t next = INT64_MAX;
    std::vector<std::string> due;
    for (const auto& [target, b] : buffers_) {
      const int64_t deadline = b.opened_ms + static_cast<int64_t>(TargetOf(b).interval_seconds) * 1000;
      if (all || deadline <= now) {
        due.push_back(target);
      } else {
        next = std::min(next, deadline);
      }
    }
    for (const auto& target : due) {
      if (!Flush(target)) return retry_at_ms_;
    }
    return next;
  }

  void UpdateDeliveredMark() {
    uint64_t through = UINT64_MAX;
    for (const auto& s : sources_) through = std::min(through, s.next);
    if (sources_.empty()) through = 0;
    {
      std::lock_guard lock(mu_);
      delivered_through_ = info_.type == "DirectPut" ? through : UINT64_MAX;
      buffers_empty_ = buffers_.empty();
    }
    done_cv_.notify_all();
  }

  // Removes the log's segments that hold only delivered records, and those
  // past retention (delivered or not: the destination failed for that long).
  // Arrival times never decrease along the log, so a segment whose newest
  // record arrived before a record still to deliver (or before the last one
  // delivered) holds delivered records only.
  void ApplyRetention() {
    last_retention_ms_ = Now();
    if (!log_) return;
    const int64_t oldest_allowed = Now() - std::chrono::milliseconds(svc_.options_.retention).count();
    auto it = checkpoint_.find("");
    const uint64_t cp = it == checkpoint_.end() ? 0 : it->second;
    int64_t keep_from = oldest_allowed;
    auto at = log_->Read(cp, 1, 1);
    if (at.ok() && !at->empty()) {
      keep_from = std::max(keep_from, at->front().timestamp_ms);
    } else if (at.ok() && cp > log_->start_position()) {
      auto last = log_->Read(cp - 1, 1, 1);
      if (last.ok() && !last->empty()) keep_from = std::max(keep_from, last->front().timestamp_ms);
    }
    auto removed = log_->ApplyRetention(keep_from);
    if (!removed.ok()) spdlog::warn("delivery {}: retention: {}", info_.name, removed.status().ToString());
    for (auto& s : sources_) {
      if (s.id.empty() && s.next < log_->start_position()) {
        spdlog::error("delivery {}: {} records passed the log's retention ({} h) before the destination took them",
                      info_.name, log_->start_position() - s.next, svc_.options_.retention.count());
        s.next = log_->start_position();
      }
    }
  }

  void Run() {
    spdlog::info("delivery {}: started ({} -> s3://{}, buffering {} MiB / {} s)", info_.name,
                 info_.type == "DirectPut" ? "direct put" : info_.kinesis_stream_arn, settings_.main.bucket,
                 settings_.main.size_mb, settings_.main.interval_seconds);
    int64_t next_deadline = INT64_MAX;
    while (true) {
      std::optional<DeliveryStreamInfo> update;
      bool stop = false, flush_at_stop = false;
      {
        std::lock_guard lock(mu_);
        stop = stopping_;
        flush_at_stop = flush_on_stop_;
        if (next_info_) update = std::move(next_info_), next_info_.reset();
        pending_ = false;
      }
      if (stop) {
        if (flush_at_stop) FlushDue(true);
        break;
      }
      if (update) {
        // What is buffered goes out as it was configured, then the new settings apply.
        FlushDue(true);
        info_ = *update;
        if (Status s = Configure(info_); !s.ok()) spdlog::error("delivery {}: {}", info_.name, s.ToString());
      }
      const int64_t now = Now();
      bool read_any = false;
      if (failing_ && now < retry_at_ms_) {
        next_deadline = retry_at_ms_;
      } else {
        if (!failing_) {
          if (!info_.kinesis_stream_arn.empty() && now - last_refresh_ms_ > 5000) RefreshShards();
          RefreshSchema();
          for (size_t i = 0; i < sources_.size() && !failing_; ++i) {
            auto batch = Read(sources_[i]);
            if (!batch.ok()) {
              SetFailure("UNKNOWN_ERROR", "could not read the source: " + batch.status().message());
              read_failed_ = true;
              continue;
            }
            if (read_failed_ && !failing_) {
              read_failed_ = false;
              ClearFailure();
            }
            size_t handled = 0;
            for (const auto& r : batch->records) {
              Handle(i, r);
              sources_[i].next = r.position + 1;
              ++handled;
              if (failing_) break;  // the rest is read again once the destination works
            }
            if (handled == batch->records.size()) {
              sources_[i].next = std::max(sources_[i].next, batch->next_after);
              sources_[i].ended = batch->ended;
            }
            read_any = read_any || !batch->records.empty();
          }
        }
        // After a failed write, every buffer is tried again at the retry time (the one that failed
        // may have been cut by size, long before its interval).
        next_deadline = FlushDue(failing_);
      }
      UpdateDeliveredMark();
      if (Now() - minute_started_ms_ >= 60000) {
        if (minute_objects_ > 0) {
          spdlog::info("delivery {}: {} objects ({} records, {:.1f} MB) written in the last {} s", info_.name,
                       minute_objects_, minute_records_, minute_bytes_ / 1e6, (Now() - minute_started_ms_) / 1000);
        }
        minute_started_ms_ = Now();
        minute_objects_ = minute_records_ = minute_bytes_ = 0;
      }
      // Delivered segments go at once (the backlog limit counts what the log holds); expired ones too.
      if (Now() - last_retention_ms_ > 1000) ApplyRetention();
      if (read_any && !failing_) continue;
      std::unique_lock lock(mu_);
      const int64_t wait_ms = std::clamp<int64_t>(next_deadline == INT64_MAX ? 1000 : next_deadline - Now(), 1, 1000);
      cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return stopping_ || pending_ || next_info_; });
    }
    spdlog::info("delivery {}: stopped ({} objects written)", info_.name, delivered_objects_);
  }

  DeliveryService& svc_;
  DeliveryStreamInfo info_;
  std::shared_ptr<log::Log> log_;
  std::thread thread_;

  // The delivery thread's own state.
  DestinationSettings settings_;
  std::unique_ptr<RecordProcessor> processor_;
  std::unique_ptr<RecordConverter> converter_;  // with format conversion, on the table's schema
  std::string converter_error_;                 // why there is none
  std::optional<catalog::Table> table_;         // the table converted into
  int64_t last_schema_check_ms_ = 0;
  std::set<std::string> known_partitions_;
  int version_ = 1;
  std::vector<Source> sources_;
  std::string source_stream_;
  std::optional<streams::StreamInfo> source_info_;  // the Kinesis source, as last described
  std::map<std::string, uint64_t> checkpoint_;                          // by source id
  std::map<std::string, std::map<std::string, uint64_t>> progress_;     // target -> source id -> through
  std::map<std::string, Buffer> buffers_;
  uint64_t buffered_bytes_ = 0;
  bool failing_ = false;
  bool read_failed_ = false;  // the source could not be read (shown in FailureDescription)
  int64_t retry_at_ms_ = 0, backoff_ms_ = 0;
  int64_t last_refresh_ms_ = 0, last_retention_ms_ = 0;
  uint64_t delivered_objects_ = 0;
  int64_t minute_started_ms_ = 0;  // a summary line each minute with objects written
  uint64_t minute_objects_ = 0, minute_records_ = 0, minute_bytes_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  bool stopping_ = false;      // guarded by mu_
  bool flush_on_stop_ = false;  // guarded by mu_
  bool pending_ = false;        // guarded by mu_
  std::optional<DeliveryStreamInfo> next_info_;  // guarded by mu_
  std::string failure_type_, failure_details_;   // guarded by mu_
  uint64_t delivered_through_ = 0;               // guarded by mu_
  bool buffers_empty_ = true;                    // guarded by mu_
};

// ---------------------------------------------------------------------------

std::vector<meta::Migration> DeliveryService::Migrations() {
  return {{600, "delivery: delivery streams and their progress",
           "CREATE TABLE delivery_streams (name TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);"
           "CREATE TABLE delivery_checkpoints (stream_id TEXT NOT NULL, source TEXT NOT NULL, position INTEGER NOT "
           "NULL, PRIMARY KEY (stream_id, source));"
           "CREATE TABLE delivery_progress (stream_id TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL, "
           "through INTEGER NOT NULL, PRIMARY KEY (stream_id, source, target));"},
          {601, "delivery: objects written and not yet recorded",
           "CREATE TABLE delivery_pending (stream_id TEXT NOT NULL, target TEXT NOT NULL, bucket TEXT NOT NULL, "
           "object_key TEXT NOT NULL, PRIMARY KEY (stream_id, bucket, object_key));"}};
}

DeliveryService::DeliveryService(meta::Store& meta, io::FileSystem& fs, const Clock& clock,
                                 objects::ObjectStore& objects, streams::StreamStore* streams,
                                 catalog::Catalog* catalog, DeliveryOptions options)
    : meta_(meta),
      fs_(fs),
      clock_(clock),
      objects_(objects),
      streams_(streams),
      catalog_(catalog),
      options_(std::move(options)) {}

DeliveryService::~DeliveryService() { Stop(); }

int64_t DeliveryService::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch()).count();
}

std::string DeliveryService::Arn(const std::string& name) const {
  return "arn:aws:firehose:" + options_.region + ":" + options_.account_id + ":deliverystream/" + name;
}

std::string DeliveryService::RecordId(const std::string& stream_id, uint64_t position) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(position));
  return stream_id + buf;
}

Result<std::unique_ptr<DeliveryService::Stream>> DeliveryService::OpenStream(DeliveryStreamInfo info) {
  auto stream = std::make_unique<Stream>();
  if (info.type == "DirectPut") {
    const std::string dir = options_.data_dir + "/delivery/" + info.id;
    EL_RETURN_IF_ERROR(io::EnsureDirectory(options_.data_dir + "/delivery"));
    log::RecoveryReport report;
    log::LogOptions lo = options_.log_options;
    lo.run_commit = [this](std::function<void()> commit) { commits_.Post(std::move(commit)); };
    auto log = log::Log::Open(fs_, dir, lo, clock_, &report);
    if (!log.ok()) return log.status();
    for (const auto& p : report.problems) spdlog::warn("delivery {}: {}", info.name, p);
    stream->log = std::move(*log);
  }
  stream->worker = std::make_shared<Worker>(*this, info, stream->log);
  EL_RETURN_IF_ERROR(stream->worker->Init());
  stream->info = std::move(info);
  return stream;
}

Status DeliveryService::Start() {
  auto rows = meta_.Query("SELECT doc FROM delivery_streams ORDER BY name");
  if (!rows.ok()) return rows.status();
  std::lock_guard lock(mu_);
  for (const auto& row : *rows) {
    json doc = json::parse(meta::AsText(row[0]), nullptr, false);
    if (doc.is_discarded()) return Status::DataLoss("a delivery stream's stored document is not JSON");
    auto stream = OpenStream(InfoFromJson(doc));
    if (!stream.ok()) return stream.status();
    (*stream)->worker->Start();
    streams_by_name_[(*stream)->info.name] = std::move(*stream);
  }
  started_ = true;
  if (!streams_by_name_.empty()) spdlog::info("delivery: {} Firehose streams", streams_by_name_.size());
  return Status::Ok();
}

void DeliveryService::Stop() {
  std::map<std::string, std::unique_ptr<Stream>> streams;
  {
    std::lock_guard lock(mu_);
    streams.swap(streams_by_name_);
    started_ = false;
  }
  for (auto& [name, s] : streams) {
    s->worker->Stop(false);
    if (s->log) s->log->Close();
  }
}

Status DeliveryService::Persist(const DeliveryStreamInfo& info) {
  return meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    auto r = txn.Execute(
        "INSERT INTO delivery_streams (name, id, doc) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET doc = excluded.doc",
        {info.name, info.id, InfoToJson(info).dump()});
    return r.status();
  });
}

Result<std::string> DeliveryService::Create(CreateRequest request) {
  auto destination = DescribeNewDestination(request.destination_config, request.legacy);
  if (!destination.ok()) return destination.status();
  DeliveryStreamInfo info;
  info.name = request.name;
  info.arn = Arn(request.name);
  info.type = request.type;
  info.created_ms = info.updated_ms = NowMs();
  info.destination = std::move(*destination);
  info.legacy = request.legacy;
  info.throughput_hint_mb = request.throughput_hint_mb;
  info.tags = std::move(request.tags);
  if (request.encryption) info.encryption = *request.encryption;
  if (request.type == "KinesisStreamAsSource") {
    if (!streams_) return Invalid("Kinesis stream sources are not available.");
    auto source = streams_->Resolve("", request.kinesis_stream_arn, "");
    if (!source.ok()) {
      return Status::InvalidArgument("The Kinesis stream " + request.kinesis_stream_arn + " does not exist.")
          .WithType("InvalidArgumentException");
    }
    info.kinesis_stream_arn = request.kinesis_stream_arn;
    info.source_role_arn = request.source_role_arn;
    info.delivery_start_ms = info.created_ms;
  }
  // The bucket must exist when the stream is made: a typo shows at once.
  if (!objects_.GetBucket(BucketOfArn(info.destination.value("BucketARN", ""))).ok()) {
    return Invalid("The bucket in BucketARN " + info.destination.value("BucketARN", "") +
                   " does not exist; create it first (the raw and processed zones exist from the start).");
  }

  std::lock_guard lock(mu_);
  if (streams_by_name_.count(info.name)) {
    return Status::AlreadyExists("Firehose " + info.name + " under accountId " + options_.account_id +
                                 " already exists")
        .WithType("ResourceInUseException");
  }
  if (static_cast<int>(streams_by_name_.size()) >= options_.max_streams) {
    return Status::ResourceExhausted("You have already consumed your firehose quota of " +
                                     std::to_string(options_.max_streams) + " hoses. Firehose names: ...")
        .WithType("LimitExceededException");
  }
  do {
    char id[20];
    std::snprintf(id, sizeof(id), "%016llx", static_cast<unsigned long long>(FastRandom64()));
    info.id = id;
  } while ([&] {
    for (const auto& [n, s] : streams_by_name_) {
      if (s->info.id == info.id) return true;
    }
    return false;
  }());
  EL_RETURN_IF_ERROR(Persist(info));
  auto stream = OpenStream(info);
  if (!stream.ok()) {
    meta_.RunInTransaction([&](meta::Transaction& txn) {
          return txn.Execute("DELETE FROM delivery_streams WHERE name = ?", {info.name}).status();
        })
        .IgnoreError();
    return stream.status();
  }
  if (started_) (*stream)->worker->Start();
  spdlog::info("delivery: created {} ({})", info.name, info.type);
  streams_by_name_[info.name] = std::move(*stream);
  return info.arn;
}

Status DeliveryService::Delete(const std::string& name) {
  Stream* stream = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = streams_by_name_.find(name);
    if (it == streams_by_name_.end() || it->second->deleting) return NotFound(name);
    // The name stays taken (DELETING) while what is buffered is written.
    it->second->deleting = true;
    it->second->info.status = "DELETING";
    stream = it->second.get();
  }
  stream->worker->Stop(true);
  const std::string id = stream->info.id;
  if (stream->log) stream->log->Close();
  Status s = meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    for (const char* sql : {"DELETE FROM delivery_streams WHERE id = ?", "DELETE FROM delivery_checkpoints WHERE "
                                                                          "stream_id = ?",
                            "DELETE FROM delivery_progress WHERE stream_id = ?"}) {
      auto r = txn.Execute(sql, {id});
      if (!r.ok()) return r.status();
    }
    return Status::Ok();
  });
  const bool had_log = stream->log != nullptr;
  std::unique_ptr<Stream> gone;
  {
    std::lock_guard lock(mu_);
    auto it = streams_by_name_.find(name);
    if (s.ok()) {
      gone = std::move(it->second);
      streams_by_name_.erase(it);
    } else {
      it->second->info.status = "DELETING_FAILED";
    }
  }
  if (!s.ok()) return s;
  if (had_log) {
    std::error_code ec;
    std::filesystem::remove_all(options_.data_dir + "/delivery/" + id, ec);
  }
  spdlog::info("delivery: deleted {}", name);
  return Status::Ok();
}

Result<DeliveryStreamInfo> DeliveryService::Describe(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = streams_by_name_.find(name);
  if (it == streams_by_name_.end()) return NotFound(name);
  DeliveryStreamInfo info = it->second->info;
  it->second->worker->Failure(&info.failure_type, &info.failure_details);
  return info;
}

std::vector<std::string> DeliveryService::List(const std::string& type, const std::string& start, size_t limit,
                                               bool* more) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  *more = false;
  for (auto it = start.empty() ? streams_by_name_.begin() : streams_by_name_.upper_bound(start);
       it != streams_by_name_.end(); ++it) {
    if (!type.empty() && it->second->info.type != type) continue;
    if (out.size() == limit) {
      *more = true;
      break;
    }
    out.push_back(it->first);
  }
  return out;
}

Result<DeliveryService::Stream*> DeliveryService::Changeable(const std::string& name) {
  auto it = streams_by_name_.find(name);
  if (it == streams_by_name_.end()) return NotFound(name);
  if (it->second->deleting) {
    return Status::FailedPrecondition("Firehose " + name + " is being deleted.").WithType("ResourceInUseException");
  }
  return it->second.get();
}

Status DeliveryService::UpdateDestination(const std::string& name, int current_version,
                                          const std::string& destination_id, const json& update, bool legacy) {
  std::lock_guard lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * stream, Changeable(name));
  DeliveryStreamInfo info = stream->info;
  if (destination_id != info.destination_id) {
    return Invalid("Destination " + destination_id + " not found for Firehose " + name + ".");
  }
  if (current_version != info.version) {
    return Status::FailedPrecondition("Version Id mismatch: the stream is at version " +
                                      std::to_string(info.version) + ", not " + std::to_string(current_version) +
                                      ". Describe it again and retry.")
        .WithType("ConcurrentModificationException");
  }
  auto destination = DescribeUpdatedDestination(info.destination, update, legacy);
  if (!destination.ok()) return destination.status();
  if (!objects_.GetBucket(BucketOfArn(destination->value("BucketARN", ""))).ok()) {
    return Invalid("The bucket in BucketARN " + destination->value("BucketARN", "") + " does not exist.");
  }
  // The processors must build (a JQ query that compiles) before anything changes.
  auto settings = SettingsFrom(*destination);
  if (!settings.ok()) return settings.status();
  auto processor = RecordProcessor::Create(settings->processors, false);
  if (!processor.ok()) return processor.status();
  info.destination = std::move(*destination);
  info.version++;
  info.updated_ms = NowMs();
  EL_RETURN_IF_ERROR(Persist(info));
  stream->info = info;
  stream->worker->Reconfigure(info);
  return Status::Ok();
}

Status DeliveryService::AddTags(const std::string& name, const std::map<std::string, std::string>& tags) {
  std::lock_guard lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * stream, Changeable(name));
  DeliveryStreamInfo info = stream->info;
  for (const auto& [k, v] : tags) info.tags[k] = v;
  if (info.tags.size() > 50) {
    return Status::ResourceExhausted("A Firehose stream can have at most 50 tags.").WithType("LimitExceededException");
  }
  EL_RETURN_IF_ERROR(Persist(info));
  stream->info.tags = info.tags;
  return Status::Ok();
}

Status DeliveryService::RemoveTags(const std::string& name, const std::vector<std::string>& keys) {
  std::lock_guard lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * stream, Changeable(name));
  DeliveryStreamInfo info = stream->info;
  for (const auto& k : keys) info.tags.erase(k);
  EL_RETURN_IF_ERROR(Persist(info));
  stream->info.tags = info.tags;
  return Status::Ok();
}

Status DeliveryService::SetEncryption(const std::string& name, std::optional<EncryptionSettings> enable) {
  std::lock_guard lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * stream, Changeable(name));
  DeliveryStreamInfo info = stream->info;
  if (info.type != "DirectPut") {
    return Invalid("Server-side encryption is only for DirectPut Firehose streams; " + name +
                   " reads a Kinesis stream, whose own encryption applies.");
  }
  if (enable) {
    info.encryption = *enable;
    info.encryption.status = "ENABLED";
  } else {
    info.encryption.status = "DISABLED";
  }
  EL_RETURN_IF_ERROR(Persist(info));
  stream->info.encryption = info.encryption;
  return Status::Ok();
}

void DeliveryService::Put(const std::string& name, std::vector<std::string> records,
                          std::function<void(Result<PutResult>)> done) {
  std::shared_ptr<log::Log> log;
  Worker* worker = nullptr;
  bool encrypted = false;
  std::string id;
  {
    std::lock_guard lock(mu_);
    auto it = streams_by_name_.find(name);
    if (it == streams_by_name_.end() || it->second->deleting) return done(NotFound(name));
    if (it->second->info.type != "DirectPut") {
      return done(Invalid("This operation is not permitted on KinesisStreamAsSource Firehose " +
                          it->second->info.arn + "."));
    }
    log = it->second->log;
    worker = it->second->worker.get();
    encrypted = it->second->info.encryption.status == "ENABLED";
    id = it->second->info.id;
  }
  if (log->size_bytes() > options_.backlog_limit_bytes) {
    return done(Status::Unavailable("Slow down.").WithType("ServiceUnavailableException"));
  }
  std::vector<log::Entry> entries;
  entries.reserve(records.size());
  for (auto& r : records) entries.push_back({{}, std::move(r)});
  // The worker outlives appends in flight: Delete and Stop close the log
  // (which waits for commits) before the worker goes.
  log->AppendAsync(std::move(entries), [done = std::move(done), worker, encrypted, id](Result<uint64_t> r) {
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kCancelled) {
        return done(Status::Unavailable("The Firehose stream is being deleted or the server is stopping.")
                        .WithType("ServiceUnavailableException"));
      }
      return done(r.status());
    }
    worker->Notify();
    done(PutResult{id, *r, encrypted});
  });
}

bool DeliveryService::WaitDelivered(const std::string& name, std::chrono::milliseconds timeout) {
  std::shared_ptr<Worker> worker;
  {
    std::lock_guard lock(mu_);
    auto it = streams_by_name_.find(name);
    if (it == streams_by_name_.end()) return false;
    worker = it->second->worker;
  }
  return worker->WaitDelivered(timeout);
}

}  // namespace eventlake::delivery
