// The AWS JSON 1.1 services this endpoint answers for, with their target
// prefixes, signing names and request size limits. Operations are added by
// each service's own file as it is built; a known service with an unknown
// operation still verifies the signature, then answers UnknownOperationException.
#pragma once

#include <vector>

#include "api/json_service.h"

namespace eventlake::api {

std::vector<JsonService> AwsJsonServices();

}  // namespace eventlake::api
