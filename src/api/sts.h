// STS over the Query protocol (form-encoded POST, XML replies): the calls a
// client makes to learn who it is. GetCallerIdentity is what `aws sts
// get-caller-identity` and most SDK credential checks send.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/context.h"

namespace eventlake::api {

struct FormParams {
  std::string action;
  std::string version;
  std::vector<std::pair<std::string, std::string>> params;  // all, decoded, in order
};

// Decodes an application/x-www-form-urlencoded body (or query string).
// InvalidArgument (typed MissingAction / MalformedQueryString) when malformed.
Result<FormParams> ParseFormParams(std::string_view form);

// Runs one STS action; replies with the XML body or an error.
void HandleStsAction(RequestContext& ctx, const FormParams& params, std::function<void(Result<std::string>)> reply);

}  // namespace eventlake::api
