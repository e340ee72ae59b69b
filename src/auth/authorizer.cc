#include "auth/authorizer.h"

namespace eventlake::auth {

Status Authorizer::Authorize(const Principal& principal, std::string_view action, std::string_view resource) const {
  if (principal.root) return Status::Ok();
  return Status::PermissionDenied("User: " + principal.arn + " is not authorized to perform: " + std::string(action) +
                                  " on resource: " + std::string(resource) +
                                  " because no identity-based policy allows the " + std::string(action) + " action");
}

}  // namespace eventlake::auth
