#include "objects/object_store.h"

#include <gtest/gtest.h>

#include "common/test_dir.h"
#include "io/fault_injection_file_system.h"

#include <functional>
#include <map>
#include <utility>

namespace eventlake::objects {
namespace {

class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    meta_ = std::move(*meta::OpenSqliteStore(FreshTestDir() + "/meta.db"));
    ASSERT_TRUE(meta_->Migrate(ObjectStore::Migrations()).ok());
    ASSERT_TRUE(fs_.CreateDirs("/data").ok());
    Reopen();
  }
  void Reopen() {
    store_.reset();
    ObjectStoreOptions o;
    o.data_dir = "/data";
    o.zones = {"raw", "processed"};
    o.lifecycle_interval = std::chrono::milliseconds(0);  // passes run when the test asks
    auto s = ObjectStore::Open(*meta_, fs_, clock_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  Result<ObjectVersion> Put(const std::string& bucket, const std::string& key, const std::string& data,
                            WriteConditions cond = {}) {
    auto blob = store_->NewBlob();
    EXPECT_TRUE(blob.ok());
    EXPECT_TRUE((*blob)->Write(data).ok());
    ObjectAttributes a;
    a.content_type = "text/plain";
    return store_->PutObject(bucket, key, std::move(*blob), "\"etag-" + data + "\"", a, cond);
  }
  std::string Get(const std::string& bucket, const std::string& key, const std::string& version = "",
                  uint64_t offset = 0, uint64_t length = UINT64_MAX) {
    auto v = store_->Head(bucket, key, version);
    if (!v.ok() || v->delete_marker) return "<missing>";
    auto r = store_->Read(bucket, *v, offset, std::min<uint64_t>(length, v->size - offset));
    EXPECT_TRUE(r.ok());
    std::string out, buf(7, '\0');
    for (;;) {
      auto n = (*r)->Read(buf.data(), buf.size());
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      out.append(buf.data(), *n);
    }
    return out;
  }
  // Object files on the hot tier.
  size_t BlobFiles() {
    size_t n = 0;
    auto dirs = fs_.List("/data/objects/blobs");
    if (!dirs.ok()) return 0;
    for (const auto& d : *dirs) {
      auto files = fs_.List("/data/objects/blobs/" + d);
      if (files.ok()) n += files->size();
    }
    return n;
  }
  std::vector<std::string> Keys(const std::string& bucket, ListRequest req) {
    std::vector<std::string> out;
    auto page = store_->List(bucket, req);
    EXPECT_TRUE(page.ok());
    for (const auto& o : page->objects) out.push_back(o.key);
    for (const auto& p : page->common_prefixes) out.push_back("P:" + p);
    return out;
  }

  io::FaultInjectionFileSystem fs_;
  ManualClock clock_{Clock::TimePoint(std::chrono::seconds(1'700'000'000))};
  std::unique_ptr<meta::Store> meta_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(ObjectStoreTest, ZonesExistAndBucketsComeAndGo) {
  auto buckets = store_->ListBuckets();
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[0].name, "processed");
  EXPECT_TRUE(store_->CreateBucket("b", "us-east-1").ok());
  EXPECT_EQ(store_->CreateBucket("b", "us-east-1").type(), "BucketAlreadyOwnedByYou");
  ASSERT_TRUE(Put("b", "k", "v").ok());
  EXPECT_EQ(store_->DeleteBucket("b").type(), "BucketNotEmpty");
  ASSERT_TRUE(store_->DeleteObject("b", "k", "").ok());
  EXPECT_TRUE(store_->DeleteBucket("b").ok());
  EXPECT_EQ(store_->GetBucket("b").status().type(), "NoSuchBucket");
  EXPECT_EQ(Put("b", "k", "v").status().type(), "NoSuchBucket");
}

TEST_F(ObjectStoreTest, AwkwardKeysAreStoredExactlyAndNeverCollide) {
  const std::vector<std::string> keys = {"a/b", "a/b/c", "../../etc/passwd", "//x", "/lead", "sp ace", "ünï/cödé",
                                         "a", std::string(1024, 'k'), "dot/./dot", "a//b"};
  for (const auto& k : keys) ASSERT_TRUE(Put("raw", k, "data of " + k).ok()) << k;
  for (const auto& k : keys) EXPECT_EQ(Get("raw", k), "data of " + k);
  EXPECT_FALSE(fs_.Exists("/etc/passwd"));
  ListRequest all;
  EXPECT_EQ(Keys("raw", all).size(), keys.size());
}

TEST_F(ObjectStoreTest, OverwriteReplacesAndFreesTheOldBytes) {
  ASSERT_TRUE(Put("raw", "k", "first").ok());
  ASSERT_TRUE(Put("raw", "k", "second").ok());
  EXPECT_EQ(Get("raw", "k"), "second");
  store_->WaitForRemovals();  // the old bytes go after the overwrite answers
  auto blobs = meta_->Query("SELECT COUNT(*) FROM s3_blobs");
  EXPECT_EQ(meta::AsInt((*blobs)[0][0]), 1);
  EXPECT_EQ(BlobFiles(), 1u);
  EXPECT_EQ(Get("raw", "k", "", 2, 3), "con");
}

TEST_F(ObjectStoreTest, ConditionalWritesCheckTheCurrentVersion) {
  WriteConditions none;
  none.if_none_match_any = true;
  ASSERT_TRUE(Put("raw", "k", "one", none).ok());
  EXPECT_EQ(Put("raw", "k", "two", none).status().type(), "PreconditionFailed");
  WriteConditions match;
  match.if_match = "\"etag-other\"";
  EXPECT_EQ(Put("raw", "k", "two", match).status().type(), "PreconditionFailed");
  match.if_match = "etag-one";  // with or without its quotes
  EXPECT_TRUE(Put("raw", "k", "two", match).ok());
  EXPECT_EQ(Get("raw", "k"), "two");
}

TEST_F(ObjectStoreTest, VersioningKeepsVersionsAndDeleteMarkers) {
  ASSERT_TRUE(Put("raw", "k", "unversioned").ok());
  ASSERT_TRUE(store_->SetVersioning("raw", "Enabled").ok());
  auto v1 = Put("raw", "k", "v1");
  auto v2 = Put("raw", "k", "v2");
  ASSERT_TRUE(v1.ok() && v2.ok());
  EXPECT_NE(v1->version_id, "null");
  EXPECT_NE(v1->version_id, v2->version_id);
  EXPECT_EQ(Get("raw", "k"), "v2");
  EXPECT_EQ(Get("raw", "k", v1->version_id), "v1");
  EXPECT_EQ(Get("raw", "k", "null"), "unversioned");

  auto del = store_->DeleteObject("raw", "k", "");
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE(del->delete_marker);
  EXPECT_TRUE(store_->Head("raw", "k", "")->delete_marker);
  EXPECT_TRUE(Keys("raw", {}).empty());
  auto versions = store_->ListVersions("raw", {});
  ASSERT_EQ(versions->versions.size(), 4u);  // marker, v2, v1, null: newest first
  EXPECT_TRUE(versions->versions[0].delete_marker);
  EXPECT_TRUE(versions->versions[0].latest);
  EXPECT_EQ(versions->versions[3].version_id, "null");

  // Removing the marker brings v2 back.
  ASSERT_TRUE(store_->DeleteObject("raw", "k", del->version_id).ok());
  EXPECT_EQ(Get("raw", "k"), "v2");

  // Paging through versions one at a time visits each once.
  VersionListRequest req;
  req.max_keys = 1;
  std::vector<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    auto page = store_->ListVersions("raw", req);
    ASSERT_TRUE(page.ok());
    for (const auto& v : page->versions) seen.push_back(v.version_id);
    if (!page->truncated) break;
    req.key_marker = page->next_key_marker;
    req.version_id_marker = page->next_version_id_marker;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{v2->version_id, v1->version_id, "null"}));

  ASSERT_TRUE(store_->SetVersioning("raw", "Suspended").ok());
  auto suspended = Put("raw", "k", "s");
  EXPECT_EQ(suspended->version_id, "null");  // replaces the old null version
  EXPECT_EQ(store_->ListVersions("raw", {})->versions.size(), 3u);
}

TEST_F(ObjectStoreTest, ListingHonoursPrefixDelimiterAndPaging) {
  for (const char* k : {"a.txt", "dir/1", "dir/2", "dir/sub/3", "dirt", "z/9"}) ASSERT_TRUE(Put("raw", k, "x").ok());
  ListRequest r;
  r.delimiter = "/";
  EXPECT_EQ(Keys("raw", r), (std::vector<std::string>{"a.txt", "dirt", "P:dir/", "P:z/"}));
  r.prefix = "dir/";
  EXPECT_EQ(Keys("raw", r), (std::vector<std::string>{"dir/1", "dir/2", "P:dir/sub/"}));
  r = {};
  r.max_keys = 2;
  auto page = store_->List("raw", r);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->last, "dir/1");
  r.start_after = page->last;
  EXPECT_EQ(Keys("raw", r), (std::vector<std::string>{"dir/2", "dir/sub/3"}));
  // Resuming after a common prefix skips everything under it.
  r = {};
  r.delimiter = "/";
  r.max_keys = 2;
  page = store_->List("raw", r);
  EXPECT_TRUE(page->truncated);
  EXPECT_TRUE(page->last_is_prefix);
  EXPECT_EQ(page->last, "dir/");
  r.start_after = page->last;
  r.start_after_prefix = true;
  EXPECT_EQ(Keys("raw", r), (std::vector<std::string>{"dirt", "P:z/"}));
}

TEST_F(ObjectStoreTest, ACrashLeavesTheOldOrTheNewObjectAndNoStrayFiles) {
  ASSERT_TRUE(Put("raw", "k", "old").ok());
  // An upload in progress when the machine stops.
  auto blob = store_->NewBlob();
  ASSERT_TRUE((*blob)->Write("half of the new").ok());
  fs_.Crash();
  blob->reset();
  fs_.Restart();
  Reopen();
  EXPECT_EQ(Get("raw", "k"), "old");
  EXPECT_TRUE(fs_.List("/data/objects/tmp")->empty());
  // A completed overwrite survives a crash whole.
  // The old bytes go after the overwrite answers; a crash before they do
  // leaves them to the next start, which removes them.
  ASSERT_TRUE(Put("raw", "k", "new").ok());
  fs_.Crash();
  fs_.Restart();
  Reopen();
  EXPECT_EQ(Get("raw", "k"), "new");
  store_->WaitForRemovals();
  EXPECT_EQ(BlobFiles(), 1u);
  EXPECT_EQ(meta::AsInt((*meta_->Query("SELECT COUNT(*) FROM s3_blobs"))[0][0]), 1);
}

TEST_F(ObjectStoreTest, LifecycleExpiresTransitionsAndAbortsOnTheClock) {
  LifecycleRule logs;
  logs.id = "logs";
  logs.prefix = "logs/";
  logs.expiration_days = 3;
  LifecycleRule archive;
  archive.id = "archive";
  archive.prefix = "archive/";
  archive.tags = {{"keep", "cold"}};
  archive.transitions.push_back({1, std::nullopt, "GLACIER"});
  archive.abort_incomplete_upload_days = 2;
  LifecycleRule big;
  big.id = "big";
  big.prefix = "sized/";
  big.size_greater_than = 4;
  big.expiration_days = 1;
  ASSERT_TRUE(store_->SetLifecycle("raw", {logs, archive, big}).ok());
  EXPECT_EQ(store_->GetLifecycle("raw")->size(), 3u);

  ASSERT_TRUE(Put("raw", "logs/a", "old log").ok());
  ASSERT_TRUE(Put("raw", "other/a", "kept").ok());
  ASSERT_TRUE(Put("raw", "sized/small", "1234").ok());
  ASSERT_TRUE(Put("raw", "sized/large", "12345").ok());
  ASSERT_TRUE(Put("raw", "archive/plain", "stays hot").ok());
  ASSERT_TRUE(Put("raw", "archive/tagged", "goes cold").ok());
  ASSERT_TRUE(store_->SetObjectTags("raw", "archive/tagged", "", {{"keep", "cold"}}, nullptr).ok());
  auto upload = store_->CreateUpload("raw", "archive/upload", {});
  ASSERT_TRUE(upload.ok());

  auto report = store_->ApplyLifecycle();  // nothing is due yet
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->expired + report->transitioned + report->uploads_aborted, 0);

  clock_.Advance(std::chrono::hours(49));  // past the next midnight after 1 day; 2 days for the upload
  report = store_->ApplyLifecycle();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->expired, 1);  // sized/large; logs/a needs 3 days
  EXPECT_EQ(report->transitioned, 1);
  EXPECT_EQ(report->transitioned_bytes, 9u);
  EXPECT_EQ(Get("raw", "sized/large"), "<missing>");
  EXPECT_EQ(Get("raw", "sized/small"), "1234");
  // The cold object reads the same under its key, from the cold tier.
  EXPECT_EQ(Get("raw", "archive/tagged"), "goes cold");
  EXPECT_EQ(store_->Head("raw", "archive/tagged", "")->attributes.storage_class, "GLACIER");
  EXPECT_EQ(store_->Head("raw", "archive/plain", "")->attributes.storage_class, "STANDARD");
  EXPECT_FALSE(fs_.List("/data/objects/cold/blobs")->empty());

