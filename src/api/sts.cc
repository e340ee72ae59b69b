#include "api/sts.h"

#include "common/strings.h"

namespace eventlake::api {

Result<FormParams> ParseFormParams(std::string_view form) {
  FormParams out;
  for (std::string_view piece : Split(form, '&')) {
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    auto key = PercentDecode(piece.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1), true);
    if (!key || !value) {
      return Status::InvalidArgument("The query string is malformed: bad percent-encoding")
          .WithType("MalformedQueryString");
    }
    if (*key == "Action") out.action = *value;
    if (*key == "Version") out.version = *value;
    out.params.emplace_back(std::move(*key), std::move(*value));
  }
  if (out.action.empty()) {
    return Status::InvalidArgument("The request must contain the parameter Action.").WithType("MissingAction");
  }
  if (out.action.size() > 128) out.action.resize(128);
  return out;
}

void HandleStsAction(RequestContext& ctx, const FormParams& params, std::function<void(Result<std::string>)> reply) {
  if (params.action != "GetCallerIdentity") {
    ctx.Authorize("sts:" + params.action, "*").IgnoreError();  // names the action for the audit trail
    reply(Status::Unimplemented("Could not find operation " + params.action + " for version " +
                                (params.version.empty() ? std::string("2011-06-15") : params.version))
              .WithType("InvalidAction"));
    return;
  }
  // GetCallerIdentity needs no permission in AWS; it is still named for the audit trail.
  ctx.Authorize("sts:GetCallerIdentity", "*").IgnoreError();
  const auth::Principal& p = ctx.principal();
  reply(
      "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
      "  <GetCallerIdentityResult>\n"
      "    <Arn>" + XmlEscape(p.arn) + "</Arn>\n"
      "    <UserId>" + XmlEscape(p.user_id) + "</UserId>\n"
      "    <Account>" + XmlEscape(p.account_id) + "</Account>\n"
      "  </GetCallerIdentityResult>\n"
      "  <ResponseMetadata>\n"
      "    <RequestId>" + ctx.request_id() + "</RequestId>\n"
      "  </ResponseMetadata>\n"
      "</GetCallerIdentityResponse>\n");
}

}  // namespace eventlake::api
