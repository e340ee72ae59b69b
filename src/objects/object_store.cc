#include "objects/object_store.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <tuple>

#include "common/ids.h"
#include "common/strings.h"

namespace eventlake::objects {

using json = nlohmann::json;

namespace {

// S3 version ids: 32 characters, URL-safe.
std::string NewVersionId() {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._";
  std::string out(32, '0');
  uint64_t r = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (i % 10 == 0) r = FastRandom64();
    out[i] = kAlphabet[r & 63];
    r >>= 6;
  }
  return out;
}

Status NoSuchBucket(const std::string& bucket) {
  return Status::NotFound("The specified bucket does not exist").WithType("NoSuchBucket");
}
Status NoSuchKey() { return Status::NotFound("The specified key does not exist.").WithType("NoSuchKey"); }
Status NoSuchUpload() {
  return Status::NotFound(
             "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted "
             "or completed.")
      .WithType("NoSuchUpload");
}
Status NoSuchVersion() {
  return Status::NotFound("The specified version does not exist.").WithType("NoSuchVersion");
}

json AttributesToJson(const ObjectAttributes& a) {
  json j = json::object();
  auto put = [&](const char* k, const std::string& v) {
    if (!v.empty()) j[k] = v;
  };
  put("ContentType", a.content_type);
  put("ContentEncoding", a.content_encoding);
  put("ContentDisposition", a.content_disposition);
  put("ContentLanguage", a.content_language);
  put("CacheControl", a.cache_control);
  put("Expires", a.expires);
  put("StorageClass", a.storage_class);
  put("ChecksumAlgorithm", a.checksum_algorithm);
  put("ChecksumValue", a.checksum_value);
  put("ChecksumType", a.checksum_type);
  put("SSE", a.sse);
  put("SSEKMSKeyId", a.sse_kms_key_id);
  if (!a.user_metadata.empty()) j["Metadata"] = a.user_metadata;
  if (!a.tags.empty()) j["Tags"] = a.tags;
  if (a.parts_count > 0) j["PartsCount"] = a.parts_count;
  return j;
}

ObjectAttributes AttributesFromJson(const std::string& text) {
  ObjectAttributes a;
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return a;
  auto get = [&](const char* k, std::string& out) {
    auto it = j.find(k);
    if (it != j.end() && it->is_string()) out = it->get<std::string>();
  };
  get("ContentType", a.content_type);
  get("ContentEncoding", a.content_encoding);
  get("ContentDisposition", a.content_disposition);
  get("ContentLanguage", a.content_language);
  get("CacheControl", a.cache_control);
  get("Expires", a.expires);
  get("StorageClass", a.storage_class);
  get("ChecksumAlgorithm", a.checksum_algorithm);
  get("ChecksumValue", a.checksum_value);
  get("ChecksumType", a.checksum_type);
  get("SSE", a.sse);
  get("SSEKMSKeyId", a.sse_kms_key_id);
  if (auto it = j.find("Metadata"); it != j.end() && it->is_object()) {
    a.user_metadata = it->get<std::map<std::string, std::string>>();
  }
  if (auto it = j.find("Tags"); it != j.end() && it->is_object()) a.tags = it->get<std::map<std::string, std::string>>();
  if (auto it = j.find("PartsCount"); it != j.end() && it->is_number_integer()) a.parts_count = it->get<int>();
  return a;
}

// The columns every version query selects, in this order.
constexpr const char* kVersionColumns =
    "key, version_id, latest, delete_marker, size, etag, last_modified_ms, meta, blobs, seq";

ObjectVersion VersionFromRow(const meta::Row& r) {
  ObjectVersion v;
  v.key = meta::AsText(r[0]);
  v.version_id = meta::AsText(r[1]);
  v.latest = meta::AsInt(r[2]) != 0;
  v.delete_marker = meta::AsInt(r[3]) != 0;
  v.size = static_cast<uint64_t>(meta::AsInt(r[4]));
  v.etag = meta::AsText(r[5]);
  v.last_modified_ms = meta::AsInt(r[6]);
  v.attributes = AttributesFromJson(meta::AsText(r[7]));
  return v;
}

// The smallest string greater than every string that starts with `prefix`
// (empty when there is none: the prefix is all 0xFF bytes).
std::string PrefixSuccessor(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char c = static_cast<unsigned char>(prefix.back());
    if (c != 0xFF) {
      prefix.back() = static_cast<char>(c + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

// The common prefix `key` rolls up into under `prefix` and `delimiter`, or "".
std::string CommonPrefixOf(const std::string& key, const std::string& prefix, const std::string& delimiter) {
  if (delimiter.empty()) return {};
  size_t pos = key.find(delimiter, prefix.size());
  return pos == std::string::npos ? std::string() : key.substr(0, pos + delimiter.size());
}

// Adds "key < end" to a listing query (nothing when there is no end).
void BelowPrefixEnd(const std::string& end, std::string* sql, std::vector<meta::Value>* params) {
  if (end.empty()) return;
  *sql += " AND key < ?";
  params->push_back(end);
}

}  // namespace

struct ObjectStore::Impl {
  meta::Store& meta;
  io::FileSystem& fs;
  const Clock& clock;
  ObjectStoreOptions options;
  std::unique_ptr<BlobStore> owned_blobs;
  BlobStore* blobs = nullptr;

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;  // guarded by stop_mu
  std::thread lifecycle_thread;
  // Blobs whose last reference went, removed off the request path. A crash
  // before they go leaves rows with refs <= 0, which Start() removes.
  std::mutex reap_mu;
  std::condition_variable reap_cv, reaped_cv;
  std::vector<std::string> reap_queue;  // guarded by reap_mu
  size_t reaping = 0;                   // guarded by reap_mu: taken off the queue, not yet removed
  bool reap_stop = false;               // guarded by reap_mu
  std::thread reaper;

  Impl(meta::Store& m, io::FileSystem& f, const Clock& c, ObjectStoreOptions o)
      : meta(m), fs(f), clock(c), options(std::move(o)) {}

  int64_t NowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count();
  }

  Status Start();
  void LifecycleLoop(ObjectStore* store);
  // Copies a version's hot blobs to the cold tier and records it, then removes the hot copies.
  Result<uint64_t> MoveToCold(int64_t seq, const std::string& blobs_json, const std::string& storage_class);
  Status RequireBucket(meta::Transaction& txn, const std::string& bucket, std::string* versioning);
  // PreconditionFailed (or NoSuchKey for If-Match on a missing key) unless the
  // current version of `key` meets `conditions`.
  Status CheckConditions(meta::Transaction& txn, const std::string& bucket, const std::string& key,
                         const WriteConditions& conditions);
  // Before a new current version `version_id` of `key`: the old "null"
  // version goes when the new one is "null" too, and no version stays latest.
  Status MakeRoom(meta::Transaction& txn, const std::string& bucket, const std::string& key,
                  const std::string& version_id, std::vector<std::string>* unlink);
  // Adds `v` as the current version of its key, made of `blobs`.
  Status InsertVersion(meta::Transaction& txn, const std::string& bucket, const ObjectVersion& v, const json& blobs);
  // After the transaction that was to refer to the new blob `id`: removes the
  // blob when it failed, and the blobs it released when it committed.
  Status Settle(const Status& committed, const std::string& id, const std::vector<std::string>& unlink);
  // Lowers the references of a version's blobs; those at zero go to `unlink`.
  Status Release(meta::Transaction& txn, const std::string& blobs_json, std::vector<std::string>* unlink);
  std::string JoinedDir() const { return options.data_dir + "/objects/joined"; }
  // Removes blobs at zero references, now.
  void Unlink(const std::vector<std::string>& ids);
  // The same, on the reaper thread.
  void UnlinkLater(const std::vector<std::string>& ids);
  void ReapLoop();
};

// Reads a range across a version's blobs, one open blob at a time.
class BlobReader final : public ObjectReader {
 public:
  struct Piece {
    std::string id;
    Tier tier;
    uint64_t size;
  };
  BlobReader(BlobStore& blobs, std::vector<Piece> pieces, uint64_t offset, uint64_t length)
      : blobs_(blobs), pieces_(std::move(pieces)), offset_(offset), left_(length) {
    readers_.resize(pieces_.size());
  }

  // Opens the first pieces the range needs now, so that an overwrite or a
  // transition removing them meanwhile cannot cut the read short (an open
  // file stays readable). Further pieces open as the read reaches them.
  Status OpenAhead(size_t most) {
    uint64_t skip = offset_;
    for (size_t i = 0, opened = 0; i < pieces_.size() && opened < most; ++i) {
      if (skip >= pieces_[i].size) {
        skip -= pieces_[i].size;
        continue;
      }
      EL_ASSIGN_OR_RETURN(readers_[i], blobs_.Open(pieces_[i].id, pieces_[i].tier));
      ++opened;
      if (pieces_[i].size - skip >= left_) break;
      skip = 0;
    }
    return Status::Ok();
  }

  Result<size_t> Read(char* buf, size_t n) override {
    EL_ASSIGN_OR_RETURN(BlobStore::Reader * reader, Current());
    if (!reader) return size_t{0};
    const Piece& piece = pieces_[index_];
    const size_t want = static_cast<size_t>(std::min<uint64_t>({n, left_, piece.size - offset_}));
    EL_ASSIGN_OR_RETURN(size_t got, reader->ReadAt(offset_, buf, want));
    if (got == 0) return Status::DataLoss("object data " + piece.id + " is shorter than recorded");
    offset_ += got;
    left_ -= got;
    return got;
  }

  Result<FileSlice> NextFileSlice(size_t n) override {
    EL_ASSIGN_OR_RETURN(BlobStore::Reader * reader, Current());
    if (!reader) return FileSlice{-1, 0, 0};
    FileSlice slice{reader->NativeHandle(), offset_, 0};
    if (slice.fd < 0) return slice;
    // The file is the size recorded (blobs never change once committed).
    slice.length = static_cast<size_t>(std::min<uint64_t>({n, left_, pieces_[index_].size - offset_}));
    offset_ += slice.length;
    left_ -= slice.length;
    return slice;
  }

 private:
  // The reader of the piece the next byte is in, opened if need be; null at the end.
  Result<BlobStore::Reader*> Current() {
    while (left_ > 0 && index_ < pieces_.size() && offset_ >= pieces_[index_].size) {
      offset_ -= pieces_[index_].size;
      readers_[index_].reset();
      ++index_;
    }
    if (left_ == 0 || index_ >= pieces_.size()) return static_cast<BlobStore::Reader*>(nullptr);
    auto& reader = readers_[index_];
    if (!reader) {
      EL_ASSIGN_OR_RETURN(reader, blobs_.Open(pieces_[index_].id, pieces_[index_].tier));
    }
    return reader.get();
  }

  BlobStore& blobs_;
  std::vector<Piece> pieces_;
  size_t index_ = 0;
  uint64_t offset_, left_;
  std::vector<std::unique_ptr<BlobStore::Reader>> readers_;  // by piece; open ones only
};

std::vector<meta::Migration> ObjectStore::Migrations() {
  return {{300, "objects: buckets, object versions, blobs, multipart uploads",
           "CREATE TABLE s3_buckets(name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL, region TEXT NOT NULL,"
           "  versioning TEXT NOT NULL DEFAULT '', config TEXT NOT NULL DEFAULT '{}');"
           "CREATE TABLE s3_objects(seq INTEGER PRIMARY KEY AUTOINCREMENT, bucket TEXT NOT NULL, key TEXT NOT NULL,"
           "  version_id TEXT NOT NULL, latest INTEGER NOT NULL, delete_marker INTEGER NOT NULL, size INTEGER NOT NULL,"
           "  etag TEXT NOT NULL, last_modified_ms INTEGER NOT NULL, meta TEXT NOT NULL, blobs TEXT NOT NULL);"
           "CREATE INDEX s3_objects_key ON s3_objects(bucket, key, seq);"
           "CREATE INDEX s3_objects_latest ON s3_objects(bucket, key) WHERE latest = 1 AND delete_marker = 0;"
           "CREATE TABLE s3_blobs(id TEXT PRIMARY KEY, size INTEGER NOT NULL, tier TEXT NOT NULL, refs INTEGER NOT NULL);"
           "CREATE TABLE s3_uploads(upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL,"
           "  initiated_ms INTEGER NOT NULL, meta TEXT NOT NULL);"
           "CREATE TABLE s3_parts(upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, size INTEGER NOT NULL,"
           "  etag TEXT NOT NULL, last_modified_ms INTEGER NOT NULL, checksum TEXT NOT NULL DEFAULT '',"
           "  blob TEXT NOT NULL, PRIMARY KEY(upload_id, part_number));"}};
}

ObjectStore::ObjectStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ObjectStore::~ObjectStore() { Stop(); }

void ObjectStore::Stop() {
  {
    std::lock_guard lock(impl_->stop_mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->stop_cv.notify_all();
  }
  if (impl_->lifecycle_thread.joinable()) impl_->lifecycle_thread.join();
  {
    std::lock_guard lock(impl_->reap_mu);
    impl_->reap_stop = true;
    impl_->reap_cv.notify_all();
  }
  if (impl_->reaper.joinable()) impl_->reaper.join();  // after what is queued is removed
}

void ObjectStore::WaitForRemovals() {
  std::unique_lock lock(impl_->reap_mu);
  impl_->reaped_cv.wait(lock, [&] { return impl_->reap_queue.empty() && impl_->reaping == 0; });
}

void ObjectStore::Impl::UnlinkLater(const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  std::lock_guard lock(reap_mu);
  reap_queue.insert(reap_queue.end(), ids.begin(), ids.end());
  reap_cv.notify_one();
}

void ObjectStore::Impl::ReapLoop() {
  std::unique_lock lock(reap_mu);
  for (;;) {
    reap_cv.wait(lock, [&] { return reap_stop || !reap_queue.empty(); });
    if (reap_queue.empty()) return;  // stopping, and nothing left
    std::vector<std::string> batch;
    batch.swap(reap_queue);
    reaping = batch.size();
    lock.unlock();
    Unlink(batch);
    lock.lock();
    reaping = 0;
    reaped_cv.notify_all();
  }
}

void ObjectStore::Impl::LifecycleLoop(ObjectStore* store) {
  std::unique_lock lock(stop_mu);
  while (!stop_cv.wait_for(lock, options.lifecycle_interval, [&] { return stopping; })) {
    lock.unlock();
    auto report = store->ApplyLifecycle();
    if (!report.ok()) {
      spdlog::warn("objects: lifecycle: {}", report.status().ToString());
    } else if (report->expired + report->noncurrent_removed + report->markers_removed + report->uploads_aborted +
                   report->transitioned >
               0) {
      spdlog::info("objects: lifecycle expired {} object(s), removed {} noncurrent version(s) and {} delete "
                   "marker(s), aborted {} upload(s), moved {} version(s) ({} bytes) to the cold tier",
                   report->expired, report->noncurrent_removed, report->markers_removed, report->uploads_aborted,
                   report->transitioned, report->transitioned_bytes);
    }
    lock.lock();
  }
}

Result<std::unique_ptr<ObjectStore>> ObjectStore::Open(meta::Store& meta, io::FileSystem& fs, const Clock& clock,
                                                       ObjectStoreOptions options) {
  auto impl = std::make_unique<Impl>(meta, fs, clock, std::move(options));
  EL_RETURN_IF_ERROR(impl->Start());
  std::unique_ptr<ObjectStore> store(new ObjectStore(std::move(impl)));
  store->impl_->reaper = std::thread([i = store->impl_.get()] { i->ReapLoop(); });
  if (store->impl_->options.lifecycle_interval.count() > 0) {
    store->impl_->lifecycle_thread = std::thread([s = store.get()] { s->impl_->LifecycleLoop(s); });
  }
  return store;
}

Status ObjectStore::Impl::Start() {
  if (options.blob_store) {
    blobs = options.blob_store;
  } else {
    const std::string root = options.data_dir + "/objects";
    EL_ASSIGN_OR_RETURN(owned_blobs,
                        NewLocalBlobStore(fs, root, options.cold_dir.empty() ? root + "/cold" : options.cold_dir));
    blobs = owned_blobs.get();
  }
  // Uploads a crash interrupted.
  EL_ASSIGN_OR_RETURN(size_t leftovers, blobs->DiscardUnfinished());
  if (leftovers > 0) spdlog::info("objects: removed {} unfinished upload(s) left by the last run", leftovers);
  // Blobs whose last reference went away just before a crash.
  EL_ASSIGN_OR_RETURN(auto unreferenced, meta.Query("SELECT id FROM s3_blobs WHERE refs <= 0"));
  std::vector<std::string> ids;
  for (const auto& r : unreferenced) ids.push_back(meta::AsText(r[0]));
  Unlink(ids);
  // Joined copies a crash interrupted.
  if (auto joined = fs.List(JoinedDir()); joined.ok()) {
    for (const auto& name : *joined) {
      if (name.find(".tmp-") != std::string::npos) fs.Remove(JoinedDir() + "/" + name).IgnoreError();
    }
  }
  // Blobs committed whose metadata never was, and copies a transition left behind.
  std::vector<std::pair<std::string, Tier>> orphans;
  EL_RETURN_IF_ERROR(blobs->ForEach([&](const std::string& id, Tier tier) {
    auto row = meta.Query("SELECT tier FROM s3_blobs WHERE id = ?", {id});
    if (row.ok() && (row->empty() || ParseTier(meta::AsText((*row)[0][0])) != tier)) orphans.emplace_back(id, tier);
  }));
  for (const auto& [id, tier] : orphans) blobs->Remove(id, tier).IgnoreError();
  if (!orphans.empty()) spdlog::info("objects: removed {} object file(s) that no object refers to", orphans.size());
  for (const auto& zone : options.zones) {
    EL_ASSIGN_OR_RETURN(auto found, meta.Query("SELECT 1 FROM s3_buckets WHERE name = ?", {zone}));
    if (found.empty()) {
      EL_RETURN_IF_ERROR(meta.RunInTransaction([&](meta::Transaction& txn) {
        return txn
            .Execute("INSERT INTO s3_buckets(name, created_ms, region) VALUES (?, ?, ?)",
                     {zone, NowMs(), options.region})
            .status();
      }));
      spdlog::info("objects: created the zone bucket {}", zone);
    }
  }
  return Status::Ok();
}

void ObjectStore::Impl::Unlink(const std::vector<std::string>& ids) {
  std::vector<meta::Value> gone;
  for (const auto& id : ids) {
    auto row = meta.Query("SELECT tier FROM s3_blobs WHERE id = ? AND refs <= 0", {id});
    if (!row.ok() || row->empty()) continue;
    Status s = blobs->Remove(id, ParseTier(meta::AsText((*row)[0][0])).value_or(Tier::kHot));
    if (!s.ok() && s.code() != StatusCode::kNotFound) {
      spdlog::warn("objects: removing blob {}: {}", id, s.ToString());
      continue;
    }
    gone.push_back(id);
    fs.Remove(JoinedDir() + "/" + id).IgnoreError();  // a joined copy that starts with it, if any
  }
  // One commit for the batch; rows a crash leaves behind are removed again at start.
  for (size_t i = 0; i < gone.size(); i += 500) {
    const size_t n = std::min<size_t>(500, gone.size() - i);
    std::string sql = "DELETE FROM s3_blobs WHERE refs <= 0 AND id IN (?";
    for (size_t k = 1; k < n; ++k) sql += ", ?";
    sql += ")";
    std::vector<meta::Value> params(gone.begin() + i, gone.begin() + i + n);
    meta.RunInTransaction([&](meta::Transaction& txn) { return txn.Execute(sql, params).status(); }).IgnoreError();
  }
}

Status ObjectStore::Impl::RequireBucket(meta::Transaction& txn, const std::string& bucket, std::string* versioning) {
  EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT versioning FROM s3_buckets WHERE name = ?", {bucket}));
  if (rows.empty()) return NoSuchBucket(bucket);
  if (versioning) *versioning = meta::AsText(rows[0][0]);
  return Status::Ok();
}

Status ObjectStore::Impl::CheckConditions(meta::Transaction& txn, const std::string& bucket, const std::string& key,
                                          const WriteConditions& conditions) {
  if (!conditions.if_none_match_any && conditions.if_match.empty()) return Status::Ok();
  EL_ASSIGN_OR_RETURN(auto current, txn.Query("SELECT etag, delete_marker FROM s3_objects WHERE bucket = ? AND "
                                              "key = ? AND latest = 1",
                                              {bucket, key}));
  const bool exists = !current.empty() && meta::AsInt(current[0][1]) == 0;
  if (!conditions.if_match.empty() && !exists) return NoSuchKey();
  auto unquoted = [](std::string e) {
    if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
    return e;
  };
  if ((conditions.if_none_match_any && exists) ||
      (!conditions.if_match.empty() && unquoted(meta::AsText(current[0][0])) != unquoted(conditions.if_match))) {
    return Status::FailedPrecondition("At least one of the pre-conditions you specified did not hold")
        .WithType("PreconditionFailed");
  }
  return Status::Ok();
}

Status ObjectStore::Impl::MakeRoom(meta::Transaction& txn, const std::string& bucket, const std::string& key,
                                   const std::string& version_id, std::vector<std::string>* unlink) {
  if (version_id == "null") {
    EL_ASSIGN_OR_RETURN(auto old, txn.Query("SELECT blobs FROM s3_objects WHERE bucket = ? AND key = ? AND "
                                            "version_id = 'null'",
                                            {bucket, key}));
    for (const auto& r : old) EL_RETURN_IF_ERROR(Release(txn, meta::AsText(r[0]), unlink));
    EL_RETURN_IF_ERROR(
        txn.Execute("DELETE FROM s3_objects WHERE bucket = ? AND key = ? AND version_id = 'null'", {bucket, key})
            .status());
  }
  return txn.Execute("UPDATE s3_objects SET latest = 0 WHERE bucket = ? AND key = ? AND latest = 1", {bucket, key})
      .status();
}

Status ObjectStore::Impl::InsertVersion(meta::Transaction& txn, const std::string& bucket, const ObjectVersion& v,
                                        const json& blobs) {
  return txn
      .Execute("INSERT INTO s3_objects(bucket, key, version_id, latest, delete_marker, size, etag, last_modified_ms, "
               "meta, blobs) VALUES (?, ?, ?, 1, 0, ?, ?, ?, ?, ?)",
               {bucket, v.key, v.version_id, static_cast<int64_t>(v.size), v.etag, v.last_modified_ms,
                AttributesToJson(v.attributes).dump(), blobs.dump()})
      .status();
}

Status ObjectStore::Impl::Settle(const Status& committed, const std::string& id,
                                 const std::vector<std::string>& unlink) {
  if (!committed.ok()) {
    blobs->Remove(id, Tier::kHot).IgnoreError();  // committed, but nothing refers to it
    return committed;
  }
  UnlinkLater(unlink);
  return Status::Ok();
}

Status ObjectStore::Impl::Release(meta::Transaction& txn, const std::string& blobs_json,
                                  std::vector<std::string>* unlink) {
  json blobs = json::parse(blobs_json, nullptr, false);
  if (!blobs.is_array()) return Status::Ok();
  for (const auto& b : blobs) {
    if (!b.is_array() || b.empty() || !b[0].is_string()) continue;
    const std::string id = b[0].get<std::string>();
    EL_RETURN_IF_ERROR(txn.Execute("UPDATE s3_blobs SET refs = refs - 1 WHERE id = ?", {id}).status());
    EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT refs FROM s3_blobs WHERE id = ?", {id}));
    if (!rows.empty() && meta::AsInt(rows[0][0]) <= 0) unlink->push_back(id);
  }
  return Status::Ok();
}

Status ObjectStore::CreateBucket(const std::string& name, const std::string& region) {
  return impl_->meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT 1 FROM s3_buckets WHERE name = ?", {name}));
    if (!rows.empty()) {
      return Status::AlreadyExists(
                 "Your previous request to create the named bucket succeeded and you already own it.")
          .WithType("BucketAlreadyOwnedByYou");
    }
    return txn
        .Execute("INSERT INTO s3_buckets(name, created_ms, region) VALUES (?, ?, ?)", {name, impl_->NowMs(), region})
        .status();
  });
}

Status ObjectStore::DeleteBucket(const std::string& name) {
  return impl_->meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_RETURN_IF_ERROR(impl_->RequireBucket(txn, name, nullptr));
    EL_ASSIGN_OR_RETURN(auto any, txn.Query("SELECT 1 FROM s3_objects WHERE bucket = ? LIMIT 1", {name}));
    EL_ASSIGN_OR_RETURN(auto uploads, txn.Query("SELECT 1 FROM s3_uploads WHERE bucket = ? LIMIT 1", {name}));
    if (!any.empty() || !uploads.empty()) {
      return Status::FailedPrecondition("The bucket you tried to delete is not empty").WithType("BucketNotEmpty");
    }
    return txn.Execute("DELETE FROM s3_buckets WHERE name = ?", {name}).status();
  });
}

