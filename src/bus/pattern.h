// EventBridge's event pattern language, as aws/event-ruler defines it:
// parsing and validation of patterns (InvalidEventPatternException), a
// compiled matcher for many rules at once, and a plain reference evaluator
// for tests.
//
// Semantics, in short: a pattern mirrors the event; every leaf is an array of
// alternatives (OR), every field mentioned must match (AND); an event array
// matches when one of its elements does; fields matched under one array must
// come from the same element; `$or` joins sub-patterns; an empty event array
// gives no values. Numbers match exact values at the level of their JSON
// text, as EventBridge documents (300 does not match 300.0; an integer and a
// fraction or exponent never match each other), and numeric ranges by value.
// Operators: exact values (string, number, true, false, null), prefix, suffix (each also with equals-ignore-case), equals-ignore-case,
// wildcard, anything-but (values, or prefix/suffix/equals-ignore-case/wildcard),
// numeric ranges, cidr, exists.
//
// The matcher's cost per event grows with the event's fields that some rule
// looks at and with the conditions those fields satisfy, not with the number
// of rules: each field's value is looked up in per-field indexes (hash maps
// for exact and case-folded values and for prefixes and suffixes of each
// length in use; sorted ranges for numbers), conditions satisfied are counted
// per rule, and only rules whose every field is satisfied are checked for the
// rest (absent fields, array elements).
//
// Thread-safety: Pattern is a value. Matcher: Add/Remove from one
// thread at a time; Match from many threads at once (not during Add/Remove).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace eventlake::bus {

// A scalar of an event or pattern.
struct Value {
  enum Kind { kString, kNumber, kBool, kNull } kind = kNull;
  std::string text;  // the string; for numbers their JSON text; "true"/"false" for booleans
  double number = 0;
  bool integer = false;  // a number written without fraction or exponent (300, not 300.0)
  bool operator==(const Value& o) const;
};

struct Condition {
  enum Kind {
    kExact,         // values[0]
    kPrefix,        // text
    kPrefixIgnoreCase,
    kSuffix,
    kSuffixIgnoreCase,
    kEqualsIgnoreCase,
    kWildcard,      // text
    kAnythingBut,   // values (all strings or all numbers)
    kAnythingButPrefix,      // texts
    kAnythingButSuffix,      // texts
    kAnythingButIgnoreCase,  // texts
    kAnythingButWildcard,    // texts
    kNumeric,       // low/high
    kCidr,          // address bytes, prefix bits
    kExists,        // exists: true (exists: false is Leaf::absent_ok)
  } kind = kExact;
  std::vector<Value> values;
  std::string text;
  std::vector<std::string> texts;
  double low = -1e300, high = 1e300;
  bool low_inclusive = true, high_inclusive = true;
  std::string address;  // 4 or 16 bytes
  int prefix_bits = 0;
};

// One field a pattern looks at: it matches when one of the conditions holds
// for one of the field's values, or (absent_ok) when the event has no value
// at the path at all.
struct Leaf {
  std::vector<std::string> path;
  std::vector<Condition> conditions;
  bool absent_ok = false;
};

// Every leaf must match (after `$or` is expanded, a pattern is an OR of these).
struct Conjunction {
  std::vector<Leaf> leaves;
};

class Pattern {
 public:
  // InvalidArgument with type InvalidEventPatternException and AWS's wording
  // ("Event pattern is not valid. Reason: ...") for what event-ruler refuses.
  static Result<Pattern> Parse(std::string_view json);
  const std::vector<Conjunction>& disjuncts() const { return disjuncts_; }

 private:
  std::vector<Conjunction> disjuncts_;
};

// Whether one value satisfies one condition (shared by the matcher and the reference).
bool Satisfies(const Condition& c, const Value& v);

// The straightforward evaluator the matcher is tested against: the pattern
// walked over the event's JSON tree.
bool ReferenceMatch(const Pattern& pattern, const nlohmann::json& event);

// Many patterns compiled together. Rules are named by the caller's ids.
class Matcher {
 public:
  Matcher();
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Adds (or replaces) the pattern of a rule.
  void Add(uint64_t rule, const Pattern& pattern);
  void Remove(uint64_t rule);
  size_t size() const;

  // The rules the event matches, in increasing id order.
  std::vector<uint64_t> Match(std::string_view event_json) const;
  std::vector<uint64_t> MatchJson(const nlohmann::json& event) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eventlake::bus
