#include "streams/stream_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

#include "common/ids.h"

namespace eventlake::streams {
namespace {

constexpr int kAccountShardLimit = 500;
constexpr int kOnDemandStreamLimit = 50;
constexpr int kOnDemandInitialShards = 4;
constexpr uint8_t kFlagKms = 1;  // first byte of a log entry's key

std::string Arn(const StreamStoreOptions& o, const std::string& name) {
  return "arn:aws:kinesis:" + o.region + ":" + o.account_id + ":stream/" + name;
}

std::string NewStreamId() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id;
  for (int i = 0; i < 24; ++i) id.push_back(i == 20 ? '-' : kAlphabet[FastRandom64() % 36]);
  return id;
}

std::string JoinComma(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t c = s.find(',', start);
    if (c == std::string::npos) c = s.size();
    if (c > start) out.push_back(s.substr(start, c - start));
    start = c + 1;
  }
  return out;
}

Status NotActive(const std::string& name, const std::string& account, StreamStatus status) {
  return Status::FailedPrecondition("Stream " + name + " under account " + account + " not ACTIVE, instead in state " +
                                    StreamStatusName(status))
      .WithType("ResourceInUseException");
}


Status ThroughputExceeded(const std::string& shard_id, const std::string& stream, const std::string& account) {
  return Status::ResourceExhausted("Rate exceeded for shard " + shard_id + " in stream " + stream + " under account " +
                                   account + ".")
      .WithType("ProvisionedThroughputExceededException");
}

}  // namespace

void StreamStore::Throughput::Refill(int64_t now_ms) {
  if (updated_ms == 0) updated_ms = now_ms;
  const double seconds = static_cast<double>(std::max<int64_t>(0, now_ms - updated_ms)) / 1000.0;
  updated_ms = now_ms;
  write_records = std::min(1000.0, write_records + 1000.0 * seconds);
  write_bytes = std::min(double(1 << 20), write_bytes + double(1 << 20) * seconds);
  read_calls = std::min(5.0, read_calls + 5.0 * seconds);
  read_bytes = std::min(double(2 << 20), read_bytes + double(2 << 20) * seconds);
}

const char* StreamStatusName(StreamStatus s) {
  switch (s) {
    case StreamStatus::kCreating: return "CREATING";
    case StreamStatus::kActive: return "ACTIVE";
    case StreamStatus::kUpdating: return "UPDATING";
    case StreamStatus::kDeleting: return "DELETING";
  }
  return "ACTIVE";
}

const char* StreamModeName(StreamMode m) { return m == StreamMode::kOnDemand ? "ON_DEMAND" : "PROVISIONED"; }

std::vector<meta::Migration> StreamStore::Migrations() {
  return {{200, "streams: kinesis streams, shards, tags, consumers",
           "CREATE TABLE kinesis_streams("
           "  name TEXT PRIMARY KEY, stream_id TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL,"
           "  mode TEXT NOT NULL, retention_hours INTEGER NOT NULL, encryption_type TEXT NOT NULL,"
           "  key_id TEXT NOT NULL DEFAULT '', max_record_kib INTEGER NOT NULL,"
           "  shard_level_metrics TEXT NOT NULL DEFAULT '', updated_ms INTEGER NOT NULL);"
           "CREATE TABLE kinesis_shards("
           "  stream_id TEXT NOT NULL, shard_index INTEGER NOT NULL, parent TEXT NOT NULL DEFAULT '',"
           "  adjacent_parent TEXT NOT NULL DEFAULT '', start_hash TEXT NOT NULL, end_hash TEXT NOT NULL,"
           "  created_ms INTEGER NOT NULL, end_position INTEGER, PRIMARY KEY(stream_id, shard_index));"
           "CREATE TABLE kinesis_tags(stream_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
           "  PRIMARY KEY(stream_id, key));"
           "CREATE TABLE kinesis_consumers(stream_id TEXT NOT NULL, name TEXT NOT NULL, created_ms INTEGER NOT NULL,"
           "  PRIMARY KEY(stream_id, name));"},
          {201, "streams: when shards closed, and which expired",
           "ALTER TABLE kinesis_shards ADD COLUMN closed_ms INTEGER;"
           "ALTER TABLE kinesis_shards ADD COLUMN expired INTEGER NOT NULL DEFAULT 0;"}};
}

StreamStore::StreamStore(meta::Store& meta, io::FileSystem& fs, const Clock& clock, StreamStoreOptions options)
    : meta_(meta), fs_(fs), clock_(clock), options_(std::move(options)), commits_(std::max(1, options_.commit_threads)) {}

Result<std::unique_ptr<StreamStore>> StreamStore::Open(meta::Store& meta, io::FileSystem& fs, const Clock& clock,
                                                       StreamStoreOptions options) {
  std::unique_ptr<StreamStore> store(new StreamStore(meta, fs, clock, std::move(options)));
  EL_RETURN_IF_ERROR(store->Load());
  store->retention_thread_ = std::thread([s = store.get()] { s->RetentionLoop(); });
  return store;
}

StreamStore::~StreamStore() { Stop(); }

void StreamStore::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    if (stopping_) return;
    stopping_ = true;
    stop_cv_.notify_all();
  }
  if (retention_thread_.joinable()) retention_thread_.join();
  {
    std::unique_lock lock(mu_);
    for (auto& [name, s] : streams_) {
      for (auto& sh : s->shards) {
        if (sh.log) sh.log->Close();
      }
    }
  }
  commits_.Stop();
}

void StreamStore::RetentionLoop() {
  std::unique_lock lock(stop_mu_);
  while (!stop_cv_.wait_for(lock, options_.retention_interval, [&] { return stopping_; })) {
    lock.unlock();
    Status s = ApplyRetention();
    if (!s.ok()) spdlog::warn("stream retention: {}", s.ToString());
    lock.lock();
  }
}

int64_t StreamStore::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch()).count();
}

