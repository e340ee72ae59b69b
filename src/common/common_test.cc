#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "common/pattern.h"
#include "common/compression.h"
#include "common/http_message.h"
#include "common/ids.h"
#include "common/shared_mutex.h"
#include "common/status.h"
#include "common/strings.h"

namespace eventlake {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return Status::InvalidArgument("not positive");
  return v;
}

Result<int> Doubled(int v) {
  EL_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return x * 2;
}

TEST(StatusTest, AssignOrReturnPropagatesTheError) {
  EXPECT_EQ(*Doubled(4), 8);
  Result<int> r = Doubled(-1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().ToString(), "InvalidArgument: not positive");
}

TEST(StatusTest, WithTypeKeepsCodeAndMessage) {
  Status s = Status::NotFound("gone").WithType("ResourceNotFoundException");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.type(), "ResourceNotFoundException");
  EXPECT_EQ(s.message(), "gone");
}

TEST(StringsTest, PercentDecodeRejectsMalformedEscapes) {
  EXPECT_EQ(*PercentDecode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(*PercentDecode("a+b"), "a+b");
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_FALSE(PercentDecode("%").has_value());
  EXPECT_FALSE(PercentDecode("%2").has_value());
  EXPECT_FALSE(PercentDecode("%zz").has_value());
}

TEST(StringsTest, UriEncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(UriEncode("a b/c~-_.", false), "a%20b%2Fc~-_.");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(UriEncode("\xc3\xa9", false), "%C3%A9");
}

TEST(StringsTest, XmlEscapeKeepsDocumentsWellFormed) {
  EXPECT_EQ(XmlEscape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
  EXPECT_EQ(XmlEscape("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(XmlEscape("bad\xff\x01" "byte"), "bad\xef\xbf\xbd\xef\xbf\xbd" "byte");
  EXPECT_EQ(XmlEscape("tab\tnew\nline"), "tab\tnew\nline");
}

TEST(StringsTest, TrimAndCase) {
  EXPECT_EQ(TrimWhitespace("  a b \t"), "a b");
  EXPECT_TRUE(EqualsIgnoreCase("X-Amz-Date", "x-amz-date"));
  EXPECT_FALSE(EqualsIgnoreCase("x-amz-dat", "x-amz-date"));
}

TEST(HttpMessageTest, HeadersAreCaseInsensitiveAndTargetSplits) {
  HttpRequest r;
  r.target = "/bucket/key?list-type=2&prefix=a";
  r.headers = {{"X-Amz-Target", "Kinesis_20131202.PutRecord"}};
  EXPECT_EQ(r.Header("x-amz-target"), "Kinesis_20131202.PutRecord");
  EXPECT_EQ(r.FindHeader("missing"), nullptr);
  EXPECT_EQ(r.path(), "/bucket/key");
  EXPECT_EQ(r.query(), "list-type=2&prefix=a");
}

TEST(IdsTest, RequestIdsAreVersion4UuidsAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewRequestId();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '4');
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(CompressionTest, GunzipIsBoundedAndRejectsGarbage) {
  // gzip of "hello world\n" (12 bytes).
  const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48,
                              0xcd, 0xc9, 0xc9, 0x57, 0x28, 0xcf, 0x2f, 0xca, 0x49, 0xe1, 0x02, 0x00,
                              0x2d, 0x3b, 0x08, 0xaf, 0x0c, 0x00, 0x00, 0x00};
  std::string_view in(reinterpret_cast<const char*>(gz), sizeof(gz));
  EXPECT_EQ(*GunzipBounded(in, 100), "hello world\n");
  EXPECT_EQ(GunzipBounded(in, 5).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(GunzipBounded("not gzip at all", 100).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GunzipBounded(in.substr(0, 15), 100).status().code(), StatusCode::kInvalidArgument);
  std::string twice = std::string(in) + std::string(in);
  EXPECT_EQ(*GunzipBounded(twice, 100), "hello world\nhello world\n");
  EXPECT_EQ(GunzipBounded(std::string(in) + "junk", 100).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
TEST(WriterFirstSharedMutexTest, AWriterGetsInWhileReadersKeepComing) {
  // Readers overlap so that at every moment at least one holds the lock; a
  // reader-preferring lock would keep the writer out for as long as they run.
  WriterFirstSharedMutex mu;
  std::atomic<bool> written{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!written.load()) {
        std::shared_lock lock(mu);
        reads.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    });
  }
  while (reads.load() < 20) std::this_thread::yield();
  {
    std::unique_lock lock(mu);
    written.store(true);
  }
  for (auto& r : readers) r.join();
  EXPECT_TRUE(written.load());
}

}  // namespace eventlake

namespace eventlake {
namespace {

TEST(PatternTest, MatchesWholeTextsInLinearTime) {
  auto p = Pattern::Compile("click.*", true);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->FullMatch("CLICKS"));
  EXPECT_FALSE(p->FullMatch("the clicks"));
  EXPECT_FALSE(Pattern::Compile("(").ok());
  // A pattern that takes a backtracking engine exponential time.
  auto evil = Pattern::Compile("(a+)+$");
  ASSERT_TRUE(evil.ok());
  EXPECT_FALSE(evil->FullMatch(std::string(5000, 'a') + "!"));
  auto glob = Pattern::Glob("**/_tmp/*.json");
  ASSERT_TRUE(glob.ok());
  EXPECT_TRUE(glob->FullMatch("a/b/_tmp/x.json"));
  EXPECT_FALSE(glob->FullMatch("a/_tmp/sub/x.json"));
  EXPECT_EQ(Pattern::Quote("a.b*"), "a\\.b\\*");
}

}  // namespace
}  // namespace eventlake