  clock_.Advance(std::chrono::hours(26));  // past the midnight after 3 days
  report = store_->ApplyLifecycle();
  EXPECT_EQ(report->expired, 1);  // logs/a
  EXPECT_EQ(report->uploads_aborted, 1);
  EXPECT_EQ(store_->GetUpload("raw", "archive/upload", upload->upload_id).status().type(), "NoSuchUpload");
  EXPECT_EQ(Get("raw", "other/a"), "kept");
  EXPECT_EQ(store_->ApplyLifecycle()->transitioned, 0);  // done once

  // A restart finds the cold object where the metadata says it is.
  Reopen();
  EXPECT_EQ(Get("raw", "archive/tagged"), "goes cold");
}

TEST_F(ObjectStoreTest, LifecycleOfVersionsAndDeleteMarkers) {
  ASSERT_TRUE(store_->SetVersioning("raw", "Enabled").ok());
  LifecycleRule r;
  r.id = "versions";
  r.expiration_days = 10;
  r.noncurrent_days = 1;
  r.newer_noncurrent_versions = 1;
  r.expired_object_delete_marker = true;
  r.noncurrent_transitions.push_back({1, "STANDARD_IA"});
  ASSERT_TRUE(store_->SetLifecycle("raw", {r}).ok());
  ASSERT_TRUE(Put("raw", "k", "v1").ok());
  ASSERT_TRUE(Put("raw", "k", "v2").ok());
  ASSERT_TRUE(Put("raw", "k", "v3").ok());
  clock_.Advance(std::chrono::hours(48));
  auto report = store_->ApplyLifecycle();
  EXPECT_EQ(report->noncurrent_removed, 1);  // v1; v2 is the one newer noncurrent version kept
  EXPECT_EQ(report->transitioned, 1);        // v2, noncurrent for a day, moves
  auto versions = store_->ListVersions("raw", {});
  ASSERT_EQ(versions->versions.size(), 2u);
  EXPECT_EQ(versions->versions[1].attributes.storage_class, "STANDARD_IA");
  EXPECT_EQ(versions->versions[0].attributes.storage_class, "STANDARD");  // the current one stays
  clock_.Advance(std::chrono::hours(24 * 10));
  report = store_->ApplyLifecycle();
  EXPECT_EQ(report->expired, 1);  // v3 gets a delete marker on top
  EXPECT_TRUE(store_->Head("raw", "k", "")->delete_marker);
  clock_.Advance(std::chrono::hours(48));
  report = store_->ApplyLifecycle();  // v2 is due; v3 is the one newer noncurrent version kept
  EXPECT_EQ(report->noncurrent_removed, 1);
  EXPECT_EQ(store_->ListVersions("raw", {})->versions.size(), 2u);  // the marker and v3

  // A delete marker left with nothing behind it is removed.
  auto only = Put("raw", "m", "x");
  ASSERT_TRUE(store_->DeleteObject("raw", "m", "").ok());
  ASSERT_TRUE(store_->DeleteObject("raw", "m", only->version_id).ok());
  report = store_->ApplyLifecycle();
  EXPECT_EQ(report->markers_removed, 1);
  VersionListRequest m;
  m.prefix = "m";
  EXPECT_TRUE(store_->ListVersions("raw", m)->versions.empty());
}

