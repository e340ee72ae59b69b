#include "log/log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <future>

#include "log/format.h"

namespace eventlake::log {
namespace {

constexpr size_t kReadChunk = 1 << 20;
constexpr size_t kMaxBatchBytes = 8 << 20;  // one commit writes at most about this much

int64_t ToMs(Clock::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Walks the frames of a segment file from an offset, reading ahead in chunks.
class FrameCursor {
 public:
  enum Step { kFrame, kEnd, kTorn, kCorrupt, kError };

  FrameCursor(const io::File& file, uint64_t offset, uint64_t limit) : file_(file), offset_(offset), limit_(limit) {}

  // The next frame; `at` is its offset. The view stays valid until the next call.
  Step Next(FrameView* out, uint64_t* at) {
    if (offset_ >= limit_) return kEnd;
    if (!Fill(kFrameHeaderBytes)) return status_.ok() ? kTorn : kError;
    std::optional<size_t> size = PeekFrameSize(Available());
    if (!size) return kCorrupt;
    if (!Fill(*size)) return status_.ok() ? kTorn : kError;
    if (DecodeFrame(Available(), out) != FrameResult::kOk) return kCorrupt;
    *at = offset_;
    offset_ += out->size;
    return kFrame;
  }

  // After kCorrupt: moves to the next valid frame whose position is after
  // `after`. False when there is none before the limit.
  bool Resync(uint64_t after) {
    std::string rest;
    if (!file_.ReadAt(offset_ + 1, limit_ - offset_ - 1, &rest).ok()) return false;
    for (size_t p = 0; p + kFrameHeaderBytes <= rest.size(); ++p) {
      FrameView f;
      if (DecodeFrame(std::string_view(rest).substr(p), &f) == FrameResult::kOk && f.position > after) {
        offset_ = offset_ + 1 + p;
        buf_.clear();
        buf_start_ = offset_;
        return true;
      }
    }
    offset_ = limit_;
    return false;
  }

  uint64_t offset() const { return offset_; }
  const Status& status() const { return status_; }

 private:
  std::string_view Available() const {
    return std::string_view(buf_).substr(offset_ - buf_start_, buf_start_ + buf_.size() - offset_);
  }
  // Makes `need` bytes from offset_ available; false when the limit comes first.
  bool Fill(size_t need) {
    if (offset_ + need > limit_) return false;
    if (offset_ >= buf_start_ && offset_ + need <= buf_start_ + buf_.size()) return true;
    size_t want = std::min<uint64_t>(std::max(need, kReadChunk), limit_ - offset_);
    status_ = file_.ReadAt(offset_, want, &buf_);
    buf_start_ = offset_;
    return status_.ok() && buf_.size() >= need;
  }

  const io::File& file_;
  uint64_t offset_;
  const uint64_t limit_;
  std::string buf_;
  uint64_t buf_start_ = 0;
  Status status_;
};

bool ParseSegmentName(const std::string& name, uint64_t* base) {
  if (name.size() != 24 || name.substr(20) != ".seg") return false;
  for (int i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  *base = std::stoull(name.substr(0, 20));
  return true;
}

}  // namespace

std::string Log::SegmentPath(uint64_t base, const char* ext) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%020" PRIu64 "%s", base, ext);
  return dir_ + "/" + name;
}

Result<std::unique_ptr<Log>> Log::Open(io::FileSystem& fs, std::string dir, LogOptions options, const Clock& clock,
                                       RecoveryReport* report) {
  EL_RETURN_IF_ERROR(fs.CreateDirs(dir));
  std::unique_ptr<Log> log(new Log(fs, std::move(dir), std::move(options), clock));
  RecoveryReport local;
  EL_RETURN_IF_ERROR(log->Recover(report ? report : &local));
  for (const auto& p : (report ? report : &local)->problems) spdlog::warn("log {}: {}", log->dir_, p);
  return log;
}

Log::~Log() { Close(); }

Result<std::vector<Log::IndexEntry>> Log::ScanSegment(io::File& file, uint64_t base, uint64_t* valid_end,
                                                      RecoveryReport* report, const std::string& path) const {
  // `valid_end` non-null marks the active segment: it ends at its first bad
  // frame. A sealed segment resyncs past corruption and reports it.
  std::vector<IndexEntry> index;
  FrameCursor cursor(file, kSegmentHeaderBytes, file.Size());
  uint64_t expected = base;
  uint64_t since = options_.index_interval_bytes;  // index the first frame
  IndexEntry last{0, 0, 0};
  bool any = false;
  for (;;) {
    FrameView f;
    uint64_t at = 0;
    FrameCursor::Step step = cursor.Next(&f, &at);
    if (step == FrameCursor::kFrame && f.position != expected && (valid_end || f.position < expected)) {
      step = FrameCursor::kCorrupt;  // out of sequence
    }
    if (step == FrameCursor::kFrame) {
      if (since >= options_.index_interval_bytes) {
        index.push_back({f.position, at, f.timestamp_ms});
        since = 0;
      }
      since += f.size;
      last = {f.position, at, f.timestamp_ms};
      any = true;
      expected = f.position + 1;
      continue;
    }
    if (step == FrameCursor::kError) return cursor.status();
    if (step == FrameCursor::kEnd) break;
    if (valid_end) break;  // the active segment ends at its first bad frame
    report->problems.push_back(path + ": corrupt or torn record at offset " + std::to_string(cursor.offset()) +
                               (step == FrameCursor::kTorn ? " (the file ends inside it)" : ""));
    if (step == FrameCursor::kTorn || !cursor.Resync(any ? last.position : (base == 0 ? 0 : base - 1))) break;
  }
  if (valid_end) *valid_end = cursor.offset();
  if (any && (index.empty() || index.back().position != last.position)) index.push_back(last);
  return index;
}

Status Log::WriteIndex(const Segment& seg, const std::vector<IndexEntry>& index) {
  std::string out(kIndexMagic, 4);
  out.push_back(static_cast<char>(kFormatVersion));
  out.append(3, '\0');
  PutU32(&out, static_cast<uint32_t>(index.size()));
  PutU32(&out, 0);
  for (const auto& e : index) {
    PutU64(&out, e.position);
    PutU64(&out, e.offset);
    PutU64(&out, static_cast<uint64_t>(e.timestamp_ms));
  }
  PutU32(&out, Crc32c(out));
  return fs_.WriteFileAtomically(SegmentPath(seg.base, ".idx"), out);
}

Result<std::shared_ptr<const std::vector<Log::IndexEntry>>> Log::IndexOf(const Segment& seg) const {
  {
    std::lock_guard lock(cache_mu_);
    for (auto it = index_cache_.begin(); it != index_cache_.end(); ++it) {
      if (it->first == seg.base) {
        index_cache_.splice(index_cache_.end(), index_cache_, it);  // most recently used last
        return index_cache_.back().second;
      }
    }
  }
  std::vector<IndexEntry> index;
  auto bytes = fs_.ReadFile(SegmentPath(seg.base, ".idx"));
  bool valid = false;
  if (bytes.ok() && bytes->size() >= kIndexHeaderBytes + 4 && bytes->compare(0, 4, kIndexMagic, 4) == 0 &&
      static_cast<uint8_t>((*bytes)[4]) == kFormatVersion) {
    uint32_t count = GetU32(bytes->data() + 8);
    size_t expected = kIndexHeaderBytes + size_t{count} * kIndexEntryBytes + 4;
    if (bytes->size() == expected &&
        GetU32(bytes->data() + expected - 4) == Crc32c(std::string_view(*bytes).substr(0, expected - 4))) {
      for (uint32_t i = 0; i < count; ++i) {
        const char* p = bytes->data() + kIndexHeaderBytes + size_t{i} * kIndexEntryBytes;
        index.push_back({GetU64(p), GetU64(p + 8), static_cast<int64_t>(GetU64(p + 16))});
      }
      valid = true;
    }
  }
  if (!valid) {
    RecoveryReport report;
    EL_ASSIGN_OR_RETURN(index, ScanSegment(*seg.file, seg.base, nullptr, &report, seg.path));
    for (const auto& p : report.problems) spdlog::warn("log {}: {}", dir_, p);
  }
  auto shared = std::make_shared<const std::vector<IndexEntry>>(std::move(index));
  std::lock_guard lock(cache_mu_);
  index_cache_.emplace_back(seg.base, shared);
  while (index_cache_.size() > std::max<size_t>(options_.cached_indexes, 1)) index_cache_.pop_front();
  return shared;
}

Status Log::Recover(RecoveryReport* report) {
  EL_ASSIGN_OR_RETURN(auto names, fs_.List(dir_));
  std::vector<uint64_t> bases;
  for (const auto& name : names) {
    uint64_t base = 0;
    if (ParseSegmentName(name, &base)) {
      bases.push_back(base);
    } else if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") {
      fs_.Remove(dir_ + "/" + name).IgnoreError();  // an interrupted atomic write
    }
  }
  std::sort(bases.begin(), bases.end());
  uint64_t next = 0;
  for (size_t i = 0; i < bases.size(); ++i) {
    const bool last = i + 1 == bases.size();
    Segment seg;
    seg.base = bases[i];
    seg.path = SegmentPath(seg.base, ".seg");
    EL_ASSIGN_OR_RETURN(auto file, fs_.Open(seg.path, io::FileSystem::OpenMode::kOpenExisting));
    seg.file = std::move(file);
    std::string head;
    EL_RETURN_IF_ERROR(seg.file->ReadAt(0, kSegmentHeaderBytes, &head));
    std::optional<SegmentHeader> header = DecodeSegmentHeader(head);
    if (!header || header->base_position != seg.base) {
      report->problems.push_back(seg.path + ": invalid segment header; its records are not readable");
      if (last) {
        // A segment whose creation was interrupted: it never held an acknowledged record.
        seg.file.reset();
        EL_RETURN_IF_ERROR(fs_.Remove(seg.path));
        EL_RETURN_IF_ERROR(fs_.SyncDir(dir_));
      }
      continue;
    }
    seg.created_ms = header->created_ms;
    ++report->segments;
    if (seg.base != next && !segments_.empty()) {
      report->problems.push_back(seg.path + ": records " + std::to_string(next) + " to " +
                                 std::to_string(seg.base - 1) + " are missing");
    }
    if (!last) {
      seg.sealed = true;
      auto idx = fs_.ReadFile(SegmentPath(seg.base, ".idx"));
      auto index = IndexOf(seg);
      if (!index.ok()) return index.status();
      if (!idx.ok()) {
        ++report->rebuilt_indexes;
        EL_RETURN_IF_ERROR(WriteIndex(seg, **index));
      }
      if ((*index)->empty()) {
        seg.end = seg.base;
      } else {
        seg.end = (*index)->back().position + 1;
        seg.last_timestamp = (*index)->back().timestamp_ms;
      }
    } else {
      if (fs_.Exists(SegmentPath(seg.base, ".idx"))) fs_.Remove(SegmentPath(seg.base, ".idx")).IgnoreError();
      uint64_t valid_end = 0;
      EL_ASSIGN_OR_RETURN(auto index, ScanSegment(*seg.file, seg.base, &valid_end, report, seg.path));
      uint64_t size = seg.file->Size();
      if (valid_end < size) {
        report->truncated_bytes += size - valid_end;
        report->problems.push_back(seg.path + ": cut " + std::to_string(size - valid_end) +
                                   " bytes of torn or corrupt tail at offset " + std::to_string(valid_end));
        EL_RETURN_IF_ERROR(seg.file->Truncate(valid_end));
        EL_RETURN_IF_ERROR(seg.file->Sync());
      }
      if (!index.empty()) {
        // The scan also indexed the last frame: an extra seek hint, harmless.
        seg.end = index.back().position + 1;
        seg.last_timestamp = index.back().timestamp_ms;
        last_frame_offset_ = index.back().offset;
        bytes_since_index_ = valid_end - index.back().offset;
      } else {
        seg.end = seg.base;
        bytes_since_index_ = options_.index_interval_bytes;
      }
      seg.committed_bytes = valid_end;
      seg.live_index = std::move(index);
    }
    next = seg.end;
    last_timestamp_ = std::max(last_timestamp_, seg.last_timestamp);
    segments_.push_back(std::move(seg));
  }
  next_position_ = next;
  if (segments_.empty() || segments_.back().sealed) EL_RETURN_IF_ERROR(StartSegment(next));
  end_position_.store(next_position_);
  return Status::Ok();
}

Status Log::StartSegment(uint64_t base) {
  Segment seg;
  seg.base = seg.end = base;
  seg.created_ms = ToMs(clock_.Now());
  seg.last_timestamp = last_timestamp_;
  seg.path = SegmentPath(base, ".seg");
  EL_ASSIGN_OR_RETURN(auto file, fs_.Open(seg.path, io::FileSystem::OpenMode::kCreateNew));
  EL_RETURN_IF_ERROR(file->Append(EncodeSegmentHeader({base, seg.created_ms})));
  EL_RETURN_IF_ERROR(file->Sync());
  EL_RETURN_IF_ERROR(fs_.SyncDir(dir_));
  seg.file = std::move(file);
  seg.committed_bytes = kSegmentHeaderBytes;
  bytes_since_index_ = options_.index_interval_bytes;
  std::unique_lock lock(segments_mu_);
  segments_.push_back(std::move(seg));
  return Status::Ok();
}

Status Log::SealActive() {
  std::vector<IndexEntry> index;
  Segment* active;
  {
    std::shared_lock lock(segments_mu_);
    active = &segments_.back();
    index = active->live_index;
  }
  if (active->end > active->base && (index.empty() || index.back().position != active->end - 1)) {
    index.push_back({active->end - 1, last_frame_offset_, active->last_timestamp});
  }
  EL_RETURN_IF_ERROR(WriteIndex(*active, index));
  ReleaseCacheUpTo(*active, active->committed_bytes);
  std::unique_lock lock(segments_mu_);
  active->sealed = true;
  active->live_index.clear();
  active->live_index.shrink_to_fit();
  return Status::Ok();
}

void Log::ReleaseCacheUpTo(Segment& active, uint64_t upto) {
  if (options_.durability != Durability::kSync || options_.cached_tail_bytes == 0) return;  // pages may be dirty
  constexpr uint64_t kPage = 4096;
  upto &= ~(kPage - 1);
  if (upto <= active.cache_released) return;
  active.file->ReleaseCache(active.cache_released, upto - active.cache_released);
  active.cache_released = upto;
}

void Log::AppendAsync(std::vector<Entry> entries, AppendDone done) {
  for (const auto& e : entries) {
    if (kBodyFixedBytes + e.key.size() + e.value.size() > kMaxBodyBytes) {
      done(Status::InvalidArgument("record of " + std::to_string(e.key.size() + e.value.size()) +
                                   " bytes exceeds the log's limit"));
      return;
    }
  }
  Status refusal;
  {
    std::lock_guard lock(pending_mu_);
    if (closed_) {
      refusal = Status::Cancelled("the log is closed");
    } else if (!failed_.ok()) {
      refusal = failed_;
    } else {
      pending_.push_back({std::move(entries), std::move(done)});
      if (committing_) return;  // the running commit takes it
      committing_ = true;
    }
  }
  if (!refusal.ok()) {
    done(refusal);
    return;
  }
  if (options_.run_commit) {
    options_.run_commit([this] { Commit(); });
  } else {
    Commit();
  }
}

Result<uint64_t> Log::Append(std::vector<Entry> entries) {
  std::promise<Result<uint64_t>> promise;
  auto future = promise.get_future();
  AppendAsync(std::move(entries), [&promise](Result<uint64_t> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void Log::Commit() {
  for (;;) {
    std::vector<PendingAppend> batch;
    Status failed;
    {
      std::lock_guard lock(pending_mu_);
      if (pending_.empty()) {
        committing_ = false;
        idle_cv_.notify_all();
        return;
      }
      size_t bytes = 0, take = 0;
      for (; take < pending_.size() && (take == 0 || bytes < kMaxBatchBytes); ++take) {
        for (const auto& e : pending_[take].entries) bytes += e.key.size() + e.value.size() + 28;
      }
      batch.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.begin() + take));
      pending_.erase(pending_.begin(), pending_.begin() + take);
      failed = failed_;
    }
    std::vector<Result<uint64_t>> results;
    if (failed.ok()) {
      Status s = WriteBatch(batch, &results);
      if (!s.ok()) {
        spdlog::error("log {}: write failed, appends stop until restart: {}", dir_, s.ToString());
        std::lock_guard lock(pending_mu_);
        failed_ = s;
      }
    } else {
      results.assign(batch.size(), failed);
    }
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
    if (options_.run_commit) {
      // One batch per task on a shared pool, so that a busy log cannot keep a
      // thread from every other log: queue the next batch behind them.
      std::lock_guard lock(pending_mu_);
      if (pending_.empty()) {
        committing_ = false;
        idle_cv_.notify_all();
        return;
      }
      options_.run_commit([this] { Commit(); });
      return;
    }
  }
}

Status Log::WriteBatch(std::vector<PendingAppend>& batch, std::vector<Result<uint64_t>>* results) {
  const int64_t now = ToMs(clock_.Now());
  Segment* active;
  {
    std::shared_lock lock(segments_mu_);
    active = &segments_.back();
  }
  if (active->end > active->base &&
      (active->committed_bytes >= options_.segment_bytes || now - active->created_ms >= options_.segment_age_ms)) {
    Status s = SealActive();
    if (s.ok()) s = StartSegment(next_position_);
    if (!s.ok()) {
      results->assign(batch.size(), s);
      return s;
    }
    std::shared_lock lock(segments_mu_);
    active = &segments_.back();
  }
  const uint64_t file_offset = active->committed_bytes;
  std::string buf;
  std::vector<IndexEntry> new_entries;
  uint64_t position = next_position_;
  int64_t timestamp = last_timestamp_;
  uint64_t since = bytes_since_index_;
  uint64_t last_frame = last_frame_offset_;
  results->clear();
  for (const auto& req : batch) {
    results->push_back(position);
    for (const auto& e : req.entries) {
      timestamp = std::max(timestamp, now);
      const uint64_t at = file_offset + buf.size();
      if (since >= options_.index_interval_bytes) {
        new_entries.push_back({position, at, timestamp});
        since = 0;
      }
      EncodeFrame(position, timestamp, e.key, e.value, &buf);
      since += file_offset + buf.size() - at;
      last_frame = at;
      ++position;
    }
  }
  Status s = active->file->Append(buf);
  if (s.ok() && options_.durability == Durability::kSync) s = active->file->Sync();
  if (!s.ok()) {
    // These records were not acknowledged: they must not come back at the next
    // start either. Best effort; recovery cuts whatever remains past a bad frame.
    if (active->file->Truncate(file_offset).ok()) active->file->Sync().IgnoreError();
    results->assign(batch.size(), s);
    return s;
  }
  next_position_ = position;
  last_timestamp_ = timestamp;
  bytes_since_index_ = since;
  last_frame_offset_ = last_frame;
  {
    std::unique_lock lock(segments_mu_);
    active->end = position;
    active->last_timestamp = timestamp;
    active->committed_bytes = file_offset + buf.size();
    active->live_index.insert(active->live_index.end(), new_entries.begin(), new_entries.end());
  }
  end_position_.store(position, std::memory_order_release);
  // Memory the OS has just used for this segment's older pages is handed back
  // for the next writes, in steps of a quarter of the cached tail.
  const uint64_t keep = options_.cached_tail_bytes;
  if (active->committed_bytes > keep + active->cache_released + keep / 4) {
    ReleaseCacheUpTo(*active, active->committed_bytes - keep);
  }
  return Status::Ok();
}

Status Log::ReadSegment(const SegmentRef& seg, uint64_t from, size_t max_records, size_t max_bytes,
                        std::vector<Record>* out, size_t* bytes) const {
  std::optional<FrameCursor> cursor;
  cursor.emplace(*seg.file, seg.start_offset, seg.limit);
  for (;;) {
    FrameView f;
    uint64_t at = 0;
    FrameCursor::Step step = cursor->Next(&f, &at);
    if (step == FrameCursor::kFrame) {
      if (f.position >= seg.end) return Status::Ok();
      if (f.position < from) continue;
      out->push_back({f.position, f.timestamp_ms, std::string(f.key), std::string(f.value)});
      *bytes += f.key.size() + f.value.size();
      if (out->size() >= max_records || *bytes >= max_bytes) return Status::Ok();
      continue;
    }
    if (step == FrameCursor::kError) return cursor->status();
    if (step == FrameCursor::kEnd) return Status::Ok();
    // A damaged frame: never served, and reading resumes at the next index
    // entry past it (what lies between is lost with it).
    const uint64_t bad = cursor->offset();
    const auto& index = seg.index();
    auto next = std::upper_bound(index.begin(), index.end(), bad,
                                 [](uint64_t off, const IndexEntry& e) { return off < e.offset; });
    spdlog::warn("log {}: {}: damaged record at offset {} skipped{}", dir_, seg.path, bad,
                 next == index.end() ? ", and the rest of the segment with it" : "");
    if (next == index.end()) return Status::Ok();
    cursor.emplace(*seg.file, next->offset, seg.limit);
  }
}

std::vector<Log::SegmentRef> Log::SegmentsFrom(uint64_t from) const {
  std::vector<SegmentRef> refs;
  std::shared_lock lock(segments_mu_);
  auto it = std::upper_bound(segments_.begin(), segments_.end(), from,
                             [](uint64_t p, const Segment& s) { return p < s.base; });
  if (it != segments_.begin()) --it;
  for (; it != segments_.end(); ++it) {
    SegmentRef ref{it->base, it->end, it->last_timestamp, it->path, it->file, it->sealed,
                   kSegmentHeaderBytes, it->sealed ? it->file->Size() : it->committed_bytes, {}, nullptr};
    if (!it->sealed) ref.live_index = it->live_index;
    refs.push_back(std::move(ref));
  }
  return refs;
}

Status Log::PositionIndex(SegmentRef& ref, uint64_t position, int64_t timestamp_ms, bool by_time) const {
  std::shared_ptr<const std::vector<IndexEntry>> sealed_index;
  const std::vector<IndexEntry>* index = &ref.live_index;
  if (ref.sealed) {
    Segment probe;
    probe.base = ref.base;
    probe.file = ref.file;
    probe.path = ref.path;
    EL_ASSIGN_OR_RETURN(sealed_index, IndexOf(probe));
    index = sealed_index.get();
    ref.sealed_index = sealed_index;
  }
  // The last entry before the target: its frame is where the scan starts.
  auto it = by_time ? std::lower_bound(index->begin(), index->end(), timestamp_ms,
                                       [](const IndexEntry& e, int64_t t) { return e.timestamp_ms < t; })
                    : std::upper_bound(index->begin(), index->end(), position,
                                       [](uint64_t p, const IndexEntry& e) { return p < e.position; });
  if (it != index->begin()) ref.start_offset = std::prev(it)->offset;
  return Status::Ok();
}

Result<std::vector<Record>> Log::Read(uint64_t from, size_t max_records, size_t max_bytes) const {
  std::vector<Record> out;
  if (max_records == 0) return out;
  from = std::max(from, start_position());
  size_t bytes = 0;
  for (SegmentRef& ref : SegmentsFrom(from)) {
    if (ref.end <= from) continue;
    EL_RETURN_IF_ERROR(PositionIndex(ref, from, 0, false));
    EL_RETURN_IF_ERROR(ReadSegment(ref, from, max_records, max_bytes, &out, &bytes));
    if (out.size() >= max_records || bytes >= max_bytes) break;
  }
  return out;
}

Result<uint64_t> Log::PositionAtOrAfter(int64_t timestamp_ms) const {
  for (SegmentRef& ref : SegmentsFrom(0)) {
    if (ref.end == ref.base || ref.last_timestamp < timestamp_ms) continue;
    EL_RETURN_IF_ERROR(PositionIndex(ref, 0, timestamp_ms, true));
    FrameCursor cursor(*ref.file, ref.start_offset, ref.limit);
    for (;;) {
      FrameView f;
      uint64_t at = 0;
      FrameCursor::Step step = cursor.Next(&f, &at);
      if (step == FrameCursor::kFrame) {
        if (f.position >= ref.end) break;
        if (f.timestamp_ms >= timestamp_ms) return f.position;
        continue;
      }
      if (step == FrameCursor::kError) return cursor.status();
      if (step != FrameCursor::kCorrupt || !cursor.Resync(f.position)) break;
    }
  }
  return end_position();
}

uint64_t Log::start_position() const {
  std::shared_lock lock(segments_mu_);
  return segments_.empty() ? 0 : segments_.front().base;
}

uint64_t Log::end_position() const { return end_position_.load(std::memory_order_acquire); }

uint64_t Log::size_bytes() const {
  std::shared_lock lock(segments_mu_);
  uint64_t total = 0;
  for (const auto& s : segments_) total += s.sealed ? s.file->Size() : s.committed_bytes;
  return total;
}

Result<size_t> Log::ApplyRetention(int64_t min_timestamp_ms, uint64_t max_bytes) {
  EL_RETURN_IF_ERROR(SealExpiredActive(min_timestamp_ms));
  size_t removed = 0;
  {
    std::unique_lock lock(segments_mu_);
    uint64_t total = 0;
    for (const auto& s : segments_) total += s.sealed ? s.file->Size() : s.committed_bytes;
    while (segments_.size() > 1 && segments_.front().sealed &&
           (segments_.front().last_timestamp < min_timestamp_ms || (max_bytes > 0 && total > max_bytes))) {
      const Segment& s = segments_.front();
      total -= s.file->Size();
      EL_RETURN_IF_ERROR(fs_.Remove(s.path));
      Status idx = fs_.Remove(SegmentPath(s.base, ".idx"));
      if (!idx.ok() && idx.code() != StatusCode::kNotFound) return idx;
      {
        std::lock_guard cache_lock(cache_mu_);
        index_cache_.remove_if([&](const auto& e) { return e.first == s.base; });
      }
      segments_.erase(segments_.begin());  // readers holding the file keep reading it
      ++removed;
    }
  }
  if (removed > 0) EL_RETURN_IF_ERROR(fs_.SyncDir(dir_));
  return removed;
}

Status Log::SealExpiredActive(int64_t min_timestamp_ms) {
  {
    std::unique_lock lock(pending_mu_);
    // A commit that is just finishing (its appends acknowledged) is let through; a busy log rolls
    // by age as it appends.
    idle_cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return !committing_ || closed_; });
    if (committing_ || closed_ || !failed_.ok()) return Status::Ok();
    committing_ = true;  // this thread is the committer until it says otherwise
  }
  bool expired;
  {
    std::shared_lock lock(segments_mu_);
    const Segment& active = segments_.back();
    expired = active.end > active.base && active.last_timestamp < min_timestamp_ms;
  }
  Status s;
  if (expired) {
    s = SealActive();
    if (s.ok()) s = StartSegment(next_position_);
    if (!s.ok()) spdlog::error("log {}: sealing an expired segment failed, appends stop until restart: {}", dir_, s.ToString());
  }
  bool more;
  {
    std::lock_guard lock(pending_mu_);
    if (!s.ok()) failed_ = s;
    more = !pending_.empty();
    if (!more) {
      committing_ = false;
      idle_cv_.notify_all();
    }
  }
  if (more) {  // appends that came meanwhile wait for a committer
    if (options_.run_commit) {
      options_.run_commit([this] { Commit(); });
    } else {
      Commit();
    }
  }
  return s;
}

void Log::Close() {
  std::unique_lock lock(pending_mu_);
  closed_ = true;
  idle_cv_.wait(lock, [&] { return !committing_; });
}

}  // namespace eventlake::log
