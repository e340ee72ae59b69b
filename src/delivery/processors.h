// The record processors a delivery stream runs before buffering, in
// Firehose's order whatever order they are listed in (RecordDeAggregation
// opens KPL aggregated records, then splits JSON or delimited sub-records):
//   Decompression -> CloudWatchLogProcessing -> RecordDeAggregation
//   -> MetadataExtraction (JQ 1.6) -> AppendDelimiterToRecord.
// One source record becomes zero or more output records, each with the
// partition keys its object's prefix needs, or fails as a whole.
//
// Thread-safety: a RecordProcessor is used by one thread at a time (its JQ
// program is not reentrant).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "delivery/config.h"

namespace eventlake::delivery {

// A compiled JQ 1.6 program that maps a JSON record to partition keys.
class JqQuery {
 public:
  // InvalidArgument (InvalidArgumentException) with jq's message when it does not compile.
  static Result<std::unique_ptr<JqQuery>> Compile(const std::string& program);
  ~JqQuery();
  JqQuery(const JqQuery&) = delete;
  JqQuery& operator=(const JqQuery&) = delete;

  // The program's first output for `record`, which must be an object whose
  // values are strings, numbers or booleans; its members as text. Fails
  // (InvalidArgument, with the reason) for non-JSON input or other outputs.
  Result<std::map<std::string, std::string>> Run(std::string_view record);

 private:
  JqQuery() = default;
  struct State;
  std::unique_ptr<State> state_;
};

struct ProcessedRecord {
  std::string data;
  std::map<std::string, std::string> partition_keys;
};

struct ProcessingFailure {
  std::string error_code;  // Lambda.FunctionError-like names Firehose uses
  std::string message;
};

class RecordProcessor {
 public:
  // `kpl`: de-aggregate KPL aggregated records (a Kinesis stream source).
  static Result<std::unique_ptr<RecordProcessor>> Create(const std::vector<ProcessorSpec>& processors, bool kpl);

  // Runs the processors on one record. Returns false with `failure` set when
  // the record cannot be processed; `out` then holds nothing.
  bool Process(std::string_view data, std::vector<ProcessedRecord>* out, ProcessingFailure* failure);

  bool partitions() const { return jq_ != nullptr; }

 private:
  bool decompress_ = false;
  bool cloudwatch_ = false;
  bool kpl_ = false;
  enum class Split { kNone, kJson, kDelimited } split_ = Split::kNone;
  std::string split_delimiter_;
  bool append_delimiter_ = false;
  std::string delimiter_ = "\n";
  std::unique_ptr<JqQuery> jq_;
};

// Splits concatenated or newline-separated JSON objects ({"a":1}{"a":2});
// false when the input is not a sequence of JSON objects.
bool SplitJsonObjects(std::string_view data, std::vector<std::string_view>* out);

// The user records inside a KPL aggregated record (magic 0xF3899AC2, a
// protobuf AggregatedRecord, its MD5). A record that is not aggregated is
// returned whole; a corrupt aggregate fails.
Result<std::vector<std::string>> DeaggregateKpl(std::string_view data);

}  // namespace eventlake::delivery
