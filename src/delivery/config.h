// A delivery stream's S3 destination: the ExtendedS3 destination document as
// DescribeDeliveryStream shows it (defaults filled in), and the settings the
// delivery worker reads from it, checked against Firehose's rules.
//
// The document is kept in AWS's own shape (docs/formats/delivery.md): it is
// what users wrote and what they read back, field for field.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "delivery/codec.h"
#include "delivery/prefix.h"

namespace eventlake::delivery {

using json = nlohmann::json;

struct ProcessorSpec {
  std::string type;  // MetadataExtraction, AppendDelimiterToRecord, ...
  std::map<std::string, std::string> parameters;
  std::string Param(const std::string& name, const std::string& fallback = {}) const {
    auto it = parameters.find(name);
    return it == parameters.end() ? fallback : it->second;
  }
};

// Where and how one kind of object is written (the destination, or its backup).
struct S3Target {
  std::string bucket;
  PrefixTemplate prefix;        // with the default timestamp appended where AWS appends it
  PrefixTemplate error_prefix;  // likewise; the stand-in AWS uses when none was given
  int size_mb = 5;
  int interval_seconds = 300;
  Compression compression = Compression::kUncompressed;
};

struct ConversionSpec {
  std::string database, table, version_id = "LATEST";
  bool case_insensitive = true;
  bool dots_to_underscores = false;
  std::map<std::string, std::string> column_to_json_key;  // column -> JSON key
  bool hive_serde = false;
  std::vector<std::string> timestamp_formats;  // HiveJsonSerDe
  std::string parquet_compression = "SNAPPY";  // SNAPPY, GZIP, UNCOMPRESSED, ZSTD
};

struct DestinationSettings {
  S3Target main;
  std::string file_extension;  // what object names end with
  TimeZone zone;
  std::vector<ProcessorSpec> processors;  // enabled ones only
  bool dynamic_partitioning = false;
  std::optional<S3Target> backup;  // S3BackupMode Enabled
  std::optional<ConversionSpec> conversion;
};

// The description document for a new destination from an
// ExtendedS3DestinationConfiguration (or a legacy S3DestinationConfiguration
// when `legacy`), with AWS's defaults filled in.
Result<json> DescribeNewDestination(const json& config, bool legacy);
// The document after an ExtendedS3DestinationUpdate (or S3DestinationUpdate):
// members given replace the current ones.
Result<json> DescribeUpdatedDestination(const json& current, const json& update, bool legacy);
// The legacy S3DestinationDescription view of a destination document.
json LegacyView(const json& destination);

// The worker's settings from a destination document; InvalidArgument
// (InvalidArgumentException) where Firehose would refuse the configuration.
Result<DestinationSettings> SettingsFrom(const json& destination);

// The bucket of an S3 bucket ARN (arn:aws:s3:::name).
std::string BucketOfArn(const std::string& arn);

}  // namespace eventlake::delivery