// Object bytes kept in memory: the object store needs nothing of a backend
// but the BlobStore interface (as a remote S3-compatible backend would be).
// Its calls may come from the reaper thread as well as the test's.
class MemoryBlobStore : public BlobStore {
 public:
  std::mutex mu;
  std::map<std::pair<std::string, Tier>, std::string> blobs;  // guarded by mu

  class MemoryWriter : public Writer {
   public:
    MemoryWriter(MemoryBlobStore& store, std::string id) : store_(store), id_(std::move(id)) {}
    Status Write(std::string_view bytes) override {
      data_.append(bytes);
      return Status::Ok();
    }
    uint64_t size() const override { return data_.size(); }
    const std::string& id() const override { return id_; }
    Status Commit() override {
      std::lock_guard lock(store_.mu);
      store_.blobs[{id_, Tier::kHot}] = data_;
      return Status::Ok();
    }

   private:
    MemoryBlobStore& store_;
    std::string id_, data_;
  };
  class MemoryReader : public Reader {
   public:
    explicit MemoryReader(std::string data) : data_(std::move(data)) {}
    Result<size_t> ReadAt(uint64_t offset, char* buf, size_t n) override {
      if (offset >= data_.size()) return size_t{0};
      return data_.copy(buf, n, offset);
    }

