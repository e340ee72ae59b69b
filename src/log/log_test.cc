#include "log/log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "common/test_dir.h"
#include "io/fault_injection_file_system.h"
#include "log/format.h"

namespace eventlake::log {
namespace {

using io::FaultInjectionFileSystem;

LogOptions SmallSegments() {
  LogOptions o;
  o.segment_bytes = 2048;
  o.index_interval_bytes = 200;
  o.cached_indexes = 2;
  return o;
}

std::vector<Entry> Entries(int n, const std::string& prefix) {
  std::vector<Entry> out;
  for (int i = 0; i < n; ++i) out.push_back({std::string("k").append(std::to_string(i)), prefix + "-" + std::to_string(i)});
  return out;
}

std::unique_ptr<Log> MustOpen(io::FileSystem& fs, const std::string& dir, LogOptions o, const Clock& clock,
                              RecoveryReport* report = nullptr) {
  auto log = Log::Open(fs, dir, std::move(o), clock, report);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

class LogTest : public ::testing::Test {
 protected:
  FaultInjectionFileSystem fs_;
  ManualClock clock_{Clock::TimePoint(std::chrono::seconds(1'700'000'000))};
};

TEST_F(LogTest, AppendsGetConsecutivePositionsAndReadBack) {
  auto log = MustOpen(fs_, "/d/log", SmallSegments(), clock_);
  EXPECT_EQ(*log->Append(Entries(3, "a")), 0u);
  EXPECT_EQ(*log->Append(Entries(2, "b")), 3u);
  EXPECT_EQ(log->end_position(), 5u);
  auto recs = log->Read(0, 100, 1 << 20);
  ASSERT_TRUE(recs.ok());
  ASSERT_EQ(recs->size(), 5u);
  EXPECT_EQ((*recs)[3].value, "b-0");
  EXPECT_EQ((*recs)[3].position, 3u);
  EXPECT_EQ((*recs)[3].key, "k0");
  EXPECT_EQ((*recs)[0].timestamp_ms, 1'700'000'000'000);
  EXPECT_TRUE(log->Read(5, 10, 1 << 20)->empty());
  EXPECT_EQ(log->Read(1, 2, 1 << 20)->size(), 2u);
  EXPECT_EQ(log->Read(0, 100, 1)->size(), 1u);  // at least one record even past max_bytes
}

TEST_F(LogTest, TimestampsNeverDecreaseAndFindPositionsByTime) {
  auto log = MustOpen(fs_, "/d/log", SmallSegments(), clock_);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(log->Append(Entries(2, std::string("t").append(std::to_string(i)))).ok());
    clock_.Advance(std::chrono::seconds(i == 25 ? -100 : 1));  // a clock step backwards is flattened
  }
  auto recs = *log->Read(0, 1000, 1 << 30);
  for (size_t i = 1; i < recs.size(); ++i) EXPECT_GE(recs[i].timestamp_ms, recs[i - 1].timestamp_ms);
  int64_t t10 = recs[20].timestamp_ms;
  auto p = log->PositionAtOrAfter(t10);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(recs[*p].timestamp_ms, t10);
  EXPECT_TRUE(*p == 0 || recs[*p - 1].timestamp_ms < t10);
  EXPECT_EQ(*log->PositionAtOrAfter(recs.back().timestamp_ms + 1), log->end_position());
  EXPECT_EQ(*log->PositionAtOrAfter(0), 0u);
}

// Random appends, reads, reopens and retention checked against a plain vector.
TEST_F(LogTest, RandomOperationsMatchAModel) {
  std::mt19937_64 rng(20261125);
  std::vector<Record> model;
  uint64_t start = 0;
  auto log = MustOpen(fs_, "/d/log", SmallSegments(), clock_);
  for (int step = 0; step < 2000; ++step) {
    int op = static_cast<int>(rng() % 100);
    if (op < 45) {
      int n = 1 + static_cast<int>(rng() % 5);
      std::vector<Entry> entries;
      for (int i = 0; i < n; ++i) {
        entries.push_back({std::string(rng() % 8, 'k'), std::string(rng() % 300, static_cast<char>('a' + step % 26))});
      }
      auto first = log->Append(entries);
      ASSERT_TRUE(first.ok());
      ASSERT_EQ(*first, model.size());
      for (auto& e : entries) model.push_back({model.size(), 0, e.key, e.value});
    } else if (op < 90) {
      uint64_t from = model.empty() ? 0 : rng() % (model.size() + 2);
      size_t max_records = 1 + rng() % 20;
      size_t max_bytes = 1 + rng() % 4000;
      auto got = log->Read(from, max_records, max_bytes);
      ASSERT_TRUE(got.ok());
      uint64_t expect_from = std::max(from, start);
      size_t bytes = 0;
      size_t i = 0;
      for (; expect_from + i < model.size() && i < max_records; ++i) {
        ASSERT_LT(i, got->size()) << "step " << step;
        const Record& m = model[expect_from + i];
        EXPECT_EQ((*got)[i].position, m.position);
        EXPECT_EQ((*got)[i].value, m.value);
        EXPECT_EQ((*got)[i].key, m.key);
        bytes += m.key.size() + m.value.size();
        if (bytes >= max_bytes) {
          ++i;
          break;
        }
      }
      EXPECT_EQ(got->size(), i) << "step " << step;
    } else if (op < 95) {
      log.reset();
      log = MustOpen(fs_, "/d/log", SmallSegments(), clock_);
      ASSERT_EQ(log->end_position(), model.size());
    } else {
      auto removed = log->ApplyRetention(0, 8192);
      ASSERT_TRUE(removed.ok());
      start = log->start_position();
      EXPECT_LE(log->size_bytes(), 8192u + 2048u + 4096u);
    }
    clock_.Advance(std::chrono::milliseconds(7));
  }
}

TEST_F(LogTest, RetentionByTimeRemovesWholeSealedSegments) {
  auto log = MustOpen(fs_, "/d/log", SmallSegments(), clock_);
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(log->Append(Entries(1, std::string(200, 'x'))).ok());
    clock_.Advance(std::chrono::minutes(1));
  }
  const int64_t cutoff = std::chrono::duration_cast<std::chrono::milliseconds>(
                             (clock_.Now() - std::chrono::minutes(20)).time_since_epoch())
                             .count();
  auto removed = log->ApplyRetention(cutoff);
  ASSERT_TRUE(removed.ok());
  EXPECT_GT(*removed, 0u);
  uint64_t start = log->start_position();
  EXPECT_GT(start, 0u);
  auto recs = log->Read(0, 1000, 1 << 30);
  ASSERT_FALSE(recs->empty());
  EXPECT_EQ(recs->front().position, start);
  EXPECT_EQ(recs->back().position, 39u);
  log.reset();
  auto reopened = MustOpen(fs_, "/d/log", SmallSegments(), clock_);
  EXPECT_EQ(reopened->start_position(), start);
  EXPECT_EQ(reopened->end_position(), 40u);
}

TEST_F(LogTest, AnIdleActiveSegmentIsSealedAndRemovedOnceAllOfItExpired) {
  LogOptions o;  // large segments: the records stay in the active one
  auto log = MustOpen(fs_, "/d/log", o, clock_);
  ASSERT_TRUE(log->Append(Entries(3, "old")).ok());
  const auto ms = [&](auto d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>((clock_.Now() + d).time_since_epoch()).count();
  };
  EXPECT_EQ(*log->ApplyRetention(ms(std::chrono::milliseconds(0))), 0u);  // not all older than the cutoff
  clock_.Advance(std::chrono::hours(2));
  auto removed = log->ApplyRetention(ms(-std::chrono::hours(1)));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(log->start_position(), 3u);
  EXPECT_EQ(log->end_position(), 3u);
  EXPECT_TRUE(log->Read(0, 10, 1 << 20)->empty());
  EXPECT_EQ(*log->Append(Entries(1, "new")), 3u);
  log.reset();
  auto reopened = MustOpen(fs_, "/d/log", o, clock_);
  EXPECT_EQ(reopened->start_position(), 3u);
  EXPECT_EQ(reopened->end_position(), 4u);
}

TEST_F(LogTest, ConcurrentAppendersEachRecordOnceInOrder) {
  auto log = MustOpen(fs_, "/d/log", SmallSegments(), clock_);
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::map<uint64_t, std::string> acked;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string v = std::to_string(t) + ":" + std::to_string(i);
        auto p = log->Append({{"pk", v}});
        ASSERT_TRUE(p.ok());
        std::lock_guard lock(mu);
        acked[*p] = v;
      }
    });
  }
  for (auto& th : threads) th.join();
  auto recs = log->Read(0, 1'000'000, size_t{1} << 40);
  ASSERT_EQ(recs->size(), size_t{kThreads * kPerThread});
  std::map<int, int> next_per_thread;
  for (size_t i = 0; i < recs->size(); ++i) {
    const Record& r = (*recs)[i];
    ASSERT_EQ(r.position, i);
    ASSERT_EQ(acked.at(i), r.value);
    int t = std::stoi(r.value.substr(0, r.value.find(':')));
    int n = std::stoi(r.value.substr(r.value.find(':') + 1));
    EXPECT_EQ(next_per_thread[t]++, n);  // each thread's records in its own order
  }
}

