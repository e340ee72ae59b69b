// Untrusted bytes as the event bus meets them: event patterns (PutRule,
// TestEventPattern, archives) and events (PutEvents), through the parser, the
// compiled matcher and the reference evaluator, which must agree.
#include <cstdint>
#include <string>
#include <string_view>

#include "bus/pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eventlake::bus;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // The input as a pattern, matched against a fixed event; and as an event, against fixed patterns.
  static const nlohmann::json kEvent = nlohmann::json::parse(
      R"({"source":"aws.ec2","detail":{"state":"running","n":5,"ip":"10.0.0.1","tags":["a","b"],)"
      R"("items":[{"k":"x","v":1},{"k":"y","v":2}]}})");
  auto pattern = Pattern::Parse(in);
  if (pattern.ok()) {
    Matcher m;
    m.Add(1, *pattern);
    const bool reference = ReferenceMatch(*pattern, kEvent);
    if ((m.MatchJson(kEvent) == std::vector<uint64_t>{1}) != reference) __builtin_trap();
  }
  static Matcher* fixed = [] {
    auto* m = new Matcher();
    const char* patterns[] = {R"({"source":["aws.ec2"],"detail":{"state":[{"anything-but":"stopped"}]}})",
                              R"({"detail":{"items":{"k":["x"],"v":[{"numeric":[">",0]}]}}})",
                              R"({"detail":{"ip":[{"cidr":"10.0.0.0/8"}],"missing":[{"exists":false}]}})",
                              R"({"$or":[{"a":[{"wildcard":"*x*"}]},{"b":[{"prefix":{"equals-ignore-case":"Q"}}]}]})"};
    uint64_t id = 0;
    for (const char* p : patterns) m->Add(id++, *Pattern::Parse(p));
    return m;
  }();
  auto event = nlohmann::json::parse(in, nullptr, false);
  if (!event.is_discarded() && event.is_object()) {
    const auto got = fixed->Match(in);
    (void)got;
  }
  return 0;
}
