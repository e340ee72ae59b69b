#include "bus/pattern.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <set>

namespace eventlake::bus {
namespace {

using json = nlohmann::json;

json Cases() {
  const char* root = std::getenv("EL_SOURCE_DIR");
  std::ifstream in(std::string(root ? root : ".") + "/src/bus/testdata/pattern_cases.json");
  EXPECT_TRUE(in.good());
  return json::parse(in);
}

std::string Text(const json& pattern) { return pattern.is_string() ? pattern.get<std::string>() : pattern.dump(); }

TEST(PatternTest, ConformanceCasesWithTheMatcherAndTheReference) {
  const json cases = Cases();
  for (const auto& c : cases["matches"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    auto p = Pattern::Parse(Text(c["pattern"]));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    const bool expected = c["match"].get<bool>();
    EXPECT_EQ(ReferenceMatch(*p, c["event"]), expected) << "reference";
    Matcher m;
    m.Add(7, *p);
    EXPECT_EQ(m.Match(c["event"].dump()) == std::vector<uint64_t>{7}, expected) << "matcher (text)";
    EXPECT_EQ(m.MatchJson(c["event"]) == std::vector<uint64_t>{7}, expected) << "matcher (json)";
  }
}

TEST(PatternTest, InvalidPatternsAreRefusedWithTheReason) {
  const json cases = Cases();
  for (const auto& c : cases["errors"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    auto p = Pattern::Parse(Text(c["pattern"]));
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().type(), "InvalidEventPatternException");
    EXPECT_NE(p.status().message().find("Event pattern is not valid. Reason: "), std::string::npos);
    EXPECT_NE(p.status().message().find(c["error"].get<std::string>()), std::string::npos) << p.status().message();
  }
}

TEST(PatternTest, AllCasesInOneMatcherDoNotDisturbEachOther) {
  const json cases = Cases();
  Matcher m;
  std::vector<Pattern> patterns;
  for (size_t i = 0; i < cases["matches"].size(); ++i) {
    patterns.push_back(*Pattern::Parse(Text(cases["matches"][i]["pattern"])));
    m.Add(i, patterns.back());
  }
  for (const auto& c : cases["matches"]) {
    std::vector<uint64_t> expected;
    for (size_t i = 0; i < patterns.size(); ++i) {
      if (ReferenceMatch(patterns[i], c["event"])) expected.push_back(i);
    }
    EXPECT_EQ(m.Match(c["event"].dump()), expected) << c["name"];
  }
  m.Remove(0);
  EXPECT_EQ(m.size(), cases["matches"].size() - 1);
}

// Random events and patterns over a small vocabulary, so that they meet often.
class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  json Scalar() {
    switch (Pick(6)) {
      case 0: return kWords[Pick(6)];
      case 1: return Pick(10) - 3;
      case 2: return Pick(100) / 4.0;
      case 3: return Pick(2) == 0;
      case 4: return nullptr;
      default: return std::string(kWords[Pick(6)]) + std::to_string(Pick(3));
    }
  }
  json EventValue(int depth) {
    const int k = Pick(depth > 2 ? 3 : 5);
    if (k < 3) return Scalar();
    if (k == 3) {
      json a = json::array();
      for (int i = Pick(4); i > 0; --i) a.push_back(EventValue(depth + 1));
      return a;
    }
    json o = json::object();
    for (int i = 1 + Pick(3); i > 0; --i) o[kKeys[Pick(4)]] = EventValue(depth + 1);
    return o;
  }
  json Event() {
    json o = json::object();
    for (int i = 1 + Pick(4); i > 0; --i) o[kKeys[Pick(4)]] = EventValue(1);
    return o;
  }
  json Condition() {
    const std::string w = kWords[Pick(6)];
    switch (Pick(12)) {
      case 0: return {{"prefix", w.substr(0, 1 + Pick(2))}};
      case 1: return {{"suffix", w.substr(w.size() - 1)}};
      case 2: return {{"equals-ignore-case", w}};
      case 3: return {{"wildcard", w.substr(0, 1) + "*"}};
      case 4: return {{"anything-but", w}};
      case 5: return {{"anything-but", {{"prefix", w.substr(0, 1)}}}};
      case 6: return {{"numeric", {">", Pick(5) - 2, "<=", 3 + Pick(20)}}};
      case 7: return {{"exists", Pick(2) == 0}};
      default: return Scalar();
    }
  }
  json PatternObject(int depth) {
    json o = json::object();
    for (int i = 1 + Pick(2); i > 0; --i) {
      const std::string key = kKeys[Pick(4)];
      if (depth < 3 && Pick(3) == 0) {
        o[key] = PatternObject(depth + 1);
      } else {
        json leaf = json::array();
        for (int j = 1 + Pick(2); j > 0; --j) leaf.push_back(Condition());
        o[key] = leaf;
      }
    }
    if (Pick(6) == 0) o["$or"] = {PatternObject(depth + 1), PatternObject(depth + 1)};
    return o;
  }

 private:
  static constexpr const char* kWords[] = {"alpha", "Beta", "gamma", "delta", "ALPHA", "eps"};
  static constexpr const char* kKeys[] = {"a", "b", "c", "d"};
  std::mt19937_64 rng_;
};

TEST(PatternTest, TheMatcherAgreesWithTheReferenceOnRandomPatternsAndEvents) {
  Generator g(20261126);
  std::vector<Pattern> patterns;
  std::vector<json> texts;
  while (patterns.size() < 300) {
    json p = g.PatternObject(0);
    auto parsed = Pattern::Parse(p.dump());
    if (!parsed.ok()) continue;
    patterns.push_back(std::move(*parsed));
    texts.push_back(p);
  }
  Matcher m;
  for (size_t i = 0; i < patterns.size(); ++i) m.Add(i, patterns[i]);
  size_t matches = 0;
  for (int n = 0; n < 3000; ++n) {
    const json event = g.Event();
    std::vector<uint64_t> expected;
    for (size_t i = 0; i < patterns.size(); ++i) {
      if (ReferenceMatch(patterns[i], event)) expected.push_back(i);
    }
    const auto got = m.Match(event.dump());
    matches += expected.size();
    if (got != expected) {
      std::set<uint64_t> a(got.begin(), got.end()), b(expected.begin(), expected.end());
      for (uint64_t r : b) {
        if (!a.count(r)) ADD_FAILURE() << "missed: pattern " << texts[r].dump() << " event " << event.dump();
      }
      for (uint64_t r : a) {
        if (!b.count(r)) ADD_FAILURE() << "extra: pattern " << texts[r].dump() << " event " << event.dump();
      }
      break;
    }
  }
  EXPECT_GT(matches, 1000u);  // the vocabulary is small enough that many pairs match
}

}  // namespace
}  // namespace eventlake::bus
