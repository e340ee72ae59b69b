#include "io/fault_injection_file_system.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace eventlake::io {
namespace {

TEST(FaultInjectionFileSystemTest, CrashKeepsOnlySyncedBytesOfDurableEntries) {
  FaultInjectionFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  auto f = fs.Open("/d/a", FileSystem::OpenMode::kCreateNew);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("synced").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  ASSERT_TRUE((*f)->Append("+lost").ok());
  auto g = fs.Open("/d/new", FileSystem::OpenMode::kCreateNew);  // entry never made durable
  ASSERT_TRUE((*g)->Append("x").ok());
  ASSERT_TRUE((*g)->Sync().ok());
  fs.Crash();
  EXPECT_EQ((*f)->Append("from the dead").code(), StatusCode::kIoError);
  fs.Restart();
  EXPECT_EQ((*f)->Append("still dead").code(), StatusCode::kIoError);
  EXPECT_EQ(*fs.ReadFile("/d/a"), "synced");
  EXPECT_FALSE(fs.Exists("/d/new"));
}

TEST(FaultInjectionFileSystemTest, RemovalIsDurableOnlyAfterDirectorySync) {
  FaultInjectionFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  ASSERT_TRUE(fs.WriteFileAtomically("/d/a", "keep").ok());
  ASSERT_TRUE(fs.Remove("/d/a").ok());
  EXPECT_FALSE(fs.Exists("/d/a"));
  fs.Crash();
  fs.Restart();
  EXPECT_EQ(*fs.ReadFile("/d/a"), "keep");
  ASSERT_TRUE(fs.Remove("/d/a").ok());
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  fs.Crash();
  fs.Restart();
  EXPECT_FALSE(fs.Exists("/d/a"));
  auto names = fs.List("/d");
  ASSERT_TRUE(names.ok());
  EXPECT_TRUE(names->empty());
}

TEST(FaultInjectionFileSystemTest, InjectedFailuresAndTruncation) {
  FaultInjectionFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  auto f = fs.Open("/d/a", FileSystem::OpenMode::kCreateNew);
  ASSERT_TRUE((*f)->Append("0123456789").ok());
  ASSERT_TRUE((*f)->Truncate(4).ok());
  EXPECT_EQ((*f)->Size(), 4u);
  fs.FailWrites(true);
  EXPECT_EQ((*f)->Append("x").code(), StatusCode::kIoError);
  EXPECT_EQ((*f)->Sync().code(), StatusCode::kIoError);
  fs.FailWrites(false);
  std::string out;
  ASSERT_TRUE((*f)->ReadAt(1, 100, &out).ok());
  EXPECT_EQ(out, "123");
}

}  // namespace
}  // namespace eventlake::io