   private:
    std::string data_;
  };

  Result<std::unique_ptr<Writer>> Create() override {
    return std::unique_ptr<Writer>(new MemoryWriter(*this, "blob" + std::to_string(next_++)));
  }
  Result<std::unique_ptr<Reader>> Open(const std::string& id, Tier tier) override {
    std::lock_guard lock(mu);
    auto it = blobs.find({id, tier});
    if (it == blobs.end()) return Status::NotFound(id);
    return std::unique_ptr<Reader>(new MemoryReader(it->second));
  }
  Status Remove(const std::string& id, Tier tier) override {
    std::lock_guard lock(mu);
    return blobs.erase({id, tier}) ? Status::Ok() : Status::NotFound(id);
  }
  Status Copy(const std::string& id, Tier from, Tier to) override {
    std::lock_guard lock(mu);
    blobs[{id, to}] = blobs.at({id, from});
    return Status::Ok();
  }
  Status ForEach(const std::function<void(const std::string& id, Tier tier)>& fn) override {
    std::unique_lock lock(mu);
    auto copy = blobs;
    lock.unlock();
    for (const auto& [key, data] : copy) fn(key.first, key.second);
    return Status::Ok();
  }
  Result<size_t> DiscardUnfinished() override { return size_t{0}; }

 private:
  int next_ = 0;
};

