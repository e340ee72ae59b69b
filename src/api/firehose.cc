#include "api/firehose.h"

#include <simdjson.h>

#include <utility>

#include "api/json_input.h"
#include "auth/crypto.h"
#include "delivery/config.h"

namespace eventlake::api {
namespace {

using delivery::DeliveryService;

constexpr const char* kNamePattern = "[a-zA-Z0-9_.-]+";
constexpr const char* kRolePattern = R"(arn:.*:iam::\d{12}:role/[a-zA-Z_0-9+=,.@\-_/]+)";
constexpr const char* kBucketPattern = R"(arn:.*:s3:::[\w\.\-]{1,255})";
constexpr const char* kKinesisArnPattern = R"(arn:.*:kinesis:[a-zA-Z0-9\-]+:\d{12}:stream/[a-zA-Z0-9_.-]+)";
constexpr const char* kKmsArnPattern = R"(arn:.*:kms:[a-zA-Z0-9\-]+:\d{12}:(key|alias)/[a-zA-Z_0-9+=,.@\-_/]+)";
constexpr const char* kFileExtensionPattern = R"(^$|\.[0-9a-z!\-_.*'()]+)";
constexpr const char* kTimeZonePattern = R"(^$|[a-zA-Z/_]+)";
constexpr size_t kMaxBatchBytes = 4 << 20;

Status InvalidArgument(std::string message) {
  return Status::InvalidArgument(std::move(message)).WithType("InvalidArgumentException");
}

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

bool OneOf(const std::string& v, std::initializer_list<const char*> values) {
  for (const char* x : values) {
    if (v == x) return true;
  }
  return false;
}

void CheckEnum(Input& in, const char* member, const char* field, std::initializer_list<const char*> values) {
  auto v = in.Str(member, field, false);
  if (v && !OneOf(*v, values)) {
    std::string list;
    for (const char* x : values) list += std::string(list.empty() ? "" : ", ") + x;
    in.Fail("Value '" + *v + "' at '" + field + "' failed to satisfy constraint: Member must satisfy enum value set: [" +
            list + "]");
  }
}

// The model's constraints on an S3 destination (configuration or update).
Status CheckS3(const json& d, const std::string& at, bool creating, bool extended) {
  if (!d.is_object()) return Serialization(at + " must be a structure");
  Input in(d);
  const std::string f = at + ".";
  in.Str("RoleARN", (f + "roleARN").c_str(), creating, 1, 512, kRolePattern);
  in.Str("BucketARN", (f + "bucketARN").c_str(), creating, 1, 2048, kBucketPattern);
  in.Str("Prefix", (f + "prefix").c_str(), false, 0, 1024);
  in.Str("ErrorOutputPrefix", (f + "errorOutputPrefix").c_str(), false, 0, 1024);
  if (const json* hints = in.Member("BufferingHints", json::value_t::object)) {
    Input h(*hints);
    h.Int("SizeInMBs", (f + "bufferingHints.sizeInMBs").c_str(), false, 1, 128);
    h.Int("IntervalInSeconds", (f + "bufferingHints.intervalInSeconds").c_str(), false, 0, 900);
    EL_RETURN_IF_ERROR(h.Check());
  }
  CheckEnum(in, "CompressionFormat", (f + "compressionFormat").c_str(),
            {"UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"});
  if (const json* enc = in.Member("EncryptionConfiguration", json::value_t::object)) {
    Input e(*enc);
    CheckEnum(e, "NoEncryptionConfig", (f + "encryptionConfiguration.noEncryptionConfig").c_str(), {"NoEncryption"});
    if (const json* kms = e.Member("KMSEncryptionConfig", json::value_t::object)) {
      Input k(*kms);
      k.Str("AWSKMSKeyARN", (f + "encryptionConfiguration.kMSEncryptionConfig.aWSKMSKeyARN").c_str(), true, 1, 512,
            kKmsArnPattern);
      EL_RETURN_IF_ERROR(k.Check());
    }
    EL_RETURN_IF_ERROR(e.Check());
  }
  in.Member("CloudWatchLoggingOptions", json::value_t::object);
  if (extended) {
    CheckEnum(in, "S3BackupMode", (f + "s3BackupMode").c_str(), {"Disabled", "Enabled"});
    in.Str("FileExtension", (f + "fileExtension").c_str(), false, 0, 128, kFileExtensionPattern);
    in.Str("CustomTimeZone", (f + "customTimeZone").c_str(), false, 0, 50, kTimeZonePattern);
    in.Member("DataFormatConversionConfiguration", json::value_t::object);
    if (const json* dp = in.Member("DynamicPartitioningConfiguration", json::value_t::object)) {
      Input p(*dp);
      p.Bool("Enabled");
      if (const json* retry = p.Member("RetryOptions", json::value_t::object)) {
        Input r(*retry);
        r.Int("DurationInSeconds", (f + "dynamicPartitioningConfiguration.retryOptions.durationInSeconds").c_str(),
              false, 0, 7200);
        EL_RETURN_IF_ERROR(r.Check());
      }
      EL_RETURN_IF_ERROR(p.Check());
    }
    if (const json* pc = in.Member("ProcessingConfiguration", json::value_t::object)) {
      Input p(*pc);
      p.Bool("Enabled");
      if (const json* list = p.Member("Processors", json::value_t::array)) {
        for (const json& proc : *list) {
          Input pi(proc);
          if (!proc.is_object()) return Serialization("Processors must hold structures");
          pi.Str("Type", (f + "processingConfiguration.processors.member.type").c_str(), true);
          CheckEnum(pi, "Type", (f + "processingConfiguration.processors.member.type").c_str(),
                    {"RecordDeAggregation", "Decompression", "CloudWatchLogProcessing", "Lambda",
                     "MetadataExtraction", "AppendDelimiterToRecord"});
          if (const json* params = pi.Member("Parameters", json::value_t::array)) {
            for (const json& param : *params) {
              if (!param.is_object()) return Serialization("Parameters must hold structures");
              Input pp(param);
              const std::string pf = f + "processingConfiguration.processors.member.parameters.member.";
              pp.Str("ParameterName", (pf + "parameterName").c_str(), true);
              CheckEnum(pp, "ParameterName", (pf + "parameterName").c_str(),
                        {"LambdaArn", "NumberOfRetries", "MetadataExtractionQuery", "JsonParsingEngine", "RoleArn",
                         "BufferSizeInMBs", "BufferIntervalInSeconds", "SubRecordType", "Delimiter",
                         "CompressionFormat", "DataMessageExtraction"});
              pp.Str("ParameterValue", (pf + "parameterValue").c_str(), true, 1, 5120);
              EL_RETURN_IF_ERROR(pp.Check());
            }
          }
          EL_RETURN_IF_ERROR(pi.Check());
        }
      }
      EL_RETURN_IF_ERROR(p.Check());
    }
    const char* backup = creating ? "S3BackupConfiguration" : "S3BackupUpdate";
    if (const json* b = in.Member(backup, json::value_t::object)) {
      EL_RETURN_IF_ERROR(in.Check());
      return CheckS3(*b, f + (creating ? "s3BackupConfiguration" : "s3BackupUpdate"), creating, false);
    }
  }
  return in.Check();
}

// The destinations Firehose has that this server does not deliver to.
constexpr const char* kOtherDestinations[] = {
    "RedshiftDestination",       "ElasticsearchDestination", "AmazonopensearchserviceDestination",
    "SplunkDestination",         "HttpEndpointDestination",  "AmazonOpenSearchServerlessDestination",
    "SnowflakeDestination",      "IcebergDestination"};

Status RefuseOtherDestinations(const json& body, const char* suffix) {
  for (const char* d : kOtherDestinations) {
    if (body.contains(std::string(d) + suffix)) {
      return InvalidArgument(std::string(d) + suffix +
                             " is not supported: this server delivers to S3 destinations in its own lake "
                             "(ExtendedS3DestinationConfiguration).");
    }
  }
  return Status::Ok();
}

Result<std::map<std::string, std::string>> ReadTags(const json* list, Input& in) {
  std::map<std::string, std::string> tags;
  if (!list) return tags;
  if (list->size() > 50 || list->empty()) {
    in.Fail("Value at 'tags' failed to satisfy constraint: Member must have length between 1 and 50");
  }
  for (const json& t : *list) {
    if (!t.is_object()) return Serialization("Tags must hold structures");
    Input ti(t);
    auto key = ti.Str("Key", "tags.member.key", true, 1, 128);
    auto value = ti.Str("Value", "tags.member.value", false, 0, 256);
    EL_RETURN_IF_ERROR(ti.Check());
    if (key->rfind("aws:", 0) == 0) return InvalidArgument("Tag keys must not start with aws:");
    tags[*key] = value.value_or("");
  }
  return tags;
}

// PutRecordBatch's common case, without a JSON DOM: the stream's name and
// the decoded records. nullopt for anything unusual (the general path then
// answers with AWS's exact error).
struct FastBatch {
  std::string name;
  std::vector<std::string> records;
  size_t bytes = 0;
};

std::optional<FastBatch> ParseBatchFast(std::string_view body) {
  thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return std::nullopt;
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return std::nullopt;
  FastBatch out;
  bool have_name = false, have_records = false;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return std::nullopt;
    if (key == "DeliveryStreamName") {
      std::string_view v;
      if (have_name || field.value().get_string().get(v)) return std::nullopt;
      out.name = std::string(v);
      have_name = true;
    } else if (key == "Records") {
      simdjson::ondemand::array arr;
      if (have_records || field.value().get_array().get(arr)) return std::nullopt;
      for (auto element : arr) {
        simdjson::ondemand::object rec;
        if (element.get_object().get(rec)) return std::nullopt;
        bool have_data = false;
        for (auto rf : rec) {
          std::string_view rk, v;
          if (rf.unescaped_key().get(rk)) return std::nullopt;
          if (rk != "Data") continue;
          if (have_data || rf.value().get_string().get(v)) return std::nullopt;
          auto data = auth::Base64Decode(v);
          if (!data || data->size() > DeliveryService::kMaxRecordBytes) return std::nullopt;
          out.bytes += data->size();
          out.records.push_back(std::move(*data));
          have_data = true;
        }
        if (!have_data) return std::nullopt;
        if (out.records.size() > 500) return std::nullopt;
      }
      have_records = true;
    }
  }
  if (!have_name || !have_records || out.records.empty() || out.name.size() > 64 || out.bytes > kMaxBatchBytes) {
    return std::nullopt;
  }
  for (char c : out.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return std::nullopt;
  }
  return out;
}

json Describe(const delivery::DeliveryStreamInfo& i) {
  json d = {{"DeliveryStreamName", i.name},
            {"DeliveryStreamARN", i.arn},
            {"DeliveryStreamStatus", i.status},
            {"DeliveryStreamType", i.type},
            {"VersionId", std::to_string(i.version)},
            {"CreateTimestamp", Seconds(i.created_ms)},
            {"HasMoreDestinations", false}};
  if (i.updated_ms != i.created_ms) d["LastUpdateTimestamp"] = Seconds(i.updated_ms);
  json enc = {{"Status", i.encryption.status}};
  if (!i.encryption.key_type.empty()) enc["KeyType"] = i.encryption.key_type;
  if (!i.encryption.key_arn.empty()) enc["KeyARN"] = i.encryption.key_arn;
  d["DeliveryStreamEncryptionConfiguration"] = enc;
  if (i.type == "KinesisStreamAsSource") {
    d["Source"] = {{"KinesisStreamSourceDescription",
                    {{"KinesisStreamARN", i.kinesis_stream_arn},
                     {"RoleARN", i.source_role_arn},
                     {"DeliveryStartTimestamp", Seconds(i.delivery_start_ms)}}}};
  } else if (i.throughput_hint_mb > 0) {
    d["Source"] = {{"DirectPutSourceDescription", {{"ThroughputHintInMBs", i.throughput_hint_mb}}}};
  }
  if (!i.failure_type.empty()) d["FailureDescription"] = {{"Type", i.failure_type}, {"Details", i.failure_details}};
  d["Destinations"] = json::array({{{"DestinationId", i.destination_id},
                                    {"S3DestinationDescription", delivery::LegacyView(i.destination)},
                                    {"ExtendedS3DestinationDescription", i.destination}}});
  return d;
}

}  // namespace

