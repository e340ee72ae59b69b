#include "log/format.h"

#include <gtest/gtest.h>

namespace eventlake::log {
namespace {

TEST(Crc32cTest, MatchesTheCastagnoliCheckValueAndChains) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c("56789", Crc32c("1234")), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(FormatTest, FramesRoundTripAndDetectDamage) {
  std::string buf;
  EncodeFrame(42, 1700000000123, "key", "value", &buf);
  FrameView f;
  ASSERT_EQ(DecodeFrame(buf, &f), FrameResult::kOk);
  EXPECT_EQ(f.position, 42u);
  EXPECT_EQ(f.timestamp_ms, 1700000000123);
  EXPECT_EQ(f.key, "key");
  EXPECT_EQ(f.value, "value");
  EXPECT_EQ(f.size, buf.size());
  EXPECT_EQ(DecodeFrame(std::string_view(buf).substr(0, buf.size() - 1), &f), FrameResult::kIncomplete);
  for (size_t i = 0; i < buf.size(); ++i) {
    std::string bad = buf;
    bad[i] ^= 0x20;
    EXPECT_NE(DecodeFrame(bad, &f), FrameResult::kOk) << "flipped byte " << i;
  }
}

TEST(FormatTest, SegmentHeaderIsVersionedAndChecked) {
  std::string h = EncodeSegmentHeader({1000, 1700000000000});
  ASSERT_EQ(h.size(), kSegmentHeaderBytes);
  auto d = DecodeSegmentHeader(h);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->base_position, 1000u);
  h[4] = 2;  // a future version
  EXPECT_FALSE(DecodeSegmentHeader(h).has_value());
}

}  // namespace
}  // namespace eventlake::log
