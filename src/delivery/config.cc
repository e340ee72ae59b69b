#include "delivery/config.h"

namespace eventlake::delivery {
namespace {

Status Invalid(std::string message) {
  return Status::InvalidArgument(std::move(message)).WithType("InvalidArgumentException");
}

bool Enabled(const json& parent, const char* member, bool fallback) {
  auto it = parent.find(member);
  if (it == parent.end() || !it->is_object()) return false;
  auto e = it->find("Enabled");
  return e != it->end() && e->is_boolean() ? e->get<bool>() : fallback;
}

std::string Str(const json& j, const char* member, const std::string& fallback = {}) {
  auto it = j.find(member);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// The members every S3 destination description has, with AWS's defaults.
void FillS3Defaults(json& d, bool conversion_or_partitioning) {
  json hints = d.value("BufferingHints", json::object());
  if (!hints.is_object()) hints = json::object();
  if (!hints.contains("SizeInMBs")) hints["SizeInMBs"] = conversion_or_partitioning ? 128 : 5;
  if (!hints.contains("IntervalInSeconds")) hints["IntervalInSeconds"] = 300;
  d["BufferingHints"] = hints;
  if (!d.contains("CompressionFormat")) d["CompressionFormat"] = "UNCOMPRESSED";
  if (!d.contains("EncryptionConfiguration")) d["EncryptionConfiguration"] = {{"NoEncryptionConfig", "NoEncryption"}};
  if (!d.contains("CloudWatchLoggingOptions")) d["CloudWatchLoggingOptions"] = {{"Enabled", false}};
}

// The backup destination's description from an S3DestinationConfiguration.
json BackupDescription(const json& config) {
  json d = json::object();
  for (const char* m : {"RoleARN", "BucketARN", "Prefix", "ErrorOutputPrefix", "BufferingHints", "CompressionFormat",
                        "EncryptionConfiguration", "CloudWatchLoggingOptions"}) {
    if (config.contains(m)) d[m] = config[m];
  }
  FillS3Defaults(d, false);
  return d;
}

void FillExtendedDefaults(json& d) {
  const bool heavy = Enabled(d, "DataFormatConversionConfiguration", true) ||
                     Enabled(d, "DynamicPartitioningConfiguration", false);
  FillS3Defaults(d, heavy);
  if (!d.contains("ProcessingConfiguration")) {
    d["ProcessingConfiguration"] = {{"Enabled", false}, {"Processors", json::array()}};
  }
  if (!d.contains("S3BackupMode")) d["S3BackupMode"] = "Disabled";
  if (d.contains("DataFormatConversionConfiguration")) {
    json& c = d["DataFormatConversionConfiguration"];
    if (!c.contains("Enabled")) c["Enabled"] = true;
  }
  if (d.contains("DynamicPartitioningConfiguration")) {
    json& p = d["DynamicPartitioningConfiguration"];
    if (!p.contains("Enabled")) p["Enabled"] = false;
    if (!p.contains("RetryOptions")) p["RetryOptions"] = {{"DurationInSeconds", 300}};
  }
}

Result<S3Target> TargetFrom(const json& d, bool dynamic_partitioning, bool check_prefixes) {
  S3Target t;
  t.bucket = BucketOfArn(Str(d, "BucketARN"));
  if (t.bucket.empty()) return Invalid("BucketARN must name a bucket: arn:aws:s3:::<bucket>.");
  const json hints = d.value("BufferingHints", json::object());
  t.size_mb = hints.value("SizeInMBs", 5);
  t.interval_seconds = hints.value("IntervalInSeconds", 300);
  auto compression = ParseCompression(Str(d, "CompressionFormat", "UNCOMPRESSED"));
  if (!compression.ok()) return Invalid(compression.status().message());
  t.compression = *compression;

  auto prefix = PrefixTemplate::Parse(Str(d, "Prefix"), PrefixTemplate::Kind::kPrefix);
  if (!prefix.ok()) return prefix.status();
  const bool has_error_prefix = d.contains("ErrorOutputPrefix") && !Str(d, "ErrorOutputPrefix").empty();
  std::optional<PrefixTemplate> error_prefix;
  if (has_error_prefix) {
    auto parsed = PrefixTemplate::Parse(Str(d, "ErrorOutputPrefix"), PrefixTemplate::Kind::kErrorPrefix);
    if (!parsed.ok()) return parsed.status();
    error_prefix = std::move(*parsed);
  }
  if (check_prefixes) {
    EL_RETURN_IF_ERROR(ValidatePrefixes(*prefix, error_prefix ? &*error_prefix : nullptr, dynamic_partitioning));
  }
  // AWS appends the hourly folders when a prefix has no timestamp of its own;
  // dynamically partitioned objects go exactly where their prefix says.
  t.prefix = prefix->has_timestamp() || dynamic_partitioning ? *prefix : prefix->WithDefaultTimestamp();
  if (error_prefix) {
    t.error_prefix = error_prefix->has_timestamp() ? *error_prefix : error_prefix->WithDefaultTimestamp();
  } else {
    // Without one, failed records go to <Prefix><error-output-type>/YYYY/MM/dd/HH/.
    auto fallback = PrefixTemplate::Parse(prefix->text() + "!{firehose:error-output-type}/",
                                          PrefixTemplate::Kind::kErrorPrefix);
    if (!fallback.ok()) return fallback.status();
    t.error_prefix = fallback->WithDefaultTimestamp();
  }
  return t;
}

Result<std::vector<ProcessorSpec>> ProcessorsFrom(const json& d, bool dynamic_partitioning) {
  std::vector<ProcessorSpec> out;
  if (!Enabled(d, "ProcessingConfiguration", false)) return out;
  const json& list = d["ProcessingConfiguration"].value("Processors", json::array());
  for (const json& p : list) {
    ProcessorSpec spec;
    spec.type = Str(p, "Type");
    for (const json& param : p.value("Parameters", json::array())) {
      const std::string name = Str(param, "ParameterName");
      if (spec.parameters.count(name)) {
        return Invalid("Processor parameter " + name + " is given more than once for " + spec.type + ".");
      }
      spec.parameters[name] = Str(param, "ParameterValue");
    }
    auto allow = [&](std::initializer_list<const char*> names) -> Status {
      for (const auto& [name, value] : spec.parameters) {
        bool ok = false;
        for (const char* n : names) ok = ok || name == n;
        if (!ok) return Invalid("Processor parameter " + name + " is not valid for processor type " + spec.type + ".");
      }
      return Status::Ok();
    };
    if (spec.type == "Lambda") {
      return Invalid(
          "Lambda processors are not available: this server has no functions yet. Remove the Lambda processor "
          "(MetadataExtraction, AppendDelimiterToRecord, RecordDeAggregation and Decompression are supported).");
    } else if (spec.type == "MetadataExtraction") {
      EL_RETURN_IF_ERROR(allow({"MetadataExtractionQuery", "JsonParsingEngine"}));
      if (!dynamic_partitioning) {
        return Invalid("The MetadataExtraction processor needs dynamic partitioning to be enabled.");
      }
      if (spec.Param("MetadataExtractionQuery").empty()) {
        return Invalid("The MetadataExtraction processor needs the MetadataExtractionQuery parameter.");
      }
      if (spec.Param("JsonParsingEngine", "JQ-1.6") != "JQ-1.6") {
        return Invalid("JsonParsingEngine must be JQ-1.6.");
      }
    } else if (spec.type == "AppendDelimiterToRecord") {
      EL_RETURN_IF_ERROR(allow({"Delimiter"}));
    } else if (spec.type == "RecordDeAggregation") {
      EL_RETURN_IF_ERROR(allow({"SubRecordType", "Delimiter"}));
      const std::string sub = spec.Param("SubRecordType", "JSON");
      if (sub != "JSON" && sub != "DELIMITED" && sub != "KPL") {
        return Invalid("SubRecordType must be JSON, DELIMITED or KPL.");
      }
      if (sub == "DELIMITED" && spec.Param("Delimiter").empty()) {
        return Invalid("RecordDeAggregation with SubRecordType DELIMITED needs a Delimiter (base64).");
      }
    } else if (spec.type == "Decompression") {
      EL_RETURN_IF_ERROR(allow({"CompressionFormat"}));
      if (spec.Param("CompressionFormat", "GZIP") != "GZIP") {
        return Invalid("The Decompression processor's CompressionFormat must be GZIP.");
      }
    } else if (spec.type == "CloudWatchLogProcessing") {
      EL_RETURN_IF_ERROR(allow({"DataMessageExtraction"}));
    } else {
      return Invalid("Unknown processor type '" + spec.type + "'.");
    }
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace

std::string BucketOfArn(const std::string& arn) {
  const std::string marker = ":s3:::";
  const size_t at = arn.find(marker);
  if (at == std::string::npos || arn.compare(0, 4, "arn:") != 0) return {};
  std::string bucket = arn.substr(at + marker.size());
  if (bucket.find('/') != std::string::npos) return {};
  return bucket;
}

namespace {
Status CheckHints(const json& config) {
  auto it = config.find("BufferingHints");
  if (it != config.end() && it->is_object() && it->contains("SizeInMBs") != it->contains("IntervalInSeconds")) {
    return Invalid("BufferingHints must specify both SizeInMBs and IntervalInSeconds, or neither.");
  }
  return Status::Ok();
}
}  // namespace

Result<json> DescribeNewDestination(const json& config, bool legacy) {
  EL_RETURN_IF_ERROR(CheckHints(config));
  if (config.contains("S3BackupConfiguration")) EL_RETURN_IF_ERROR(CheckHints(config["S3BackupConfiguration"]));
  json d = json::object();
  for (auto it = config.begin(); it != config.end(); ++it) {
    if (it.key() == "S3BackupConfiguration") continue;
    d[it.key()] = it.value();
  }
  if (!legacy && config.contains("S3BackupConfiguration") && config["S3BackupConfiguration"].is_object()) {
    d["S3BackupDescription"] = BackupDescription(config["S3BackupConfiguration"]);
  }
  if (legacy) {
    FillS3Defaults(d, false);
    d["ProcessingConfiguration"] = {{"Enabled", false}, {"Processors", json::array()}};
    d["S3BackupMode"] = "Disabled";
  } else {
    FillExtendedDefaults(d);
  }
  auto settings = SettingsFrom(d);
  if (!settings.ok()) return settings.status();
  return d;
}

Result<json> DescribeUpdatedDestination(const json& current, const json& update, bool legacy) {
  EL_RETURN_IF_ERROR(CheckHints(update));
  json d = current;
  const bool was_partitioned = Enabled(current, "DynamicPartitioningConfiguration", false);
  for (auto it = update.begin(); it != update.end(); ++it) {
    if (it.key() == "S3BackupUpdate") {
      json backup = current.value("S3BackupDescription", json::object());
      for (auto b = it->begin(); b != it->end(); ++b) backup[b.key()] = b.value();
      d["S3BackupDescription"] = BackupDescription(backup);
      continue;
    }
    if (it.key() == "BufferingHints" && it->is_object()) {
      json hints = current.value("BufferingHints", json::object());
      for (auto h = it->begin(); h != it->end(); ++h) hints[h.key()] = h.value();
      d["BufferingHints"] = hints;
      continue;
    }
    d[it.key()] = it.value();
  }
  if (legacy) {
    FillS3Defaults(d, false);
  } else {
    FillExtendedDefaults(d);
  }
  if (current.value("S3BackupMode", "Disabled") == "Enabled" && d.value("S3BackupMode", "Disabled") != "Enabled") {
    return Invalid("S3BackupMode cannot be changed from Enabled to Disabled.");
  }
  if (Enabled(d, "DynamicPartitioningConfiguration", false) != was_partitioned) {
    return Invalid(was_partitioned ? "Dynamic partitioning cannot be disabled once it is enabled."
                                   : "Dynamic partitioning can only be enabled when the Firehose stream is created.");
  }
  auto settings = SettingsFrom(d);
  if (!settings.ok()) return settings.status();
  return d;
}

json LegacyView(const json& destination) {
  json d = json::object();
  for (const char* m : {"RoleARN", "BucketARN", "Prefix", "ErrorOutputPrefix", "BufferingHints", "CompressionFormat",
                        "EncryptionConfiguration", "CloudWatchLoggingOptions"}) {
    if (destination.contains(m)) d[m] = destination[m];
  }
  return d;
}

Result<DestinationSettings> SettingsFromUnchecked(const json& d);

Result<DestinationSettings> SettingsFrom(const json& d) {
  // Members of the wrong JSON type (the API checks them; stored documents are ours) fail, never throw.
  try {
    if (!d.is_object()) return Invalid("The destination must be a structure.");
    return SettingsFromUnchecked(d);
  } catch (const json::exception& e) {
    return Invalid(std::string("The destination configuration has a member of the wrong type: ") + e.what());
  }
}

Result<DestinationSettings> SettingsFromUnchecked(const json& d) {
  DestinationSettings s;
  const bool partitioned = Enabled(d, "DynamicPartitioningConfiguration", false);
  const bool converting = Enabled(d, "DataFormatConversionConfiguration", true);
  s.dynamic_partitioning = partitioned;

  const json& hints = d.value("BufferingHints", json::object());
  if (hints.contains("SizeInMBs") != hints.contains("IntervalInSeconds")) {
    return Invalid("BufferingHints must specify both SizeInMBs and IntervalInSeconds, or neither.");
  }
  auto main = TargetFrom(d, partitioned, true);
  if (!main.ok()) return main.status();
  s.main = std::move(*main);
  if ((partitioned || converting) && s.main.size_mb < 64) {
    return Invalid(std::string("BufferingHints.SizeInMBs must be at least 64 when ") +
                   (converting ? "data format conversion" : "dynamic partitioning") + " is enabled.");
  }

  auto zone = TimeZone::Named(Str(d, "CustomTimeZone"));
  if (!zone.ok()) return zone.status();
  s.zone = std::move(*zone);

  auto processors = ProcessorsFrom(d, partitioned);
  if (!processors.ok()) return processors.status();
  s.processors = std::move(*processors);
  if (partitioned && !s.main.prefix.query_keys().empty()) {
    bool have_query = false;
    for (const auto& p : s.processors) have_query = have_query || p.type == "MetadataExtraction";
    if (!have_query) {
      return Invalid(
          "Prefix uses partitionKeyFromQuery, which needs a MetadataExtraction processor with a "
          "MetadataExtractionQuery.");
    }
  }
  if (!s.main.prefix.lambda_keys().empty()) {
    return Invalid("Prefix uses partitionKeyFromLambda, which needs a Lambda processor; this server has none yet.");
  }

  if (Str(d, "S3BackupMode", "Disabled") == "Enabled") {
    if (!d.contains("S3BackupDescription")) {
      return Invalid("S3BackupConfiguration is required when S3BackupMode is Enabled.");
    }
    auto backup = TargetFrom(d["S3BackupDescription"], false, true);
    if (!backup.ok()) return backup.status();
    if (backup->interval_seconds == 0) {
      return Invalid("Zero buffering (IntervalInSeconds 0) is not available for the S3 backup destination.");
    }
    s.backup = std::move(*backup);
  }

  if (converting && d.contains("DataFormatConversionConfiguration")) {
    const json& c = d["DataFormatConversionConfiguration"];
    if (s.main.compression != Compression::kUncompressed) {
      return Invalid("CompressionFormat must be UNCOMPRESSED when data format conversion is enabled.");
    }
    ConversionSpec spec;
    const json& schema = c.value("SchemaConfiguration", json::object());
    spec.database = Str(schema, "DatabaseName");
    spec.table = Str(schema, "TableName");
    spec.version_id = Str(schema, "VersionId", "LATEST");
    if (spec.database.empty() || spec.table.empty()) {
      return Invalid("SchemaConfiguration needs DatabaseName and TableName when data format conversion is enabled.");
    }
    const json& deser = c.value("InputFormatConfiguration", json::object()).value("Deserializer", json::object());
    if (deser.contains("HiveJsonSerDe")) {
      spec.hive_serde = true;
      spec.case_insensitive = true;
      for (const json& f : deser["HiveJsonSerDe"].value("TimestampFormats", json::array())) {
        if (f.is_string()) spec.timestamp_formats.push_back(f.get<std::string>());
      }
    } else if (deser.contains("OpenXJsonSerDe")) {
      const json& o = deser["OpenXJsonSerDe"];
      spec.case_insensitive = o.value("CaseInsensitive", true);
      spec.dots_to_underscores = o.value("ConvertDotsInJsonKeysToUnderscores", false);
      const json mappings = o.value("ColumnToJsonKeyMappings", json::object());
      for (auto it = mappings.begin(); it != mappings.end(); ++it) {
        if (it->is_string()) spec.column_to_json_key[it.key()] = it->get<std::string>();
      }
    } else {
      return Invalid("InputFormatConfiguration needs a Deserializer (OpenXJsonSerDe or HiveJsonSerDe).");
    }
    const json& ser = c.value("OutputFormatConfiguration", json::object()).value("Serializer", json::object());
    if (ser.contains("OrcSerDe")) {
      return Invalid("ORC output is not supported; use ParquetSerDe.");
    }
    if (!ser.contains("ParquetSerDe")) {
      return Invalid("OutputFormatConfiguration needs a Serializer (ParquetSerDe).");
    }
    spec.parquet_compression = Str(ser["ParquetSerDe"], "Compression", "SNAPPY");
    if (spec.parquet_compression != "SNAPPY" && spec.parquet_compression != "GZIP" &&
        spec.parquet_compression != "UNCOMPRESSED" && spec.parquet_compression != "ZSTD") {
      return Invalid("ParquetSerDe.Compression must be SNAPPY, GZIP, UNCOMPRESSED or ZSTD.");
    }
    s.conversion = std::move(spec);
  }

  if (d.contains("FileExtension")) {
    s.file_extension = Str(d, "FileExtension");
  } else {
    s.file_extension = s.conversion ? ".parquet" : DefaultExtension(s.main.compression);
  }
  return s;
}

}  // namespace eventlake::delivery
