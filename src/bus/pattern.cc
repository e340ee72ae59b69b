#include "bus/pattern.h"

#include <arpa/inet.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>

namespace eventlake::bus {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxCombinations = 1000;

Status Invalid(const std::string& reason) {
  return Status::InvalidArgument("Event pattern is not valid. Reason: " + reason)
      .WithType("InvalidEventPatternException");
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string NumberKey(double d) {
  if (d == 0) d = 0;  // -0 == 0
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", d);
  return buf;
}

// `*` is any run of characters; `\*` a star and `\\` a backslash.
bool WildcardMatch(std::string_view pattern, std::string_view s) {
  size_t p = 0, i = 0, star_p = std::string_view::npos, star_i = 0;
  auto literal = [&](size_t at, char* out) -> size_t {  // the literal at `at` and its length in the pattern
    if (pattern[at] == '\\' && at + 1 < pattern.size()) {
      *out = pattern[at + 1];
      return 2;
    }
    *out = pattern[at];
    return 1;
  };
  while (i < s.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = ++p;
      star_i = i;
      continue;
    }
    if (p < pattern.size()) {
      char c;
      const size_t n = literal(p, &c);
      if (c == s[i]) {
        p += n;
        ++i;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    i = ++star_i;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Status CheckWildcard(const std::string& w) {
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == '\\') {
      if (i + 1 >= w.size() || (w[i + 1] != '*' && w[i + 1] != '\\')) {
        return Invalid("Wildcard pattern contains an invalid escape character: " + w);
      }
      ++i;
    } else if (w[i] == '*' && i + 1 < w.size() && w[i + 1] == '*') {
      return Invalid("Consecutive wildcard characters at pos " + std::to_string(i + 1));
    }
  }
  return Status::Ok();
}

bool ParseAddress(const std::string& text, std::string* bytes) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    bytes->assign(reinterpret_cast<char*>(buf), 4);
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    bytes->assign(reinterpret_cast<char*>(buf), 16);
    return true;
  }
  return false;
}

bool InCidr(const Condition& c, const std::string& address) {
  if (address.size() != c.address.size()) return false;
  int bits = c.prefix_bits;
  for (size_t i = 0; i < address.size() && bits > 0; ++i, bits -= 8) {
    const unsigned mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((static_cast<unsigned char>(address[i]) & mask) != (static_cast<unsigned char>(c.address[i]) & mask)) {
      return false;
    }
  }
  return true;
}

Value ValueOf(const json& j) {
  Value v;
  if (j.is_string()) {
    v.kind = Value::kString;
    v.text = j.get<std::string>();
  } else if (j.is_number()) {
    v.kind = Value::kNumber;
    v.number = j.get<double>();
    v.integer = j.is_number_integer();
    v.text = j.dump();
  } else if (j.is_boolean()) {
    v.kind = Value::kBool;
    v.text = j.get<bool>() ? "true" : "false";
  }
  return v;
}

// ---- pattern parsing ----

struct Parser {
  size_t combinations = 1;

  Result<Condition> Operator(const std::string& field, const json& op) {
    if (op.size() != 1) return Invalid("Only one key allowed in match expression for field " + field);
    const std::string key = op.begin().key();
    const json& arg = op.begin().value();
    Condition c;
    auto string_arg = [&](const char* what) -> Status {
      if (!arg.is_string()) return Invalid(std::string(what) + " match pattern must be a string");
      c.text = arg.get<std::string>();
      return Status::Ok();
    };
    if (key == "prefix" || key == "suffix") {
      const bool prefix = key == "prefix";
      if (arg.is_object() && arg.size() == 1 && arg.contains("equals-ignore-case")) {
        if (!arg["equals-ignore-case"].is_string()) return Invalid("equals-ignore-case match pattern must be a string");
        c.kind = prefix ? Condition::kPrefixIgnoreCase : Condition::kSuffixIgnoreCase;
        c.text = Lower(arg["equals-ignore-case"].get<std::string>());
        return c;
      }
      EL_RETURN_IF_ERROR(string_arg(prefix ? "prefix" : "suffix"));
      c.kind = prefix ? Condition::kPrefix : Condition::kSuffix;
      return c;
    }
    if (key == "equals-ignore-case") {
      EL_RETURN_IF_ERROR(string_arg("equals-ignore-case"));
      c.kind = Condition::kEqualsIgnoreCase;
      c.text = Lower(c.text);
      return c;
    }
    if (key == "wildcard") {
      EL_RETURN_IF_ERROR(string_arg("wildcard"));
      EL_RETURN_IF_ERROR(CheckWildcard(c.text));
      c.kind = Condition::kWildcard;
      return c;
    }
    if (key == "anything-but") return AnythingBut(arg);
    if (key == "numeric") return Numeric(arg);
    if (key == "cidr") {
      EL_RETURN_IF_ERROR(string_arg("cidr"));
      const size_t slash = c.text.find('/');
      std::string bits_text = slash == std::string::npos ? "" : c.text.substr(slash + 1);
      if (slash == std::string::npos || bits_text.empty() || bits_text.size() > 3 ||
          !std::all_of(bits_text.begin(), bits_text.end(), ::isdigit) ||
          !ParseAddress(c.text.substr(0, slash), &c.address)) {
        return Invalid("Malformed CIDR, one '/' required");
      }
      c.prefix_bits = std::stoi(bits_text);
      if (c.prefix_bits > static_cast<int>(c.address.size() * 8)) return Invalid("Malformed CIDR, mask bits out of range");
      c.kind = Condition::kCidr;
      return c;
    }
    if (key == "exists") {
      if (!arg.is_boolean()) return Invalid("exists match pattern must be either true or false.");
      c.kind = Condition::kExists;
      c.values.push_back(ValueOf(arg));
      return c;
    }
    return Invalid("Unrecognized match type " + key);
  }

