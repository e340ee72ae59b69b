#include "api/context.h"

namespace eventlake::api {

Status RequestContext::Authorize(std::string action, std::string resource) {
  action_ = std::move(action);
  resource_ = std::move(resource);
  Status s = authorizer_.Authorize(principal_, action_, resource_);
  authorized_ = s.ok();
  return s;
}

}  // namespace eventlake::api