Result<BucketInfo> ObjectStore::GetBucket(const std::string& name) const {
  EL_ASSIGN_OR_RETURN(auto rows,
                      impl_->meta.Query("SELECT name, created_ms, region, versioning FROM s3_buckets WHERE name = ?",
                                        {name}));
  if (rows.empty()) return NoSuchBucket(name);
  return BucketInfo{meta::AsText(rows[0][0]), meta::AsInt(rows[0][1]), meta::AsText(rows[0][2]),
                    meta::AsText(rows[0][3])};
}

std::vector<BucketInfo> ObjectStore::ListBuckets() const {
  std::vector<BucketInfo> out;
  auto rows = impl_->meta.Query("SELECT name, created_ms, region, versioning FROM s3_buckets ORDER BY name");
  if (!rows.ok()) return out;
  for (const auto& r : *rows) {
    out.push_back({meta::AsText(r[0]), meta::AsInt(r[1]), meta::AsText(r[2]), meta::AsText(r[3])});
  }
  return out;
}

Status ObjectStore::SetVersioning(const std::string& bucket, const std::string& status) {
  return impl_->meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_RETURN_IF_ERROR(impl_->RequireBucket(txn, bucket, nullptr));
    return txn.Execute("UPDATE s3_buckets SET versioning = ? WHERE name = ?", {status, bucket}).status();
  });
}