  Result<Condition> AnythingBut(const json& arg) {
    Condition c;
    c.kind = Condition::kAnythingBut;
    if (arg.is_string() || arg.is_number()) {
      c.values.push_back(ValueOf(arg));
      return c;
    }
    if (arg.is_array()) {
      if (arg.empty()) return Invalid("Empty arrays are not allowed");
      bool strings = false, numbers = false;
      for (const auto& v : arg) {
        if (v.is_string()) {
          strings = true;
        } else if (v.is_number()) {
          numbers = true;
        } else {
          return Invalid("Inside anything but list, start|null|boolean is not supported.");
        }
        c.values.push_back(ValueOf(v));
      }
      if (strings && numbers) return Invalid("Inside anything but list, all values must be strings or all numbers");
      return c;
    }
    if (arg.is_object()) {
      if (arg.size() != 1) return Invalid("Only one key allowed in match expression");
      const std::string key = arg.begin().key();
      const json& inner = arg.begin().value();
      if (key == "prefix") {
        c.kind = Condition::kAnythingButPrefix;
      } else if (key == "suffix") {
        c.kind = Condition::kAnythingButSuffix;
      } else if (key == "equals-ignore-case") {
        c.kind = Condition::kAnythingButIgnoreCase;
      } else if (key == "wildcard") {
        c.kind = Condition::kAnythingButWildcard;
      } else {
        return Invalid("Unsupported anything-but pattern: " + key);
      }
      auto add = [&](const json& s) -> Status {
        if (!s.is_string()) return Invalid("Inside anything-but/" + key + " list, number|start|null|boolean is not supported.");
        std::string t = s.get<std::string>();
        if ((key == "prefix" || key == "suffix") && t.empty()) return Invalid("Null " + key + " not allowed");
        if (key == "wildcard") EL_RETURN_IF_ERROR(CheckWildcard(t));
        c.texts.push_back(c.kind == Condition::kAnythingButIgnoreCase ? Lower(t) : t);
        return Status::Ok();
      };
      if (inner.is_array()) {
        if (inner.empty()) return Invalid("Empty arrays are not allowed");
        for (const auto& s : inner) EL_RETURN_IF_ERROR(add(s));
      } else {
        EL_RETURN_IF_ERROR(add(inner));
      }
      return c;
    }
    return Invalid("Value of anything-but must be an array or single string/number value.");
  }

  Result<Condition> Numeric(const json& arg) {
    if (!arg.is_array() || (arg.size() != 2 && arg.size() != 4)) {
      return Invalid("Value of numeric must be an array of one or two comparisons.");
    }
    Condition c;
    c.kind = Condition::kNumeric;
    auto op_at = [&](size_t i, std::string* op, double* v) -> Status {
      if (!arg[i].is_string()) return Invalid("Invalid member in numeric match: " + arg[i].dump());
      if (!arg[i + 1].is_number()) return Invalid("Value of " + arg[i].get<std::string>() + " must be a number");
      *op = arg[i].get<std::string>();
      *v = arg[i + 1].get<double>();
      if (*op != "=" && *op != "<" && *op != "<=" && *op != ">" && *op != ">=") {
        return Invalid("Unrecognized numeric range operator: " + *op);
      }
      return Status::Ok();
    };
    std::string op;
    double v;
    EL_RETURN_IF_ERROR(op_at(0, &op, &v));
    auto apply = [&](const std::string& o, double x) {
      if (o == "=") {
        c.low = c.high = x;
      } else if (o == ">" || o == ">=") {
        c.low = x;
        c.low_inclusive = o == ">=";
      } else {
        c.high = x;
        c.high_inclusive = o == "<=";
      }
    };
    apply(op, v);
    if (arg.size() == 4) {
      if (op != ">" && op != ">=") return Invalid("Bad value in numeric range: " + op);
      std::string op2;
      double v2;
      EL_RETURN_IF_ERROR(op_at(2, &op2, &v2));
      if (op2 != "<" && op2 != "<=") return Invalid("Bad value in numeric range: " + op2);
      if (v2 <= v) return Invalid("Bottom must be less than top");
      apply(op2, v2);
    }
    return c;
  }

