#include "delivery/prefix.h"

#include <date/date.h>
#include <date/tz.h>

#include <chrono>
#include <cstdio>

namespace eventlake::delivery {
namespace {

Status Invalid(std::string message) {
  return Status::InvalidArgument(std::move(message)).WithType("InvalidArgumentException");
}

const char* const kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                               "July",    "August",   "September", "October", "November", "December"};
const char* const kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

std::string Pad(int64_t v, int width) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  if (static_cast<int>(digits.size()) < width) digits.insert(0, width - digits.size(), '0');
  return v < 0 ? "-" + digits : digits;
}

std::string Offset(int seconds, bool colon, bool z_for_zero, int minutes_width) {
  if (seconds == 0 && z_for_zero) return "Z";
  std::string out = seconds < 0 ? "-" : "+";
  int s = seconds < 0 ? -seconds : seconds;
  out += Pad(s / 3600, 2);
  if (minutes_width == 0 && s % 3600 == 0) return out;
  if (colon) out += ':';
  out += Pad((s % 3600) / 60, 2);
  return out;
}

}  // namespace

Result<TimeZone> TimeZone::Named(const std::string& name) {
  TimeZone tz;
  if (name.empty() || name == "UTC") return tz;
  try {
    tz.zone_ = date::locate_zone(name);
  } catch (const std::exception&) {
    return Invalid("CustomTimeZone '" + name + "' is not a valid time zone.");
  }
  tz.name_ = name;
  return tz;
}

TimeZone::Fields TimeZone::Local(int64_t epoch_ms) const {
  using namespace std::chrono;
  const date::sys_time<milliseconds> t{milliseconds(epoch_ms)};
  Fields f{};
  date::local_time<milliseconds> local;
  if (zone_) {
    const auto info = zone_->get_info(t);
    f.offset_seconds = static_cast<int>(info.offset.count());
    f.abbreviation = info.abbrev;
    local = date::local_time<milliseconds>{t.time_since_epoch() + info.offset};
  } else {
    f.abbreviation = "UTC";
    local = date::local_time<milliseconds>{t.time_since_epoch()};
  }
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<milliseconds> tod{local - day};
  f.year = static_cast<int>(ymd.year());
  f.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  f.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  f.hour = static_cast<int>(tod.hours().count());
  f.minute = static_cast<int>(tod.minutes().count());
  f.second = static_cast<int>(tod.seconds().count());
  f.millisecond = static_cast<int>(tod.subseconds().count());
  f.weekday = static_cast<int>(date::weekday{day}.c_encoding());
  f.day_of_year = static_cast<int>((day - date::local_days{ymd.year() / 1 / 1}).count()) + 1;
  return f;
}

Result<DatePattern> DatePattern::Compile(std::string_view pattern) {
  DatePattern out;
  auto literal = [&](std::string text) {
    if (!out.pieces_.empty() && out.pieces_.back().letter == 0) {
      out.pieces_.back().text += text;
    } else {
      out.pieces_.push_back({0, 0, std::move(text)});
    }
  };
  static const std::string_view kLetters = "GuyMLdDHkKhmsSaEQqAZXxVz";
  for (size_t i = 0; i < pattern.size();) {
    const char c = pattern[i];
    if (c == '\'') {
      size_t j = i + 1;
      std::string text;
      if (j < pattern.size() && pattern[j] == '\'') {  // '' is one quote
        literal("'");
        i = j + 1;
        continue;
      }
      bool closed = false;
      while (j < pattern.size()) {
        if (pattern[j] == '\'') {
          if (j + 1 < pattern.size() && pattern[j + 1] == '\'') {
            text += '\'';
            j += 2;
            continue;
          }
          closed = true;
          break;
        }
        text += pattern[j++];
      }
      if (!closed) return Invalid("Pattern '" + std::string(pattern) + "' has an unterminated quote.");
      literal(text);
      i = j + 1;
      continue;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      if (kLetters.find(c) == std::string_view::npos) {
        return Invalid("Unsupported or unknown pattern letter '" + std::string(1, c) + "' in timestamp pattern '" +
                       std::string(pattern) + "'.");
      }
      size_t j = i;
      while (j < pattern.size() && pattern[j] == c) ++j;
      const int count = static_cast<int>(j - i);
      const bool too_many = ((c == 'M' || c == 'L' || c == 'E' || c == 'Q' || c == 'q') && count > 5) ||
                            ((c == 'd' || c == 'H' || c == 'k' || c == 'K' || c == 'h' || c == 'm' || c == 's') &&
                             count > 2) ||
                            (c == 'D' && count > 3) || (c == 'a' && count > 1) || (c == 'S' && count > 9) ||
                            ((c == 'X' || c == 'x' || c == 'Z') && count > 5) || (c == 'V' && count != 2) ||
                            (c == 'z' && count > 4) || (c == 'G' && count > 5);
      if (too_many) {
        return Invalid("Too many pattern letters: " + std::string(count, c) + " in timestamp pattern '" +
                       std::string(pattern) + "'.");
      }
      out.pieces_.push_back({c, count, {}});
      i = j;
      continue;
    }
    if (c == '[' || c == ']') {  // optional sections print as if present
      ++i;
      continue;
    }
    if (c == '{' || c == '}' || c == '#') {
      return Invalid("Pattern includes reserved character: '" + std::string(1, c) + "' in '" + std::string(pattern) +
                     "'.");
    }
    literal(std::string(1, c));
    ++i;
  }
  return out;
}