Result<std::string> ObjectStore::GetBucketConfig(const std::string& bucket, const std::string& part) const {
  EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query("SELECT config FROM s3_buckets WHERE name = ?", {bucket}));
  if (rows.empty()) return NoSuchBucket(bucket);
  json config = json::parse(meta::AsText(rows[0][0]), nullptr, false);
  if (!config.is_object() || !config.contains(part) || !config[part].is_string()) {
    return Status::NotFound("no " + part + " configuration");
  }
  return config[part].get<std::string>();
}

Status ObjectStore::SetBucketConfig(const std::string& bucket, const std::string& part, const std::string& value) {
  return impl_->meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT config FROM s3_buckets WHERE name = ?", {bucket}));
    if (rows.empty()) return NoSuchBucket(bucket);
    json config = json::parse(meta::AsText(rows[0][0]), nullptr, false);
    if (!config.is_object()) config = json::object();
    if (value.empty()) {
      config.erase(part);
    } else {
      config[part] = value;
    }
    return txn.Execute("UPDATE s3_buckets SET config = ? WHERE name = ?", {config.dump(), bucket}).status();
  });
}

Result<std::unique_ptr<BlobWriter>> ObjectStore::NewBlob() {
  EL_ASSIGN_OR_RETURN(auto writer, impl_->blobs->Create());
  return std::unique_ptr<BlobWriter>(std::move(writer));
}

