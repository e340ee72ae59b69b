// The one table from Status (and authentication failures) to the error each
// wire protocol sends: HTTP status, AWS error code and message, and the
// rendering of that error in the protocol's shape.
//
//   JSON 1.1 (Kinesis, Firehose, EventBridge, Glue, Athena):
//     {"__type": "Code", "message": "..."} with x-amzn-ErrorType
//   Query (STS): <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
//   REST-XML (S3): <Error><Code/><Message/><Resource/><RequestId/></Error>
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "auth/sigv4.h"
#include "common/http_message.h"
#include "common/status.h"

namespace eventlake::api {

enum class Protocol { kJson, kQuery, kRestXml };

struct WireError {
  int http_status = 500;
  std::string code;
  std::string message;
};

// Per-service names for status codes where a JSON service differs from the
// defaults (Kinesis says InvalidArgumentException where others say
// ValidationException).
using ErrorNames = std::map<StatusCode, std::string>;

// Codes that mean the server failed (a bug, a disk), not the caller: their
// details go to the server log, and the caller gets a generic message.
bool IsUnexpected(StatusCode code);

// The wire error for `status`: its explicit type() if set, else the service's
// name for the code, else the protocol default.
WireError ToWireError(const Status& status, Protocol protocol, const ErrorNames& names = {});
WireError AuthWireError(const auth::AuthError& error, Protocol protocol);

// A complete error response. `content_type` is used for JSON (the request's
// own JSON version); `resource` fills S3's <Resource>.
HttpResponse RenderError(const WireError& error, Protocol protocol, std::string_view request_id,
                         std::string_view content_type = "application/x-amz-json-1.1",
                         std::string_view resource = {});

}  // namespace eventlake::api