std::string DatePattern::Format(const TimeZone::Fields& t, const std::string& zone_name) const {
  std::string out;
  for (const Piece& p : pieces_) {
    const int n = p.count;
    switch (p.letter) {
      case 0:
        out += p.text;
        break;
      case 'G':
        out += n == 4 ? "Anno Domini" : n == 5 ? "A" : "AD";
        break;
      case 'u':
      case 'y':
        out += n == 2 ? Pad(t.year % 100, 2) : Pad(t.year, n);
        break;
      case 'M':
      case 'L':
        if (n <= 2) {
          out += Pad(t.month, n);
        } else if (n == 3) {
          out += std::string(kMonths[t.month - 1]).substr(0, 3);
        } else if (n == 4) {
          out += kMonths[t.month - 1];
        } else {
          out += kMonths[t.month - 1][0];
        }
        break;
      case 'd':
        out += Pad(t.day, n);
        break;
      case 'D':
        out += Pad(t.day_of_year, n);
        break;
      case 'H':
        out += Pad(t.hour, n);
        break;
      case 'k':
        out += Pad(t.hour == 0 ? 24 : t.hour, n);
        break;
      case 'K':
        out += Pad(t.hour % 12, n);
        break;
      case 'h':
        out += Pad(t.hour % 12 == 0 ? 12 : t.hour % 12, n);
        break;
      case 'm':
        out += Pad(t.minute, n);
        break;
      case 's':
        out += Pad(t.second, n);
        break;
      case 'S': {
        std::string frac = Pad(t.millisecond, 3) + "000000";
        out += frac.substr(0, n);
        break;
      }
      case 'A':
        out += Pad(((t.hour * 60 + t.minute) * 60 + t.second) * 1000 + t.millisecond, n);
        break;
      case 'a':
        out += t.hour < 12 ? "AM" : "PM";
        break;
      case 'E':
        out += n <= 3 ? std::string(kDays[t.weekday]).substr(0, 3) : n == 4 ? kDays[t.weekday]
                                                                           : std::string(1, kDays[t.weekday][0]);
        break;
      case 'Q':
      case 'q': {
        const int q = (t.month - 1) / 3 + 1;
        out += n <= 2 ? Pad(q, n) : n == 3 ? "Q" + std::to_string(q) : std::to_string(q) + " quarter";
        break;
      }
      case 'Z':
        out += n <= 3 ? Offset(t.offset_seconds, false, false, 2)
               : n == 4 ? (t.offset_seconds == 0 ? "GMT" : "GMT" + Offset(t.offset_seconds, true, false, 2))
                        : Offset(t.offset_seconds, true, true, 2);
        break;
      case 'X':
      case 'x': {
        const bool z = p.letter == 'X';
        out += n == 1   ? Offset(t.offset_seconds, false, z, 0)
               : n == 2 ? Offset(t.offset_seconds, false, z, 2)
                        : Offset(t.offset_seconds, n >= 3 && n % 2 == 1, z, 2);
        break;
      }
      case 'V':
        out += zone_name;
        break;
      case 'z':
        out += t.abbreviation;
        break;
      default:
        break;
    }
  }
  return out;
}

