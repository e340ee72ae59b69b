#include "streams/stream_store.h"

#include <gtest/gtest.h>

#include <future>

#include "common/test_dir.h"
#include "io/fault_injection_file_system.h"

namespace eventlake::streams {
namespace {

class StreamStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    meta_ = std::move(*meta::OpenSqliteStore(FreshTestDir() + "/meta.db"));
    ASSERT_TRUE(meta_->Migrate(StreamStore::Migrations()).ok());
    Reopen();
  }
  void Reopen(bool limits = false) {
    store_.reset();
    StreamStoreOptions o;
    o.shard_limits = limits;
    o.data_dir = "/data";
    o.region = "us-east-1";
    o.account_id = "000000000000";
    o.create_delay = std::chrono::milliseconds(100);
    o.update_delay = std::chrono::milliseconds(100);
    auto s = StreamStore::Open(*meta_, fs_, clock_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  std::vector<Result<PutOutput>> Put(const std::string& name, std::vector<PutInput> in) {
    std::promise<std::vector<Result<PutOutput>>> p;
    store_->Put(name, std::move(in), [&](std::vector<Result<PutOutput>> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  void Wait() { clock_.Advance(std::chrono::seconds(1)); }

  io::FaultInjectionFileSystem fs_;
  ManualClock clock_{Clock::TimePoint(std::chrono::seconds(1'700'000'000))};
  std::unique_ptr<meta::Store> meta_;
  std::unique_ptr<StreamStore> store_;
};

TEST_F(StreamStoreTest, CreatingThenActiveWithEvenHashRanges) {
  ASSERT_TRUE(store_->CreateStream("s", 3, StreamMode::kProvisioned, {{"team", "data"}}, 1024).ok());
  EXPECT_EQ(store_->CreateStream("s", 1, StreamMode::kProvisioned, {}, 1024).code(), StatusCode::kAlreadyExists);
  auto d = store_->Describe("s");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, StreamStatus::kCreating);
  EXPECT_EQ(Put("s", {{0, "pk", "x"}})[0].status().code(), StatusCode::kNotFound);  // not writable yet
  Wait();
  d = store_->Describe("s");
  EXPECT_EQ(d->status, StreamStatus::kActive);
  ASSERT_EQ(d->shards.size(), 3u);
  EXPECT_EQ(d->shards[0].start, 0u);
  EXPECT_EQ(d->shards[2].end, kMaxHashKey);
  EXPECT_EQ(d->shards[1].start, d->shards[0].end + 1);
  ASSERT_TRUE(store_->CreateStream("two", 2, StreamMode::kProvisioned, {}, 1024).ok());
  auto two = store_->Describe("two");
  EXPECT_EQ(two->shards[0].end, (HashKey{1} << 127) - 1);  // AWS's boundary for two shards
  EXPECT_EQ(d->tags.at("team"), "data");
  EXPECT_EQ(d->arn, "arn:aws:kinesis:us-east-1:000000000000:stream/s");
}

TEST_F(StreamStoreTest, RecordsRouteByHashKeyAndReadBackInOrder) {
  ASSERT_TRUE(store_->CreateStream("s", 2, StreamMode::kProvisioned, {}, 1024).ok());
  Wait();
  auto out = Put("s", {{1, "a", "one"}, {kMaxHashKey, "b", "two"}, {2, "a", "three"}});
  ASSERT_EQ(out.size(), 3u);
  for (const auto& r : out) ASSERT_TRUE(r.ok());
  EXPECT_EQ(out[0]->shard_index, 0u);
  EXPECT_EQ(out[1]->shard_index, 1u);
  EXPECT_LT(FormatSequenceNumber(out[0]->sequence), FormatSequenceNumber(out[2]->sequence));
  auto pos = store_->IteratorPosition("s", 0, IteratorType::kTrimHorizon, "", 0);
  auto read = store_->Read("s", 0, *pos, 100, 1 << 20);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->records.size(), 2u);
  EXPECT_EQ(read->records[0].data, "one");
  EXPECT_EQ(read->records[0].partition_key, "a");
  EXPECT_EQ(read->records[1].sequence_number, FormatSequenceNumber(out[2]->sequence));
  auto after = store_->IteratorPosition("s", 0, IteratorType::kAfterSequenceNumber, FormatSequenceNumber(out[0]->sequence), 0);
  EXPECT_EQ(store_->Read("s", 0, *after, 100, 1 << 20)->records[0].data, "three");
  EXPECT_EQ(store_->IteratorPosition("s", 1, IteratorType::kAtSequenceNumber, FormatSequenceNumber(out[0]->sequence), 0)
                .status()
                .code(),
            StatusCode::kInvalidArgument);  // a sequence number of another shard
}

TEST_F(StreamStoreTest, SplitClosesTheParentAndReadersFollowToChildren) {
  ASSERT_TRUE(store_->CreateStream("s", 1, StreamMode::kProvisioned, {}, 1024).ok());
  Wait();
  ASSERT_TRUE(Put("s", {{5, "a", "before"}})[0].ok());
  ASSERT_TRUE(store_->SplitShard("s", "shardId-000000000000", HashKey{1} << 127).ok());
  EXPECT_EQ(store_->Describe("s")->status, StreamStatus::kUpdating);
  auto after = Put("s", {{5, "a", "after-low"}, {kMaxHashKey, "b", "after-high"}});
  EXPECT_EQ(after[0]->shard_index, 1u);
  EXPECT_EQ(after[1]->shard_index, 2u);
  auto read = store_->Read("s", 0, 0, 100, 1 << 20);
  ASSERT_EQ(read->records.size(), 1u);
  EXPECT_TRUE(read->shard_ended);
  ASSERT_EQ(read->children.size(), 2u);
  EXPECT_EQ(read->children[0].parent, "shardId-000000000000");
  Wait();
  EXPECT_EQ(store_->MergeShards("s", "shardId-000000000001", "shardId-000000000002").code(), StatusCode::kOk);
  Wait();
  auto d = store_->Describe("s");
  ASSERT_EQ(d->shards.size(), 4u);
  EXPECT_EQ(d->shards[3].adjacent_parent, "shardId-000000000002");
  EXPECT_TRUE(d->shards[3].open());
  EXPECT_EQ(d->shards[3].start, 0u);
  EXPECT_EQ(d->shards[3].end, kMaxHashKey);
}

TEST_F(StreamStoreTest, AReshardTheStoreRefusesChangesNothing) {
  ASSERT_TRUE(store_->CreateStream("s", 1, StreamMode::kProvisioned, {}, 1024).ok());
  Wait();
  ASSERT_TRUE(Put("s", {{5, "a", "before"}})[0].ok());
  // Make the control-plane store refuse the reshard's transaction.
  ASSERT_TRUE(meta_->RunInTransaction([](meta::Transaction& t) {
                     return t.Execute("ALTER TABLE kinesis_shards RENAME TO kinesis_shards_away").status();
                   }).ok());
  EXPECT_FALSE(store_->SplitShard("s", "shardId-000000000000", HashKey{1} << 127).ok());
  auto d = store_->Describe("s");
  ASSERT_EQ(d->shards.size(), 1u);
  EXPECT_TRUE(d->shards[0].open());
  auto after = Put("s", {{5, "a", "after"}});  // the parent takes writes again
  ASSERT_TRUE(after[0].ok()) << after[0].status().ToString();
  EXPECT_EQ(store_->Read("s", 0, 0, 10, 1 << 20)->records.size(), 2u);
}

TEST_F(StreamStoreTest, UpdateShardCountReachesTheTargetBySplitsAndMerges) {
  ASSERT_TRUE(store_->CreateStream("s", 2, StreamMode::kProvisioned, {}, 1024).ok());
  Wait();
  EXPECT_EQ(*store_->UpdateShardCount("s", 4), 2);
  Wait();
  auto open = [&] {
    int n = 0;
    auto d = store_->Describe("s");
    for (const auto& sh : d->shards) n += sh.open();
    return n;
  };
  EXPECT_EQ(open(), 4);
  EXPECT_EQ(*store_->UpdateShardCount("s", 3), 4);
  Wait();
  EXPECT_EQ(open(), 3);
  EXPECT_EQ(store_->UpdateShardCount("s", 7).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StreamStoreTest, EverythingSurvivesAReopen) {
  ASSERT_TRUE(store_->CreateStream("s", 1, StreamMode::kOnDemand, {{"k", "v"}}, 1024).ok());
  Wait();
  ASSERT_TRUE(Put("s", {{1, "a", "kept"}})[0].ok());
  ASSERT_TRUE(store_->SetRetention("s", 48, true).ok());
  ASSERT_TRUE(store_->RegisterConsumer("s", "c1").ok());
  Reopen();
  auto d = store_->Describe("s");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->retention_hours, 48);
  EXPECT_EQ(d->mode, StreamMode::kOnDemand);
  EXPECT_EQ(d->shards.size(), 4u);  // on-demand streams start with 4 shards
  EXPECT_EQ(d->consumers.size(), 1u);
  EXPECT_EQ(d->tags.at("k"), "v");
  bool found = false;
  for (uint32_t i = 0; i < 4; ++i) {
    auto r = store_->Read("s", i, 0, 10, 1 << 20);
    if (!r->records.empty()) found = r->records[0].data == "kept";
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(store_->DeleteStream("s", true).code(), StatusCode::kFailedPrecondition);  // consumers registered
  ASSERT_TRUE(store_->DeleteStream("s", false).ok());
  EXPECT_EQ(store_->Describe("s").status().code(), StatusCode::kNotFound);
}

TEST_F(StreamStoreTest, ShardLimitsThrottleWritesAndReadsWhenOn) {
  Reopen(/*limits=*/true);
  ASSERT_TRUE(store_->CreateStream("s", 1, StreamMode::kProvisioned, {}, 1024).ok());
  Wait();
  std::vector<PutInput> in(1001, PutInput{1, "p", "x"});
  auto out = Put("s", in);
  int throttled = 0;
  for (const auto& r : out) throttled += !r.ok() && r.status().type() == "ProvisionedThroughputExceededException";
  EXPECT_EQ(throttled, 1);  // 1,000 records per second
  clock_.Advance(std::chrono::milliseconds(500));
  out = Put("s", std::vector<PutInput>(500, PutInput{1, "p", "x"}));
  EXPECT_TRUE(out.back().ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->Read("s", 0, 0, 1, 1 << 20).ok());
  auto sixth = store_->Read("s", 0, 0, 1, 1 << 20);
  EXPECT_EQ(sixth.status().type(), "ProvisionedThroughputExceededException");
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_TRUE(store_->Read("s", 0, 0, 1, 1 << 20).ok());
}

TEST_F(StreamStoreTest, TrimHorizonStartsWithinRetention) {
  ASSERT_TRUE(store_->CreateStream("s", 1, StreamMode::kProvisioned, {}, 1024).ok());
  Wait();
  ASSERT_TRUE(Put("s", {{1, "a", "old"}})[0].ok());
  clock_.Advance(std::chrono::hours(25));
  ASSERT_TRUE(Put("s", {{1, "a", "new"}})[0].ok());
  auto pos = store_->IteratorPosition("s", 0, IteratorType::kTrimHorizon, "", 0);
  ASSERT_TRUE(pos.ok());
  auto read = store_->Read("s", 0, *pos, 10, 1 << 20);
  ASSERT_EQ(read->records.size(), 1u);
  EXPECT_EQ(read->records[0].data, "new");  // "old" is past the 24-hour retention
}

TEST_F(StreamStoreTest, ClosedShardsPastRetentionDisappearAndIdleShardsLoseExpiredRecords) {
  ASSERT_TRUE(store_->CreateStream("s", 1, StreamMode::kProvisioned, {}, 1024).ok());
  Wait();
  ASSERT_TRUE(Put("s", {{5, "a", "in the parent"}})[0].ok());
  ASSERT_TRUE(store_->SplitShard("s", "shardId-000000000000", HashKey{1} << 127).ok());
  Wait();
  ASSERT_TRUE(Put("s", {{5, "a", "in a child"}})[0].ok());
  ASSERT_TRUE(fs_.Exists("/data/streams/" + store_->Describe("s")->id + "/0"));

  clock_.Advance(std::chrono::hours(23));
  ASSERT_TRUE(store_->ApplyRetention().ok());
  EXPECT_EQ(store_->Describe("s")->shards.size(), 3u);  // within retention: still listed and readable
  EXPECT_EQ(store_->Read("s", 0, 0, 10, 1 << 20)->records.size(), 1u);

  clock_.Advance(std::chrono::hours(2));
  ASSERT_TRUE(store_->ApplyRetention().ok());
  auto d = store_->Describe("s");
  ASSERT_EQ(d->shards.size(), 2u);
  EXPECT_EQ(d->shards[0].id, "shardId-000000000001");
  EXPECT_EQ(d->shards[0].parent, "shardId-000000000000");  // children still name their parent
  EXPECT_FALSE(fs_.Exists("/data/streams/" + d->id + "/0"));
  EXPECT_EQ(store_->IteratorPosition("s", 0, IteratorType::kTrimHorizon, "", 0).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->Read("s", 0, 0, 10, 1 << 20).status().code(), StatusCode::kNotFound);
  // The idle child's only record expired too: its segment is gone, and the
  // shard goes on from the next position.
  EXPECT_EQ(store_->Read("s", 1, 0, 10, 1 << 20)->records.size(), 0u);
  auto next = Put("s", {{5, "a", "later"}});
  ASSERT_TRUE(next[0].ok());
  EXPECT_EQ(next[0]->sequence.position, 1u);

  Reopen();
  d = store_->Describe("s");
  ASSERT_EQ(d->shards.size(), 2u);
  EXPECT_EQ(store_->Read("s", 0, 0, 10, 1 << 20).status().code(), StatusCode::kNotFound);
  auto pos = store_->IteratorPosition("s", 1, IteratorType::kTrimHorizon, "", 0);
  ASSERT_TRUE(pos.ok());
  auto read = store_->Read("s", 1, *pos, 10, 1 << 20);
  ASSERT_EQ(read->records.size(), 1u);
  EXPECT_EQ(read->records[0].data, "later");
}

TEST_F(StreamStoreTest, RetentionLimitsAreChecked) {
  ASSERT_TRUE(store_->CreateStream("s", 1, StreamMode::kProvisioned, {}, 1024).ok());
  EXPECT_EQ(store_->SetRetention("s", 12, false).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->SetRetention("s", 9000, true).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->SetRetention("s", 48, false).code(), StatusCode::kInvalidArgument);  // decrease to longer
  EXPECT_TRUE(store_->SetRetention("s", 48, true).ok());
}

}  // namespace
}  // namespace eventlake::streams
