#include "catalog/partition_filter.h"

#include <gtest/gtest.h>

namespace eventlake::catalog {
namespace {

std::vector<Column> Keys() { return {{"year", "int", "", {}}, {"month", "string", "", {}}, {"dt", "date", "", {}}}; }

bool Match(const std::string& expr, std::vector<std::string> values) {
  auto f = PartitionFilter::Parse(expr, Keys());
  EXPECT_TRUE(f.ok()) << expr << ": " << f.status().ToString();
  return f.ok() && f->Matches(values);
}

TEST(PartitionFilterTest, ComparisonsFollowTheKeyType) {
  const std::vector<std::string> p = {"2024", "06", "2024-06-15"};
  EXPECT_TRUE(Match("", p));
  EXPECT_TRUE(Match("year = 2024", p));
  EXPECT_TRUE(Match("year='2024'", p));
  EXPECT_TRUE(Match("year > 999", p));  // numbers, not strings: "2024" < "999" as text
  EXPECT_FALSE(Match("month > '1'", p));  // strings: "06" < "1"
  EXPECT_TRUE(Match("dt >= '2024-06-01' AND dt < '2024-07-01'", p));
  EXPECT_TRUE(Match("year <> 2023 and month != '07'", p));
  EXPECT_TRUE(Match("`year` = 2024", p));
  EXPECT_TRUE(Match("\"Month\" = '06'", p));  // key names are not case-sensitive
}

TEST(PartitionFilterTest, InBetweenLikeNullAndLogic) {
  const std::vector<std::string> p = {"2024", "06", "2024-06-15"};
  EXPECT_TRUE(Match("month IN ('05', '06')", p));
  EXPECT_FALSE(Match("month NOT IN ('05', '06')", p));
  EXPECT_TRUE(Match("year BETWEEN 2020 AND 2024", p));
  EXPECT_FALSE(Match("year NOT BETWEEN 2020 AND 2024", p));
  EXPECT_TRUE(Match("dt LIKE '2024-06-%'", p));
  EXPECT_TRUE(Match("dt LIKE '2024-0_-15'", p));
  EXPECT_FALSE(Match("dt NOT LIKE '%15'", p));
  EXPECT_FALSE(Match("month IS NULL", p));
  EXPECT_TRUE(Match("month IS NOT NULL", p));
  EXPECT_TRUE(Match("month IS NULL", {"2024", "__HIVE_DEFAULT_PARTITION__", "x"}));
  EXPECT_TRUE(Match("(year = 2023 OR year = 2024) AND NOT month = '07'", p));
  EXPECT_FALSE(Match("year = 2023 OR year = 2022 AND month = '06'", p));  // AND binds tighter
  EXPECT_TRUE(Match("month = 'it''s'", {"2024", "it's", "x"}));
}

TEST(PartitionFilterTest, BadExpressionsAreInvalidInput) {
  for (const char* bad : {"year =", "nokey = 1", "year = 'open", "(year = 1", "year IN (1,", "year BETWEEN 1",
                          "year LIKE", "year IS 5", "= 5", "year = 1 year", "year # 1"}) {
    auto f = PartitionFilter::Parse(bad, Keys());
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.status().type(), "InvalidInputException") << bad;
  }
  std::string deep(5000, '(');
  EXPECT_FALSE(PartitionFilter::Parse(deep, Keys()).ok());
  std::string nested;
  for (int i = 0; i < 300; ++i) nested += "NOT ";
  nested += "year = 1";
  EXPECT_FALSE(PartitionFilter::Parse(nested, Keys()).ok());
}

}  // namespace
}  // namespace eventlake::catalog