StreamStatus StreamStore::StatusOf(const Stream& s) const {
  const int64_t now = NowMs();
  if (now < s.info.created_ms + options_.create_delay.count()) return StreamStatus::kCreating;
  if (now < s.updated_ms + options_.update_delay.count()) return StreamStatus::kUpdating;
  return StreamStatus::kActive;
}

std::string StreamStore::StreamDir(const std::string& id) const { return options_.data_dir + "/streams/" + id; }

Result<std::shared_ptr<log::Log>> StreamStore::OpenLog(const std::string& stream_id, uint32_t index) {
  log::LogOptions lo = options_.log_options;
  lo.run_commit = [this](std::function<void()> commit) { commits_.Post(std::move(commit)); };
  log::RecoveryReport report;
  EL_ASSIGN_OR_RETURN(auto log, log::Log::Open(fs_, StreamDir(stream_id) + "/" + std::to_string(index), std::move(lo),
                                               clock_, &report));
  return std::shared_ptr<log::Log>(std::move(log));
}

Status StreamStore::Load() {
  EL_ASSIGN_OR_RETURN(auto rows, meta_.Query("SELECT name, stream_id, created_ms, mode, retention_hours, "
                                             "encryption_type, key_id, max_record_kib, shard_level_metrics, "
                                             "updated_ms FROM kinesis_streams", {}));
  std::unique_lock lock(mu_);
  for (const auto& r : rows) {
    auto s = std::make_unique<Stream>();
    StreamInfo& i = s->info;
    i.name = meta::AsText(r[0]);
    i.id = meta::AsText(r[1]);
    i.arn = Arn(options_, i.name);
    i.created_ms = meta::AsInt(r[2]);
    i.mode = meta::AsText(r[3]) == "ON_DEMAND" ? StreamMode::kOnDemand : StreamMode::kProvisioned;
    i.retention_hours = static_cast<int>(meta::AsInt(r[4]));
    i.encryption_type = meta::AsText(r[5]);
    i.key_id = meta::AsText(r[6]);
    i.max_record_kib = static_cast<int>(meta::AsInt(r[7]));
    i.shard_level_metrics = SplitComma(meta::AsText(r[8]));
    s->updated_ms = meta::AsInt(r[9]);
    EL_ASSIGN_OR_RETURN(auto shards, meta_.Query("SELECT shard_index, parent, adjacent_parent, start_hash, end_hash, "
                                                 "created_ms, end_position, closed_ms, expired FROM kinesis_shards "
                                                 "WHERE stream_id = ? ORDER BY shard_index",
                                                 {i.id}));
    for (const auto& sr : shards) {
      Shard sh;
      sh.info.index = static_cast<uint32_t>(meta::AsInt(sr[0]));
      sh.info.id = ShardIdOf(sh.info.index);
      sh.info.parent = meta::AsText(sr[1]);
      sh.info.adjacent_parent = meta::AsText(sr[2]);
      sh.info.start = ParseHashKey(meta::AsText(sr[3])).value_or(0);
      sh.info.end = ParseHashKey(meta::AsText(sr[4])).value_or(0);
      sh.info.created_ms = meta::AsInt(sr[5]);
      if (!std::holds_alternative<std::monostate>(sr[6])) sh.info.end_position = static_cast<uint64_t>(meta::AsInt(sr[6]));
      // Shards closed before closing times were kept count from now.
      sh.info.closed_ms = std::holds_alternative<std::monostate>(sr[7]) ? NowMs() : meta::AsInt(sr[7]);
      sh.info.expired = meta::AsInt(sr[8]) != 0;
      if (!sh.info.expired) {
        EL_ASSIGN_OR_RETURN(sh.log, OpenLog(i.id, sh.info.index));
        if (!sh.info.open()) sh.log->Close();
      }
      s->shards.push_back(std::move(sh));
    }
    EL_ASSIGN_OR_RETURN(auto tags, meta_.Query("SELECT key, value FROM kinesis_tags WHERE stream_id = ?", {i.id}));
    for (const auto& t : tags) i.tags[meta::AsText(t[0])] = meta::AsText(t[1]);
    EL_ASSIGN_OR_RETURN(auto consumers,
                        meta_.Query("SELECT name, created_ms FROM kinesis_consumers WHERE stream_id = ? ORDER BY name",
                                    {i.id}));
    for (const auto& c : consumers) {
      int64_t created = meta::AsInt(c[1]);
      i.consumers.push_back({meta::AsText(c[0]),
                             i.arn + "/consumer/" + meta::AsText(c[0]) + ":" + std::to_string(created / 1000),
                             created});
    }
    streams_[i.name] = std::move(s);
  }
  return Status::Ok();
}

Result<std::string> StreamStore::Resolve(std::string_view name, std::string_view arn, std::string_view id) const {
  if (!arn.empty()) {
    const std::string prefix = "arn:aws:kinesis:" + options_.region + ":" + options_.account_id + ":stream/";
    if (arn.substr(0, prefix.size()) != prefix || arn.size() == prefix.size()) {
      return Status::NotFound("Stream " + std::string(arn) + " under account " + options_.account_id + " not found.")
          .WithType("ResourceNotFoundException");
    }
    return std::string(arn.substr(prefix.size()));
  }
  if (!name.empty()) return std::string(name);
  if (!id.empty()) {
    std::shared_lock lock(mu_);
    for (const auto& [n, s] : streams_) {
      if (s->info.id == id) return n;
    }
    return Status::NotFound("Stream with id " + std::string(id) + " under account " + options_.account_id +
                            " not found.");
  }
  return Status::InvalidArgument("Either StreamName, StreamARN or StreamId must be provided.");
}

Result<StreamStore::Stream*> StreamStore::Find(const std::string& name) const {
  auto it = streams_.find(name);
  if (it == streams_.end()) {
    return Status::NotFound("Stream " + name + " under account " + options_.account_id + " not found.");
  }
  return it->second.get();
}

