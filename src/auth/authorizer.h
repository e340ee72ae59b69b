// Authorization: may this principal perform this action on this resource?
//
// Every request passes through Authorize() exactly where its action and
// resource are known (api/). Today the root identity may do everything and no
// other identity exists; users, roles and IAM-style policies will be evaluated
// here and nowhere else. Thread-safe.
#pragma once

#include <string_view>

#include "auth/identity.h"
#include "common/status.h"

namespace eventlake::auth {

class Authorizer {
 public:
  // OK, or PermissionDenied worded as AWS words it.
  Status Authorize(const Principal& principal, std::string_view action, std::string_view resource) const;
};

}  // namespace eventlake::auth
