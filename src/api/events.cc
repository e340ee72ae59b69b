#include "api/events.h"

#include "api/json_input.h"
#include "bus/pattern.h"

namespace eventlake::api {
namespace {

Status InvalidEvent(const std::string& reason) {
  return Status::InvalidArgument("Event is not valid. Reason: " + reason).WithType("InvalidEventPatternException");
}

}  // namespace

JsonService EventsApi::Service() {
  JsonService svc;
  svc.target_prefix = "AWSEvents";
  svc.signing_name = "events";
  svc.max_body_bytes = 2 << 20;
  svc.error_names = {{StatusCode::kNotFound, "ResourceNotFoundException"},
                     {StatusCode::kAlreadyExists, "ResourceAlreadyExistsException"},
                     {StatusCode::kInvalidArgument, "ValidationException"},
                     {StatusCode::kResourceExhausted, "LimitExceededException"}};

  svc.operations["TestEventPattern"] = WithInput([](RequestContext& ctx, Input& in, const json&, JsonReply reply) {
    auto pattern = in.Str("EventPattern", "eventPattern", true, 0, 4096);
    auto event = in.Str("Event", "event", true);
    if (Status s = in.Check(); !s.ok()) return reply(s);
    if (Status s = ctx.Authorize("events:TestEventPattern", "*"); !s.ok()) return reply(s);
    auto compiled = bus::Pattern::Parse(*pattern);
    if (!compiled.ok()) return reply(compiled.status());
    json e = json::parse(*event, nullptr, /*allow_exceptions=*/false);
    if (e.is_discarded()) return reply(InvalidEvent("the event is not valid JSON"));
    if (!e.is_object()) return reply(InvalidEvent("the event must be a JSON object"));
    // The envelope fields every event has (AWS refuses a test event without them).
    for (const char* field : {"id", "account", "source", "time", "region", "detail-type"}) {
      if (!e.contains(field)) return reply(InvalidEvent(std::string("Provided Event must have field '") + field + "'"));
      if (!e[field].is_string()) return reply(InvalidEvent(std::string("Field '") + field + "' must be a string"));
    }
    if (e.contains("resources") && !e["resources"].is_array()) {
      return reply(InvalidEvent("Field 'resources' must be an array of strings"));
    }
    bus::Matcher matcher;
    matcher.Add(1, *compiled);
    reply(Dump({{"Result", !matcher.MatchJson(e).empty()}}));
  });
  return svc;
}

}  // namespace eventlake::api
