// Firehose's S3 prefix language: literal text with `!{namespace:value}`
// expressions, validated as AWS validates Prefix and ErrorOutputPrefix, and
// evaluated for one object (docs/formats/delivery.md).
//
//   !{timestamp:<Java DateTimeFormatter pattern>}  the oldest record's arrival time
//   !{firehose:random-string}                      11 characters, new per occurrence
//   !{firehose:error-output-type}                  ErrorOutputPrefix only
//   !{partitionKeyFromQuery:<key>}                 dynamic partitioning keys
//   !{partitionKeyFromLambda:<key>}
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace date {
class time_zone;
}

namespace eventlake::delivery {

// A time zone as CustomTimeZone names it ("" or "UTC": UTC).
class TimeZone {
 public:
  TimeZone() = default;
  // InvalidArgument for a name the system's zone database does not know.
  static Result<TimeZone> Named(const std::string& name);
  const std::string& name() const { return name_; }

  // The local calendar fields of `epoch_ms` in this zone.
  struct Fields {
    int year, month, day, hour, minute, second, millisecond;
    int weekday;      // 0 = Sunday
    int day_of_year;  // 1..366
    int offset_seconds;
    std::string abbreviation;  // "UTC", "CET", ...
  };
  Fields Local(int64_t epoch_ms) const;

 private:
  std::string name_ = "UTC";
  const date::time_zone* zone_ = nullptr;  // null: UTC
};

// A Java DateTimeFormatter pattern, compiled.
class DatePattern {
 public:
  // InvalidArgument naming the offending letter for patterns AWS would refuse.
  static Result<DatePattern> Compile(std::string_view pattern);
  std::string Format(const TimeZone::Fields& t, const std::string& zone_name) const;

 private:
  struct Piece {
    char letter = 0;  // 0: literal text
    int count = 0;
    std::string text;
  };
  std::vector<Piece> pieces_;
};

class PrefixTemplate {
 public:
  enum class Kind { kPrefix, kErrorPrefix };
  // Parses and checks one prefix on its own (the rules that involve both
  // prefixes and the stream's settings are in ValidatePrefixes).
  static Result<PrefixTemplate> Parse(std::string_view text, Kind kind);

  bool has_expressions() const { return has_expressions_; }
  bool has_timestamp() const { return has_timestamp_; }
  bool has_error_type() const { return has_error_type_; }
  // The keys named by partitionKeyFromQuery / partitionKeyFromLambda.
  const std::set<std::string>& query_keys() const { return query_keys_; }
  const std::set<std::string>& lambda_keys() const { return lambda_keys_; }
  const std::string& text() const { return text_; }

  // The template with `!{timestamp:yyyy/MM/dd/HH/}` appended (AWS does so when
  // a prefix has no timestamp expression).
  PrefixTemplate WithDefaultTimestamp() const;

  struct Values {
    int64_t time_ms = 0;  // the oldest record's arrival
    const TimeZone* zone = nullptr;
    const std::map<std::string, std::string>* partition_keys = nullptr;
    std::string error_type;
    uint64_t seed = 0;  // random strings are drawn from this, so a retried object gets the same name
  };
  // The evaluated prefix. A partition key without a value evaluates empty.
  std::string Evaluate(const Values& values) const;

 private:
  struct Part {
    enum Type { kLiteral, kTimestamp, kRandom, kErrorType, kQueryKey, kLambdaKey } type = kLiteral;
    std::string text;  // literal text or key name
    DatePattern pattern;
  };
  std::string text_;
  std::vector<Part> parts_;
  bool has_expressions_ = false, has_timestamp_ = false, has_error_type_ = false;
  std::set<std::string> query_keys_, lambda_keys_;
};

// Firehose's rules for Prefix and ErrorOutputPrefix together.
// `dynamic_partitioning`: DynamicPartitioningConfiguration.Enabled.
// InvalidArgument (InvalidArgumentException) with AWS's reason when broken.
Status ValidatePrefixes(const PrefixTemplate& prefix, const PrefixTemplate* error_prefix, bool dynamic_partitioning);

// 11 characters of [a-zA-Z0-9] drawn from `state`.
std::string RandomString11(uint64_t& state);

}  // namespace eventlake::delivery
