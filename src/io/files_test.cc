#include "io/files.h"

#include "common/test_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

namespace eventlake::io {
namespace {


TEST(FilesTest, WriteAtomicallyReplacesAndSetsMode) {
  std::string dir = FreshTestDir();
  std::string path = dir + "/secret";
  ASSERT_TRUE(WriteFileAtomically(path, "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "two", 0600).ok());
  EXPECT_EQ(*ReadWholeFile(path), "two");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(FilesTest, ReadMissingFileIsNotFound) {
  EXPECT_EQ(ReadWholeFile(FreshTestDir() + "/nope").status().code(), StatusCode::kNotFound);
}

TEST(FilesTest, SecondLockOnSameFileFailsWithPrecondition) {
  std::string path = FreshTestDir() + "/LOCK";
  auto first = LockFile::Acquire(path);
  ASSERT_TRUE(first.ok());
  auto second = LockFile::Acquire(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("pid " + std::to_string(::getpid())), std::string::npos);
  first->reset();
  EXPECT_TRUE(LockFile::Acquire(path).ok());
}

}  // namespace
}  // namespace eventlake::io
