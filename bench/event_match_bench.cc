// The event bus matcher on one core: events per second with 1, 100, 1,000 and
// 10,000 rules of realistic shapes (sources and detail types of many
// applications, with prefix, anything-but, numeric, exists, wildcard and $or
// conditions), beside a rule-by-rule evaluation for reference. Prints one JSON
// line per rule count.
//
//   event_match_bench --events 200000
#include <sched.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "bus/pattern.h"

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

const char* kTypes[] = {"OrderPlaced", "OrderShipped", "PaymentFailed", "UserSignedUp", "ItemViewed",
                        "CartAbandoned", "RefundIssued", "StockLow"};
const char* kCountries[] = {"DE", "FR", "US", "JP", "BR", "IN", "GB", "ES"};
const char* kStatus[] = {"new", "paid", "shipped", "cancelled", "failed"};

json Rule(std::mt19937_64& rng, int i) {
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  json p = {{"source", {"app.service" + std::to_string(i % 200)}},
            {"detail-type", {kTypes[pick(8)]}}};
  json detail = json::object();
  switch (i % 7) {
    case 0: detail["amount"] = {{{"numeric", {">", pick(500), "<=", 500 + pick(5000)}}}}; break;
    case 1: detail["country"] = {kCountries[pick(8)], kCountries[pick(8)]}; break;
    case 2: detail["sku"] = {{{"prefix", "SKU-" + std::to_string(pick(10))}}}; break;
    case 3: detail["status"] = {{{"anything-but", {kStatus[pick(5)], kStatus[pick(5)]}}}}; break;
    case 4: detail["coupon"] = {{{"exists", pick(2) == 0}}}; break;
    case 5: detail["email"] = {{{"wildcard", "*@example" + std::to_string(pick(20)) + ".com"}}}; break;
    default:
      p["$or"] = {{{"detail", {{"country", {kCountries[pick(8)]}}}}},
                  {{"detail", {{"amount", {{{"numeric", {">", 1000 + pick(9000)}}}}}}}}};
      break;
  }
  if (!detail.empty()) p["detail"] = detail;
  return p;
}

std::string Event(std::mt19937_64& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  json d = {{"order_id", "o-" + std::to_string(rng() % 100000000)},
            {"amount", pick(10000) / 1.0 + 0.5},
            {"country", kCountries[pick(8)]},
            {"sku", "SKU-" + std::to_string(pick(100)) + "-" + std::to_string(pick(1000))},
            {"status", kStatus[pick(5)]},
            {"email", "user" + std::to_string(pick(1000)) + "@example" + std::to_string(pick(20)) + ".com"},
            {"items", json::array({{{"sku", "SKU-1"}, {"qty", 1}}, {{"sku", "SKU-2"}, {"qty", pick(5)}}})}};
  if (pick(3) == 0) d["coupon"] = "SAVE10";
  json e = {{"version", "0"},
            {"id", "6a7e8feb-b491-4cf7-a9f1-bf3703467718"},
            {"detail-type", kTypes[pick(8)]},
            {"source", "app.service" + std::to_string(pick(200))},
            {"account", "000000000000"},
            {"time", "2026-11-26T10:00:00Z"},
            {"region", "us-east-1"},
            {"resources", json::array()},
            {"detail", d}};
  return e.dump();
}

}  // namespace

int main(int argc, char** argv) {
  int events = 200000;
  std::vector<int> rule_counts = {1, 100, 1000, 10000};
  CLI::App app{"Event pattern matching on one core"};
  app.add_option("--events", events);
  app.add_option("--rules", rule_counts, "rule counts to measure");
  bool reference = true;
  app.add_flag("!--no-reference", reference, "skip the rule-by-rule evaluation");
  CLI11_PARSE(app, argc, argv);
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof(set), &set);

  std::mt19937_64 rng(42);
  std::vector<std::string> input;
  size_t bytes = 0;
  for (int i = 0; i < events; ++i) {
    input.push_back(Event(rng));
    bytes += input.back().size();
  }
  for (int rules : rule_counts) {
    std::mt19937_64 rule_rng(7);
    eventlake::bus::Matcher m;
    std::vector<eventlake::bus::Pattern> patterns;
    for (int i = 0; i < rules; ++i) {
      patterns.push_back(*eventlake::bus::Pattern::Parse(Rule(rule_rng, i).dump()));
      m.Add(static_cast<uint64_t>(i), patterns.back());
    }
    (void)m.Match(input[0]);  // builds the index
    size_t matched = 0;
    const auto t0 = Clock::now();
    for (const auto& e : input) matched += m.Match(e).size();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    // Rule by rule with the reference evaluator, on a sample, for comparison.
    const int sample = reference ? std::max(20, std::min(events, 2000000 / rules)) : 0;
    size_t naive_matched = 0;
    const auto t1 = Clock::now();
    for (int i = 0; i < sample; ++i) {
      const json e = json::parse(input[i]);
      for (const auto& p : patterns) naive_matched += eventlake::bus::ReferenceMatch(p, e);
    }
    const double naive_secs = std::chrono::duration<double>(Clock::now() - t1).count();
    json out = {{"rules", rules},
                {"events", events},
                {"event_bytes", static_cast<double>(bytes) / events},
                {"events_per_s", events / secs},
                {"matches_per_event", static_cast<double>(matched) / events},
                {"rule_by_rule_events_per_s", sample ? sample / naive_secs : 0}};
    std::printf("%s\n", out.dump().c_str());
    std::fflush(stdout);
  }
  return 0;
}