TEST_F(ObjectStoreTest, AnotherBlobBackendServesTheSameObjects) {
  MemoryBlobStore memory;
  store_.reset();
  ObjectStoreOptions o;
  o.data_dir = "/data";
  o.blob_store = &memory;
  o.lifecycle_interval = std::chrono::milliseconds(0);
  store_ = std::move(*ObjectStore::Open(*meta_, fs_, clock_, o));
  ASSERT_TRUE(Put("raw", "k", "first").ok());
  ASSERT_TRUE(Put("raw", "k", "second").ok());
  EXPECT_EQ(Get("raw", "k"), "second");
  store_->WaitForRemovals();
  EXPECT_EQ(memory.blobs.size(), 1u);  // the first one was released
  LifecycleRule cold;
  cold.transitions.push_back({0, std::nullopt, "GLACIER"});
  ASSERT_TRUE(store_->SetLifecycle("raw", {cold}).ok());
  clock_.Advance(std::chrono::hours(3));  // past midnight: 0 days are due
  EXPECT_EQ(store_->ApplyLifecycle()->transitioned, 1);
  EXPECT_EQ(memory.blobs.begin()->first.second, Tier::kCold);
  EXPECT_EQ(Get("raw", "k"), "second");
  ASSERT_TRUE(store_->DeleteObject("raw", "k", "").ok());
  store_->WaitForRemovals();
  EXPECT_TRUE(memory.blobs.empty());
  store_.reset();  // before the backend it uses goes
}

