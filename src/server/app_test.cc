#include "server/app.h"

#include <gtest/gtest.h>

namespace eventlake::server {
namespace {

TEST(ConfigTest, ListenAcceptsHostPortAndBracketedIpv6) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(ParseListen("127.0.0.1:4566", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 4566);
  ASSERT_TRUE(ParseListen("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(ParseListen("localhost:80", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(ParseListen("4566", &host, &port).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseListen("h:99999", &host, &port).code(), StatusCode::kInvalidArgument);
}

TEST(ConfigTest, RegionAndAccountAreValidated) {
  Config c;
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.region = "Mars";
  EXPECT_EQ(ValidateConfig(c).code(), StatusCode::kInvalidArgument);
  c.region = "eu-central-1";
  c.account_id = "123";
  EXPECT_EQ(ValidateConfig(c).code(), StatusCode::kInvalidArgument);
  c.account_id = "123456789012";
  EXPECT_TRUE(ValidateConfig(c).ok());
}

}  // namespace
}  // namespace eventlake::server
