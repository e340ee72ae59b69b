#include "delivery/convert.h"

#include <date/date.h>
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "common/strings.h"
#include "delivery/processors.h"

namespace eventlake::delivery {

// A Hive type, parsed.
struct RecordConverter::Type {
  enum Kind { kBool, kTinyInt, kSmallInt, kInt, kBigInt, kFloat, kDouble, kDecimal, kString, kTimestamp, kDate,
              kBinary, kArray, kMap, kStruct } kind = kString;
  int precision = 10, scale = 0;
  std::vector<Type> children;     // array: element; map: key, value; struct: fields
  std::vector<std::string> names;  // struct field names (lower case)
  bool nested() const { return kind == kArray || kind == kMap || kind == kStruct; }
};

// One converted value.
struct RecordConverter::Cell {
  enum Kind { kNull, kBool, kInt, kDouble, kString, kTimestamp, kDate, kJson } kind = kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;
};

namespace {

using Type = RecordConverter::Type;
using Cell = RecordConverter::Cell;
using simdjson::dom::element;
using simdjson::dom::element_type;

Status Bad(std::string message) { return Status::InvalidArgument(std::move(message)); }

// A recursive-descent parser of Hive type strings.
class TypeParser {
 public:
  explicit TypeParser(std::string_view text) : text_(text) {}
  Result<Type> ParseAll() {
    auto t = Parse();
    if (!t.ok()) return t.status();
    Skip();
    if (at_ != text_.size()) return Bad("unexpected text in type '" + std::string(text_) + "'");
    return t;
  }

 private:
  void Skip() {
    while (at_ < text_.size() && text_[at_] == ' ') ++at_;
  }
  std::string Word() {
    Skip();
    size_t start = at_;
    while (at_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[at_])) || text_[at_] == '_')) ++at_;
    return AsciiLower(std::string(text_.substr(start, at_ - start)));
  }
  bool Eat(char c) {
    Skip();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  Result<int> Number() {
    Skip();
    int v = 0;
    auto [p, ec] = std::from_chars(text_.data() + at_, text_.data() + text_.size(), v);
    if (ec != std::errc()) return Bad("expected a number in type '" + std::string(text_) + "'");
    at_ = p - text_.data();
    return v;
  }
  Result<Type> Parse() {
    if (++depth_ > 64) return Bad("type nests too deeply");
    const std::string w = Word();
    Type t;
    if (w == "boolean") {
      t.kind = Type::kBool;
    } else if (w == "tinyint") {
      t.kind = Type::kTinyInt;
    } else if (w == "smallint") {
      t.kind = Type::kSmallInt;
    } else if (w == "int" || w == "integer") {
      t.kind = Type::kInt;
    } else if (w == "bigint") {
      t.kind = Type::kBigInt;
    } else if (w == "float") {
      t.kind = Type::kFloat;
    } else if (w == "double") {
      t.kind = Type::kDouble;
    } else if (w == "decimal" || w == "numeric") {
      t.kind = Type::kDecimal;
      if (Eat('(')) {
        EL_ASSIGN_OR_RETURN(t.precision, Number());
        if (Eat(',')) {
          EL_ASSIGN_OR_RETURN(t.scale, Number());
        }
        if (!Eat(')')) return Bad("expected ) in type '" + std::string(text_) + "'");
      }
    } else if (w == "string" || w == "varchar" || w == "char") {
      t.kind = Type::kString;
      if (Eat('(')) {
        EL_RETURN_IF_ERROR(Number().status());
        if (!Eat(')')) return Bad("expected ) in type '" + std::string(text_) + "'");
      }
    } else if (w == "timestamp") {
      t.kind = Type::kTimestamp;
    } else if (w == "date") {
      t.kind = Type::kDate;
    } else if (w == "binary") {
      t.kind = Type::kBinary;
    } else if (w == "array") {
      t.kind = Type::kArray;
      if (!Eat('<')) return Bad("expected < after array");
      EL_ASSIGN_OR_RETURN(Type e, Parse());
      t.children.push_back(std::move(e));
      if (!Eat('>')) return Bad("expected > closing array");
    } else if (w == "map") {
      t.kind = Type::kMap;
      if (!Eat('<')) return Bad("expected < after map");
      EL_ASSIGN_OR_RETURN(Type k, Parse());
      if (!Eat(',')) return Bad("expected , in map");
      EL_ASSIGN_OR_RETURN(Type v, Parse());
      t.children.push_back(std::move(k));
      t.children.push_back(std::move(v));
      if (!Eat('>')) return Bad("expected > closing map");
    } else if (w == "struct") {
      t.kind = Type::kStruct;
      if (!Eat('<')) return Bad("expected < after struct");
      do {
        std::string name = Word();
        if (name.empty()) return Bad("expected a field name in type '" + std::string(text_) + "'");
        if (!Eat(':')) return Bad("expected : after struct field " + name);
        EL_ASSIGN_OR_RETURN(Type f, Parse());
        t.names.push_back(std::move(name));
        t.children.push_back(std::move(f));
      } while (Eat(','));
      if (!Eat('>')) return Bad("expected > closing struct");
    } else {
      return Bad("unsupported type '" + w + "' in '" + std::string(text_) + "'");
    }
    --depth_;
    return t;
  }

  std::string_view text_;
  size_t at_ = 0;
  int depth_ = 0;
};