Result<ObjectVersion> ObjectStore::PutObject(const std::string& bucket, const std::string& key,
                                             std::unique_ptr<BlobWriter> blob, const std::string& etag,
                                             ObjectAttributes attributes, const WriteConditions& conditions) {
  auto* writer = static_cast<BlobStore::Writer*>(blob.get());  // NewBlob made it
  const std::string id = writer->id();
  EL_RETURN_IF_ERROR(writer->Commit());

  ObjectVersion v;
  v.key = key;
  v.latest = true;
  v.size = writer->size();
  v.etag = etag;
  v.last_modified_ms = impl_->NowMs();
  v.attributes = std::move(attributes);
  std::vector<std::string> unlink;
  Status committed = impl_->meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    unlink.clear();
    std::string versioning;
    EL_RETURN_IF_ERROR(impl_->RequireBucket(txn, bucket, &versioning));
    EL_RETURN_IF_ERROR(impl_->CheckConditions(txn, bucket, key, conditions));
    v.version_id = versioning == "Enabled" ? NewVersionId() : "null";
    EL_RETURN_IF_ERROR(impl_->MakeRoom(txn, bucket, key, v.version_id, &unlink));
    EL_RETURN_IF_ERROR(txn.Execute("INSERT INTO s3_blobs(id, size, tier, refs) VALUES (?, ?, 'hot', 1)",
                                   {id, static_cast<int64_t>(v.size)})
                           .status());
    return impl_->InsertVersion(txn, bucket, v, json::array({json::array({id, v.size})}));
  });
  EL_RETURN_IF_ERROR(impl_->Settle(committed, id, unlink));
  return v;
}

Result<ObjectVersion> ObjectStore::Head(const std::string& bucket, const std::string& key,
                                        const std::string& version_id) const {
  std::vector<meta::Row> rows;
  Status s = impl_->meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_RETURN_IF_ERROR(impl_->RequireBucket(txn, bucket, nullptr));
    std::string sql = std::string("SELECT ") + kVersionColumns + " FROM s3_objects WHERE bucket = ? AND key = ? AND ";
    if (version_id.empty()) {
      EL_ASSIGN_OR_RETURN(rows, txn.Query(sql + "latest = 1", {bucket, key}));
    } else {
      EL_ASSIGN_OR_RETURN(rows, txn.Query(sql + "version_id = ?", {bucket, key, version_id}));
    }
    return Status::Ok();
  });
  EL_RETURN_IF_ERROR(s);
  if (rows.empty()) return version_id.empty() ? NoSuchKey() : NoSuchVersion();
  return VersionFromRow(rows[0]);
}

Result<std::string> ObjectStore::LocalFile(const std::string& bucket, const ObjectVersion& version) {
  EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query("SELECT blobs FROM s3_objects WHERE bucket = ? AND key = ? AND "
                                                   "version_id = ?",
                                                   {bucket, version.key, version.version_id}));
  if (rows.empty()) return NoSuchKey();
  json blobs = json::parse(meta::AsText(rows[0][0]), nullptr, false);
  if (!blobs.is_array()) return Status::DataLoss("the parts of " + version.key + " are unreadable");
  if (blobs.size() == 1) {
    const std::string id = blobs[0][0].get<std::string>();
    EL_ASSIGN_OR_RETURN(auto tier, impl_->meta.Query("SELECT tier FROM s3_blobs WHERE id = ?", {id}));
    if (tier.empty()) return Status::DataLoss("object data " + id + " is missing");
    return impl_->blobs->LocalPath(id, ParseTier(meta::AsText(tier[0][0])).value_or(Tier::kHot));
  }
  // Empty objects share one empty file; assembled ones are joined once, named by their first part.
  EL_RETURN_IF_ERROR(impl_->blobs->LocalPath("", Tier::kHot).status());  // a backend with local files at all
  const std::string dir = impl_->JoinedDir();
  const std::string path = dir + "/" + (blobs.empty() ? std::string("empty") : blobs[0][0].get<std::string>());
  if (impl_->fs.Exists(path)) return path;
  EL_RETURN_IF_ERROR(impl_->fs.CreateDirs(dir));
  const std::string tmp = path + ".tmp-" + NewVersionId();
  {
    EL_ASSIGN_OR_RETURN(auto out, impl_->fs.Open(tmp, io::FileSystem::OpenMode::kCreateNew));
    EL_ASSIGN_OR_RETURN(auto in, Read(bucket, version, 0, version.size));
    std::string buf(1 << 20, '\0');
    for (;;) {
      EL_ASSIGN_OR_RETURN(size_t n, in->Read(buf.data(), buf.size()));
      if (n == 0) break;
      EL_RETURN_IF_ERROR(out->Append(std::string_view(buf.data(), n)));
    }
    EL_RETURN_IF_ERROR(out->Sync());
  }
  EL_RETURN_IF_ERROR(impl_->fs.Rename(tmp, path));
  return path;
}

Result<std::unique_ptr<ObjectReader>> ObjectStore::Read(const std::string& bucket, const ObjectVersion& version,
                                                        uint64_t offset, uint64_t length) const {
  EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query("SELECT blobs FROM s3_objects WHERE bucket = ? AND key = ? AND "
                                                   "version_id = ?",
                                                   {bucket, version.key, version.version_id}));
  if (rows.empty()) return NoSuchKey();
  json blobs = json::parse(meta::AsText(rows[0][0]), nullptr, false);
  std::vector<BlobReader::Piece> pieces;
  if (blobs.is_array()) {
    for (const auto& b : blobs) {
      const std::string id = b[0].get<std::string>();
      EL_ASSIGN_OR_RETURN(auto tier, impl_->meta.Query("SELECT tier FROM s3_blobs WHERE id = ?", {id}));
      if (tier.empty()) return Status::DataLoss("object data " + id + " is missing");
      pieces.push_back({id, ParseTier(meta::AsText(tier[0][0])).value_or(Tier::kHot), b[1].get<uint64_t>()});
    }
  }
  auto reader = std::make_unique<BlobReader>(*impl_->blobs, std::move(pieces), offset, length);
  EL_RETURN_IF_ERROR(reader->OpenAhead(64));
  return std::unique_ptr<ObjectReader>(std::move(reader));
}

Result<DeleteResult> ObjectStore::DeleteObject(const std::string& bucket, const std::string& key,
                                               const std::string& version_id) {
  bool done = false;
  return Delete(bucket, key, version_id, std::nullopt, &done);
}

Result<bool> ObjectStore::DeleteIfUnchanged(const std::string& bucket, const std::string& key,
                                            const std::string& version_id, int64_t expected_seq) {
  bool done = false;
  EL_RETURN_IF_ERROR(Delete(bucket, key, version_id, expected_seq, &done).status());
  return done;
}