  Status LeafValues(const std::vector<std::string>& path, const json& values, Leaf* leaf) {
    const std::string field = path.empty() ? "" : path.back();
    if (values.empty()) return Invalid("Empty arrays are not allowed");
    for (const auto& v : values) {
      if (v.is_object()) {
        auto c = Operator(field, v);
        if (!c.ok()) return c.status();
        if (c->kind == Condition::kExists && c->values[0].text == "false") {
          leaf->absent_ok = true;
          continue;
        }
        leaf->conditions.push_back(std::move(*c));
      } else if (v.is_array()) {
        return Invalid("Match value must be String, number, true, false, or null");
      } else {
        Condition c;
        c.kind = Condition::kExact;
        c.values.push_back(ValueOf(v));
        leaf->conditions.push_back(std::move(c));
      }
    }
    return Status::Ok();
  }

  static bool IsOr(const json& v) {
    if (!v.is_array() || v.size() < 2) return false;
    for (const auto& e : v) {
      if (!e.is_object() || e.empty()) return false;
    }
    return true;
  }

  // The conjunctions an object of a pattern stands for (several when it holds `$or`).
  Result<std::vector<Conjunction>> Object(const json& obj, std::vector<std::string>& path) {
    if (!obj.is_object()) return Invalid("Event pattern must be a JSON object");
    if (obj.empty()) return Invalid("Empty objects are not allowed");
    if (path.size() > 64) return Invalid("The event pattern nests too deeply");
    std::vector<Conjunction> out(1);
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      std::vector<Conjunction> part;
      if (it.key() == "$or" && IsOr(it.value())) {
        for (const auto& alt : it.value()) {
          auto sub = Object(alt, path);
          if (!sub.ok()) return sub.status();
          for (auto& c : *sub) part.push_back(std::move(c));
        }
      } else {
        path.push_back(it.key());
        if (it.value().is_object()) {
          auto sub = Object(it.value(), path);
          if (!sub.ok()) return sub.status();
          part = std::move(*sub);
        } else if (it.value().is_array()) {
          Leaf leaf;
          leaf.path = path;
          EL_RETURN_IF_ERROR(LeafValues(path, it.value(), &leaf));
          part.push_back(Conjunction{{std::move(leaf)}});
        } else {
          return Invalid("\"" + it.key() + "\" must be an object or an array");
        }
        path.pop_back();
      }
      // AND: every conjunction so far with every alternative of this member.
      if (out.size() * part.size() > kMaxCombinations) {
        return Invalid("Exceeded the maximum number of combinations (" + std::to_string(kMaxCombinations) +
                       ") allowed by $or");
      }
      std::vector<Conjunction> next;
      for (const auto& a : out) {
        for (const auto& b : part) {
          Conjunction c = a;
          c.leaves.insert(c.leaves.end(), b.leaves.begin(), b.leaves.end());
          next.push_back(std::move(c));
        }
      }
      out = std::move(next);
    }
    return out;
  }
};

}  // namespace

bool Value::operator==(const Value& o) const {
  if (kind != o.kind) return false;
  if (kind == kNumber) return number == o.number && integer == o.integer;
  return text == o.text;
}

namespace {

bool EqualsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))) != lower[i]) return false;
  }
  return true;
}

