#include "query/duckdb_engine.h"

#include <gtest/gtest.h>

namespace eventlake::query {
namespace {

TEST(DuckDbEngineTest, LinksThePinnedLibrary) { EXPECT_EQ(DuckDbVersion(), "v1.4.4"); }

}  // namespace
}  // namespace eventlake::query
