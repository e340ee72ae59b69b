// Who is calling: principals and their access keys.
#pragma once

#include <string>

namespace eventlake::auth {

struct Principal {
  std::string arn;         // arn:aws:iam::000000000000:root
  std::string account_id;  // 000000000000
  std::string user_id;     // what GetCallerIdentity calls UserId
  bool root = false;
};

struct AccessKey {
  std::string id;      // AKIA...
  std::string secret;  // the signing secret
  Principal principal;
  bool active = true;
};

Principal RootPrincipal(const std::string& account_id);

}  // namespace eventlake::auth