Result<const StreamStore::Shard*> StreamStore::LiveShard(const Stream& s, uint32_t shard_index) const {
  if (shard_index >= s.shards.size() || s.shards[shard_index].info.expired) {
    return Status::NotFound("Shard " + ShardIdOf(shard_index) + " in stream " + s.info.name + " under account " +
                            options_.account_id + " does not exist");
  }
  return &s.shards[shard_index];
}

Result<StreamStore::Stream*> StreamStore::FindActive(const std::string& name) const {
  EL_ASSIGN_OR_RETURN(Stream * s, Find(name));
  if (StatusOf(*s) == StreamStatus::kCreating) {
    return Status::NotFound("Stream " + name + " under account " + options_.account_id + " not found.");
  }
  return s;
}

Status StreamStore::PersistShard(meta::Transaction& txn, const std::string& stream_id, const ShardInfo& s) {
  meta::Value end = s.end_position ? meta::Value(static_cast<int64_t>(*s.end_position)) : meta::Value();
  return txn
      .Execute("INSERT OR REPLACE INTO kinesis_shards(stream_id, shard_index, parent, adjacent_parent, start_hash, "
               "end_hash, created_ms, end_position, closed_ms, expired) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               {stream_id, int64_t{s.index}, s.parent, s.adjacent_parent, HashKeyToString(s.start),
                HashKeyToString(s.end), s.created_ms, end, s.end_position ? meta::Value(s.closed_ms) : meta::Value(),
                int64_t{s.expired ? 1 : 0}})
      .status();
}

Result<uint32_t> StreamStore::AddShard(Stream& s, HashKey start, HashKey end, const std::string& parent,
                                       const std::string& adjacent, meta::Transaction& txn) {
  Shard sh;
  sh.info.index = static_cast<uint32_t>(s.shards.size());
  sh.info.id = ShardIdOf(sh.info.index);
  sh.info.parent = parent;
  sh.info.adjacent_parent = adjacent;
  sh.info.start = start;
  sh.info.end = end;
  sh.info.created_ms = NowMs();
  EL_RETURN_IF_ERROR(PersistShard(txn, s.info.id, sh.info));
  EL_ASSIGN_OR_RETURN(sh.log, OpenLog(s.info.id, sh.info.index));
  s.shards.push_back(std::move(sh));
  return s.shards.back().info.index;
}

Status StreamStore::CreateStream(const std::string& name, int shard_count, StreamMode mode,
                                 const std::map<std::string, std::string>& tags, int max_record_kib) {
  std::unique_lock lock(mu_);
  if (streams_.count(name)) {
    return Status::AlreadyExists("Stream " + name + " under account " + options_.account_id + " already exists.");
  }
  if (mode == StreamMode::kOnDemand) {
    shard_count = kOnDemandInitialShards;
    int on_demand = 0;
    for (const auto& [n, st] : streams_) on_demand += st->info.mode == StreamMode::kOnDemand;
    if (on_demand >= kOnDemandStreamLimit) {
      return Status::ResourceExhausted("This request would exceed the on-demand stream count limit of " +
                                       std::to_string(kOnDemandStreamLimit) + " for the account " +
                                       options_.account_id + " in " + options_.region + ".")
          .WithType("LimitExceededException");
    }
  }
  int open = 0;
  for (const auto& [n, st] : streams_) {
    for (const auto& sh : st->shards) open += sh.info.open();
  }
  if (open + shard_count > kAccountShardLimit) {
    return Status::ResourceExhausted("This request would exceed the shard limit for the account " + options_.account_id +
                                     " in " + options_.region + ". Current limit of shards is " +
                                     std::to_string(kAccountShardLimit) + " (" + std::to_string(open) +
                                     " in use). Request a higher limit.")
        .WithType("LimitExceededException");
  }
  auto s = std::make_unique<Stream>();
  StreamInfo& i = s->info;
  i.name = name;
  i.id = NewStreamId();
  i.arn = Arn(options_, name);
  i.created_ms = NowMs();
  i.mode = mode;
  i.max_record_kib = max_record_kib;
  i.tags = tags;
  s->updated_ms = 0;
  EL_RETURN_IF_ERROR(meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_RETURN_IF_ERROR(txn.Execute("INSERT INTO kinesis_streams(name, stream_id, created_ms, mode, retention_hours, "
                                   "encryption_type, key_id, max_record_kib, shard_level_metrics, updated_ms) "
                                   "VALUES (?, ?, ?, ?, ?, ?, '', ?, '', 0)",
                                   {name, i.id, i.created_ms, std::string(StreamModeName(mode)),
                                    int64_t{i.retention_hours}, i.encryption_type, int64_t{max_record_kib}})
                           .status());
    for (const auto& [k, v] : tags) {
      EL_RETURN_IF_ERROR(txn.Execute("INSERT INTO kinesis_tags VALUES (?, ?, ?)", {i.id, k, v}).status());
    }
    // floor(2^128 / n), computed without 2^128: shard i covers [i*width, (i+1)*width - 1], as AWS splits.
    const HashKey n = static_cast<HashKey>(shard_count);
    const HashKey width = kMaxHashKey / n + (kMaxHashKey % n == n - 1 ? 1 : 0);
    for (int n = 0; n < shard_count; ++n) {
      HashKey start = width * static_cast<HashKey>(n);
      HashKey end = n + 1 == shard_count ? kMaxHashKey : width * static_cast<HashKey>(n + 1) - 1;
      EL_RETURN_IF_ERROR(AddShard(*s, start, end, "", "", txn).status());
    }
    return Status::Ok();
  }));
  streams_[name] = std::move(s);
  return Status::Ok();
}