Result<DeleteResult> ObjectStore::Delete(const std::string& bucket, const std::string& key,
                                         const std::string& version_id, std::optional<int64_t> expected_seq,
                                         bool* done) {
  DeleteResult out;
  std::vector<std::string> unlink;
  Status s = impl_->meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    unlink.clear();
    out = {};
    *done = false;
    std::string versioning;
    EL_RETURN_IF_ERROR(impl_->RequireBucket(txn, bucket, &versioning));
    if (expected_seq) {
      // Only while the version that was looked at is still the one named (or current).
      std::string sql = "SELECT seq FROM s3_objects WHERE bucket = ? AND key = ? AND ";
      EL_ASSIGN_OR_RETURN(auto now, version_id.empty() ? txn.Query(sql + "latest = 1", {bucket, key})
                                                       : txn.Query(sql + "version_id = ?", {bucket, key, version_id}));
      if (now.empty() || meta::AsInt(now[0][0]) != *expected_seq) return Status::Ok();
    }
    *done = true;
    if (!version_id.empty()) {
      // Removes that one version for good; the next newest becomes current.
      EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT seq, latest, delete_marker, blobs FROM s3_objects WHERE "
                                               "bucket = ? AND key = ? AND version_id = ?",
                                               {bucket, key, version_id}));
      out.version_id = version_id;
      if (rows.empty()) return Status::Ok();  // S3 answers 204 for a version that is not there
      out.delete_marker = meta::AsInt(rows[0][2]) != 0;
      EL_RETURN_IF_ERROR(impl_->Release(txn, meta::AsText(rows[0][3]), &unlink));
      EL_RETURN_IF_ERROR(txn.Execute("DELETE FROM s3_objects WHERE seq = ?", {rows[0][0]}).status());
      if (meta::AsInt(rows[0][1]) != 0) {
        EL_RETURN_IF_ERROR(txn.Execute("UPDATE s3_objects SET latest = 1 WHERE seq = (SELECT MAX(seq) FROM s3_objects "
                                       "WHERE bucket = ? AND key = ?)",
                                       {bucket, key})
                               .status());
      }
      return Status::Ok();
    }
    if (versioning.empty()) {
      // Unversioned: the object goes.
      EL_ASSIGN_OR_RETURN(auto rows,
                          txn.Query("SELECT seq, blobs FROM s3_objects WHERE bucket = ? AND key = ?", {bucket, key}));
      for (const auto& r : rows) {
        EL_RETURN_IF_ERROR(impl_->Release(txn, meta::AsText(r[1]), &unlink));
        EL_RETURN_IF_ERROR(txn.Execute("DELETE FROM s3_objects WHERE seq = ?", {r[0]}).status());
      }
      return Status::Ok();
    }
    // Versioned: a delete marker becomes current (with Suspended, as the "null" version).
    out.delete_marker = true;
    out.version_id = versioning == "Enabled" ? NewVersionId() : "null";
    EL_RETURN_IF_ERROR(impl_->MakeRoom(txn, bucket, key, out.version_id, &unlink));
    return txn
        .Execute("INSERT INTO s3_objects(bucket, key, version_id, latest, delete_marker, size, etag, "
                 "last_modified_ms, meta, blobs) VALUES (?, ?, ?, 1, 1, 0, '', ?, '{}', '[]')",
                 {bucket, key, out.version_id, impl_->NowMs()})
        .status();
  });
  EL_RETURN_IF_ERROR(s);
  impl_->UnlinkLater(unlink);
  return out;
}

Status ObjectStore::SetObjectTags(const std::string& bucket, const std::string& key, const std::string& version_id,
                                  const std::map<std::string, std::string>& tags, std::string* version_out) {
  return impl_->meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_RETURN_IF_ERROR(impl_->RequireBucket(txn, bucket, nullptr));
    std::string sql = "SELECT seq, meta, version_id, delete_marker FROM s3_objects WHERE bucket = ? AND key = ? AND ";
    std::vector<meta::Row> rows;
    if (version_id.empty()) {
      EL_ASSIGN_OR_RETURN(rows, txn.Query(sql + "latest = 1", {bucket, key}));
    } else {
      EL_ASSIGN_OR_RETURN(rows, txn.Query(sql + "version_id = ?", {bucket, key, version_id}));
    }
    if (rows.empty() || (version_id.empty() && meta::AsInt(rows[0][3]) != 0)) {
      return version_id.empty() ? NoSuchKey() : NoSuchVersion();
    }
    if (meta::AsInt(rows[0][3]) != 0) {
      return Status::FailedPrecondition("The specified method is not allowed against this resource.")
          .WithType("MethodNotAllowed");
    }
    ObjectAttributes a = AttributesFromJson(meta::AsText(rows[0][1]));
    a.tags = tags;
    if (version_out) *version_out = meta::AsText(rows[0][2]);
    return txn.Execute("UPDATE s3_objects SET meta = ? WHERE seq = ?", {AttributesToJson(a).dump(), rows[0][0]})
        .status();
  });
}

Result<UploadInfo> ObjectStore::CreateUpload(const std::string& bucket, const std::string& key,
                                            ObjectAttributes attributes) {
  UploadInfo u;
  u.upload_id = NewVersionId() + NewVersionId();
  u.key = key;
  u.initiated_ms = impl_->NowMs();
  u.attributes = std::move(attributes);
  EL_RETURN_IF_ERROR(impl_->meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_RETURN_IF_ERROR(impl_->RequireBucket(txn, bucket, nullptr));
    return txn
        .Execute("INSERT INTO s3_uploads(upload_id, bucket, key, initiated_ms, meta) VALUES (?, ?, ?, ?, ?)",
                 {u.upload_id, bucket, key, u.initiated_ms, AttributesToJson(u.attributes).dump()})
        .status();
  }));
  return u;
}

Result<UploadInfo> ObjectStore::GetUpload(const std::string& bucket, const std::string& key,
                                          const std::string& upload_id) const {
  EL_RETURN_IF_ERROR(GetBucket(bucket).status());
  EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query("SELECT initiated_ms, meta FROM s3_uploads WHERE upload_id = ? AND "
                                                   "bucket = ? AND key = ?",
                                                   {upload_id, bucket, key}));
  if (rows.empty()) return NoSuchUpload();
  return UploadInfo{upload_id, key, meta::AsInt(rows[0][0]), AttributesFromJson(meta::AsText(rows[0][1]))};
}

Result<PartInfo> ObjectStore::PutPart(const std::string& bucket, const std::string& key, const std::string& upload_id,
                                      int part_number, std::unique_ptr<BlobWriter> blob, const std::string& etag,
                                      const std::string& checksum) {
  auto* writer = static_cast<BlobStore::Writer*>(blob.get());  // NewBlob made it
  const std::string id = writer->id();
  EL_RETURN_IF_ERROR(writer->Commit());
  PartInfo p{part_number, writer->size(), etag, impl_->NowMs(), checksum};
  std::vector<std::string> unlink;
  Status s = impl_->meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    unlink.clear();
    EL_ASSIGN_OR_RETURN(auto up, txn.Query("SELECT 1 FROM s3_uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
                                           {upload_id, bucket, key}));
    if (up.empty()) return NoSuchUpload();
    EL_ASSIGN_OR_RETURN(auto old, txn.Query("SELECT blob FROM s3_parts WHERE upload_id = ? AND part_number = ?",
                                            {upload_id, int64_t{part_number}}));
    for (const auto& r : old) {
      json one = json::array({json::array({meta::AsText(r[0]), 0})});
      EL_RETURN_IF_ERROR(impl_->Release(txn, one.dump(), &unlink));
    }
    EL_RETURN_IF_ERROR(txn.Execute("INSERT INTO s3_blobs(id, size, tier, refs) VALUES (?, ?, 'hot', 1)",
                                   {id, static_cast<int64_t>(p.size)})
                           .status());
    return txn
        .Execute("INSERT OR REPLACE INTO s3_parts(upload_id, part_number, size, etag, last_modified_ms, checksum, "
                 "blob) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 {upload_id, int64_t{part_number}, static_cast<int64_t>(p.size), etag, p.last_modified_ms, checksum,
                  id})
        .status();
  });
  EL_RETURN_IF_ERROR(impl_->Settle(s, id, unlink));
  return p;
}

Result<std::vector<PartInfo>> ObjectStore::ListParts(const std::string& bucket, const std::string& key,
                                                     const std::string& upload_id, int after_part, int max_parts,
                                                     bool* truncated) const {
  EL_RETURN_IF_ERROR(GetUpload(bucket, key, upload_id).status());
  EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query("SELECT part_number, size, etag, last_modified_ms, checksum FROM "
                                                   "s3_parts WHERE upload_id = ? AND part_number > ? ORDER BY "
                                                   "part_number LIMIT ?",
                                                   {upload_id, int64_t{after_part}, int64_t{max_parts} + 1}));
  std::vector<PartInfo> out;
  for (const auto& r : rows) {
    out.push_back({static_cast<int>(meta::AsInt(r[0])), static_cast<uint64_t>(meta::AsInt(r[1])), meta::AsText(r[2]),
                   meta::AsInt(r[3]), meta::AsText(r[4])});
  }
  if (truncated) *truncated = static_cast<int>(out.size()) > max_parts;
  if (static_cast<int>(out.size()) > max_parts) out.resize(static_cast<size_t>(max_parts));
  return out;
}