bool Starts(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.compare(0, p.size(), p) == 0; }
bool Ends(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

template <typename Pred>
bool NoneOf(const std::vector<std::string>& texts, Pred pred) {
  for (const auto& t : texts) {
    if (pred(t)) return false;
  }
  return true;
}

// Whether a value (its kind, text and number) satisfies a condition.
bool SatisfiesView(const Condition& c, Value::Kind kind, std::string_view s, double number, bool integer) {
  const bool str = kind == Value::kString;
  switch (c.kind) {
    case Condition::kExact: {
      const Value& x = c.values[0];
      if (x.kind != kind) return false;
      return kind == Value::kNumber ? x.number == number && x.integer == integer : x.text == s;
    }
    case Condition::kPrefix: return str && Starts(s, c.text);
    case Condition::kPrefixIgnoreCase: return str && s.size() >= c.text.size() && EqualsLower(s.substr(0, c.text.size()), c.text);
    case Condition::kSuffix: return str && Ends(s, c.text);
    case Condition::kSuffixIgnoreCase:
      return str && s.size() >= c.text.size() && EqualsLower(s.substr(s.size() - c.text.size()), c.text);
    case Condition::kEqualsIgnoreCase: return str && EqualsLower(s, c.text);
    case Condition::kWildcard: return str && WildcardMatch(c.text, s);
    case Condition::kAnythingBut:
      for (const auto& x : c.values) {
        if (x.kind == kind && (kind == Value::kNumber ? x.number == number && x.integer == integer : x.text == s)) {
          return false;
        }
      }
      return true;
    case Condition::kAnythingButPrefix: return str && NoneOf(c.texts, [&](const std::string& t) { return Starts(s, t); });
    case Condition::kAnythingButSuffix: return str && NoneOf(c.texts, [&](const std::string& t) { return Ends(s, t); });
    case Condition::kAnythingButIgnoreCase:
      return str && NoneOf(c.texts, [&](const std::string& t) { return EqualsLower(s, t); });
    case Condition::kAnythingButWildcard:
      return str && NoneOf(c.texts, [&](const std::string& t) { return WildcardMatch(t, s); });
    case Condition::kNumeric: {
      if (kind != Value::kNumber) return false;
      const bool above = c.low_inclusive ? number >= c.low : number > c.low;
      const bool below = c.high_inclusive ? number <= c.high : number < c.high;
      return above && below;
    }
    case Condition::kCidr: {
      if (!str || s.size() > 63) return false;
      std::string address;
      return ParseAddress(std::string(s), &address) && InCidr(c, address);
    }
    case Condition::kExists: return true;
  }
  return false;
}

// 64-bit hashes of values, for the indexes (a collision only adds a candidate, checked after).
uint64_t HashBytes(std::string_view s, uint64_t h, bool lower) {
  for (unsigned char c : s) {
    h ^= lower ? static_cast<unsigned char>(std::tolower(c)) : c;
    h *= 1099511628211ull;
  }
  return h;
}
constexpr uint64_t kStringSeed = 1469598103934665603ull;
uint64_t HashValue(Value::Kind kind, std::string_view s, double number, bool integer) {
  switch (kind) {
    case Value::kString: return HashBytes(s, kStringSeed, false);
    case Value::kNumber: {
      if (number == 0) number = 0;
      uint64_t bits;
      std::memcpy(&bits, &number, sizeof(bits));
      return (bits * 0x9E3779B97F4A7C15ull) ^ (integer ? 0x5bd1e995ull : 0x1b873593ull);
    }
    case Value::kBool: return s == "true" ? 0x7472756574727565ull : 0x66616c7365ull;
    case Value::kNull: return 0x6e756c6cull;
  }
  return 0;
}

}  // namespace

bool Satisfies(const Condition& c, const Value& v) { return SatisfiesView(c, v.kind, v.text, v.number, v.integer); }

Result<Pattern> Pattern::Parse(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Invalid("Filter is not valid JSON");
  if (!j.is_object()) return Invalid("Filter is not an object");
  Parser p;
  std::vector<std::string> path;
  auto conjunctions = p.Object(j, path);
  if (!conjunctions.ok()) return conjunctions.status();
  Pattern out;
  out.disjuncts_ = std::move(*conjunctions);
  return out;
}

// ---- the reference evaluator ----

namespace {

// Whether the leaves (paths relative to `node`) can all be matched within `node`, taking one
// element of each array they pass through.
bool MatchWithin(const std::vector<const Leaf*>& leaves, size_t depth, const json& node);

bool LeafValuesMatch(const Leaf& leaf, const json& node) {
  if (node.is_array()) {
    for (const auto& e : node) {
      if (LeafValuesMatch(leaf, e)) return true;
    }
    return false;
  }
  if (node.is_object()) return false;  // an object is not a value
  const Value v = ValueOf(node);
  for (const auto& c : leaf.conditions) {
    if (Satisfies(c, v)) return true;
  }
  return false;
}

bool MatchWithin(const std::vector<const Leaf*>& leaves, size_t depth, const json& node) {
  if (leaves.empty()) return true;
  if (node.is_array()) {
    for (const auto& e : node) {
      if (MatchWithin(leaves, depth, e)) return true;
    }
    return false;
  }
  // Leaves that end here test this node's values; the others go down by their next key.
  std::map<std::string, std::vector<const Leaf*>> down;
  for (const Leaf* l : leaves) {
    if (l->path.size() == depth) {
      if (!LeafValuesMatch(*l, node)) return false;
    } else {
      down[l->path[depth]].push_back(l);
    }
  }
  for (const auto& [key, group] : down) {
    if (!node.is_object() || !node.contains(key)) return false;
    if (!MatchWithin(group, depth + 1, node[key])) return false;
  }
  return true;
}

bool HasValueAt(const json& node, const std::vector<std::string>& path, size_t depth) {
  if (node.is_array()) {
    for (const auto& e : node) {
      if (HasValueAt(e, path, depth)) return true;
    }
    return false;
  }
  if (depth == path.size()) return !node.is_object();
  if (!node.is_object() || !node.contains(path[depth])) return false;
  return HasValueAt(node[path[depth]], path, depth + 1);
}

}  // namespace

bool ReferenceMatch(const Pattern& pattern, const json& event) {
  for (const auto& conj : pattern.disjuncts()) {
    std::vector<const Leaf*> must;
    std::vector<const Leaf*> absent_or_match;
    bool ok = true;
    for (const auto& leaf : conj.leaves) {
      if (leaf.absent_ok) {
        if (HasValueAt(event, leaf.path, 0)) {
          if (leaf.conditions.empty()) {
            ok = false;
            break;
          }
          must.push_back(&leaf);  // present: then one of its values must match
        }
      } else {
        must.push_back(&leaf);
      }
    }
    if (ok && MatchWithin(must, 0, event)) return true;
  }
  return false;
}

