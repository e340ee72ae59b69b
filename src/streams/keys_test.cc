#include "streams/keys.h"

#include <gtest/gtest.h>

namespace eventlake::streams {
namespace {

TEST(HashKeyTest, DecimalRoundTripAtTheEdges) {
  EXPECT_EQ(HashKeyToString(0), "0");
  EXPECT_EQ(HashKeyToString(kMaxHashKey), "340282366920938463463374607431768211455");
  EXPECT_EQ(*ParseHashKey("340282366920938463463374607431768211455"), kMaxHashKey);
  EXPECT_FALSE(ParseHashKey("340282366920938463463374607431768211456").has_value());  // 2^128
  EXPECT_FALSE(ParseHashKey("-1").has_value());
  EXPECT_FALSE(ParseHashKey("01").has_value());
  EXPECT_FALSE(ParseHashKey("").has_value());
  EXPECT_EQ(*ParseHashKey("12345"), HashKey{12345});
}

TEST(SequenceNumberTest, FixedWidthAndOrderedWithinAShard) {
  std::string a = FormatSequenceNumber({1700000000, 3, 9});
  std::string b = FormatSequenceNumber({1700000000, 3, 10});
  EXPECT_EQ(a.size(), 56u);
  EXPECT_LT(a, b);  // same width: string order is numeric order
  auto p = ParseSequenceNumber(b);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->shard_index, 3u);
  EXPECT_EQ(p->position, 10u);
  EXPECT_EQ(p->stream_created_s, 1700000000);
  EXPECT_FALSE(ParseSequenceNumber("123").has_value());
  EXPECT_FALSE(ParseSequenceNumber(std::string(56, '9')).has_value());
  // A position past 2^64-1 in the right shape.
  EXPECT_FALSE(ParseSequenceNumber("49000000000001000000000099999999999999999999000000000000").has_value());
}

TEST(ShardIdTest, FormatsAndParses) {
  EXPECT_EQ(ShardIdOf(7), "shardId-000000000007");
  EXPECT_EQ(*ParseShardId("shardId-000000000007"), 7u);
  EXPECT_EQ(*ParseShardId("7"), 7u);
  EXPECT_FALSE(ParseShardId("shardId-x").has_value());
}

}  // namespace
}  // namespace eventlake::streams