Status StreamStore::DeleteStream(const std::string& name, bool enforce_consumer_deletion) {
  std::unique_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, Find(name));
  if (enforce_consumer_deletion && !s->info.consumers.empty()) {
    return Status::FailedPrecondition("Stream " + name + " under account " + options_.account_id +
                                      " has registered consumers. Deregister them, or set EnforceConsumerDeletion "
                                      "to false.")
        .WithType("ResourceInUseException");
  }
  const std::string id = s->info.id;
  EL_RETURN_IF_ERROR(meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    for (const char* table : {"kinesis_streams", "kinesis_shards", "kinesis_tags", "kinesis_consumers"}) {
      EL_RETURN_IF_ERROR(
          txn.Execute(std::string("DELETE FROM ") + table + " WHERE stream_id = ?", {id}).status());
    }
    return Status::Ok();
  }));
  for (auto& sh : s->shards) {
    if (sh.log) sh.log->Close();
  }
  streams_.erase(name);
  Status removed = fs_.RemoveAll(StreamDir(id));
  if (!removed.ok()) spdlog::warn("stream {}: removing its records: {}", name, removed.ToString());
  return Status::Ok();
}

StreamInfo StreamStore::Snapshot(const Stream& s, bool with_shards) const {
  StreamInfo out = s.info;
  out.status = StatusOf(s);
  if (with_shards) {
    for (const auto& sh : s.shards) {
      if (sh.info.expired) continue;
      ShardInfo info = sh.info;
      info.first_position = sh.log->start_position();
      out.shards.push_back(std::move(info));
    }
  } else {
    for (const auto& sh : s.shards) {
      if (sh.info.open()) out.shards.push_back(sh.info);  // the open ones, for counts
    }
  }
  return out;
}

Result<StreamInfo> StreamStore::Describe(const std::string& name) const {
  std::shared_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, Find(name));
  return Snapshot(*s, true);
}

Result<size_t> StreamStore::MaxRecordBytes(const std::string& name) const {
  std::shared_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, Find(name));
  return static_cast<size_t>(s->info.max_record_kib) * 1024;
}

std::vector<StreamInfo> StreamStore::ListSummaries() const {
  std::shared_lock lock(mu_);
  std::vector<StreamInfo> out;
  for (const auto& [n, s] : streams_) out.push_back(Snapshot(*s, false));
  return out;
}

Status StreamStore::SetRetention(const std::string& name, int hours, bool increase) {
  std::unique_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, Find(name));
  if (hours < 24) {
    return Status::InvalidArgument("Minimum allowed retention period is 24 hours. Requested retention period (" +
                                   std::to_string(hours) + " hours) is too short.");
  }
  if (hours > 8760) {
    return Status::InvalidArgument("Maximum allowed retention period is 8760 hours. Requested retention period (" +
                                   std::to_string(hours) + " hours) is too long.");
  }
  if (increase && hours < s->info.retention_hours) {
    return Status::InvalidArgument("Requested retention period (" + std::to_string(hours) + " hours) for stream " +
                                   name + " can not be shorter than existing retention period (" +
                                   std::to_string(s->info.retention_hours) +
                                   " hours). Use DecreaseRetentionPeriod API.");
  }
  if (!increase && hours > s->info.retention_hours) {
    return Status::InvalidArgument("Requested retention period (" + std::to_string(hours) + " hours) for stream " +
                                   name + " can not be longer than existing retention period (" +
                                   std::to_string(s->info.retention_hours) +
                                   " hours). Use IncreaseRetentionPeriod API.");
  }
  EL_RETURN_IF_ERROR(meta_.RunInTransaction([&](meta::Transaction& txn) {
    return txn.Execute("UPDATE kinesis_streams SET retention_hours = ? WHERE name = ?", {int64_t{hours}, name})
        .status();
  }));
  s->info.retention_hours = hours;
  return Status::Ok();
}

Status StreamStore::AddTags(const std::string& name, const std::map<std::string, std::string>& tags) {
  std::unique_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, Find(name));
  std::map<std::string, std::string> merged = s->info.tags;
  for (const auto& [k, v] : tags) merged[k] = v;
  if (merged.size() > 50) {
    return Status::ResourceExhausted("Failed to add tags to stream " + name + " under account " + options_.account_id +
                                     " because a given stream cannot have more than 50 tags.")
        .WithType("LimitExceededException");
  }
  EL_RETURN_IF_ERROR(meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    for (const auto& [k, v] : tags) {
      EL_RETURN_IF_ERROR(
          txn.Execute("INSERT OR REPLACE INTO kinesis_tags VALUES (?, ?, ?)", {s->info.id, k, v}).status());
    }
    return Status::Ok();
  }));
  s->info.tags = std::move(merged);
  return Status::Ok();
}

Status StreamStore::RemoveTags(const std::string& name, const std::vector<std::string>& keys) {
  std::unique_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, Find(name));
  EL_RETURN_IF_ERROR(meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    for (const auto& k : keys) {
      EL_RETURN_IF_ERROR(
          txn.Execute("DELETE FROM kinesis_tags WHERE stream_id = ? AND key = ?", {s->info.id, k}).status());
    }
    return Status::Ok();
  }));
  for (const auto& k : keys) s->info.tags.erase(k);
  return Status::Ok();
}

Status StreamStore::SetEncryption(const std::string& name, const std::string& type, const std::string& key_id) {
  std::unique_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, FindReshardable(name));
  EL_RETURN_IF_ERROR(meta_.RunInTransaction([&](meta::Transaction& txn) {
    return txn
        .Execute("UPDATE kinesis_streams SET encryption_type = ?, key_id = ?, updated_ms = ? WHERE name = ?",
                 {type, key_id, NowMs(), name})
        .status();
  }));
  s->info.encryption_type = type;
  s->info.key_id = key_id;
  s->updated_ms = NowMs();
  return Status::Ok();
}

