#include "auth/keys.h"

#include "common/test_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace eventlake::auth {
namespace {


TEST(RootCredentialsTest, GeneratedOnceWithMode0600AndReusedAfter) {
  std::string dir = FreshTestDir();
  auto first = LoadOrCreateRootCredentials(dir, nullptr, nullptr);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->source, RootCredentials::Source::kGenerated);
  EXPECT_EQ(first->access_key_id.size(), 20u);
  EXPECT_EQ(first->access_key_id.substr(0, 4), "AKIA");
  EXPECT_EQ(first->secret_access_key.size(), 40u);
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/root-credentials.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto second = LoadOrCreateRootCredentials(dir, nullptr, nullptr);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->source, RootCredentials::Source::kFile);
  EXPECT_EQ(second->access_key_id, first->access_key_id);
  EXPECT_EQ(second->secret_access_key, first->secret_access_key);
}

TEST(RootCredentialsTest, EnvironmentWinsAndMustBeComplete) {
  std::string dir = FreshTestDir();
  auto env = LoadOrCreateRootCredentials(dir, "AKIAENV", "secret");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->source, RootCredentials::Source::kEnvironment);
  EXPECT_EQ(env->access_key_id, "AKIAENV");
  EXPECT_FALSE(std::filesystem::exists(dir + "/root-credentials.json"));
  EXPECT_EQ(LoadOrCreateRootCredentials(dir, "AKIAENV", nullptr).status().code(), StatusCode::kInvalidArgument);
}

TEST(KeyStoreTest, RootKeyIsReplacedAndPersisted) {
  std::string dir = FreshTestDir();
  {
    auto store = meta::OpenSqliteStore(dir + "/meta.db");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Migrate(KeyStore::Migrations()).ok());
    auto keys = KeyStore::Open(**store, "000000000000");
    ASSERT_TRUE(keys.ok());
    ASSERT_TRUE((*keys)->PutRootKey("AKIAONE", "s1").ok());
    ASSERT_TRUE((*keys)->PutRootKey("AKIATWO", "s2").ok());
    EXPECT_FALSE((*keys)->Lookup("AKIAONE").has_value());
  }
  auto store = meta::OpenSqliteStore(dir + "/meta.db");
  auto keys = KeyStore::Open(**store, "000000000000");
  auto k = (*keys)->Lookup("AKIATWO");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->secret, "s2");
  EXPECT_TRUE(k->principal.root);
  EXPECT_EQ(k->principal.arn, "arn:aws:iam::000000000000:root");
}

}  // namespace
}  // namespace eventlake::auth

#include "auth/crypto.h"

namespace eventlake::auth {
namespace {

TEST(CryptoTest, Base64IsStrictAndRoundTrips) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(*Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_FALSE(Base64Decode("aGVsbG8").has_value());   // not a multiple of 4
  EXPECT_FALSE(Base64Decode("aGV$bG8=").has_value());  // outside the alphabet
  EXPECT_FALSE(Base64Decode("a=Vs").has_value());      // padding inside
}

TEST(CryptoTest, Md5OfAPartitionKey) {
  auto d = Md5("");
  EXPECT_EQ(d[0], 0xd4);
  EXPECT_EQ(d[15], 0x7e);
}

}  // namespace
}  // namespace eventlake::auth