// ---- the compiled matcher ----

struct Matcher::Impl {
  struct PathNode {
    std::unordered_map<std::string, uint32_t> children;
    int path_id = -1;
  };
  using Index = std::unordered_map<uint64_t, std::vector<uint32_t>>;
  // Where conjunctions are found by a value: each conjunction is filed under
  // one "anchor" leaf whose conditions can be looked up (exact, equals-ignore-case,
  // prefix, suffix), or under a pair of leaves of exact values (source and
  // detail-type, say), so that an event meets only the conjunctions its values name.
  struct AnchorIndex {
    Index exact, equals_ic, prefix, prefix_ic, suffix, suffix_ic;
    std::set<size_t> prefix_lengths, prefix_ic_lengths, suffix_lengths, suffix_ic_lengths;
  };
  struct PairIndex {
    int first_path, second_path;
    Index keys;
  };
  struct LeafInfo {
    int path_id;
    bool absent_ok;
    const Leaf* leaf;
    uint32_t shared;  // leaves alike in every rule share one id: an event evaluates each once
  };
  struct Conj {
    uint64_t rule;
    uint32_t first_leaf, leaf_count;
  };

  std::map<uint64_t, Pattern> rules;
  std::atomic<bool> dirty{false};
  std::mutex build_mu;

  // Built from `rules`:
  std::vector<PathNode> nodes{1};
  std::vector<AnchorIndex> anchors;  // by path id
  std::vector<PairIndex> pairs;
  std::vector<LeafInfo> leaves;
  std::vector<Conj> conjs;
  std::vector<uint32_t> unanchored;  // conjunctions with no leaf to look up: tried on every event
  size_t shared_count = 0;

  int PathId(const std::vector<std::string>& path) {
    uint32_t node = 0;
    for (const auto& key : path) {
      auto it = nodes[node].children.find(key);
      if (it == nodes[node].children.end()) {
        nodes.push_back({});
        it = nodes[node].children.emplace(key, static_cast<uint32_t>(nodes.size() - 1)).first;
      }
      node = it->second;
    }
    if (nodes[node].path_id < 0) {
      nodes[node].path_id = static_cast<int>(anchors.size());
      anchors.push_back({});
    }
    return nodes[node].path_id;
  }

  static bool Indexable(const Leaf& leaf) {
    if (leaf.absent_ok || leaf.conditions.empty()) return false;
    for (const auto& c : leaf.conditions) {
      switch (c.kind) {
        case Condition::kExact:
        case Condition::kEqualsIgnoreCase:
          break;
        case Condition::kPrefix:
        case Condition::kPrefixIgnoreCase:
        case Condition::kSuffix:
        case Condition::kSuffixIgnoreCase:
          if (c.text.empty()) return false;  // matches every string: no help in finding the conjunction
          break;
        default:
          return false;
      }
    }
    return true;
  }

  static std::string Signature(const Leaf& leaf) {
    std::string sig;
    for (const auto& k : leaf.path) sig += k + '\x1f';
    sig += leaf.absent_ok ? "A" : "P";
    for (const auto& c : leaf.conditions) {
      sig += '\x1e' + std::to_string(c.kind) + '\x1d';
      for (const auto& v : c.values) sig += std::to_string(v.kind) + (v.kind == Value::kNumber ? NumberKey(v.number) : v.text) + '\x1d';
      sig += c.text + '\x1d';
      for (const auto& t : c.texts) sig += t + '\x1c';
      sig += NumberKey(c.low) + (c.low_inclusive ? "[" : "(") + NumberKey(c.high) + (c.high_inclusive ? "]" : ")");
      sig += c.address + std::to_string(c.prefix_bits);
    }
    return sig;
  }

  static bool ExactOnly(const Leaf& leaf) {
    if (leaf.absent_ok || leaf.conditions.empty()) return false;
    for (const auto& c : leaf.conditions) {
      if (c.kind != Condition::kExact) return false;
    }
    return true;
  }

  static uint64_t ConditionKey(const Condition& c) {
    switch (c.kind) {
      case Condition::kExact:
        return HashValue(c.values[0].kind, c.values[0].text, c.values[0].number, c.values[0].integer);
      default: return HashBytes(c.text, kStringSeed, false);  // ignore-case texts are stored lower-cased
    }
  }

  static uint64_t PairKey(uint64_t a, uint64_t b) { return a * 0x9E3779B97F4A7C15ull + (b ^ (b >> 29)); }

  PairIndex& Pair(int first, int second) {
    for (auto& p : pairs) {
      if (p.first_path == first && p.second_path == second) return p;
    }
    pairs.push_back({first, second, {}});
    return pairs.back();
  }

