// The EventBridge API (JSON 1.1, target prefix AWSEvents). So far:
// TestEventPattern, on the bus room's pattern language; the other actions
// answer UnknownOperationException until the bus room serves them.
#pragma once

#include "api/json_service.h"

namespace eventlake::api {

class EventsApi {
 public:
  JsonService Service();
};

}  // namespace eventlake::api