Status StreamStore::SetMode(const std::string& name, StreamMode mode) {
  std::unique_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, FindReshardable(name));
  EL_RETURN_IF_ERROR(meta_.RunInTransaction([&](meta::Transaction& txn) {
    return txn
        .Execute("UPDATE kinesis_streams SET mode = ?, updated_ms = ? WHERE name = ?",
                 {std::string(StreamModeName(mode)), NowMs(), name})
        .status();
  }));
  s->info.mode = mode;
  s->updated_ms = NowMs();
  return Status::Ok();
}

Status StreamStore::SetShardLevelMetrics(const std::string& name, const std::vector<std::string>& metrics, bool enable,
                                         std::vector<std::string>* before, std::vector<std::string>* after) {
  std::unique_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, Find(name));
  static const std::vector<std::string> kAll = {"IncomingBytes",         "IncomingRecords",
                                                "OutgoingBytes",         "OutgoingRecords",
                                                "WriteProvisionedThroughputExceeded",
                                                "ReadProvisionedThroughputExceeded",
                                                "IteratorAgeMilliseconds"};
  std::vector<std::string> wanted;
  for (const auto& m : metrics) {
    if (m == "ALL") {
      wanted = kAll;
      break;
    }
    wanted.push_back(m);
  }
  *before = s->info.shard_level_metrics;
  std::vector<std::string> next;
  for (const auto& m : kAll) {
    bool had = std::find(before->begin(), before->end(), m) != before->end();
    bool named = std::find(wanted.begin(), wanted.end(), m) != wanted.end();
    if (enable ? (had || named) : (had && !named)) next.push_back(m);
  }
  EL_RETURN_IF_ERROR(meta_.RunInTransaction([&](meta::Transaction& txn) {
    return txn.Execute("UPDATE kinesis_streams SET shard_level_metrics = ? WHERE name = ?", {JoinComma(next), name})
        .status();
  }));
  s->info.shard_level_metrics = next;
  *after = next;
  return Status::Ok();
}

Status StreamStore::SetMaxRecordSize(const std::string& name, int kib) {
  std::unique_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, Find(name));
  EL_RETURN_IF_ERROR(meta_.RunInTransaction([&](meta::Transaction& txn) {
    return txn.Execute("UPDATE kinesis_streams SET max_record_kib = ? WHERE name = ?", {int64_t{kib}, name}).status();
  }));
  s->info.max_record_kib = kib;
  return Status::Ok();
}

Status StreamStore::Reshard(Stream& s, const std::vector<uint32_t>& parents, const std::vector<ChildSpec>& children) {
  // 1. No more appends to the parents (none can be queued meanwhile: mu_ is
  //    held exclusively), and where they end.
  std::vector<ShardInfo> closed;
  for (uint32_t p : parents) {
    s.shards[p].log->Close();  // waits for commits in flight
    ShardInfo info = s.shards[p].info;
    info.end_position = s.shards[p].log->end_position();
    info.closed_ms = NowMs();
    closed.push_back(std::move(info));
  }
  std::vector<ShardInfo> added;
  for (const auto& c : children) {
    ShardInfo info;
    info.index = static_cast<uint32_t>(s.shards.size() + added.size());
    info.id = ShardIdOf(info.index);
    info.parent = c.parent;
    info.adjacent_parent = c.adjacent;
    info.start = c.start;
    info.end = c.end;
    info.created_ms = NowMs();
    added.push_back(std::move(info));
  }
  // 2. All of it in one transaction.
  Status committed = meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    for (const auto& info : closed) EL_RETURN_IF_ERROR(PersistShard(txn, s.info.id, info));
    for (const auto& info : added) EL_RETURN_IF_ERROR(PersistShard(txn, s.info.id, info));
    return Status::Ok();
  });
  if (!committed.ok()) {
    // Nothing changed in the store, so nothing changes here: the parents take appends again.
    for (uint32_t p : parents) {
      auto reopened = OpenLog(s.info.id, p);
      if (reopened.ok()) {
        s.shards[p].log = std::move(*reopened);
      } else {
        spdlog::error("stream {}: shard {} cannot take appends until restart: {}", s.info.name, p,
                      reopened.status().ToString());
      }
    }
    return committed;
  }
  // 3. Only now does memory follow the store.
  for (size_t i = 0; i < parents.size(); ++i) s.shards[parents[i]].info = closed[i];
  for (auto& info : added) {
    Shard sh;
    sh.info = std::move(info);
    EL_ASSIGN_OR_RETURN(sh.log, OpenLog(s.info.id, sh.info.index));
    s.shards.push_back(std::move(sh));
  }
  return Status::Ok();
}

Status StreamStore::DoSplit(Stream& s, uint32_t index, HashKey new_start) {
  Shard& parent = s.shards[index];
  if (!(new_start > parent.info.start && new_start <= parent.info.end)) {
    return Status::InvalidArgument("NewStartingHashKey " + HashKeyToString(new_start) + " used in SplitShard() on shard " +
                                   parent.info.id + " in stream " + s.info.name + " under account " +
                                   options_.account_id + " is not both greater than the shard's StartingHashKey " +
                                   HashKeyToString(parent.info.start) +
                                   " and less than or equal to the shard's EndingHashKey " +
                                   HashKeyToString(parent.info.end) + ".");
  }
  const HashKey start = parent.info.start, end = parent.info.end;
  const std::string parent_id = parent.info.id;
  return Reshard(s, {index}, {{start, new_start - 1, parent_id, ""}, {new_start, end, parent_id, ""}});
}

Status StreamStore::DoMerge(Stream& s, uint32_t a, uint32_t b) {
  const ShardInfo& x = s.shards[a].info;
  const ShardInfo& y = s.shards[b].info;
  const bool adjacent = (x.end != kMaxHashKey && x.end + 1 == y.start) || (y.end != kMaxHashKey && y.end + 1 == x.start);
  if (!adjacent) {
    return Status::InvalidArgument("Shards " + x.id + " and " + y.id + " in stream " + s.info.name +
                                   " under account " + options_.account_id +
                                   " are not an adjacent pair of shards eligible for merging");
  }
  const HashKey start = std::min(x.start, y.start), end = std::max(x.end, y.end);
  const std::string parent = x.id, adjacent_parent = y.id;
  return Reshard(s, {a, b}, {{start, end, parent, adjacent_parent}});
}