Status ObjectStore::AbortUpload(const std::string& bucket, const std::string& key, const std::string& upload_id) {
  std::vector<std::string> unlink;
  EL_RETURN_IF_ERROR(impl_->meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    unlink.clear();
    EL_RETURN_IF_ERROR(impl_->RequireBucket(txn, bucket, nullptr));
    EL_ASSIGN_OR_RETURN(auto up, txn.Query("SELECT 1 FROM s3_uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
                                           {upload_id, bucket, key}));
    if (up.empty()) return NoSuchUpload();
    EL_ASSIGN_OR_RETURN(auto parts, txn.Query("SELECT blob FROM s3_parts WHERE upload_id = ?", {upload_id}));
    for (const auto& r : parts) {
      EL_RETURN_IF_ERROR(impl_->Release(txn, json::array({json::array({meta::AsText(r[0]), 0})}).dump(), &unlink));
    }
    EL_RETURN_IF_ERROR(txn.Execute("DELETE FROM s3_parts WHERE upload_id = ?", {upload_id}).status());
    return txn.Execute("DELETE FROM s3_uploads WHERE upload_id = ?", {upload_id}).status();
  }));
  impl_->UnlinkLater(unlink);
  return Status::Ok();
}

Result<ObjectVersion> ObjectStore::CompleteUpload(const std::string& bucket, const std::string& key,
                                                  const std::string& upload_id, const std::vector<CompletePart>& parts,
                                                  const std::string& etag, ObjectAttributes attributes,
                                                  uint64_t min_part_bytes, const WriteConditions& conditions) {
  ObjectVersion v;
  v.key = key;
  v.latest = true;
  v.etag = etag;
  v.last_modified_ms = impl_->NowMs();
  v.attributes = std::move(attributes);
  v.attributes.parts_count = static_cast<int>(parts.size());
  std::vector<std::string> unlink;
  Status s = impl_->meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    unlink.clear();
    std::string versioning;
    EL_RETURN_IF_ERROR(impl_->RequireBucket(txn, bucket, &versioning));
    EL_ASSIGN_OR_RETURN(auto up, txn.Query("SELECT 1 FROM s3_uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
                                           {upload_id, bucket, key}));
    if (up.empty()) return NoSuchUpload();
    EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT part_number, size, etag, blob FROM s3_parts WHERE upload_id = ?",
                                             {upload_id}));
    std::map<int, std::tuple<uint64_t, std::string, std::string>> stored;
    for (const auto& r : rows) {
      stored[static_cast<int>(meta::AsInt(r[0]))] = {static_cast<uint64_t>(meta::AsInt(r[1])), meta::AsText(r[2]),
                                                     meta::AsText(r[3])};
    }
    json blobs = json::array();
    std::set<std::string> used;
    v.size = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      auto it = stored.find(parts[i].part_number);
      auto strip = [](std::string e) {
        if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
        return e;
      };
      if (it == stored.end() || strip(std::get<1>(it->second)) != strip(parts[i].etag)) {
        return Status::InvalidArgument(
                   "One or more of the specified parts could not be found. The part may not have been uploaded, or "
                   "the specified entity tag may not match the part's entity tag.")
            .WithType("InvalidPart");
      }
      const uint64_t size = std::get<0>(it->second);
      if (i + 1 < parts.size() && size < min_part_bytes) {
        return Status::InvalidArgument("Your proposed upload is smaller than the minimum allowed size")
            .WithType("EntityTooSmall");
      }
      v.size += size;
      blobs.push_back(json::array({std::get<2>(it->second), size}));
      used.insert(std::get<2>(it->second));
    }
    // Parts not named are dropped.
    for (const auto& [number, part] : stored) {
      if (!used.count(std::get<2>(part))) {
        EL_RETURN_IF_ERROR(impl_->Release(txn, json::array({json::array({std::get<2>(part), 0})}).dump(), &unlink));
      }
    }
    EL_RETURN_IF_ERROR(impl_->CheckConditions(txn, bucket, key, conditions));
    v.version_id = versioning == "Enabled" ? NewVersionId() : "null";
    EL_RETURN_IF_ERROR(impl_->MakeRoom(txn, bucket, key, v.version_id, &unlink));
    EL_RETURN_IF_ERROR(txn.Execute("DELETE FROM s3_parts WHERE upload_id = ?", {upload_id}).status());
    EL_RETURN_IF_ERROR(txn.Execute("DELETE FROM s3_uploads WHERE upload_id = ?", {upload_id}).status());
    return impl_->InsertVersion(txn, bucket, v, blobs);
  });
  EL_RETURN_IF_ERROR(s);
  impl_->UnlinkLater(unlink);
  return v;
}

Result<UploadListResult> ObjectStore::ListUploads(const std::string& bucket, const std::string& prefix,
                                                  const std::string& delimiter, const std::string& key_marker,
                                                  const std::string& upload_id_marker, int max_uploads) const {
  EL_RETURN_IF_ERROR(GetBucket(bucket).status());
  // Uploads in progress are few: read them in order and page here.
  EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query("SELECT upload_id, key, initiated_ms, meta FROM s3_uploads WHERE "
                                                   "bucket = ? ORDER BY key, initiated_ms, upload_id",
                                                   {bucket}));
  UploadListResult out;
  int taken = 0;
  std::string last_prefix;
  bool skipping = !key_marker.empty();
  for (const auto& r : rows) {
    UploadInfo u{meta::AsText(r[0]), meta::AsText(r[1]), meta::AsInt(r[2]), AttributesFromJson(meta::AsText(r[3]))};
    if (u.key.compare(0, prefix.size(), prefix) != 0) continue;
    if (skipping) {
      if (u.key < key_marker) continue;
      if (u.key == key_marker) {
        // The marker key's uploads up to the marker upload (all of them without one) were listed before.
        if (!upload_id_marker.empty() && u.upload_id == upload_id_marker) skipping = false;
        continue;
      }
      skipping = false;
    }
    const std::string cp = CommonPrefixOf(u.key, prefix, delimiter);
    if (!cp.empty() && (cp == last_prefix || cp == key_marker)) continue;
    if (taken >= max_uploads) {
      out.truncated = true;
      return out;
    }
    ++taken;
    if (!cp.empty()) {
      out.common_prefixes.push_back(cp);
      last_prefix = cp;
      out.next_key_marker = cp;
      out.next_upload_id_marker.clear();
      continue;
    }
    out.next_key_marker = u.key;
    out.next_upload_id_marker = u.upload_id;
    out.uploads.push_back(std::move(u));
  }
  return out;
}

Result<std::vector<uint64_t>> ObjectStore::PartSizes(const std::string& bucket, const ObjectVersion& version) const {
  EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query("SELECT blobs FROM s3_objects WHERE bucket = ? AND key = ? AND "
                                                   "version_id = ?",
                                                   {bucket, version.key, version.version_id}));
  if (rows.empty()) return NoSuchKey();
  std::vector<uint64_t> out;
  json blobs = json::parse(meta::AsText(rows[0][0]), nullptr, false);
  if (blobs.is_array()) {
    for (const auto& b : blobs) out.push_back(b[1].get<uint64_t>());
  }
  return out;
}