JsonService FirehoseApi::Service() {
  JsonService svc;
  svc.target_prefix = "Firehose_20150804";
  svc.signing_name = "firehose";
  svc.max_body_bytes = 8 << 20;
  svc.error_names = {{StatusCode::kNotFound, "ResourceNotFoundException"},
                     {StatusCode::kAlreadyExists, "ResourceInUseException"},
                     {StatusCode::kInvalidArgument, "InvalidArgumentException"},
                     {StatusCode::kFailedPrecondition, "ResourceInUseException"},
                     {StatusCode::kResourceExhausted, "LimitExceededException"},
                     {StatusCode::kUnavailable, "ServiceUnavailableException"}};

  // Control-plane operations: decode and authorize on the caller's thread,
  // act on the API's pool (changes commit to the meta store).
  using Body = std::function<Result<json>(Input&, const json&, const std::string& name)>;
  auto op = [this](const char* action, bool named, Body body) -> JsonOperation {
    return WithInput([this, action, named, body](RequestContext& ctx, Input& in, const json& parsed, JsonReply reply) {
      std::string name;
      if (named) name = in.Str("DeliveryStreamName", "deliveryStreamName", true, 1, 64, kNamePattern).value_or("");
      if (Status s = in.Check(); !s.ok()) return reply(s);
      const std::string arn = "arn:aws:firehose:" + ctx.server().region + ":" + ctx.server().account_id +
                              ":deliverystream/" + (named ? name : "*");
      if (Status s = ctx.Authorize(std::string("firehose:") + action, arn); !s.ok()) return reply(s);
      pool_.Post([parsed, name, body, reply = std::move(reply)]() mutable {
        Input members(parsed);
        Result<json> out = json::object();
        try {
          out = body(members, parsed, name);
        } catch (const json::exception& e) {  // a member of an unexpected JSON type deep in a configuration
          out = Serialization(std::string("A member has the wrong type: ") + e.what());
        }
        if (!out.ok()) return reply(out.status());
        reply(Dump(*out));
      });
    });
  };

  svc.operations["CreateDeliveryStream"] = op("CreateDeliveryStream", true, [this](Input& in, const json& body,
                                                                                  const std::string& name)
                                                                                   -> Result<json> {
    delivery::CreateRequest req;
    req.name = name;
    CheckEnum(in, "DeliveryStreamType", "deliveryStreamType",
              {"DirectPut", "KinesisStreamAsSource", "MSKAsSource", "DatabaseAsSource"});
    req.type = in.Str("DeliveryStreamType", "deliveryStreamType", false).value_or("DirectPut");
    const json* kinesis = in.Member("KinesisStreamSourceConfiguration", json::value_t::object);
    const json* direct = in.Member("DirectPutSourceConfiguration", json::value_t::object);
    const json* encryption = in.Member("DeliveryStreamEncryptionConfigurationInput", json::value_t::object);
    const json* extended = in.Member("ExtendedS3DestinationConfiguration", json::value_t::object);
    const json* legacy = in.Member("S3DestinationConfiguration", json::value_t::object);
    auto tags = ReadTags(in.Member("Tags", json::value_t::array), in);
    if (!tags.ok()) return tags.status();
    EL_RETURN_IF_ERROR(in.Check());
    req.tags = std::move(*tags);

    if (req.type == "MSKAsSource" || req.type == "DatabaseAsSource") {
      return InvalidArgument(req.type + " is not supported: use DirectPut or KinesisStreamAsSource.");
    }
    if (req.type == "KinesisStreamAsSource") {
      if (!kinesis) {
        return InvalidArgument("KinesisStreamSourceConfiguration is required for the KinesisStreamAsSource type.");
      }
      Input k(*kinesis);
      req.kinesis_stream_arn = k.Str("KinesisStreamARN", "kinesisStreamSourceConfiguration.kinesisStreamARN", true,
                                     1, 512, kKinesisArnPattern)
                                   .value_or("");
      req.source_role_arn =
          k.Str("RoleARN", "kinesisStreamSourceConfiguration.roleARN", true, 1, 512, kRolePattern).value_or("");
      EL_RETURN_IF_ERROR(k.Check());
      if (encryption) {
        return InvalidArgument(
            "DeliveryStreamEncryptionConfigurationInput is not allowed for KinesisStreamAsSource: the source "
            "stream's own encryption applies.");
      }
    } else if (kinesis) {
      return InvalidArgument("KinesisStreamSourceConfiguration is only for the KinesisStreamAsSource type.");
    }
    if (direct) {
      Input d(*direct);
      req.throughput_hint_mb = static_cast<int>(
          d.Int("ThroughputHintInMBs", "directPutSourceConfiguration.throughputHintInMBs", true, 1, 100).value_or(0));
      EL_RETURN_IF_ERROR(d.Check());
    }
    if (encryption) {
      Input e(*encryption);
      CheckEnum(e, "KeyType", "deliveryStreamEncryptionConfigurationInput.keyType",
                {"AWS_OWNED_CMK", "CUSTOMER_MANAGED_CMK"});
      delivery::EncryptionSettings enc;
      enc.key_type = e.Str("KeyType", "deliveryStreamEncryptionConfigurationInput.keyType", true).value_or("");
      enc.key_arn =
          e.Str("KeyARN", "deliveryStreamEncryptionConfigurationInput.keyARN", false, 1, 512, kKmsArnPattern)
              .value_or("");
      EL_RETURN_IF_ERROR(e.Check());
      if (enc.key_type == "CUSTOMER_MANAGED_CMK" && enc.key_arn.empty()) {
        return InvalidArgument("KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.");
      }
      if (enc.key_type == "AWS_OWNED_CMK" && !enc.key_arn.empty()) {
        return InvalidArgument("KeyARN must not be given when KeyType is AWS_OWNED_CMK.");
      }
      enc.status = "ENABLED";
      req.encryption = enc;
    }
    EL_RETURN_IF_ERROR(RefuseOtherDestinations(body, "Configuration"));
    if (extended && legacy) {
      return InvalidArgument("Give one destination: ExtendedS3DestinationConfiguration or S3DestinationConfiguration.");
    }
    if (!extended && !legacy) {
      return InvalidArgument("A destination is required: ExtendedS3DestinationConfiguration.");
    }
    if (extended) {
      EL_RETURN_IF_ERROR(CheckS3(*extended, "extendedS3DestinationConfiguration", true, true));
      req.destination_config = *extended;
    } else {
      EL_RETURN_IF_ERROR(CheckS3(*legacy, "s3DestinationConfiguration", true, false));
      req.destination_config = *legacy;
      req.legacy = true;
    }
    auto arn = delivery_.Create(std::move(req));
    if (!arn.ok()) return arn.status();
    return json{{"DeliveryStreamARN", *arn}};
  });

  svc.operations["DeleteDeliveryStream"] = op("DeleteDeliveryStream", true,
                                              [this](Input& in, const json&, const std::string& name) -> Result<json> {
                                                in.Bool("AllowForceDelete");
                                                EL_RETURN_IF_ERROR(in.Check());
                                                EL_RETURN_IF_ERROR(delivery_.Delete(name));
                                                return json::object();
                                              });

  svc.operations["DescribeDeliveryStream"] = op(
      "DescribeDeliveryStream", true, [this](Input& in, const json&, const std::string& name) -> Result<json> {
        in.Int("Limit", "limit", false, 1, 10000);
        in.Str("ExclusiveStartDestinationId", "exclusiveStartDestinationId", false, 1, 100, "[a-zA-Z0-9-]+");
        EL_RETURN_IF_ERROR(in.Check());
        auto info = delivery_.Describe(name);
        if (!info.ok()) return info.status();
        json d = Describe(*info);
        if (in.Str("ExclusiveStartDestinationId", "exclusiveStartDestinationId", false).value_or("") ==
            info->destination_id) {
          d["Destinations"] = json::array();
        }
        return json{{"DeliveryStreamDescription", d}};
      });

  svc.operations["ListDeliveryStreams"] =
      op("ListDeliveryStreams", false, [this](Input& in, const json&, const std::string&) -> Result<json> {
        const int64_t limit = in.Int("Limit", "limit", false, 1, 10000).value_or(10);
        CheckEnum(in, "DeliveryStreamType", "deliveryStreamType",
                  {"DirectPut", "KinesisStreamAsSource", "MSKAsSource", "DatabaseAsSource"});
        const std::string type = in.Str("DeliveryStreamType", "deliveryStreamType", false).value_or("");
        const std::string start =
            in.Str("ExclusiveStartDeliveryStreamName", "exclusiveStartDeliveryStreamName", false, 1, 64, kNamePattern)
                .value_or("");
        EL_RETURN_IF_ERROR(in.Check());
        bool more = false;
        auto names = delivery_.List(type, start, static_cast<size_t>(limit), &more);
        return json{{"DeliveryStreamNames", names}, {"HasMoreDeliveryStreams", more}};
      });

  svc.operations["UpdateDestination"] = op(
      "UpdateDestination", true, [this](Input& in, const json& body, const std::string& name) -> Result<json> {
        auto version = in.Str("CurrentDeliveryStreamVersionId", "currentDeliveryStreamVersionId", true, 1, 50, "[0-9]+");
        auto destination = in.Str("DestinationId", "destinationId", true, 1, 100, "[a-zA-Z0-9-]+");
        const json* extended = in.Member("ExtendedS3DestinationUpdate", json::value_t::object);
        const json* legacy = in.Member("S3DestinationUpdate", json::value_t::object);
        EL_RETURN_IF_ERROR(in.Check());
        EL_RETURN_IF_ERROR(RefuseOtherDestinations(body, "Update"));
        if (extended && legacy) return InvalidArgument("Give one destination update.");
        if (!extended && !legacy) {
          return InvalidArgument("A destination update is required: ExtendedS3DestinationUpdate.");
        }
        EL_RETURN_IF_ERROR(extended ? CheckS3(*extended, "extendedS3DestinationUpdate", false, true)
                                    : CheckS3(*legacy, "s3DestinationUpdate", false, false));
        int current = 0;
        try {
          current = std::stoi(*version);
        } catch (const std::exception&) {
          return InvalidArgument("CurrentDeliveryStreamVersionId is out of range.");
        }
        EL_RETURN_IF_ERROR(
            delivery_.UpdateDestination(name, current, *destination, extended ? *extended : *legacy, !extended));
        return json::object();
      });

  svc.operations["TagDeliveryStream"] =
      op("TagDeliveryStream", true, [this](Input& in, const json&, const std::string& name) -> Result<json> {
        const json* list = in.Member("Tags", json::value_t::array);
        if (!list) in.Fail("Value null at 'tags' failed to satisfy constraint: Member must not be null");
        auto tags = ReadTags(list, in);
        if (!tags.ok()) return tags.status();
        EL_RETURN_IF_ERROR(in.Check());
        EL_RETURN_IF_ERROR(delivery_.AddTags(name, *tags));
        return json::object();
      });

  svc.operations["UntagDeliveryStream"] =
      op("UntagDeliveryStream", true, [this](Input& in, const json&, const std::string& name) -> Result<json> {
        const json* list = in.Member("TagKeys", json::value_t::array);
        std::vector<std::string> keys;
        if (!list) {
          in.Fail("Value null at 'tagKeys' failed to satisfy constraint: Member must not be null");
        } else if (list->empty() || list->size() > 50) {
          in.Fail("Value at 'tagKeys' failed to satisfy constraint: Member must have length between 1 and 50");
        } else {
          for (const json& k : *list) {
            if (!k.is_string()) return Serialization("TagKeys must be strings");
            keys.push_back(k.get<std::string>());
          }
        }
        EL_RETURN_IF_ERROR(in.Check());
        EL_RETURN_IF_ERROR(delivery_.RemoveTags(name, keys));
        return json::object();
      });

  svc.operations["ListTagsForDeliveryStream"] = op(
      "ListTagsForDeliveryStream", true, [this](Input& in, const json&, const std::string& name) -> Result<json> {
        const std::string start = in.Str("ExclusiveStartTagKey", "exclusiveStartTagKey", false, 1, 128).value_or("");
        const int64_t limit = in.Int("Limit", "limit", false, 1, 50).value_or(50);
        EL_RETURN_IF_ERROR(in.Check());
        auto info = delivery_.Describe(name);
        if (!info.ok()) return info.status();
        json tags = json::array();
        bool more = false;
        for (auto it = start.empty() ? info->tags.begin() : info->tags.upper_bound(start); it != info->tags.end();
             ++it) {
          if (static_cast<int64_t>(tags.size()) == limit) {
            more = true;
            break;
          }
          tags.push_back({{"Key", it->first}, {"Value", it->second}});
        }
        return json{{"Tags", tags}, {"HasMoreTags", more}};
      });

  svc.operations["StartDeliveryStreamEncryption"] = op(
      "StartDeliveryStreamEncryption", true, [this](Input& in, const json&, const std::string& name) -> Result<json> {
        delivery::EncryptionSettings enc;
        enc.key_type = "AWS_OWNED_CMK";
        if (const json* e = in.Member("DeliveryStreamEncryptionConfigurationInput", json::value_t::object)) {
          Input ei(*e);
          CheckEnum(ei, "KeyType", "deliveryStreamEncryptionConfigurationInput.keyType",
                    {"AWS_OWNED_CMK", "CUSTOMER_MANAGED_CMK"});
          enc.key_type = ei.Str("KeyType", "deliveryStreamEncryptionConfigurationInput.keyType", true).value_or("");
          enc.key_arn =
              ei.Str("KeyARN", "deliveryStreamEncryptionConfigurationInput.keyARN", false, 1, 512, kKmsArnPattern)
                  .value_or("");
          EL_RETURN_IF_ERROR(ei.Check());
          if (enc.key_type == "CUSTOMER_MANAGED_CMK" && enc.key_arn.empty()) {
            return InvalidArgument("KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.");
          }
        }
        EL_RETURN_IF_ERROR(in.Check());
        EL_RETURN_IF_ERROR(delivery_.SetEncryption(name, enc));
        return json::object();
      });

  svc.operations["StopDeliveryStreamEncryption"] = op(
      "StopDeliveryStreamEncryption", true, [this](Input& in, const json&, const std::string& name) -> Result<json> {
        EL_RETURN_IF_ERROR(in.Check());
        EL_RETURN_IF_ERROR(delivery_.SetEncryption(name, std::nullopt));
        return json::object();
      });

  // Puts: decoded here, appended to the stream's log, answered once durable.
  auto put = [this](const char* action, bool batch) -> JsonOperation {
    return WithInput([this, action, batch](RequestContext& ctx, Input& in, const json& body, JsonReply reply) {
      const std::string name =
          in.Str("DeliveryStreamName", "deliveryStreamName", true, 1, 64, kNamePattern).value_or("");
      std::vector<std::string> records;
      size_t total = 0;
      auto read_record = [&](const json& r, const std::string& field) {
        if (!r.is_object()) {
          in.Fail("Value at '" + field + "' must be a structure");
          return;
        }
        auto it = r.find("Data");
        if (it == r.end() || it->is_null()) {
          in.Fail("Value null at '" + field + ".data' failed to satisfy constraint: Member must not be null");
          return;
        }
        if (!it->is_string()) {
          in.Fail("Value at '" + field + ".data' must be a base64 string");
          return;
        }
        auto data = auth::Base64Decode(it->get_ref<const std::string&>());
        if (!data) {
          in.Fail("Value at '" + field + ".data' is not valid base64");
          return;
        }
        if (data->size() > DeliveryService::kMaxRecordBytes) {
          in.Fail("Value at '" + field +
                  ".data' failed to satisfy constraint: Member must have length less than or equal to 1024000");
          return;
        }
        total += data->size();
        records.push_back(std::move(*data));
      };
      if (batch) {
        const json* list = in.Member("Records", json::value_t::array);
        if (!list) {
          in.Fail("Value null at 'records' failed to satisfy constraint: Member must not be null");
        } else if (list->empty() || list->size() > 500) {
          in.Fail("Value at 'records' failed to satisfy constraint: Member must have length " +
                  std::string(list->empty() ? "greater than or equal to 1" : "less than or equal to 500"));
        } else {
          records.reserve(list->size());
          for (size_t i = 0; i < list->size(); ++i) read_record((*list)[i], "records." + std::to_string(i + 1) + ".member");
        }
      } else {
        const json* record = in.Member("Record", json::value_t::object);
        if (!record) {
          in.Fail("Value null at 'record' failed to satisfy constraint: Member must not be null");
        } else {
          read_record(*record, "record");
        }
      }
      if (Status s = in.Check(); !s.ok()) return reply(s);
      if (total > kMaxBatchBytes) {
        return reply(InvalidArgument("Records size exceeds 4 MB limit"));
      }
      const std::string arn = "arn:aws:firehose:" + ctx.server().region + ":" + ctx.server().account_id +
                              ":deliverystream/" + name;
      if (Status s = ctx.Authorize(std::string("firehose:") + action, arn); !s.ok()) return reply(s);
      const size_t count = records.size();
      delivery_.Put(name, std::move(records), [batch, count, reply = std::move(reply)](Result<delivery::PutResult> r) {
        // A failed write fails each record of a batch (clients retry those); anything else fails the call.
        if (!r.ok() && (!batch || r.status().code() != StatusCode::kIoError)) return reply(r.status());
        if (!batch) {
          reply(Dump({{"RecordId", DeliveryService::RecordId(r->stream_id, r->first_position)},
                      {"Encrypted", r->encrypted}}));
          return;
        }
        json responses = json::array();
        if (r.ok()) {
          for (size_t i = 0; i < count; ++i) {
            responses.push_back({{"RecordId", DeliveryService::RecordId(r->stream_id, r->first_position + i)}});
          }
        } else {
          for (size_t i = 0; i < count; ++i) {
            responses.push_back({{"ErrorCode", "InternalFailure"}, {"ErrorMessage", r.status().message()}});
          }
        }
        reply(Dump({{"FailedPutCount", r.ok() ? 0 : count},
                    {"Encrypted", r.ok() && r->encrypted},
                    {"RequestResponses", responses}}));
      });
    });
  };
  svc.operations["PutRecord"] = put("PutRecord", false);
  // The common case of PutRecordBatch without a JSON DOM, its answer written directly.
  svc.operations["PutRecordBatch"] = [this, general = put("PutRecordBatch", true)](RequestContext& ctx,
                                                                                  std::string_view body,
                                                                                  JsonReply reply) {
    auto fast = ParseBatchFast(body);
    if (!fast) return general(ctx, body, std::move(reply));
    const std::string arn = "arn:aws:firehose:" + ctx.server().region + ":" + ctx.server().account_id +
                            ":deliverystream/" + fast->name;
    if (Status s = ctx.Authorize("firehose:PutRecordBatch", arn); !s.ok()) return reply(s);
    const size_t count = fast->records.size();
    delivery_.Put(fast->name, std::move(fast->records), [count, reply = std::move(reply)](
                                                            Result<delivery::PutResult> r) mutable {
      if (!r.ok()) {
        if (r.status().code() != StatusCode::kIoError) return reply(r.status());
        json responses = json::array();
        for (size_t i = 0; i < count; ++i) {
          responses.push_back({{"ErrorCode", "InternalFailure"}, {"ErrorMessage", r.status().message()}});
        }
        return reply(Dump({{"FailedPutCount", count}, {"Encrypted", false}, {"RequestResponses", responses}}));
      }
      std::string out = "{\"FailedPutCount\":0,\"Encrypted\":";
      out += r->encrypted ? "true" : "false";
      out += ",\"RequestResponses\":[";
      out.reserve(out.size() + count * 48);
      for (size_t i = 0; i < count; ++i) {
        out += i ? ",{\"RecordId\":\"" : "{\"RecordId\":\"";
        out += DeliveryService::RecordId(r->stream_id, r->first_position + i);
        out += "\"}";
      }
      out += "]}";
      reply(std::move(out));
    });
  };
  return svc;
}

}  // namespace eventlake::api