Result<uint32_t> StreamStore::ReshardableShard(const Stream& s, const std::string& shard_id) const {
  auto index = ParseShardId(shard_id);
  if (!index || *index >= s.shards.size()) {
    return Status::NotFound("Could not find shard " + shard_id + " in stream " + s.info.name + " under account " +
                            options_.account_id + ".");
  }
  if (!s.shards[*index].info.open()) {
    return Status::NotFound("Shard " + shard_id + " in stream " + s.info.name + " under account " +
                            options_.account_id +
                            " has already been merged or split, and thus is not eligible for merging or splitting.");
  }
  return *index;
}

Result<StreamStore::Stream*> StreamStore::FindReshardable(const std::string& name) const {
  EL_ASSIGN_OR_RETURN(Stream * s, Find(name));
  if (StatusOf(*s) != StreamStatus::kActive) return NotActive(name, options_.account_id, StatusOf(*s));
  return s;
}

Status StreamStore::SplitShard(const std::string& name, const std::string& shard_id, HashKey new_start) {
  std::unique_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, FindReshardable(name));
  EL_ASSIGN_OR_RETURN(uint32_t index, ReshardableShard(*s, shard_id));
  EL_RETURN_IF_ERROR(DoSplit(*s, index, new_start));
  s->updated_ms = NowMs();
  return Status::Ok();
}

Status StreamStore::MergeShards(const std::string& name, const std::string& shard_id, const std::string& adjacent_id) {
  std::unique_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, FindReshardable(name));
  EL_ASSIGN_OR_RETURN(uint32_t a, ReshardableShard(*s, shard_id));
  EL_ASSIGN_OR_RETURN(uint32_t b, ReshardableShard(*s, adjacent_id));
  EL_RETURN_IF_ERROR(DoMerge(*s, a, b));
  s->updated_ms = NowMs();
  return Status::Ok();
}

Result<int> StreamStore::UpdateShardCount(const std::string& name, int target) {
  std::unique_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, FindReshardable(name));
  auto open_shards = [&] {
    std::vector<uint32_t> out;
    for (const auto& sh : s->shards) {
      if (sh.info.open()) out.push_back(sh.info.index);
    }
    std::sort(out.begin(), out.end(), [&](uint32_t x, uint32_t y) { return s->shards[x].info.start < s->shards[y].info.start; });
    return out;
  };
  const int before = static_cast<int>(open_shards().size());
  if (target > 2 * before || target * 2 < before) {
    return Status::InvalidArgument("UpdateShardCount cannot scale up over double or down below half your current "
                                   "open shard count. Current open shard count: " +
                                   std::to_string(before) + ", requested: " + std::to_string(target) + ".")
        .WithType("ValidationException");
  }
  int open_total = 0;
  for (const auto& [n, st] : streams_) {
    for (const auto& sh : st->shards) open_total += sh.info.open();
  }
  if (open_total - before + target > kAccountShardLimit) {
    return Status::ResourceExhausted("This request would exceed the shard limit for the account " +
                                     options_.account_id + " in " + options_.region + ". Current limit of shards is " +
                                     std::to_string(kAccountShardLimit) + ".")
        .WithType("LimitExceededException");
  }
  for (;;) {
    auto open = open_shards();
    if (static_cast<int>(open.size()) == target) break;
    if (static_cast<int>(open.size()) < target) {
      // Split the widest open shard in the middle.
      uint32_t widest = open[0];
      for (uint32_t i : open) {
        if (s->shards[i].info.end - s->shards[i].info.start > s->shards[widest].info.end - s->shards[widest].info.start) {
          widest = i;
        }
      }
      const ShardInfo& w = s->shards[widest].info;
      EL_RETURN_IF_ERROR(DoSplit(*s, widest, w.start + (w.end - w.start) / 2 + 1));
    } else {
      // Merge the adjacent pair that is narrowest together.
      size_t best = 0;
      HashKey best_width = kMaxHashKey;
      for (size_t k = 0; k + 1 < open.size(); ++k) {
        HashKey width = s->shards[open[k + 1]].info.end - s->shards[open[k]].info.start;
        if (width < best_width) {
          best_width = width;
          best = k;
        }
      }
      EL_RETURN_IF_ERROR(DoMerge(*s, open[best], open[best + 1]));
    }
  }
  s->updated_ms = NowMs();
  return before;
}

Result<ConsumerInfo> StreamStore::RegisterConsumer(const std::string& name, const std::string& consumer) {
  std::unique_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, Find(name));
  for (const auto& c : s->info.consumers) {
    if (c.name == consumer) {
      return Status::AlreadyExists("Consumer " + c.arn + " under account " + options_.account_id + " already exists.");
    }
  }
  if (s->info.consumers.size() >= 20) {
    return Status::ResourceExhausted("Consumer limit of 20 reached for stream " + s->info.arn + ".")
        .WithType("LimitExceededException");
  }
  const int64_t now = NowMs();
  EL_RETURN_IF_ERROR(meta_.RunInTransaction([&](meta::Transaction& txn) {
    return txn.Execute("INSERT INTO kinesis_consumers VALUES (?, ?, ?)", {s->info.id, consumer, now}).status();
  }));
  ConsumerInfo c{consumer, s->info.arn + "/consumer/" + consumer + ":" + std::to_string(now / 1000), now};
  s->info.consumers.push_back(c);
  return c;
}