  void File(AnchorIndex& a, const Condition& c, uint32_t conj) {
    const uint64_t key = ConditionKey(c);
    switch (c.kind) {
      case Condition::kExact: a.exact[key].push_back(conj); break;
      case Condition::kEqualsIgnoreCase: a.equals_ic[key].push_back(conj); break;
      case Condition::kPrefix:
        a.prefix[key].push_back(conj);
        a.prefix_lengths.insert(c.text.size());
        break;
      case Condition::kPrefixIgnoreCase:
        a.prefix_ic[key].push_back(conj);
        a.prefix_ic_lengths.insert(c.text.size());
        break;
      case Condition::kSuffix:
        a.suffix[key].push_back(conj);
        a.suffix_lengths.insert(c.text.size());
        break;
      case Condition::kSuffixIgnoreCase:
        a.suffix_ic[key].push_back(conj);
        a.suffix_ic_lengths.insert(c.text.size());
        break;
      default: break;
    }
  }

  void Build() {
    nodes.assign(1, PathNode{});
    anchors.clear();
    pairs.clear();
    leaves.clear();
    conjs.clear();
    unanchored.clear();
    std::unordered_map<std::string, uint32_t> shared_ids;
    // How many different values the rules look up at each path: the path with the most (source,
    // say, rather than detail-type) tells rules apart best, so conjunctions are filed under it.
    std::map<std::vector<std::string>, std::set<uint64_t>> distinct;
    for (const auto& [rule, pattern] : rules) {
      for (const auto& conj : pattern.disjuncts()) {
        for (const auto& leaf : conj.leaves) {
          if (!Indexable(leaf)) continue;
          auto& values = distinct[leaf.path];
          for (const auto& c : leaf.conditions) values.insert(ConditionKey(c) ^ static_cast<uint64_t>(c.kind));
        }
      }
    }
    std::map<std::vector<std::string>, size_t> popularity;
    for (const auto& [path, values] : distinct) popularity[path] = values.size();
    for (const auto& [rule, pattern] : rules) {
      for (const auto& conj : pattern.disjuncts()) {
        const uint32_t conj_id = static_cast<uint32_t>(conjs.size());
        conjs.push_back({rule, static_cast<uint32_t>(leaves.size()), static_cast<uint32_t>(conj.leaves.size())});
        const Leaf* anchor = nullptr;
        const Leaf* second = nullptr;  // the best other leaf of exact values, for a pair
        auto better = [&](const Leaf& a, const Leaf* b) {
          return !b || popularity[a.path] > popularity[b->path] ||
                 (popularity[a.path] == popularity[b->path] && a.conditions.size() < b->conditions.size());
        };
        for (const auto& leaf : conj.leaves) {
          const uint32_t shared =
              shared_ids.emplace(Signature(leaf), static_cast<uint32_t>(shared_ids.size())).first->second;
          leaves.push_back({PathId(leaf.path), leaf.absent_ok, &leaf, shared});
          if (Indexable(leaf) && better(leaf, anchor)) anchor = &leaf;
        }
        if (!anchor) {
          unanchored.push_back(conj_id);
          continue;
        }
        if (ExactOnly(*anchor)) {
          for (const auto& leaf : conj.leaves) {
            if (&leaf != anchor && ExactOnly(leaf) && leaf.path != anchor->path && better(leaf, second)) second = &leaf;
          }
        }
        if (second && anchor->conditions.size() * second->conditions.size() <= 64) {
          PairIndex& pair = Pair(PathId(anchor->path), PathId(second->path));
          for (const auto& a : anchor->conditions) {
            for (const auto& b : second->conditions) pair.keys[PairKey(ConditionKey(a), ConditionKey(b))].push_back(conj_id);
          }
          continue;
        }
        AnchorIndex& a = anchors[PathId(anchor->path)];
        for (const auto& c : anchor->conditions) File(a, c, conj_id);
      }
    }
    shared_count = shared_ids.size();
  }

  // An event's value at a path some rule looks at; strings point into the parsed event.
  struct Field {
    int path_id;
    Value::Kind kind;
    std::string_view text;
    double number;
    uint32_t trail_begin, trail_size;  // in the event's trail pool
    uint64_t hash;
    bool integer;
  };
  struct EventFields {
    std::vector<Field> fields;
    std::vector<std::pair<uint32_t, uint32_t>> pool;  // (array id, element index) of each field's trail
    std::vector<std::pair<uint32_t, uint32_t>> trail;
    uint32_t next_array = 0;
    void Clear() {
      fields.clear();
      pool.clear();
      trail.clear();
      next_array = 0;
    }
    void Add(int path, Value::Kind kind, std::string_view text, double number, bool integer = false) {
      fields.push_back({path, kind, text, number, static_cast<uint32_t>(pool.size()),
                        static_cast<uint32_t>(trail.size()), HashValue(kind, text, number, integer), integer});
      pool.insert(pool.end(), trail.begin(), trail.end());
    }
  };

