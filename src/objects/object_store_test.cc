#include "objects/object_store.h"

#include <gtest/gtest.h>

#include "common/test_dir.h"
#include "io/fault_injection_file_system.h"

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
  auto blobs = meta_->Query("SELECT COUNT(*) FROM s3_blobs");
  EXPECT_EQ(meta::AsInt((*blobs)[0][0]), 1);
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
  match.if_match = "\"etag-one\"";
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
  ASSERT_TRUE(Put("raw", "k", "new").ok());
  fs_.Crash();
  fs_.Restart();
  Reopen();
  EXPECT_EQ(Get("raw", "k"), "new");
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