Status StreamStore::DeregisterConsumer(const std::string& name, const std::string& consumer) {
  std::unique_lock lock(mu_);
  EL_ASSIGN_OR_RETURN(Stream * s, Find(name));
  auto it = std::find_if(s->info.consumers.begin(), s->info.consumers.end(),
                         [&](const ConsumerInfo& c) { return c.name == consumer; });
  if (it == s->info.consumers.end()) {
    return Status::NotFound("Consumer " + consumer + " under stream " + s->info.arn + " not found.");
  }
  EL_RETURN_IF_ERROR(meta_.RunInTransaction([&](meta::Transaction& txn) {
    return txn.Execute("DELETE FROM kinesis_consumers WHERE stream_id = ? AND name = ?", {s->info.id, consumer})
        .status();
  }));
  s->info.consumers.erase(it);
  return Status::Ok();
}

std::string StreamStore::SequenceNumberOf(const StreamInfo& stream, uint32_t shard_index, uint64_t position) const {
  return FormatSequenceNumber({stream.created_ms / 1000, shard_index, position});
}

void StreamStore::Put(const std::string& name, std::vector<PutInput> records, PutDone done) {
  struct Batch {
    std::vector<Result<PutOutput>> results;  // one writer per element
    std::atomic<size_t> remaining{1};         // groups in flight, plus one while routing
    PutDone done;
  };
  auto batch = std::make_shared<Batch>();
  batch->results.assign(records.size(), Status::Internal("not written"));
  batch->done = std::move(done);
  {
    // Appends are queued under the shared lock, so that no reshard (which
    // closes shards under the exclusive lock) falls between routing a record
    // and queueing it on its shard.
    std::shared_lock lock(mu_);
    auto found = FindActive(name);
    if (!found.ok()) {
      for (auto& r : batch->results) r = found.status();
    } else {
      const Stream& s = **found;
      const int64_t created_s = s.info.created_ms / 1000;
      const bool kms = s.info.encryption_type == "KMS";
      const char flags = static_cast<char>(kms ? kFlagKms : 0);
      // Open shards by start of range, for a binary search per record.
      std::vector<const Shard*> open;
      for (const auto& sh : s.shards) {
        if (sh.info.open()) open.push_back(&sh);
      }
      std::sort(open.begin(), open.end(), [](const Shard* a, const Shard* b) { return a->info.start < b->info.start; });
      std::vector<std::vector<size_t>> items(open.size());
      const int64_t now = options_.shard_limits ? NowMs() : 0;
      for (size_t i = 0; i < records.size(); ++i) {
        const HashKey h = records[i].hash_key;
        auto it = std::upper_bound(open.begin(), open.end(), h, [](HashKey k, const Shard* sh) { return k < sh->info.start; });
        if (it == open.begin() || h > (*std::prev(it))->info.end) {
          batch->results[i] = Status::Internal("no open shard covers hash key " + HashKeyToString(h));
          continue;
        }
        const Shard* target = *std::prev(it);
        if (options_.shard_limits) {
          Throughput& t = *target->throughput;
          std::lock_guard tl(t.mu);
          t.Refill(now);
          const double bytes = static_cast<double>(records[i].data.size() + records[i].partition_key.size());
          if (t.write_records < 1 || t.write_bytes < bytes) {
            batch->results[i] = ThroughputExceeded(target->info.id, name, options_.account_id);
            continue;
          }
          t.write_records -= 1;
          t.write_bytes -= bytes;
        }
        items[static_cast<size_t>(std::prev(it) - open.begin())].push_back(i);
      }
      for (size_t g = 0; g < open.size(); ++g) {
        if (items[g].empty()) continue;
        std::vector<log::Entry> entries;
        entries.reserve(items[g].size());
        for (size_t i : items[g]) {
          std::string key;
          key.reserve(1 + records[i].partition_key.size());
          key.push_back(flags);
          key += records[i].partition_key;
          entries.push_back({std::move(key), std::move(records[i].data)});
        }
        batch->remaining.fetch_add(1);
        const uint32_t shard = open[g]->info.index;
        open[g]->log->AppendAsync(std::move(entries), [batch, idx = std::move(items[g]), shard, created_s,
                                                       kms](Result<uint64_t> first) {
          for (size_t k = 0; k < idx.size(); ++k) {
            if (first.ok()) {
              batch->results[idx[k]] = PutOutput{shard, {created_s, shard, *first + k}, kms};
            } else {
              batch->results[idx[k]] = first.status();
            }
          }
          if (batch->remaining.fetch_sub(1) == 1) batch->done(std::move(batch->results));
        });
      }
    }
  }
  if (batch->remaining.fetch_sub(1) == 1) batch->done(std::move(batch->results));
}

Result<uint64_t> StreamStore::IteratorPosition(const std::string& name, uint32_t shard_index, IteratorType type,
                                               const std::string& sequence_number, int64_t timestamp_ms) const {
  std::shared_ptr<log::Log> log;
  std::optional<uint64_t> end;
  int64_t created_s = 0;
  int64_t retention_ms = 0;
  {
    std::shared_lock lock(mu_);
    EL_ASSIGN_OR_RETURN(Stream * s, FindActive(name));
    EL_ASSIGN_OR_RETURN(const Shard* sh, LiveShard(*s, shard_index));
    log = sh->log;
    end = sh->info.end_position;
    created_s = s->info.created_ms / 1000;
    retention_ms = int64_t{s->info.retention_hours} * 3600 * 1000;
  }
  switch (type) {
    case IteratorType::kTrimHorizon:
      // The oldest record still within retention, even where its segment is
      // not yet removed (retention removes whole segments).
      return log->PositionAtOrAfter(NowMs() - retention_ms);
    case IteratorType::kLatest: return end ? *end : log->end_position();
    case IteratorType::kAtTimestamp: return log->PositionAtOrAfter(timestamp_ms);
    case IteratorType::kAtSequenceNumber:
    case IteratorType::kAfterSequenceNumber: {
      auto parts = ParseSequenceNumber(sequence_number);
      if (!parts) {
        return Status::InvalidArgument("StartingSequenceNumber " + sequence_number + " used in GetShardIterator on shard " +
                                       ShardIdOf(shard_index) + " in stream " + name + " under account " +
                                       options_.account_id + " is invalid.");
      }
      if (parts->shard_index != shard_index) {
        return Status::InvalidArgument("Invalid StartingSequenceNumber. It encodes " + ShardIdOf(parts->shard_index) +
                                       ", while it was used in a call to a shard with " + ShardIdOf(shard_index));
      }
      if (parts->stream_created_s != created_s) {
        return Status::InvalidArgument("StartingSequenceNumber " + sequence_number + " used in GetShardIterator on shard " +
                                       ShardIdOf(shard_index) + " in stream " + name + " under account " +
                                       options_.account_id + " is invalid because it did not come from this stream.");
      }
      uint64_t p = parts->position + (type == IteratorType::kAfterSequenceNumber ? 1 : 0);
      return std::max(p, log->start_position());
    }
  }
  return Status::Internal("unknown iterator type");
}