  // The event's values at paths some rule looks at (the rest is skipped).
  void Walk(const simdjson::dom::element& e, uint32_t node, EventFields& ev, int depth) const {
    if (depth > 1000) return;
    switch (e.type()) {
      case simdjson::dom::element_type::OBJECT: {
        simdjson::dom::object obj;
        if (e.get_object().get(obj)) return;
        const auto& children = nodes[node].children;
        if (children.empty()) return;
        thread_local std::string key;
        for (auto field : obj) {
          key.assign(field.key);
          auto it = children.find(key);
          if (it != children.end()) Walk(field.value, it->second, ev, depth + 1);
        }
        return;
      }
      case simdjson::dom::element_type::ARRAY: {
        simdjson::dom::array arr;
        if (e.get_array().get(arr)) return;
        const uint32_t id = ev.next_array++;
        uint32_t i = 0;
        for (auto item : arr) {
          ev.trail.emplace_back(id, i++);
          Walk(item, node, ev, depth + 1);
          ev.trail.pop_back();
        }
        return;
      }
      default: break;
    }
    const int path = nodes[node].path_id;
    if (path < 0) return;
    switch (e.type()) {
      case simdjson::dom::element_type::STRING: ev.Add(path, Value::kString, e.get_string().value_unsafe(), 0); break;
      case simdjson::dom::element_type::INT64:
      case simdjson::dom::element_type::UINT64: ev.Add(path, Value::kNumber, {}, e.get_double().value_unsafe(), true); break;
      case simdjson::dom::element_type::DOUBLE: ev.Add(path, Value::kNumber, {}, e.get_double().value_unsafe()); break;
      case simdjson::dom::element_type::BOOL:
        ev.Add(path, Value::kBool, e.get_bool().value_unsafe() ? "true" : "false", 0);
        break;
      default: ev.Add(path, Value::kNull, {}, 0); break;
    }
  }

  struct Scratch {
    std::vector<uint32_t> conj_stamp, path_stamp, path_head, next_same_path, candidates;
    std::vector<uint32_t> shared_stamp, shared_begin, shared_end;  // a shared leaf's fields, in `pool`
    std::vector<uint32_t> pool;
    std::vector<std::pair<uint32_t, uint32_t>> options;  // per leaf of a candidate: its fields in `pool`
    std::vector<uint32_t> chosen;
    uint32_t epoch = 0;
  };

  static bool Consistent(const EventFields& ev, const Field& a, const Field& b) {
    for (uint32_t i = 0; i < a.trail_size; ++i) {
      const auto& x = ev.pool[a.trail_begin + i];
      for (uint32_t j = 0; j < b.trail_size; ++j) {
        const auto& y = ev.pool[b.trail_begin + j];
        if (x.first == y.first && x.second != y.second) return false;
      }
    }
    return true;
  }

  // One field per leaf, all from the same elements of the arrays they share.
  static bool Pick(const EventFields& ev, Scratch& s, size_t leaf_count, size_t i) {
    if (i == leaf_count) return true;
    for (uint32_t k = s.options[i].first; k < s.options[i].second; ++k) {
      const uint32_t f = s.pool[k];
      bool consistent = true;
      for (uint32_t g : s.chosen) {
        if (!Consistent(ev, ev.fields[f], ev.fields[g])) {
          consistent = false;
          break;
        }
      }
      if (!consistent) continue;
      s.chosen.push_back(f);
      if (Pick(ev, s, leaf_count, i + 1)) return true;
      s.chosen.pop_back();
    }
    return false;
  }