// Appenders run while the machine "loses power": every record acknowledged
// before the crash is there afterwards, and nothing else but whole records
// that were submitted.
TEST_F(LogTest, CrashLosesNoAcknowledgedRecordAndInventsNone) {
  size_t total_acked = 0, total_recovered = 0, total_submitted = 0;
  std::atomic<size_t> total_failed{0};
  for (int round = 0; round < 5; ++round) {
    FaultInjectionFileSystem fs;
    std::atomic<bool> crashed{false};
    std::mutex mu;
    std::map<std::string, uint64_t> acked;  // value -> position
    std::set<std::string> submitted;
    {
      auto log = MustOpen(fs, "/d/log", SmallSegments(), clock_);
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < 100000 && !crashed.load(); ++i) {
            std::string v = std::to_string(t) + ":" + std::to_string(i) + std::string(i % 50, '.');
            {
              std::lock_guard lock(mu);
              submitted.insert(v);
            }
            log->AppendAsync({{"pk", v}}, [&, v](Result<uint64_t> p) {
              if (!p.ok()) {
                ++total_failed;
              } else if (!crashed.load()) {
                std::lock_guard lock(mu);
                acked[v] = *p;
              }
            });
          }
        });
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2 + round * 3));
      crashed.store(true);
      fs.Crash();
      for (auto& th : threads) th.join();
      log->Close();
    }
    fs.Restart();
    RecoveryReport report;
    auto log = MustOpen(fs, "/d/log", SmallSegments(), clock_, &report);
    auto recs = log->Read(0, 1'000'000, size_t{1} << 40);
    ASSERT_TRUE(recs.ok());
    std::map<std::string, uint64_t> found;
    for (size_t i = 0; i < recs->size(); ++i) {
      const Record& r = (*recs)[i];
      ASSERT_EQ(r.position, i) << "round " << round;
      ASSERT_TRUE(submitted.count(r.value)) << "invented record " << r.value;
      ASSERT_TRUE(found.emplace(r.value, r.position).second) << "duplicate " << r.value;
    }
    for (const auto& [v, p] : acked) {
      auto it = found.find(v);
      ASSERT_NE(it, found.end()) << "round " << round << ": lost acknowledged record " << v;
      EXPECT_EQ(it->second, p);
    }
    // The log takes new appends after recovery.
    EXPECT_EQ(*log->Append(Entries(1, "after")), recs->size());
    total_acked += acked.size();
    total_recovered += recs->size();
    total_submitted += submitted.size();
  }
  // The crashes came in the middle of the load: appends were acknowledged
  // before them, and appends in flight failed.
  EXPECT_GT(total_acked, 0u);
  EXPECT_GT(total_failed.load(), 0u);
  EXPECT_GE(total_recovered, total_acked);
  EXPECT_LE(total_recovered, total_submitted);
}