int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  return date::sys_days(date::year(y) / date::month(m) / date::day(d)).time_since_epoch().count();
}

bool Digits(std::string_view s, size_t at, size_t n, int* out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[at + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// 1 or 2 digits.
bool ShortDigits(std::string_view s, size_t* at, int* out) {
  if (!Digits(s, *at, 1, out)) return false;
  int two;
  if (Digits(s, *at, 2, &two)) {
    *out = two;
    *at += 2;
  } else {
    *at += 1;
  }
  return true;
}

Result<int64_t> ParseNumberTimestamp(std::string_view text) {
  const std::string t(TrimWhitespace(text));
  if (t.empty()) return Bad("empty timestamp");
  char* end = nullptr;
  if (t.find_first_of(".eE") == std::string::npos) {
    errno = 0;
    const long long v = std::strtoll(t.c_str(), &end, 10);
    if (errno || *end) return Bad("not a timestamp: '" + t + "'");
    // Epoch milliseconds from 1973 on are larger than any epoch seconds before 5138.
    if (std::llabs(v) >= 100'000'000'000LL) {
      if (std::llabs(v) > 9'000'000'000'000'000LL / 1000) return Bad("timestamp out of range: '" + t + "'");
      return static_cast<int64_t>(v) * 1000;
    }
    return static_cast<int64_t>(v) * 1'000'000;
  }
  const double v = std::strtod(t.c_str(), &end);
  if (*end || !std::isfinite(v) || std::fabs(v) > 9e12) return Bad("not a timestamp: '" + t + "'");
  return static_cast<int64_t>(std::llround(v * 1e6));
}

Result<int32_t> ParseDate(std::string_view text) {
  int y, m, d;
  size_t at = 4;
  if (!Digits(text, 0, 4, &y) || at >= text.size() || text[at++] != '-' || !ShortDigits(text, &at, &m) ||
      at >= text.size() || text[at++] != '-' || !ShortDigits(text, &at, &d) || m < 1 || m > 12 || d < 1 || d > 31) {
    return Bad("not a date: '" + std::string(text) + "'");
  }
  if (at != text.size() && text[at] != ' ' && text[at] != 'T') return Bad("not a date: '" + std::string(text) + "'");
  return static_cast<int32_t>(DaysFromCivil(y, m, d));
}

// Parses `text` with a Joda-Time pattern (HiveJsonSerDe's TimestampFormats): y, M (numbers or month
// names), d, H, h with a, m, s, S (fractions), Z (+HHMM or +HH:MM), quoted text and literal characters.
Result<int64_t> JodaTimestamp(std::string_view text, std::string_view pattern) {
  static const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  int y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, offset = 0;
  int64_t micros = 0;
  bool pm = false, has_ampm = false;
  size_t at = 0;
  auto fail = [&] { return Bad("'" + std::string(text) + "' does not match '" + std::string(pattern) + "'"); };
  auto number = [&](size_t min_digits, size_t max_digits, int* out) {
    size_t n = 0;
    int v = 0;
    while (at < text.size() && n < max_digits && text[at] >= '0' && text[at] <= '9') {
      v = v * 10 + (text[at++] - '0');
      ++n;
    }
    *out = v;
    return n >= min_digits;
  };
  for (size_t i = 0; i < pattern.size();) {
    const char c = pattern[i];
    size_t j = i;
    while (j < pattern.size() && pattern[j] == c) ++j;
    const size_t count = j - i;
    if (c == '\'') {
      const size_t close = pattern.find('\'', i + 1);
      if (close == std::string_view::npos) return fail();
      const std::string_view lit = close == i + 1 ? std::string_view("'") : pattern.substr(i + 1, close - i - 1);
      if (text.substr(at, lit.size()) != lit) return fail();
      at += lit.size();
      i = close + 1;
      continue;
    }
    bool ok = true;
    // A numeric field right before another takes exactly its width (yyyyMMdd), as Joda-Time reads it.
    const bool adjacent = j < pattern.size() && std::strchr("yYuMdHhKkmsS", pattern[j]) != nullptr &&
                          !(pattern[j] == 'M' && pattern.substr(j, 3) == "MMM");
    const size_t width = adjacent ? count : 0;
    switch (c) {
      case 'y': case 'Y': case 'u':
        ok = number(count == 2 ? 2 : width ? width : 1, count == 2 ? 2 : width ? width : 9, &y);
        if (count == 2) y += 2000;
        break;
      case 'M':
        if (count >= 3) {
          ok = false;
          for (int m = 0; m < 12 && !ok; ++m) {
            if (at + 3 <= text.size() && AsciiLower(std::string(text.substr(at, 3))) == kMonths[m]) {
              mo = m + 1;
              at += 3;
              while (at < text.size() && std::isalpha(static_cast<unsigned char>(text[at]))) ++at;
              ok = true;
            }
          }
        } else {
          ok = number(std::max<size_t>(count, width), width ? width : 2, &mo);
        }
        break;
      case 'd': ok = number(std::max<size_t>(count, width), width ? width : 2, &d); break;
      case 'H': case 'k': case 'h': case 'K': ok = number(std::max<size_t>(count, width), width ? width : 2, &h); break;
      case 'm': ok = number(std::max<size_t>(count, width), width ? width : 2, &mi); break;
      case 's': ok = number(std::max<size_t>(count, width), width ? width : 2, &sec); break;
      case 'S': {
        size_t n = 0;
        int64_t scale = 100000;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
          if (n < 6) micros += (text[at] - '0') * scale;
          scale /= 10;
          ++at;
          ++n;
        }
        ok = n > 0;
        break;
      }
      case 'a':
        has_ampm = true;
        if (at + 2 <= text.size()) {
          const std::string ap = AsciiLower(std::string(text.substr(at, 2)));
          ok = ap == "am" || ap == "pm";
          pm = ap == "pm";
          at += 2;
        } else {
          ok = false;
        }
        break;
      case 'Z':
      case 'X':
        if (at < text.size() && text[at] == 'Z') {
          ++at;
        } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
          const int sign = text[at++] == '-' ? -1 : 1;
          int oh = 0, om = 0;
          ok = number(2, 2, &oh);
          if (at < text.size() && text[at] == ':') ++at;
          if (ok) number(0, 2, &om);
          offset = sign * (oh * 3600 + om * 60);
        } else {
          ok = false;
        }
        break;
      default:
        if (std::isalpha(static_cast<unsigned char>(c))) return Bad("unsupported letter '" + std::string(1, c) + "' in '" + std::string(pattern) + "'");
        for (size_t k = 0; k < count; ++k) {
          if (at >= text.size() || text[at] != c) return fail();
          ++at;
        }
        break;
    }
    if (!ok) return fail();
    i = j;
  }
  if (at != text.size()) return fail();
  if (has_ampm) h = h % 12 + (pm ? 12 : 0);
  if (y > 9999) return fail();
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return fail();
  const int64_t days = DaysFromCivil(y, mo, d);
  return ((days * 24 + h) * 60 + mi) * 60'000'000LL + static_cast<int64_t>(sec) * 1'000'000 + micros -
         static_cast<int64_t>(offset) * 1'000'000;
}

std::string FormatTimestamp(int64_t micros) {
  const auto tp = date::sys_time<std::chrono::microseconds>(std::chrono::microseconds(micros));
  return date::format("%F %T", tp);
}

class Converter {
 public:
  Converter(const ConversionSpec& spec) : spec_(spec) {}

  std::string NormalKey(std::string_view key) const {
    std::string k(key);
    if (spec_.case_insensitive) k = AsciiLower(k);
    if (spec_.dots_to_underscores) std::replace(k.begin(), k.end(), '.', '_');
    return k;
  }

  // The scalar as OpenX reads it into text.
  static std::string ScalarText(const element& e) {
    switch (e.type()) {
      case element_type::STRING: return std::string(e.get_string().value());
      case element_type::BOOL: return e.get_bool().value() ? "true" : "false";
      case element_type::NULL_VALUE: return "";
      default: return simdjson::minify(e);
    }
  }

  Status ToCell(const element& e, const Type& t, const std::string& column, Cell* out) {
    if (e.is_null()) {
      out->kind = Cell::kNull;
      return Status::Ok();
    }
    auto mismatch = [&](const char* what) {
      return Bad("Cannot convert the value " + simdjson::minify(e).substr(0, 100) + " of column '" + column +
                 "' to " + what);
    };
    switch (t.kind) {
      case Type::kBool: {
        if (e.is_bool()) {
          out->kind = Cell::kBool;
          out->i = e.get_bool().value();
          return Status::Ok();
        }
        if (e.is_string()) {
          const std::string s = AsciiLower(std::string(e.get_string().value()));
          if (s == "true" || s == "false") {
            out->kind = Cell::kBool;
            out->i = s == "true";
            return Status::Ok();
          }
        }
        return mismatch("boolean");
      }
      case Type::kTinyInt:
      case Type::kSmallInt:
      case Type::kInt:
      case Type::kBigInt: {
        int64_t v = 0;
        bool ok = false;
        if (e.is_int64()) {
          v = e.get_int64().value();
          ok = true;
        } else if (e.is_string()) {
          const std::string_view s = TrimWhitespace(e.get_string().value());
          auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
          ok = ec == std::errc() && p == s.data() + s.size() && !s.empty();
        }
        const int64_t lo = t.kind == Type::kTinyInt ? INT8_MIN : t.kind == Type::kSmallInt ? INT16_MIN
                           : t.kind == Type::kInt   ? INT32_MIN : INT64_MIN;
        const int64_t hi = t.kind == Type::kTinyInt ? INT8_MAX : t.kind == Type::kSmallInt ? INT16_MAX
                           : t.kind == Type::kInt   ? INT32_MAX : INT64_MAX;
        if (!ok || v < lo || v > hi) {
          return mismatch(t.kind == Type::kTinyInt ? "tinyint" : t.kind == Type::kSmallInt ? "smallint"
                          : t.kind == Type::kInt   ? "int" : "bigint");
        }
        out->kind = Cell::kInt;
        out->i = v;
        return Status::Ok();
      }
      case Type::kFloat:
      case Type::kDouble: {
        double v = 0;
        bool ok = false;
        if (e.is_number()) {
          v = e.get_double().value();
          ok = true;
        } else if (e.is_string()) {
          const std::string s(TrimWhitespace(e.get_string().value()));
          char* end = nullptr;
          v = std::strtod(s.c_str(), &end);
          ok = !s.empty() && *end == 0;
        }
        if (!ok || (t.kind == Type::kFloat && std::isfinite(v) && std::fabs(v) > 3.4028234663852886e38)) {
          return mismatch(t.kind == Type::kFloat ? "float" : "double");
        }
        out->kind = Cell::kDouble;
        out->d = v;
        return Status::Ok();
      }
      case Type::kDecimal: {
        std::string s;
        if (e.is_number()) {
          s = simdjson::minify(e);
        } else if (e.is_string()) {
          s = std::string(TrimWhitespace(e.get_string().value()));
        } else {
          return mismatch("decimal");
        }
        // Digits before the point must fit precision - scale.
        size_t at = (s.size() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
        size_t int_digits = 0, frac_digits = 0;
        bool point = false, ok = at < s.size();
        for (size_t i = at; i < s.size() && ok; ++i) {
          if (s[i] == '.' && !point) {
            point = true;
          } else if (s[i] >= '0' && s[i] <= '9') {
            (point ? frac_digits : int_digits)++;
          } else {
            ok = false;
          }
        }
        size_t significant = int_digits;
        for (size_t i = at; i < s.size() && s[i] == '0' && significant > 0; ++i) --significant;
        if (!ok || int_digits + frac_digits == 0 || static_cast<int>(significant) > t.precision - t.scale) {
          return mismatch(("decimal(" + std::to_string(t.precision) + "," + std::to_string(t.scale) + ")").c_str());
        }
        out->kind = Cell::kString;
        out->s = std::move(s);
        return Status::Ok();
      }
      case Type::kString:
      case Type::kBinary:
        out->kind = Cell::kString;
        out->s = e.is_object() || e.is_array() ? simdjson::minify(e) : ScalarText(e);
        return Status::Ok();
      case Type::kTimestamp: {
        Result<int64_t> micros = Bad("");
        // HiveJsonSerDe: the given formats first ("millis": epoch milliseconds), then the defaults.
        for (const std::string& format : spec_.timestamp_formats) {
          const std::string text = e.is_string() ? std::string(e.get_string().value()) : simdjson::minify(e);
          if (format == "millis") {
            int64_t ms = 0;
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
            if (ec == std::errc() && p == text.data() + text.size()) micros = ms * 1000;
          } else {
            micros = JodaTimestamp(text, format);
          }
          if (micros.ok()) break;
        }
        if (!micros.ok() && e.is_number()) {
          micros = ParseNumberTimestamp(simdjson::minify(e));
        } else if (!micros.ok() && e.is_string()) {
          micros = ParseOpenXTimestamp(e.get_string().value());
        }
        if (!micros.ok()) return mismatch("timestamp");
        out->kind = Cell::kTimestamp;
        out->i = *micros;
        return Status::Ok();
      }
      case Type::kDate: {
        if (e.is_int64()) {
          const int64_t days = e.get_int64().value();
          if (days < -5'000'000 || days > 5'000'000) return mismatch("date");
          out->kind = Cell::kDate;
          out->i = days;
          return Status::Ok();
        }
        if (!e.is_string()) return mismatch("date");
        auto days = ParseDate(e.get_string().value());
        if (!days.ok()) return mismatch("date");
        out->kind = Cell::kDate;
        out->i = *days;
        return Status::Ok();
      }
      case Type::kArray:
      case Type::kMap:
      case Type::kStruct: {
        std::string json;
        EL_RETURN_IF_ERROR(NestedJson(e, t, column, &json, 0));
        out->kind = Cell::kJson;
        out->s = std::move(json);
        return Status::Ok();
      }
    }
    return mismatch("its type");
  }

  // The value as the JSON the column's nested type casts from.
  Status NestedJson(const element& e, const Type& t, const std::string& column, std::string* out, int depth) {
    if (depth > 64) return Bad("Column '" + column + "' nests too deeply");
    if (e.is_null()) {
      *out += "null";
      return Status::Ok();
    }
    switch (t.kind) {
      case Type::kArray: {
        if (!e.is_array()) return Bad("Column '" + column + "' expects an array");
        *out += '[';
        bool first = true;
        const simdjson::dom::array items = e.get_array().value();
        for (element item : items) {
          if (!first) *out += ',';
          first = false;
          EL_RETURN_IF_ERROR(NestedJson(item, t.children[0], column, out, depth + 1));
        }
        *out += ']';
        return Status::Ok();
      }
      case Type::kMap: {
        if (!e.is_object()) return Bad("Column '" + column + "' expects an object (a map)");
        *out += '{';
        bool first = true;
        const simdjson::dom::object fields = e.get_object().value();
        for (auto field : fields) {
          if (!first) *out += ',';
          first = false;
          // JSON keys are text; a map with keys of another type takes those that read as it.
          std::string key(field.key);
          if (t.children[0].kind != Type::kString) {
            simdjson::dom::parser key_parser;
            const std::string quoted = JsonString(key);
            element key_element;
            if (key_parser.parse(quoted).get(key_element) != simdjson::SUCCESS) return Bad("bad map key");
            Cell k;
            EL_RETURN_IF_ERROR(ToCell(key_element, t.children[0], column + " (a map key)", &k));
            if (t.children[0].nested() || k.kind == Cell::kNull) return Bad("Column '" + column + "' has map keys of a type JSON cannot give");
            std::string text;
            EL_RETURN_IF_ERROR(NestedJson(key_element, t.children[0], column, &text, depth + 1));
            key = text.size() >= 2 && text.front() == '"' ? text.substr(1, text.size() - 2) : text;
          }
          *out += JsonString(key);
          *out += ':';
          EL_RETURN_IF_ERROR(NestedJson(field.value, t.children[1], column, out, depth + 1));
        }
        *out += '}';
        return Status::Ok();
      }
      case Type::kStruct: {
        if (!e.is_object()) return Bad("Column '" + column + "' expects an object (a struct)");
        std::vector<std::pair<size_t, element>> hits;
        const simdjson::dom::object fields = e.get_object().value();
        for (auto field : fields) {
          const std::string k = NormalKey(field.key);
          for (size_t i = 0; i < t.names.size(); ++i) {
            if (t.names[i] == k) hits.emplace_back(i, field.value);
          }
        }
        *out += '{';
        for (size_t i = 0; i < t.names.size(); ++i) {
          if (i) *out += ',';
          *out += JsonString(t.names[i]) + ":";
          const element* value = nullptr;
          for (const auto& [index, v] : hits) {
            if (index == i) value = &v;
          }
          if (!value) {
            *out += "null";
          } else {
            EL_RETURN_IF_ERROR(NestedJson(*value, t.children[i], column + "." + t.names[i], out, depth + 1));
          }
        }
        *out += '}';
        return Status::Ok();
      }
      default: {
        Cell c;
        EL_RETURN_IF_ERROR(ToCell(e, t, column, &c));
        switch (c.kind) {
          case Cell::kNull: *out += "null"; break;
          case Cell::kBool: *out += c.i ? "true" : "false"; break;
          case Cell::kInt: *out += std::to_string(c.i); break;
          case Cell::kDouble: {
            char buf[32];
            std::snprintf(buf, sizeof(buf), "%.17g", c.d);
            *out += std::isfinite(c.d) ? buf : "null";
            break;
          }
          case Cell::kTimestamp: *out += JsonString(FormatTimestamp(c.i)); break;
          case Cell::kDate: *out += JsonString(date::format("%F", date::sys_days(date::days(c.i)))); break;
          default: *out += t.kind == Type::kDecimal ? c.s : JsonString(c.s); break;
        }
        return Status::Ok();
      }
    }
  }

  static std::string JsonString(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    return out + "\"";
  }

 private:
  const ConversionSpec& spec_;
};

}  // namespace

struct RecordConverter::State {
  ConversionSpec spec;
  std::vector<std::string> names;
  std::vector<Type> types;
  std::unordered_map<std::string, size_t> key_to_column;
  std::unique_ptr<query::ParquetWriter> writer;
  simdjson::dom::parser parser;
  std::vector<Cell> row;
  std::vector<bool> seen;
  std::unique_ptr<Converter> converter;
};

RecordConverter::~RecordConverter() = default;

Result<std::unique_ptr<RecordConverter>> RecordConverter::Create(const catalog::Table& table,
                                                                 const ConversionSpec& spec) {
  if (!table.storage || table.storage->columns.empty()) {
    return Bad("The table " + table.database + "." + table.name + " has no columns to convert records into");
  }
  std::unique_ptr<RecordConverter> c(new RecordConverter());
  c->state_ = std::make_unique<State>();
  State& s = *c->state_;
  s.spec = spec;
  s.converter = std::make_unique<Converter>(s.spec);
  std::vector<query::ParquetWriter::Column> columns;
  for (const auto& col : table.storage->columns) {
    auto type = TypeParser(col.type.empty() ? "string" : col.type).ParseAll();
    if (!type.ok()) return type.status();
    const std::string name = AsciiLower(col.name);
    auto mapped = spec.column_to_json_key.find(col.name);
    if (mapped == spec.column_to_json_key.end()) mapped = spec.column_to_json_key.find(name);
    const std::string key = mapped != spec.column_to_json_key.end() ? s.converter->NormalKey(mapped->second)
                                                                    : s.converter->NormalKey(col.name);
    s.key_to_column.emplace(key, s.names.size());
    s.names.push_back(name);
    s.types.push_back(std::move(*type));
    columns.push_back({col.name, col.type});
  }
  auto writer = query::ParquetWriter::Create(columns, spec.parquet_compression);
  if (!writer.ok()) return writer.status();
  s.writer = std::move(*writer);
  s.row.resize(s.names.size());
  s.seen.resize(s.names.size());
  c->table_version_ = table.version_id;
  return c;
}

Status RecordConverter::Convert(std::string_view record, bool append) {
  State& s = *state_;
  std::vector<std::string_view> objects;
  if (!SplitJsonObjects(record, &objects) || objects.empty()) {
    return Bad("The record is not a JSON object (records must be JSON objects, one or more concatenated)");
  }
  for (std::string_view object : objects) {
    simdjson::padded_string padded(object);
    element doc;
    if (s.parser.parse(padded).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
      return Bad("The record is not valid JSON");
    }
    for (auto& c : s.row) c = Cell{};
    const simdjson::dom::object fields = doc.get_object().value();
    for (auto field : fields) {
      std::string key = s.spec.case_insensitive || s.spec.dots_to_underscores ? s.converter->NormalKey(field.key)
                                                                              : std::string(field.key);
      auto it = s.key_to_column.find(key);
      if (it == s.key_to_column.end()) continue;
      EL_RETURN_IF_ERROR(s.converter->ToCell(field.value, s.types[it->second], s.names[it->second], &s.row[it->second]));
    }
    if (!append) continue;
    query::ParquetWriter& w = *s.writer;
    for (const Cell& c : s.row) {
      switch (c.kind) {
        case Cell::kNull: EL_RETURN_IF_ERROR(w.Null()); break;
        case Cell::kBool: EL_RETURN_IF_ERROR(w.Bool(c.i != 0)); break;
        case Cell::kInt: EL_RETURN_IF_ERROR(w.Int(c.i)); break;
        case Cell::kDouble: EL_RETURN_IF_ERROR(w.Double(c.d)); break;
        case Cell::kString: EL_RETURN_IF_ERROR(w.String(c.s)); break;
        case Cell::kTimestamp: EL_RETURN_IF_ERROR(w.TimestampMicros(c.i)); break;
        case Cell::kDate: EL_RETURN_IF_ERROR(w.Date(static_cast<int32_t>(c.i))); break;
        case Cell::kJson: EL_RETURN_IF_ERROR(w.Json(c.s)); break;
      }
    }
    EL_RETURN_IF_ERROR(w.EndRow());
  }
  return Status::Ok();
}

Status RecordConverter::Check(std::string_view record) { return Convert(record, false); }
Status RecordConverter::Append(std::string_view record) { return Convert(record, true); }
size_t RecordConverter::rows() const { return state_->writer->rows(); }
Status RecordConverter::WriteFile(const std::string& path) { return state_->writer->Write(path); }
Status RecordConverter::Discard() { return state_->writer->Discard(); }

Result<int64_t> ParseOpenXTimestamp(std::string_view text) {
  const std::string_view t = TrimWhitespace(text);
  int y, mo, d, h = 0, mi = 0, sec = 0;
  size_t at = 4;
  const bool dated = Digits(t, 0, 4, &y) && at < t.size() && t[at] == '-' && (++at, ShortDigits(t, &at, &mo)) &&
                     at < t.size() && t[at] == '-' && (++at, ShortDigits(t, &at, &d));
  if (!dated) return ParseNumberTimestamp(t);  // epoch seconds or milliseconds as text
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return Bad("not a timestamp");
  int64_t micros = 0;
  if (at < t.size()) {
    if (t[at] != 'T' && t[at] != ' ') return Bad("not a timestamp");
    ++at;
    if (!ShortDigits(t, &at, &h) || at >= t.size() || t[at++] != ':' || !ShortDigits(t, &at, &mi)) {
      return Bad("not a timestamp");
    }
    if (at < t.size() && t[at] == ':') {
      ++at;
      if (!ShortDigits(t, &at, &sec)) return Bad("not a timestamp");
    }
    if (at < t.size() && (t[at] == '.' || t[at] == ',')) {
      ++at;
      int64_t scale = 100000;
      size_t n = 0;
      while (at < t.size() && t[at] >= '0' && t[at] <= '9') {
        if (n < 6) micros += (t[at] - '0') * scale;
        scale /= 10;
        ++at;
        ++n;
      }
      if (n == 0) return Bad("not a timestamp");
    }
    int offset = 0;
    if (at < t.size() && (t[at] == 'Z' || t[at] == 'z')) {
      ++at;
    } else if (at < t.size() && (t[at] == '+' || t[at] == '-')) {
      const int sign = t[at] == '-' ? -1 : 1;
      ++at;
      int oh = 0, om = 0;
      if (!Digits(t, at, 2, &oh)) return Bad("not a timestamp");
      at += 2;
      if (at < t.size() && t[at] == ':') ++at;
      if (at < t.size()) {
        if (!Digits(t, at, 2, &om)) return Bad("not a timestamp");
        at += 2;
      }
      offset = sign * (oh * 3600 + om * 60);
    }
    if (at != t.size() || h > 23 || mi > 59 || sec > 60) return Bad("not a timestamp");
    micros -= static_cast<int64_t>(offset) * 1'000'000;
  }
  const int64_t days = DaysFromCivil(y, mo, d);
  return ((days * 24 + h) * 60 + mi) * 60'000'000LL + static_cast<int64_t>(sec) * 1'000'000 + micros;
}

Result<int64_t> ParseJodaTimestamp(std::string_view text, std::string_view pattern) {
  return JodaTimestamp(text, pattern);
}

}  // namespace eventlake::delivery