  std::vector<uint64_t> MatchFields(const EventFields& ev) const {
    const auto& fields = ev.fields;
    thread_local Scratch s;
    if (s.conj_stamp.size() < conjs.size()) s.conj_stamp.resize(conjs.size());
    if (s.shared_stamp.size() < shared_count) {
      s.shared_stamp.resize(shared_count);
      s.shared_begin.resize(shared_count);
      s.shared_end.resize(shared_count);
    }
    if (s.path_stamp.size() < anchors.size()) {
      s.path_stamp.resize(anchors.size());
      s.path_head.resize(anchors.size());
    }
    if (++s.epoch == 0) {  // wrapped: start the stamps afresh
      std::fill(s.conj_stamp.begin(), s.conj_stamp.end(), 0);
      std::fill(s.path_stamp.begin(), s.path_stamp.end(), 0);
      std::fill(s.shared_stamp.begin(), s.shared_stamp.end(), 0);
      s.epoch = 1;
    }
    const uint32_t epoch = s.epoch;
    constexpr uint32_t kNone = UINT32_MAX;
    s.candidates.clear();
    s.pool.clear();
    s.next_same_path.assign(fields.size(), kNone);

    auto candidate = [&](const std::vector<uint32_t>& list) {
      for (uint32_t conj : list) {
        if (s.conj_stamp[conj] == epoch) continue;
        s.conj_stamp[conj] = epoch;
        s.candidates.push_back(conj);
      }
    };
    auto each = [&](const Index& index, uint64_t key) {
      auto it = index.find(key);
      if (it != index.end()) candidate(it->second);
    };
    // The fields of each path, and the conjunctions their values name.
    for (uint32_t f = static_cast<uint32_t>(fields.size()); f-- > 0;) {
      const Field& field = fields[f];
      const int path = field.path_id;
      s.next_same_path[f] = s.path_stamp[path] == epoch ? s.path_head[path] : kNone;
      s.path_stamp[path] = epoch;
      s.path_head[path] = f;
      const AnchorIndex& a = anchors[path];
      if (!a.exact.empty()) each(a.exact, field.hash);
      if (field.kind != Value::kString) continue;
      const std::string_view t = field.text;
      if (!a.equals_ic.empty()) each(a.equals_ic, HashBytes(t, kStringSeed, true));
      for (size_t len : a.prefix_lengths) {
        if (len > t.size()) break;
        each(a.prefix, HashBytes(t.substr(0, len), kStringSeed, false));
      }
      for (size_t len : a.prefix_ic_lengths) {
        if (len > t.size()) break;
        each(a.prefix_ic, HashBytes(t.substr(0, len), kStringSeed, true));
      }
      for (size_t len : a.suffix_lengths) {
        if (len > t.size()) break;
        each(a.suffix, HashBytes(t.substr(t.size() - len), kStringSeed, false));
      }
      for (size_t len : a.suffix_ic_lengths) {
        if (len > t.size()) break;
        each(a.suffix_ic, HashBytes(t.substr(t.size() - len), kStringSeed, true));
      }
    }
    for (const auto& pair : pairs) {
      if (s.path_stamp[pair.first_path] != epoch || s.path_stamp[pair.second_path] != epoch) continue;
      for (uint32_t f = s.path_head[pair.first_path]; f != kNone; f = s.next_same_path[f]) {
        for (uint32_t g = s.path_head[pair.second_path]; g != kNone; g = s.next_same_path[g]) {
          each(pair.keys, PairKey(fields[f].hash, fields[g].hash));
        }
      }
    }
    candidate(unanchored);

    std::vector<uint64_t> out;
    for (uint32_t conj_id : s.candidates) {
      const Conj& c = conjs[conj_id];
      // For each leaf: the fields that satisfy it (or none needed: absent).
      size_t used = 0;
      bool ok = true;
      for (uint32_t l = c.first_leaf; l < c.first_leaf + c.leaf_count && ok; ++l) {
        const LeafInfo& leaf = leaves[l];
        if (s.path_stamp[leaf.path_id] != epoch) {
          ok = leaf.absent_ok;
          continue;
        }
        const uint32_t u = leaf.shared;
        if (s.shared_stamp[u] != epoch) {  // first time this event meets the leaf: which fields satisfy it
          s.shared_stamp[u] = epoch;
          s.shared_begin[u] = static_cast<uint32_t>(s.pool.size());
          for (uint32_t f = s.path_head[leaf.path_id]; f != kNone; f = s.next_same_path[f]) {
            for (const auto& cond : leaf.leaf->conditions) {
              if (SatisfiesView(cond, fields[f].kind, fields[f].text, fields[f].number, fields[f].integer)) {
                s.pool.push_back(f);
                break;
              }
            }
          }
          s.shared_end[u] = static_cast<uint32_t>(s.pool.size());
        }
        if (s.shared_begin[u] == s.shared_end[u]) {
          ok = false;
        } else {
          if (s.options.size() <= used) s.options.emplace_back();
          s.options[used++] = {s.shared_begin[u], s.shared_end[u]};
        }
      }
      if (!ok) continue;
      s.chosen.clear();
      if (Pick(ev, s, used, 0)) out.push_back(c.rule);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  void EnsureBuilt() {
    if (!dirty.load(std::memory_order_acquire)) return;
    std::lock_guard lock(build_mu);
    if (!dirty.load(std::memory_order_relaxed)) return;
    Build();
    dirty.store(false, std::memory_order_release);
  }
};

Matcher::Matcher() : impl_(std::make_unique<Impl>()) {}
Matcher::~Matcher() = default;

void Matcher::Add(uint64_t rule, const Pattern& pattern) {
  impl_->rules[rule] = pattern;
  impl_->dirty.store(true, std::memory_order_release);
}

void Matcher::Remove(uint64_t rule) {
  impl_->rules.erase(rule);
  impl_->dirty.store(true, std::memory_order_release);
}

size_t Matcher::size() const { return impl_->rules.size(); }

std::vector<uint64_t> Matcher::Match(std::string_view event_json) const {
  impl_->EnsureBuilt();
  thread_local simdjson::dom::parser parser;
  thread_local Impl::EventFields ev;
  thread_local std::string padded;  // the event with simdjson's padding, reusing its memory
  padded.assign(event_json);
  padded.append(simdjson::SIMDJSON_PADDING, '\0');
  simdjson::dom::element doc;
  if (parser.parse(padded.data(), event_json.size(), false).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    return {};
  }
  ev.Clear();
  impl_->Walk(doc, 0, ev, 0);
  return impl_->MatchFields(ev);
}

std::vector<uint64_t> Matcher::MatchJson(const nlohmann::json& event) const { return Match(event.dump()); }

}  // namespace eventlake::bus