namespace {

json RuleToJson(const LifecycleRule& r) {
  json j = {{"ID", r.id}, {"Enabled", r.enabled}, {"Prefix", r.prefix}, {"Tags", r.tags},
            {"ExpiredObjectDeleteMarker", r.expired_object_delete_marker}};
  auto opt = [&](const char* k, const auto& v) {
    if (v) j[k] = *v;
  };
  opt("SizeGreaterThan", r.size_greater_than);
  opt("SizeLessThan", r.size_less_than);
  opt("ExpirationDays", r.expiration_days);
  opt("ExpirationDate", r.expiration_date_ms);
  opt("NoncurrentDays", r.noncurrent_days);
  opt("NewerNoncurrentVersions", r.newer_noncurrent_versions);
  opt("AbortDays", r.abort_incomplete_upload_days);
  json t = json::array();
  for (const auto& tr : r.transitions) {
    json one = {{"StorageClass", tr.storage_class}};
    if (tr.days) one["Days"] = *tr.days;
    if (tr.date_ms) one["Date"] = *tr.date_ms;
    t.push_back(one);
  }
  j["Transitions"] = t;
  json nt = json::array();
  for (const auto& tr : r.noncurrent_transitions) nt.push_back({{"Days", tr.days}, {"StorageClass", tr.storage_class}});
  j["NoncurrentTransitions"] = nt;
  return j;
}

LifecycleRule RuleFromJson(const json& j) {
  LifecycleRule r;
  r.id = j.value("ID", "");
  r.enabled = j.value("Enabled", true);
  r.prefix = j.value("Prefix", "");
  if (j.contains("Tags") && j["Tags"].is_object()) r.tags = j["Tags"].get<std::map<std::string, std::string>>();
  r.expired_object_delete_marker = j.value("ExpiredObjectDeleteMarker", false);
  if (j.contains("SizeGreaterThan")) r.size_greater_than = j["SizeGreaterThan"].get<uint64_t>();
  if (j.contains("SizeLessThan")) r.size_less_than = j["SizeLessThan"].get<uint64_t>();
  if (j.contains("ExpirationDays")) r.expiration_days = j["ExpirationDays"].get<int>();
  if (j.contains("ExpirationDate")) r.expiration_date_ms = j["ExpirationDate"].get<int64_t>();
  if (j.contains("NoncurrentDays")) r.noncurrent_days = j["NoncurrentDays"].get<int>();
  if (j.contains("NewerNoncurrentVersions")) r.newer_noncurrent_versions = j["NewerNoncurrentVersions"].get<int>();
  if (j.contains("AbortDays")) r.abort_incomplete_upload_days = j["AbortDays"].get<int>();
  if (j.contains("Transitions") && j["Transitions"].is_array()) {
    for (const auto& t : j["Transitions"]) {
      LifecycleRule::Transition tr;
      tr.storage_class = t.value("StorageClass", "");
      if (t.contains("Days")) tr.days = t["Days"].get<int>();
      if (t.contains("Date")) tr.date_ms = t["Date"].get<int64_t>();
      r.transitions.push_back(tr);
    }
  }
  if (j.contains("NoncurrentTransitions") && j["NoncurrentTransitions"].is_array()) {
    for (const auto& t : j["NoncurrentTransitions"]) {
      r.noncurrent_transitions.push_back({t.value("Days", 0), t.value("StorageClass", "")});
    }
  }
  return r;
}

constexpr int64_t kDayMs = 86'400'000;

// When `days` after `from_ms` falls due: S3 rounds up to the next midnight UTC.
int64_t DueAfterDays(int64_t from_ms, int days) {
  int64_t t = from_ms + int64_t{days} * kDayMs;
  return (t + kDayMs - 1) / kDayMs * kDayMs;
}

bool RuleMatches(const LifecycleRule& r, const ObjectVersion& v) {
  if (v.key.compare(0, r.prefix.size(), r.prefix) != 0) return false;
  for (const auto& [k, val] : r.tags) {
    auto it = v.attributes.tags.find(k);
    if (it == v.attributes.tags.end() || it->second != val) return false;
  }
  if (r.size_greater_than && !(v.size > *r.size_greater_than)) return false;
  if (r.size_less_than && !(v.size < *r.size_less_than)) return false;
  return true;
}

}  // namespace

Status ObjectStore::SetLifecycle(const std::string& bucket, const std::vector<LifecycleRule>& rules) {
  if (rules.empty()) return SetBucketConfig(bucket, "lifecycle_rules", "");
  json all = json::array();
  for (const auto& r : rules) all.push_back(RuleToJson(r));
  return SetBucketConfig(bucket, "lifecycle_rules", all.dump());
}

Result<std::vector<LifecycleRule>> ObjectStore::GetLifecycle(const std::string& bucket) const {
  auto stored = GetBucketConfig(bucket, "lifecycle_rules");
  if (!stored.ok()) {
    if (stored.status().code() == StatusCode::kNotFound && stored.status().type().empty()) {
      return std::vector<LifecycleRule>{};
    }
    return stored.status();
  }
  std::vector<LifecycleRule> out;
  json all = json::parse(*stored, nullptr, false);
  if (all.is_array()) {
    for (const auto& j : all) out.push_back(RuleFromJson(j));
  }
  return out;
}

Result<uint64_t> ObjectStore::Impl::MoveToCold(int64_t seq, const std::string& blobs_json,
                                               const std::string& storage_class) {
  json list = json::parse(blobs_json, nullptr, false);
  uint64_t moved = 0;
  std::vector<std::string> hot_copies;
  if (list.is_array()) {
    for (const auto& b : list) {
      const std::string id = b[0].get<std::string>();
      EL_ASSIGN_OR_RETURN(auto tier, meta.Query("SELECT tier FROM s3_blobs WHERE id = ?", {id}));
      if (tier.empty() || meta::AsText(tier[0][0]) == TierName(Tier::kCold)) continue;
      EL_RETURN_IF_ERROR(blobs->Copy(id, Tier::kHot, Tier::kCold));
      moved += b[1].get<uint64_t>();
      hot_copies.push_back(id);
    }
  }
  EL_RETURN_IF_ERROR(meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    for (const auto& id : hot_copies) {
      EL_RETURN_IF_ERROR(txn.Execute("UPDATE s3_blobs SET tier = 'cold' WHERE id = ?", {id}).status());
    }
    EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT meta FROM s3_objects WHERE seq = ?", {seq}));
    if (rows.empty()) return Status::Ok();
    ObjectAttributes a = AttributesFromJson(meta::AsText(rows[0][0]));
    a.storage_class = storage_class;
    return txn.Execute("UPDATE s3_objects SET meta = ? WHERE seq = ?", {AttributesToJson(a).dump(), seq}).status();
  }));
  for (const auto& id : hot_copies) blobs->Remove(id, Tier::kHot).IgnoreError();
  return moved;
}

namespace {

// The transition of `rule` due for a version created (or made noncurrent) at
// `from_ms`: the furthest along of those due, so that an object never moves
// back to an earlier class; nullptr when none is due.
const LifecycleRule::Transition* DueTransition(const LifecycleRule& rule, int64_t from_ms, int64_t now) {
  const LifecycleRule::Transition* best = nullptr;
  int64_t best_due = 0;
  for (const auto& t : rule.transitions) {
    const int64_t due = t.days ? DueAfterDays(from_ms, *t.days) : t.date_ms.value_or(INT64_MAX);
    if (due <= now && (!best || due >= best_due)) {
      best = &t;
      best_due = due;
    }
  }
  return best;
}

}  // namespace

Result<LifecycleReport> ObjectStore::ApplyLifecycle() {
  LifecycleReport report;
  const int64_t now = impl_->NowMs();
  // One failed item (a blob gone, an upload completed meanwhile) is logged and skipped.
  auto tolerate = [](const Status& s, const std::string& what) {
    if (!s.ok()) spdlog::warn("objects: lifecycle: {}: {}", what, s.ToString());
    return s.ok();
  };
  for (const auto& bucket : ListBuckets()) {
    EL_ASSIGN_OR_RETURN(auto rules, GetLifecycle(bucket.name));
    for (const auto& rule : rules) {
      if (!rule.enabled) continue;
      // Every version under the rule's prefix, a page of keys at a time, newest version first.
      const std::string end = rule.prefix.empty() ? std::string() : PrefixSuccessor(rule.prefix);
      std::string after = rule.prefix;
      bool inclusive = true;
      for (bool more = true; more;) {
        constexpr int64_t kPage = 2000;
        std::string sql = std::string("SELECT ") + kVersionColumns + " FROM s3_objects WHERE bucket = ? AND key " +
                          (inclusive ? ">=" : ">") + " ?";
        std::vector<meta::Value> params = {bucket.name, after};
        BelowPrefixEnd(end, &sql, &params);
        sql += " ORDER BY key, seq DESC LIMIT ?";
        params.push_back(kPage);
        EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query(sql, params));
        more = static_cast<int64_t>(rows.size()) == kPage;
        // A full page may end inside a key: leave that key to the next page (unless it is all there is).
        size_t usable = rows.size();
        if (more) {
          const std::string last = meta::AsText(rows.back()[0]);
          while (usable > 0 && meta::AsText(rows[usable - 1][0]) == last) --usable;
          if (usable == 0) usable = rows.size();
        }
        if (usable == 0) break;
        after = meta::AsText(rows[usable - 1][0]);
        inclusive = false;
        for (size_t i = 0; i < usable;) {
          std::vector<ObjectVersion> versions;
          std::vector<int64_t> seqs;
          std::vector<std::string> blobs;
          const std::string key = meta::AsText(rows[i][0]);
          for (; i < usable && meta::AsText(rows[i][0]) == key; ++i) {
            versions.push_back(VersionFromRow(rows[i]));
            blobs.push_back(meta::AsText(rows[i][8]));
            seqs.push_back(meta::AsInt(rows[i][9]));
          }
          ApplyRuleToKey(bucket.name, rule, versions, seqs, blobs, now, &report, tolerate);
        }
      }
      if (rule.abort_incomplete_upload_days) {
        EL_ASSIGN_OR_RETURN(auto uploads, impl_->meta.Query("SELECT upload_id, key, initiated_ms FROM s3_uploads "
                                                            "WHERE bucket = ?",
                                                            {bucket.name}));
        for (const auto& u : uploads) {
          const std::string key = meta::AsText(u[1]);
          if (key.compare(0, rule.prefix.size(), rule.prefix) != 0) continue;
          if (DueAfterDays(meta::AsInt(u[2]), *rule.abort_incomplete_upload_days) > now) continue;
          if (tolerate(AbortUpload(bucket.name, key, meta::AsText(u[0])), "aborting an upload of " + key)) {
            ++report.uploads_aborted;
          }
        }
      }
    }
  }
  return report;
}