Result<PrefixTemplate> PrefixTemplate::Parse(std::string_view text, Kind kind) {
  PrefixTemplate t;
  t.text_ = std::string(text);
  const char* which = kind == Kind::kPrefix ? "Prefix" : "ErrorOutputPrefix";
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) t.parts_.push_back({Part::kLiteral, std::move(literal), {}});
    literal.clear();
  };
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "!{") != 0) {
      literal += text[i++];
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return Invalid(std::string(which) + " '" + std::string(text) + "' has an expression that is not closed with '}'.");
    }
    const std::string_view expr = text.substr(i + 2, close - i - 2);
    if (expr.find("!{") != std::string_view::npos) {
      return Invalid(std::string(which) + " '" + std::string(text) + "': expressions cannot be nested.");
    }
    const size_t colon = expr.find(':');
    if (colon == std::string_view::npos) {
      return Invalid(std::string(which) + " expression '!{" + std::string(expr) +
                     "}' must have the form !{namespace:value}.");
    }
    const std::string ns(expr.substr(0, colon));
    const std::string value(expr.substr(colon + 1));
    flush();
    t.has_expressions_ = true;
    if (ns == "timestamp") {
      if (value.empty()) return Invalid("The timestamp expression in " + std::string(which) + " needs a pattern.");
      auto pattern = DatePattern::Compile(value);
      if (!pattern.ok()) return pattern.status();
      t.parts_.push_back({Part::kTimestamp, value, std::move(*pattern)});
      t.has_timestamp_ = true;
    } else if (ns == "firehose") {
      if (value == "random-string") {
        t.parts_.push_back({Part::kRandom, {}, {}});
      } else if (value == "error-output-type") {
        if (kind == Kind::kPrefix) {
          return Invalid("The expression !{firehose:error-output-type} is only allowed in ErrorOutputPrefix.");
        }
        t.parts_.push_back({Part::kErrorType, {}, {}});
        t.has_error_type_ = true;
      } else {
        return Invalid("Unknown firehose expression '!{firehose:" + value +
                       "}': the firehose namespace has random-string and error-output-type.");
      }
    } else if (ns == "partitionKeyFromQuery" || ns == "partitionKeyFromLambda") {
      if (kind == Kind::kErrorPrefix) {
        return Invalid("The " + ns + " namespace is not allowed in ErrorOutputPrefix.");
      }
      if (value.empty()) return Invalid("The " + ns + " expression needs a key name.");
      const bool query = ns == "partitionKeyFromQuery";
      t.parts_.push_back({query ? Part::kQueryKey : Part::kLambdaKey, value, {}});
      (query ? t.query_keys_ : t.lambda_keys_).insert(value);
    } else {
      return Invalid("Unknown namespace '" + ns + "' in " + which +
                     ": use timestamp, firehose, partitionKeyFromQuery or partitionKeyFromLambda.");
    }
    i = close + 1;
  }
  flush();
  return t;
}

PrefixTemplate PrefixTemplate::WithDefaultTimestamp() const {
  PrefixTemplate t = *this;
  t.parts_.push_back({Part::kTimestamp, "yyyy/MM/dd/HH/", *DatePattern::Compile("yyyy/MM/dd/HH/")});
  t.has_timestamp_ = true;
  return t;
}

std::string RandomString11(uint64_t& state) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out;
  for (int i = 0; i < 11; ++i) {
    state += 0x9E3779B97F4A7C15ull;  // splitmix64
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    out += kAlphabet[z % 62];
  }
  return out;
}

std::string PrefixTemplate::Evaluate(const Values& v) const {
  std::string out;
  uint64_t state = v.seed;
  bool have_time = false;
  TimeZone::Fields fields{};
  static const TimeZone kUtc;
  const TimeZone& zone = v.zone ? *v.zone : kUtc;
  for (const Part& p : parts_) {
    switch (p.type) {
      case Part::kLiteral:
        out += p.text;
        break;
      case Part::kTimestamp:
        if (!have_time) fields = zone.Local(v.time_ms), have_time = true;
        out += p.pattern.Format(fields, zone.name());
        break;
      case Part::kRandom:
        out += RandomString11(state);
        break;
      case Part::kErrorType:
        out += v.error_type;
        break;
      case Part::kQueryKey:
      case Part::kLambdaKey:
        if (v.partition_keys) {
          auto it = v.partition_keys->find(p.text);
          if (it != v.partition_keys->end()) out += it->second;
        }
        break;
    }
  }
  return out;
}

Status ValidatePrefixes(const PrefixTemplate& prefix, const PrefixTemplate* error_prefix, bool dynamic_partitioning) {
  const bool has_keys = !prefix.query_keys().empty() || !prefix.lambda_keys().empty();
  if (has_keys && !dynamic_partitioning) {
    return Invalid(
        "Prefix uses the partitionKeyFromQuery or partitionKeyFromLambda namespace, which needs dynamic "
        "partitioning to be enabled.");
  }
  if (dynamic_partitioning && !has_keys) {
    return Invalid(
        "When dynamic partitioning is enabled, Prefix must use at least one partitionKeyFromQuery or "
        "partitionKeyFromLambda expression.");
  }
  const bool error_empty = !error_prefix || error_prefix->text().empty();
  if (error_empty && (prefix.has_expressions() || dynamic_partitioning)) {
    return Invalid(
        "ErrorOutputPrefix cannot be null or empty when Prefix contains expressions or dynamic partitioning is "
        "enabled.");
  }
  if (!error_empty && error_prefix->has_expressions() && !error_prefix->has_error_type()) {
    return Invalid(
        "ErrorOutputPrefix contains expressions but not !{firehose:error-output-type}, which it must contain.");
  }
  return Status::Ok();
}

}  // namespace eventlake::delivery