TEST_F(ObjectStoreTest, ARuleOnlyChangesTheVersionsItLookedAt) {
  // Objects move to the cold tier through this store; while "a" moves, a client writes a new "b".
  class HookedBlobs : public MemoryBlobStore {
   public:
    std::function<void()> on_copy;
    Status Copy(const std::string& id, Tier from, Tier to) override {
      if (on_copy) std::exchange(on_copy, nullptr)();
      return MemoryBlobStore::Copy(id, from, to);
    }
  } blobs;
  store_.reset();
  ObjectStoreOptions o;
  o.data_dir = "/data";
  o.blob_store = &blobs;
  o.lifecycle_interval = std::chrono::milliseconds(0);
  store_ = std::move(*ObjectStore::Open(*meta_, fs_, clock_, o));
  ASSERT_TRUE(Put("raw", "b", "old b").ok());
  clock_.Advance(std::chrono::hours(24 * 8));
  ASSERT_TRUE(Put("raw", "a", "a").ok());
  clock_.Advance(std::chrono::hours(24 * 2));
  LifecycleRule r;
  r.transitions.push_back({1, std::nullopt, "GLACIER"});
  r.expiration_days = 5;
  ASSERT_TRUE(store_->SetLifecycle("raw", {r}).ok());
  blobs.on_copy = [&] { ASSERT_TRUE(Put("raw", "b", "new b").ok()); };
  auto report = store_->ApplyLifecycle();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->transitioned, 1);  // a
  EXPECT_EQ(report->expired, 0);       // the "b" that was due is gone already; the new one is not due
  EXPECT_EQ(Get("raw", "b"), "new b");
  store_.reset();  // before the backend it uses goes
}

TEST_F(ObjectStoreTest, AnObjectMovesToTheFurthestDueTransitionOnce) {
  LifecycleRule r;
  r.transitions.push_back({1, std::nullopt, "STANDARD_IA"});
  r.transitions.push_back({3, std::nullopt, "GLACIER"});
  ASSERT_TRUE(store_->SetLifecycle("raw", {r}).ok());
  ASSERT_TRUE(Put("raw", "k", "data").ok());
  clock_.Advance(std::chrono::hours(24 * 5));
  EXPECT_EQ(store_->ApplyLifecycle()->transitioned, 1);
  EXPECT_EQ(store_->Head("raw", "k", "")->attributes.storage_class, "GLACIER");
  EXPECT_EQ(store_->ApplyLifecycle()->transitioned, 0);  // and stays there
  EXPECT_EQ(store_->Head("raw", "k", "")->attributes.storage_class, "GLACIER");
}

TEST_F(ObjectStoreTest, AReadInProgressOutlivesAnOverwrite) {
  const std::string data(5000, 'd');
  ASSERT_TRUE(Put("raw", "k", data).ok());
  auto v = store_->Head("raw", "k", "");
  auto reader = store_->Read("raw", *v, 0, v->size);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(Put("raw", "k", "replaced").ok());  // the old bytes' file is removed
  std::string got, buf(1000, '\0');
  for (;;) {
    auto n = (*reader)->Read(buf.data(), buf.size());
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    got.append(buf.data(), *n);
  }
  EXPECT_EQ(got, data);
}

TEST_F(ObjectStoreTest, TagsBelongToAVersion) {
  ASSERT_TRUE(Put("raw", "k", "x").ok());
  std::string version;
  ASSERT_TRUE(store_->SetObjectTags("raw", "k", "", {{"team", "data"}}, &version).ok());
  EXPECT_EQ(version, "null");
  EXPECT_EQ(store_->Head("raw", "k", "")->attributes.tags.at("team"), "data");
  EXPECT_EQ(store_->SetObjectTags("raw", "nope", "", {}, nullptr).type(), "NoSuchKey");
}

}  // namespace
}  // namespace eventlake::objects