void ObjectStore::ApplyRuleToKey(const std::string& bucket, const LifecycleRule& rule,
                                 const std::vector<ObjectVersion>& versions, const std::vector<int64_t>& seqs,
                                 const std::vector<std::string>& blobs, int64_t now, LifecycleReport* report,
                                 const std::function<bool(const Status&, const std::string&)>& tolerate) {
  const std::string& key = versions[0].key;
  const ObjectVersion& current = versions[0];
  // Every change below is made only if the version it looked at is still there and unchanged.
  auto remove = [&](size_t k) {
    auto done = DeleteIfUnchanged(bucket, key, versions[k].version_id, seqs[k]);
    return tolerate(done.status(), "removing " + key) && *done;
  };
  std::vector<bool> removed(versions.size(), false);
  // Noncurrent versions: due some days after a newer version replaced them.
  if (rule.noncurrent_days) {
    int kept = 0;
    for (size_t k = 1; k < versions.size(); ++k) {
      if (versions[k].delete_marker || !RuleMatches(rule, versions[k])) continue;
      if (rule.newer_noncurrent_versions && kept < *rule.newer_noncurrent_versions) {
        ++kept;
        continue;
      }
      if (DueAfterDays(versions[k - 1].last_modified_ms, *rule.noncurrent_days) <= now && remove(k)) {
        removed[k] = true;
        ++report->noncurrent_removed;
      }
    }
  }
  for (size_t k = 1; k < versions.size() && !rule.noncurrent_transitions.empty(); ++k) {
    if (removed[k] || versions[k].delete_marker || !RuleMatches(rule, versions[k])) continue;
    const LifecycleRule::NoncurrentTransition* best = nullptr;
    for (const auto& t : rule.noncurrent_transitions) {
      if (DueAfterDays(versions[k - 1].last_modified_ms, t.days) <= now && (!best || t.days >= best->days)) best = &t;
    }
    if (!best || versions[k].attributes.storage_class == best->storage_class) continue;
    auto bytes = impl_->MoveToCold(seqs[k], blobs[k], best->storage_class);
    if (tolerate(bytes.status(), "moving " + key)) {
      ++report->transitioned;
      report->transitioned_bytes += *bytes;
    }
  }
  if (current.delete_marker) {
    // A delete marker with nothing behind it has expired.
    if (rule.expired_object_delete_marker && versions.size() == 1 && current.latest && remove(0)) {
      ++report->markers_removed;
    }
    return;
  }
  if (!current.latest || !RuleMatches(rule, current)) return;
  const bool expire = (rule.expiration_days && DueAfterDays(current.last_modified_ms, *rule.expiration_days) <= now) ||
                      (rule.expiration_date_ms && *rule.expiration_date_ms <= now);
  if (expire) {
    // The current version expires: deleted, or (versioned) hidden by a delete marker.
    auto done = DeleteIfUnchanged(bucket, key, "", seqs[0]);
    if (tolerate(done.status(), "expiring " + key) && *done) ++report->expired;
    return;
  }
  const LifecycleRule::Transition* t = DueTransition(rule, current.last_modified_ms, now);
  if (!t || current.attributes.storage_class == t->storage_class) return;
  auto bytes = impl_->MoveToCold(seqs[0], blobs[0], t->storage_class);
  if (tolerate(bytes.status(), "moving " + key)) {
    ++report->transitioned;
    report->transitioned_bytes += *bytes;
  }
}

Result<ListResult> ObjectStore::List(const std::string& bucket, const ListRequest& request) const {
  EL_RETURN_IF_ERROR(GetBucket(bucket).status());
  ListResult out;
  const int max_keys = std::max(0, request.max_keys);
  // The scan resumes after `cursor` (or at it, when `inclusive`).
  std::string cursor = request.start_after;
  bool inclusive = false;
  if (request.start_after_prefix) {
    cursor = PrefixSuccessor(request.start_after);
    inclusive = true;
    if (cursor.empty()) return out;
  }
  if (cursor < request.prefix) {
    cursor = request.prefix;
    inclusive = true;
  }
  const std::string end = request.prefix.empty() ? std::string() : PrefixSuccessor(request.prefix);
  const int64_t batch = 256;
  int taken = 0;
  for (;;) {
    std::string sql = std::string("SELECT ") + kVersionColumns +
                      " FROM s3_objects WHERE bucket = ? AND latest = 1 AND delete_marker = 0 AND key " +
                      (inclusive ? ">=" : ">") + " ?";
    std::vector<meta::Value> params = {bucket, cursor};
    BelowPrefixEnd(end, &sql, &params);
    sql += " ORDER BY key LIMIT ?";
    params.push_back(batch);
    EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query(sql, params));
    bool jumped = false;
    for (const auto& r : rows) {
      std::string key = meta::AsText(r[0]);
      const std::string prefix_out = CommonPrefixOf(key, request.prefix, request.delimiter);
      if (taken >= max_keys) {
        out.truncated = true;
        return out;
      }
      ++taken;
      if (!prefix_out.empty()) {
        out.common_prefixes.push_back(prefix_out);
        out.last = prefix_out;
        out.last_is_prefix = true;
        // Skip every other key under this prefix.
        cursor = PrefixSuccessor(prefix_out);
        inclusive = true;
        jumped = true;
        if (cursor.empty()) return out;
        break;
      }
      out.objects.push_back(VersionFromRow(r));
      out.last = key;
      out.last_is_prefix = false;
      cursor = std::move(key);
      inclusive = false;
    }
    if (!jumped && static_cast<int64_t>(rows.size()) < batch) return out;
  }
}

Result<VersionListResult> ObjectStore::ListVersions(const std::string& bucket,
                                                    const VersionListRequest& request) const {
  EL_RETURN_IF_ERROR(GetBucket(bucket).status());
  VersionListResult out;
  const int max_keys = std::max(0, request.max_keys);
  // Versions of a key come newest first (largest seq first).
  std::string key_cursor = request.key_marker;
  int64_t seq_cursor = -1;  // within key_cursor: versions older than this seq; -1: all of the key is done
  if (!request.key_marker.empty() && !request.version_id_marker.empty()) {
    EL_ASSIGN_OR_RETURN(auto marker, impl_->meta.Query("SELECT seq FROM s3_objects WHERE bucket = ? AND key = ? AND "
                                                       "version_id = ?",
                                                       {bucket, request.key_marker, request.version_id_marker}));
    if (!marker.empty()) seq_cursor = meta::AsInt(marker[0][0]);
  }
  if (!request.key_marker.empty() && request.version_id_marker.empty() &&
      CommonPrefixOf(request.key_marker, request.prefix, request.delimiter) == request.key_marker) {
    // A NextKeyMarker that was a common prefix resumes after everything under it.
    key_cursor = PrefixSuccessor(request.key_marker);
    seq_cursor = std::numeric_limits<int64_t>::max();
    if (key_cursor.empty()) return out;
  }
  if (key_cursor < request.prefix) {
    key_cursor = request.prefix;
    seq_cursor = std::numeric_limits<int64_t>::max();  // the prefix itself may be a key
  }
  const std::string end = request.prefix.empty() ? std::string() : PrefixSuccessor(request.prefix);
  int taken = 0;
  std::string last_key, last_version;
  for (;;) {
    std::string sql = std::string("SELECT ") + kVersionColumns +
                      " FROM s3_objects WHERE bucket = ? AND (key > ? OR (key = ? AND seq < ?))";
    std::vector<meta::Value> params = {bucket, key_cursor, key_cursor, seq_cursor};
    BelowPrefixEnd(end, &sql, &params);
    sql += " ORDER BY key, seq DESC LIMIT 256";
    EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query(sql, params));
    bool jumped = false;
    for (const auto& r : rows) {
      std::string key = meta::AsText(r[0]);
      const std::string prefix_out = CommonPrefixOf(key, request.prefix, request.delimiter);
      if (taken >= max_keys) {
        out.truncated = true;
        out.next_key_marker = last_key;
        out.next_version_id_marker = last_version;
        return out;
      }
      ++taken;
      if (!prefix_out.empty()) {
        out.common_prefixes.push_back(prefix_out);
        last_key = prefix_out;
        last_version.clear();
        std::string next = PrefixSuccessor(prefix_out);
        if (next.empty()) return out;
        // Everything from `next` on: any key > the largest key under the prefix.
        key_cursor = next;
        seq_cursor = std::numeric_limits<int64_t>::max();
        jumped = true;
        break;
      }
      ObjectVersion v = VersionFromRow(r);
      last_key = v.key;
      last_version = v.version_id;
      key_cursor = v.key;
      seq_cursor = meta::AsInt(r[9]);
      out.versions.push_back(std::move(v));
    }
    if (!jumped && rows.size() < 256) return out;
  }
}

}  // namespace eventlake::objects
