// Untrusted bytes as a delivery stream meets them: prefixes and timestamp
// patterns from a destination configuration, and record data through every
// processor (KPL de-aggregation, JSON splitting, decompression, JQ partition
// keys) and every decoder of the compression formats.
#include <cstdint>
#include <string>
#include <string_view>

#include "delivery/codec.h"
#include "delivery/config.h"
#include "delivery/convert.h"
#include "delivery/prefix.h"
#include "delivery/processors.h"

namespace {

using namespace eventlake::delivery;

std::unique_ptr<RecordProcessor> MakeProcessor() {
  std::vector<ProcessorSpec> specs = {
      {"RecordDeAggregation", {{"SubRecordType", "JSON"}}},
      {"MetadataExtraction", {{"MetadataExtractionQuery", "{a: .a, b: .b.c, y: .t | strftime(\"%Y\")}"}}},
      {"AppendDelimiterToRecord", {}}};
  return std::move(*RecordProcessor::Create(specs, true));
}

std::unique_ptr<RecordConverter> MakeConverter() {
  eventlake::catalog::Table t;
  t.database = "lake";
  t.name = "events";
  t.storage.emplace();
  for (auto [n, ty] : std::vector<std::pair<const char*, const char*>>{
           {"a", "bigint"}, {"b", "string"}, {"c", "decimal(10,2)"}, {"d", "timestamp"}, {"e", "date"},
           {"f", "array<struct<x:int,y:map<string,double>>>"}, {"g", "boolean"}, {"h", "tinyint"}}) {
    t.storage->columns.push_back({n, ty, {}, {}});
  }
  ConversionSpec spec;
  spec.dots_to_underscores = true;
  return std::move(*RecordConverter::Create(t, spec));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<RecordProcessor> processor = MakeProcessor();
  static std::unique_ptr<RecordConverter> converter = MakeConverter();
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  for (auto kind : {PrefixTemplate::Kind::kPrefix, PrefixTemplate::Kind::kErrorPrefix}) {
    auto t = PrefixTemplate::Parse(in, kind);
    if (t.ok()) {
      std::map<std::string, std::string> keys = {{"a", "1"}};
      PrefixTemplate::Values v;
      v.time_ms = 1530918309123;
      v.partition_keys = &keys;
      v.error_type = "processing-failed";
      (void)t->Evaluate(v);
      (void)ValidatePrefixes(*t, &*t, true);
    }
  }
  if (auto p = DatePattern::Compile(in); p.ok()) (void)p->Format(TimeZone().Local(0), "UTC");

  std::vector<ProcessedRecord> out;
  ProcessingFailure failure;
  processor->Process(in, &out, &failure);
  // What Check accepts must append (and so write) without error.
  if (converter->Check(in).ok() && !converter->Append(in).ok()) __builtin_trap();
  if (converter->rows() > 1000) (void)converter->WriteFile("/dev/null");
  (void)ParseOpenXTimestamp(in);
  std::vector<std::string_view> parts;
  SplitJsonObjects(in, &parts);
  (void)DeaggregateKpl(in);
  for (auto c : {Compression::kGzip, Compression::kZip, Compression::kSnappy, Compression::kHadoopSnappy}) {
    (void)Decompress(c, in, 1 << 20);
  }
  if (size < 4096) {
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_object()) (void)SettingsFrom(j);
  }
  return 0;
}