Result<ReadOutput> StreamStore::Read(const std::string& name, uint32_t shard_index, uint64_t position, size_t limit,
                                     size_t max_bytes) const {
  std::shared_ptr<log::Log> log;
  std::optional<uint64_t> end;
  std::vector<ShardInfo> children;
  StreamInfo stream_info;
  std::shared_ptr<Throughput> throughput;
  {
    std::shared_lock lock(mu_);
    EL_ASSIGN_OR_RETURN(Stream * s, FindActive(name));
    EL_ASSIGN_OR_RETURN(const Shard* live, LiveShard(*s, shard_index));
    const Shard& sh = *live;
    log = sh.log;
    end = sh.info.end_position;
    stream_info.created_ms = s->info.created_ms;
    if (options_.shard_limits) {
      throughput = sh.throughput;
      std::lock_guard tl(throughput->mu);
      throughput->Refill(NowMs());
      if (throughput->read_calls < 1 || throughput->read_bytes <= 0) {
        return ThroughputExceeded(sh.info.id, name, options_.account_id);
      }
      throughput->read_calls -= 1;
    }
    if (end) {
      for (const auto& c : s->shards) {
        if (c.info.parent == sh.info.id || c.info.adjacent_parent == sh.info.id) children.push_back(c.info);
      }
    }
  }
  ReadOutput out;
  position = std::max(position, log->start_position());
  EL_ASSIGN_OR_RETURN(auto recs, log->Read(position, limit, max_bytes));
  if (end) {
    while (!recs.empty() && recs.back().position >= *end) recs.pop_back();
  }
  if (throughput) {
    size_t bytes = 0;
    for (const auto& r : recs) bytes += r.key.size() + r.value.size();
    std::lock_guard tl(throughput->mu);
    throughput->read_bytes -= static_cast<double>(bytes);  // a large read borrows from the next seconds
  }
  out.records.reserve(recs.size());
  for (auto& r : recs) {
    ReadOutput::Item item;
    item.sequence_number = SequenceNumberOf(stream_info, shard_index, r.position);
    item.arrival_ms = r.timestamp_ms;
    bool kms = !r.key.empty() && (static_cast<uint8_t>(r.key[0]) & kFlagKms);
    item.partition_key = r.key.empty() ? std::string() : r.key.substr(1);
    item.data = std::move(r.value);
    item.encryption_type = kms ? "KMS" : "NONE";
    out.records.push_back(std::move(item));
  }
  out.next_position = recs.empty() ? position : recs.back().position + 1;
  const uint64_t tip = end ? *end : log->end_position();
  if (out.next_position < tip && !recs.empty()) out.millis_behind_latest = std::max<int64_t>(0, NowMs() - recs.back().timestamp_ms);
  if (end && out.next_position >= *end) {
    out.shard_ended = true;
    out.children = std::move(children);
  }
  return out;
}

Status StreamStore::ApplyRetention() {
  std::vector<std::pair<std::shared_ptr<log::Log>, int>> logs;
  {
    std::shared_lock lock(mu_);
    for (const auto& [n, s] : streams_) {
      for (const auto& sh : s->shards) {
        if (sh.log) logs.emplace_back(sh.log, s->info.retention_hours);
      }
    }
  }
  const int64_t now = NowMs();
  for (auto& [log, hours] : logs) {
    EL_RETURN_IF_ERROR(log->ApplyRetention(now - int64_t{hours} * 3600 * 1000).status());
  }
  return ExpireClosedShards();
}

Status StreamStore::ExpireClosedShards() {
  struct Expired {
    std::string stream, dir;
  };
  std::vector<Expired> removed;
  {
    std::unique_lock lock(mu_);
    const int64_t now = NowMs();
    for (auto& [name, s] : streams_) {
      const int64_t retention_ms = int64_t{s->info.retention_hours} * 3600 * 1000;
      for (auto& sh : s->shards) {
        if (sh.info.open() || sh.info.expired || sh.info.closed_ms + retention_ms > now) continue;
        ShardInfo info = sh.info;
        info.expired = true;
        const std::string& stream_id = s->info.id;  // clang 14 cannot capture a structured binding
        EL_RETURN_IF_ERROR(
            meta_.RunInTransaction([&](meta::Transaction& txn) { return PersistShard(txn, stream_id, info); }));
        sh.info = std::move(info);
        sh.log.reset();  // readers holding it finish on the open files
        removed.push_back({name + "/" + sh.info.id, StreamDir(s->info.id) + "/" + std::to_string(sh.info.index)});
      }
    }
  }
  for (const auto& e : removed) {
    Status s = fs_.RemoveAll(e.dir);
    if (!s.ok()) spdlog::warn("stream shard {}: removing its expired records: {}", e.stream, s.ToString());
    spdlog::info("stream shard {} closed more than the retention period ago: removed", e.stream);
  }
  return Status::Ok();
}

}  // namespace eventlake::streams