TEST_F(LogTest, TornTailIsCutAndReported) {
  {
    auto log = MustOpen(fs_, "/d/log", LogOptions{}, clock_);
    ASSERT_TRUE(log->Append(Entries(10, "ok")).ok());
  }
  // Half a frame at the end, as a crash in the middle of a write leaves it.
  std::string frame;
  EncodeFrame(10, 1, "k", std::string(100, 'z'), &frame);
  auto f = fs_.Open("/d/log/00000000000000000000.seg", io::FileSystem::OpenMode::kOpenExisting);
  ASSERT_TRUE((*f)->Append(frame.substr(0, 50)).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  RecoveryReport report;
  auto log = MustOpen(fs_, "/d/log", LogOptions{}, clock_, &report);
  EXPECT_EQ(report.truncated_bytes, 50u);
  EXPECT_EQ(log->end_position(), 10u);
  EXPECT_EQ(*log->Append(Entries(1, "next")), 10u);
  EXPECT_EQ(log->Read(0, 100, 1 << 20)->size(), 11u);
}

TEST_F(LogTest, CorruptRecordInASealedSegmentIsSkippedNeverServed) {
  {
    auto log = MustOpen(fs_, "/d/log", SmallSegments(), clock_);
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(log->Append({{"k", "value-" + std::to_string(i) + std::string(100, '-')}}).ok());
  }
  // Damage a byte inside the third record of the first (sealed) segment.
  auto first = fs_.ReadFile("/d/log/00000000000000000000.seg");
  ASSERT_TRUE(first.ok());
  uint64_t offset = kSegmentHeaderBytes;
  for (int i = 0; i < 2; ++i) offset += *PeekFrameSize(std::string_view(*first).substr(offset));
  ASSERT_TRUE(fs_.Corrupt("/d/log/00000000000000000000.seg", offset + 40, "\xff\xff").ok());
  auto log = MustOpen(fs_, "/d/log", SmallSegments(), clock_);
  auto recs = log->Read(0, 1000, 1 << 20);
  ASSERT_TRUE(recs.ok());
  // The damaged record is never served; reading resumes at the next index
  // entry after it, so at most the records up to there are lost with it.
  ASSERT_GE(recs->size(), 27u);
  ASSERT_LE(recs->size(), 29u);
  for (const auto& r : *recs) {
    EXPECT_NE(r.position, 2u);
    EXPECT_EQ(r.value, "value-" + std::to_string(r.position) + std::string(100, '-'));
  }
  EXPECT_EQ(recs->back().position, 29u);
  auto from_two = log->Read(2, 1, 1 << 20);
  ASSERT_EQ(from_two->size(), 1u);
  EXPECT_GT((*from_two)[0].position, 2u);
}

TEST_F(LogTest, MissingIndexIsRebuilt) {
  {
    auto log = MustOpen(fs_, "/d/log", SmallSegments(), clock_);
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(log->Append({{"k", std::string(150, 'a' + i % 26)}}).ok());
  }
  ASSERT_TRUE(fs_.Remove("/d/log/00000000000000000000.idx").ok());
  RecoveryReport report;
  auto log = MustOpen(fs_, "/d/log", SmallSegments(), clock_, &report);
  EXPECT_EQ(report.rebuilt_indexes, 1u);
  EXPECT_TRUE(fs_.Exists("/d/log/00000000000000000000.idx"));
  EXPECT_EQ(log->Read(0, 1000, 1 << 20)->size(), 40u);
}

TEST_F(LogTest, AFailedWriteStopsAppendsUntilReopenedAndLosesNothingAcknowledged) {
  auto log = MustOpen(fs_, "/d/log", SmallSegments(), clock_);
  ASSERT_TRUE(log->Append(Entries(5, "ok")).ok());
  fs_.FailWrites(true);
  EXPECT_EQ(log->Append(Entries(1, "fails")).status().code(), StatusCode::kIoError);
  fs_.FailWrites(false);
  EXPECT_EQ(log->Append(Entries(1, "still refused")).status().code(), StatusCode::kIoError);
  EXPECT_EQ(log->Read(0, 100, 1 << 20)->size(), 5u);
  log.reset();
  log = MustOpen(fs_, "/d/log", SmallSegments(), clock_);
  EXPECT_EQ(*log->Append(Entries(1, "again")), 5u);
}

TEST_F(LogTest, SyncedBytesBehindTheCachedTailAreReleasedAndStillRead) {
  LogOptions o;
  o.segment_bytes = 64 << 10;
  o.cached_tail_bytes = 8 << 10;
  auto log = MustOpen(fs_, "/d/log", o, clock_);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(log->Append(Entries(20, std::string(64, 'a' + i % 26))).ok());
  EXPECT_GT(fs_.released_bytes(), 64u << 10);  // the sealed segment's and part of the active one's
  EXPECT_EQ(fs_.unsynced_releases(), 0);
  auto recs = log->Read(0, 5000, 64 << 20);
  ASSERT_TRUE(recs.ok());
  EXPECT_EQ(recs->size(), 2000u);

  // Without fdatasync the pages may still be dirty: nothing is released.
  FaultInjectionFileSystem fs2;
  o.durability = Durability::kNone;
  auto unsynced = MustOpen(fs2, "/d/log", o, clock_);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(unsynced->Append(Entries(20, std::string(64, 'x'))).ok());
  EXPECT_EQ(fs2.released_bytes(), 0u);
}

TEST_F(LogTest, OversizedEntryIsRefused) {
  auto log = MustOpen(fs_, "/d/log", SmallSegments(), clock_);
  EXPECT_EQ(log->Append({{"k", std::string(kMaxBodyBytes, 'x')}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*log->Append(Entries(1, "fine")), 0u);
}

TEST(PosixLogTest, SurvivesReopenOnTheRealFileSystem) {
  std::string dir = FreshTestDir();
  LogOptions o = SmallSegments();
  const Clock& clock = SystemClock::Get();
  {
    auto log = MustOpen(io::PosixFileSystem(), dir + "/shard", o, clock);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(log->Append(Entries(3, std::string("p").append(std::to_string(i)))).ok());
  }
  auto log = MustOpen(io::PosixFileSystem(), dir + "/shard", o, clock);
  EXPECT_EQ(log->end_position(), 300u);
  auto recs = log->Read(150, 10, 1 << 20);
  ASSERT_EQ(recs->size(), 10u);
  EXPECT_EQ((*recs)[0].value, "p50-0");
}

}  // namespace
}  // namespace eventlake::log
