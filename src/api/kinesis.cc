#include "api/kinesis.h"

#include <nlohmann/json.hpp>

#include <simdjson.h>
#include <cmath>
#include <map>
#include <regex>

#include "api/json_input.h"
#include "auth/crypto.h"
#include "common/strings.h"

namespace eventlake::api {
namespace {

using nlohmann::json;
using streams::HashKey;

constexpr int64_t kIteratorTtlMs = 300'000;
constexpr size_t kMaxGetRecordsBytes = 10 << 20;
constexpr size_t kMaxPutRecordsBytes = 5 << 20;

constexpr const char* kStreamNamePattern = "[a-zA-Z0-9_.-]+";
constexpr const char* kStreamArnPattern = "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+";
constexpr const char* kShardIdPattern = "[a-zA-Z0-9_.-]+";
constexpr const char* kHashKeyPattern = "0|([1-9]\\d{0,38})";
constexpr const char* kSequencePattern = "0|([1-9]\\d{0,128})";

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

json HashRange(const streams::ShardInfo& s) {
  return {{"StartingHashKey", streams::HashKeyToString(s.start)}, {"EndingHashKey", streams::HashKeyToString(s.end)}};
}

json ShardJson(const streams::StreamStore& store, const streams::StreamInfo& st, const streams::ShardInfo& s) {
  json j = {{"ShardId", s.id}, {"HashKeyRange", HashRange(s)}};
  if (!s.parent.empty()) j["ParentShardId"] = s.parent;
  if (!s.adjacent_parent.empty()) j["AdjacentParentShardId"] = s.adjacent_parent;
  json range = {{"StartingSequenceNumber", store.SequenceNumberOf(st, s.index, s.first_position)}};
  if (s.end_position) {
    range["EndingSequenceNumber"] = store.SequenceNumberOf(st, s.index, *s.end_position == 0 ? 0 : *s.end_position - 1);
  }
  j["SequenceNumberRange"] = range;
  return j;
}

json ModeJson(streams::StreamMode m) { return {{"StreamMode", streams::StreamModeName(m)}}; }

// PutRecords as the fast path reads it: simdjson over the body, no DOM.
struct FastRecord {
  std::string_view data;  // base64, as sent
  std::string partition_key;
  std::string_view explicit_hash_key;
};
struct FastPutRecords {
  std::string stream_name, stream_arn, stream_id;
  std::vector<FastRecord> records;
};

bool IsStreamName(std::string_view v) {
  if (v.empty() || v.size() > 128) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

// nullopt for anything unusual: the general path then answers it with the
// exact error AWS gives.
std::optional<FastPutRecords> ParsePutRecordsFast(std::string_view body) {
  thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  FastPutRecords out;
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return std::nullopt;
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return std::nullopt;
  bool have_records = false;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return std::nullopt;
    if (key == "Records") {
      if (have_records) return std::nullopt;  // a repeated member: the general path decides
      simdjson::ondemand::array arr;
      if (field.value().get_array().get(arr)) return std::nullopt;
      for (auto element : arr) {
        simdjson::ondemand::object rec;
        if (element.get_object().get(rec)) return std::nullopt;
        FastRecord r;
        bool have_data = false, have_pk = false;
        for (auto rf : rec) {
          std::string_view rk, v;
          if (rf.unescaped_key().get(rk)) return std::nullopt;
          if (rk == "Data" || rk == "PartitionKey" || rk == "ExplicitHashKey") {
            if (rf.value().get_string().get(v)) return std::nullopt;
            if (rk == "Data") {
              // The view lives in the parser's buffer until the next parse on this thread.
              r.data = v;
              have_data = true;
            } else if (rk == "PartitionKey") {
              r.partition_key = std::string(v);
              have_pk = true;
            } else {
              r.explicit_hash_key = v;
            }
          }
        }
        if (!have_data || !have_pk || r.partition_key.empty() || r.partition_key.size() > 256) return std::nullopt;
        out.records.push_back(std::move(r));
      }
      have_records = true;
    } else if (key == "StreamName" || key == "StreamARN" || key == "StreamId") {
      std::string_view v;
      if (field.value().get_string().get(v)) return std::nullopt;
      (key == "StreamName" ? out.stream_name : key == "StreamARN" ? out.stream_arn : out.stream_id) = std::string(v);
    }
  }
  if (!have_records || out.records.empty() || out.records.size() > 500) return std::nullopt;
  if (!out.stream_name.empty() && !IsStreamName(out.stream_name)) return std::nullopt;
  if (out.stream_name.empty() && out.stream_arn.empty() && out.stream_id.empty()) return std::nullopt;
  return out;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

JsonService KinesisApi::Service() {
  JsonService svc;
  svc.target_prefix = "Kinesis_20131202";
  svc.signing_name = "kinesis";
  svc.max_body_bytes = 16 << 20;
  svc.error_names = {{StatusCode::kInvalidArgument, "InvalidArgumentException"},
                     {StatusCode::kFailedPrecondition, "ResourceInUseException"},
                     {StatusCode::kResourceExhausted, "LimitExceededException"}};
  svc.cbor = CborShape{
      {"Data"}, {"Timestamp", "StreamCreationTimestamp", "ApproximateArrivalTimestamp", "ConsumerCreationTimestamp"}};
  const std::string account = store_.options().account_id;

  // An operation over one stream: decode, resolve and authorize, then `run`.
  using StreamOp = std::function<void(RequestContext&, Input&, const json&, const std::string& name, JsonReply)>;
  auto stream_op = [this](const char* action, StreamOp run) -> JsonOperation {
    return WithInput([this, action, run](RequestContext& ctx, Input& in, const json& parsed_body, JsonReply reply) {
      auto name = in.Str("StreamName", "streamName", false, 1, 128, kStreamNamePattern);
      auto arn = in.Str("StreamARN", "streamARN", false, 1, 2048, kStreamArnPattern);
      auto id = in.Str("StreamId", "streamId", false, 20, 24);
      if (Status s = in.Check(); !s.ok()) return reply(s);
      auto resolved = store_.Resolve(name.value_or(""), arn.value_or(""), id.value_or(""));
      if (!resolved.ok()) return reply(resolved.status());
      const std::string stream_arn =
          "arn:aws:kinesis:" + ctx.server().region + ":" + ctx.server().account_id + ":stream/" + *resolved;
      if (Status s = ctx.Authorize(std::string("kinesis:") + action, stream_arn); !s.ok()) return reply(s);
      run(ctx, in, parsed_body, *resolved, std::move(reply));
    });
  };
  auto ok = [](JsonReply& reply) { reply(std::string("{}")); };

  svc.operations["CreateStream"] =
      WithInput([this, ok](RequestContext& ctx, Input& in, const json& parsed_body, JsonReply reply) {
        auto name = in.Str("StreamName", "streamName", true, 1, 128, kStreamNamePattern);
        auto shards = in.Int("ShardCount", "shardCount", false, 1, 100000);
        auto kib = in.Int("MaxRecordSizeInKiB", "maxRecordSizeInKiB", false, 1024, 10240);
        streams::StreamMode mode = streams::StreamMode::kProvisioned;
        if (const json* d = in.Member("StreamModeDetails", json::value_t::object)) {
          Input details(*d);
          auto m = details.Str("StreamMode", "streamModeDetails.streamMode", true, 0, 64, "PROVISIONED|ON_DEMAND");
          if (Status s = details.Check(); !s.ok()) return reply(s);
          if (m == "ON_DEMAND") mode = streams::StreamMode::kOnDemand;
        }
        std::map<std::string, std::string> tags;
        if (const json* t = in.Member("Tags", json::value_t::object)) {
          for (auto it = t->begin(); it != t->end(); ++it) {
            if (!it.value().is_string()) return reply(Serialization("Tag values must be strings"));
            tags[it.key()] = it.value().get<std::string>();
          }
        }
        if (Status s = in.Check(); !s.ok()) return reply(s);
        if (mode == streams::StreamMode::kProvisioned && !shards) {
          return reply(Status::InvalidArgument("ShardCount is required for a PROVISIONED stream."));
        }
        if (Status s = ctx.Authorize("kinesis:CreateStream", "arn:aws:kinesis:" + ctx.server().region + ":" +
                                                                 ctx.server().account_id + ":stream/" + *name);
            !s.ok()) {
          return reply(s);
        }
        Status s = store_.CreateStream(*name, static_cast<int>(shards.value_or(4)), mode, tags,
                                       static_cast<int>(kib.value_or(1024)));
        if (!s.ok()) return reply(s.code() == StatusCode::kAlreadyExists ? s.WithType("ResourceInUseException") : s);
        ok(reply);
      });

  svc.operations["DeleteStream"] = stream_op(
      "DeleteStream", [this, ok](RequestContext&, Input& in, const json&, const std::string& name, JsonReply reply) {
        bool enforce = in.Bool("EnforceConsumerDeletion").value_or(false);
        if (Status s = in.Check(); !s.ok()) return reply(s);
        // AWS deletes consumers along with the stream unless told to refuse.
        if (Status s = store_.DeleteStream(name, !enforce ? false : true); !s.ok()) return reply(s);
        ok(reply);
      });

  auto describe_summary = [this](const streams::StreamInfo& st) {
    int open = 0;
    for (const auto& s : st.shards) open += s.open();
    json j = {{"StreamName", st.name},
              {"StreamARN", st.arn},
              {"StreamId", st.id},
              {"StreamStatus", streams::StreamStatusName(st.status)},
              {"StreamModeDetails", ModeJson(st.mode)},
              {"RetentionPeriodHours", st.retention_hours},
              {"StreamCreationTimestamp", Seconds(st.created_ms)},
              {"EnhancedMonitoring", json::array({{{"ShardLevelMetrics", st.shard_level_metrics}}})},
              {"EncryptionType", st.encryption_type},
              {"OpenShardCount", open},
              {"ConsumerCount", st.consumers.size()},
              {"MaxRecordSizeInKiB", st.max_record_kib}};
    if (!st.key_id.empty()) j["KeyId"] = st.key_id;
    return j;
  };

  svc.operations["DescribeStreamSummary"] = stream_op(
      "DescribeStreamSummary",
      [this, describe_summary](RequestContext&, Input&, const json&, const std::string& name, JsonReply reply) {
        auto st = store_.Describe(name);
        if (!st.ok()) return reply(st.status());
        reply(Dump({{"StreamDescriptionSummary", describe_summary(*st)}}));
      });

  svc.operations["DescribeStream"] = stream_op(
      "DescribeStream", [this](RequestContext&, Input& in, const json&, const std::string& name, JsonReply reply) {
        auto limit = in.Int("Limit", "limit", false, 1, 10000);
        auto start = in.Str("ExclusiveStartShardId", "exclusiveStartShardId", false, 1, 128, kShardIdPattern);
        if (Status s = in.Check(); !s.ok()) return reply(s);
        auto st = store_.Describe(name);
        if (!st.ok()) return reply(st.status());
        auto start_index = start ? streams::ParseShardId(*start) : std::nullopt;
        json shards = json::array();
        bool more = false;
        for (const auto& sh : st->shards) {
          if (start_index && sh.index <= *start_index) continue;
          if (static_cast<int64_t>(shards.size()) >= limit.value_or(100)) {
            more = true;
            break;
          }
          shards.push_back(ShardJson(store_, *st, sh));
        }
        json d = {{"StreamName", st->name},
                  {"StreamARN", st->arn},
                  {"StreamStatus", streams::StreamStatusName(st->status)},
                  {"StreamModeDetails", ModeJson(st->mode)},
                  {"Shards", shards},
                  {"HasMoreShards", more},
                  {"RetentionPeriodHours", st->retention_hours},
                  {"StreamCreationTimestamp", Seconds(st->created_ms)},
                  {"EnhancedMonitoring", json::array({{{"ShardLevelMetrics", st->shard_level_metrics}}})},
                  {"EncryptionType", st->encryption_type}};
        if (!st->key_id.empty()) d["KeyId"] = st->key_id;
        reply(Dump({{"StreamDescription", d}}));
      });

  svc.operations["ListStreams"] =
      WithInput([this](RequestContext& ctx, Input& in, const json& parsed_body, JsonReply reply) {
        auto limit = in.Int("Limit", "limit", false, 1, 10000);
        auto start = in.Str("ExclusiveStartStreamName", "exclusiveStartStreamName", false, 1, 128, kStreamNamePattern);
        auto token = in.Str("NextToken", "nextToken", false, 1, 1048576);
        if (Status s = in.Check(); !s.ok()) return reply(s);
        if (Status s = ctx.Authorize("kinesis:ListStreams", "*"); !s.ok()) return reply(s);
        std::string after = start.value_or("");
        if (token) {
          auto decoded = auth::Base64Decode(*token);
          if (!decoded || !StartsWith(*decoded, "streams:"))
            return reply(Status::InvalidArgument("Invalid NextToken."));
          after = decoded->substr(8);
        }
        json names = json::array(), summaries = json::array();
        bool more = false;
        for (const auto& st : store_.ListSummaries()) {
          if (!after.empty() && st.name <= after) continue;
          if (static_cast<int64_t>(names.size()) >= limit.value_or(100)) {
            more = true;
            break;
          }
          names.push_back(st.name);
          summaries.push_back({{"StreamName", st.name},
                               {"StreamARN", st.arn},
                               {"StreamStatus", streams::StreamStatusName(st.status)},
                               {"StreamModeDetails", ModeJson(st.mode)},
                               {"StreamCreationTimestamp", Seconds(st.created_ms)}});
        }
        json out = {{"StreamNames", names}, {"HasMoreStreams", more}, {"StreamSummaries", summaries}};
        if (more) out["NextToken"] = auth::Base64Encode("streams:" + names.back().get<std::string>());
        reply(Dump(out));
      });

  svc.operations["ListShards"] =
      WithInput([this](RequestContext& ctx, Input& in, const json& parsed_body, JsonReply reply) {
        auto name = in.Str("StreamName", "streamName", false, 1, 128, kStreamNamePattern);
        auto arn = in.Str("StreamARN", "streamARN", false, 1, 2048, kStreamArnPattern);
        auto id = in.Str("StreamId", "streamId", false, 20, 24);
        auto token = in.Str("NextToken", "nextToken", false, 1, 1048576);
        auto start = in.Str("ExclusiveStartShardId", "exclusiveStartShardId", false, 1, 128, kShardIdPattern);
        auto max = in.Int("MaxResults", "maxResults", false, 1, 10000);
        in.TimestampMs("StreamCreationTimestamp");
        std::string filter_type;
        std::optional<std::string> filter_shard;
        std::optional<int64_t> filter_ts;
        if (const json* f = in.Member("ShardFilter", json::value_t::object)) {
          Input fin(*f);
          filter_type =
              fin.Str("Type", "shardFilter.type", true, 1, 64,
                      "AFTER_SHARD_ID|AT_TRIM_HORIZON|FROM_TRIM_HORIZON|AT_LATEST|AT_TIMESTAMP|FROM_TIMESTAMP")
                  .value_or("");
          filter_shard = fin.Str("ShardId", "shardFilter.shardId", false, 1, 128, kShardIdPattern);
          filter_ts = fin.TimestampMs("Timestamp");
          if (Status s = fin.Check(); !s.ok()) return reply(s);
        }
        if (Status s = in.Check(); !s.ok()) return reply(s);
        std::string stream;
        uint32_t after_index = 0;
        bool has_after = false;
        if (token) {
          if (name || arn || start) {
            return reply(
                Status::InvalidArgument("NextToken and StreamName (or StreamARN, ExclusiveStartShardId) cannot "
                                        "be provided together."));
          }
          auto decoded = auth::Base64Decode(*token);
          size_t bar = decoded ? decoded->rfind('|') : std::string::npos;
          if (!decoded || !StartsWith(*decoded, "shards:") || bar == std::string::npos) {
            return reply(Status::InvalidArgument("Invalid NextToken."));
          }
          stream = decoded->substr(7, bar - 7);
          auto index = streams::ParseShardId(std::string_view(*decoded).substr(bar + 1));
          if (!index) return reply(Status::InvalidArgument("Invalid NextToken."));
          after_index = *index;
          has_after = true;
        } else {
          auto resolved = store_.Resolve(name.value_or(""), arn.value_or(""), id.value_or(""));
          if (!resolved.ok()) return reply(resolved.status());
          stream = *resolved;
          if (start) {
            auto idx = streams::ParseShardId(*start);
            if (idx) {
              after_index = *idx;
              has_after = true;
            }
          }
        }
        if (Status s = ctx.Authorize("kinesis:ListShards", "arn:aws:kinesis:" + ctx.server().region + ":" +
                                                               ctx.server().account_id + ":stream/" + stream);
            !s.ok()) {
          return reply(s);
        }
        auto st = store_.Describe(stream);
        if (!st.ok()) return reply(st.status());
        if (filter_type == "AFTER_SHARD_ID" && filter_shard) {
          if (auto idx = streams::ParseShardId(*filter_shard)) {
            after_index = has_after ? std::max(after_index, *idx) : *idx;
            has_after = true;
          }
        }
        json shards = json::array();
        bool more = false;
        const int64_t limit = max.value_or(1000);
        for (const auto& sh : st->shards) {
          if (has_after && sh.index <= after_index) continue;
          bool keep = true;
          if (filter_type == "AT_LATEST") keep = sh.open();
          if (filter_type == "AT_TRIM_HORIZON") {
            keep = sh.parent.empty() || std::none_of(st->shards.begin(), st->shards.end(), [&](const auto& p) {
                     return p.id == sh.parent || p.id == sh.adjacent_parent;
                   });
          }
          if ((filter_type == "AT_TIMESTAMP" || filter_type == "FROM_TIMESTAMP") && filter_ts) {
            bool open_at = sh.created_ms <= *filter_ts && (sh.open() || sh.closed_ms > *filter_ts);
            keep = filter_type == "AT_TIMESTAMP" ? open_at : (open_at || sh.created_ms > *filter_ts);
          }
          if (!keep) continue;
          if (static_cast<int64_t>(shards.size()) >= limit) {
            more = true;
            break;
          }
          shards.push_back(ShardJson(store_, *st, sh));
        }
        json out = {{"Shards", shards}};
        if (more) {
          out["NextToken"] =
              auth::Base64Encode("shards:" + stream + "|" +
                                 std::to_string(*streams::ParseShardId(shards.back()["ShardId"].get<std::string>())));
        }
        reply(Dump(out));
      });

  auto retention = [this, ok](bool increase) {
    return [this, ok, increase](RequestContext&, Input& in, const json&, const std::string& name, JsonReply reply) {
      auto hours = in.Int("RetentionPeriodHours", "retentionPeriodHours", true, 1, 8760);
      if (Status s = in.Check(); !s.ok()) return reply(s);
      if (Status s = store_.SetRetention(name, static_cast<int>(*hours), increase); !s.ok()) return reply(s);
      ok(reply);
    };
  };
  svc.operations["IncreaseStreamRetentionPeriod"] = stream_op("IncreaseStreamRetentionPeriod", retention(true));
  svc.operations["DecreaseStreamRetentionPeriod"] = stream_op("DecreaseStreamRetentionPeriod", retention(false));

  // Tags, first generation (on streams) and second (on any resource ARN).
  auto read_tags = [](Input& in, const char* member, std::map<std::string, std::string>* out) {
    if (const json* t = in.Member(member, json::value_t::object)) {
      for (auto it = t->begin(); it != t->end(); ++it) {
        if (!it.value().is_string()) {
          in.Fail("Tag values must be strings");
          continue;
        }
        if (it.key().empty() || it.key().size() > 128) in.Fail("Tag keys must have 1 to 128 characters");
        if (it.value().get<std::string>().size() > 256) in.Fail("Tag values must have at most 256 characters");
        (*out)[it.key()] = it.value().get<std::string>();
      }
    }
  };
  auto read_keys = [](Input& in, const char* member, std::vector<std::string>* out) {
    if (const json* k = in.Member(member, json::value_t::array)) {
      for (const auto& v : *k) {
        if (v.is_string()) out->push_back(v.get<std::string>());
      }
    }
  };
  // Both generations of the tagging actions add and remove the same way.
  const StreamOp add_tags = [this, ok, read_tags](RequestContext&, Input& in, const json&, const std::string& name,
                                                  JsonReply reply) {
    std::map<std::string, std::string> tags;
    read_tags(in, "Tags", &tags);
    if (Status s = in.Check(); !s.ok()) return reply(s);
    if (Status s = store_.AddTags(name, tags); !s.ok()) return reply(s);
    ok(reply);
  };
  const StreamOp remove_tags = [this, ok, read_keys](RequestContext&, Input& in, const json&, const std::string& name,
                                                     JsonReply reply) {
    std::vector<std::string> keys;
    read_keys(in, "TagKeys", &keys);
    if (Status s = in.Check(); !s.ok()) return reply(s);
    if (Status s = store_.RemoveTags(name, keys); !s.ok()) return reply(s);
    ok(reply);
  };
  svc.operations["AddTagsToStream"] = stream_op("AddTagsToStream", add_tags);
  svc.operations["RemoveTagsFromStream"] = stream_op("RemoveTagsFromStream", remove_tags);
  svc.operations["ListTagsForStream"] = stream_op(
      "ListTagsForStream", [this](RequestContext&, Input& in, const json&, const std::string& name, JsonReply reply) {
        auto start = in.Str("ExclusiveStartTagKey", "exclusiveStartTagKey", false, 1, 128);
        auto limit = in.Int("Limit", "limit", false, 1, 50);
        if (Status s = in.Check(); !s.ok()) return reply(s);
        auto st = store_.Describe(name);
        if (!st.ok()) return reply(st.status());
        json tags = json::array();
        bool more = false;
        for (const auto& [k, v] : st->tags) {
          if (start && k <= *start) continue;
          if (static_cast<int64_t>(tags.size()) >= limit.value_or(50)) {
            more = true;
            break;
          }
          tags.push_back({{"Key", k}, {"Value", v}});
        }
        reply(Dump({{"Tags", tags}, {"HasMoreTags", more}}));
      });
  // The newer tagging actions name the resource by ARN in ResourceARN.
  auto resource_op = [this](const char* action, StreamOp run) -> JsonOperation {
    return WithInput([this, action, run](RequestContext& ctx, Input& in, const json& parsed_body, JsonReply reply) {
      auto arn = in.Str("ResourceARN", "resourceARN", true, 1, 2048, kStreamArnPattern);
      if (Status s = in.Check(); !s.ok()) return reply(s);
      auto resolved = store_.Resolve("", *arn, "");
      if (!resolved.ok()) return reply(resolved.status());
      if (Status s = ctx.Authorize(std::string("kinesis:") + action, *arn); !s.ok()) return reply(s);
      run(ctx, in, parsed_body, *resolved, std::move(reply));
    });
  };
  svc.operations["TagResource"] = resource_op("TagResource", add_tags);
  svc.operations["UntagResource"] = resource_op("UntagResource", remove_tags);
  svc.operations["ListTagsForResource"] = resource_op(
      "ListTagsForResource", [this](RequestContext&, Input&, const json&, const std::string& name, JsonReply reply) {
        auto st = store_.Describe(name);
        if (!st.ok()) return reply(st.status());
        json tags = json::array();
        for (const auto& [k, v] : st->tags) tags.push_back({{"Key", k}, {"Value", v}});
        reply(Dump({{"Tags", tags}}));
      });

  svc.operations["StartStreamEncryption"] =
      stream_op("StartStreamEncryption",
                [this, ok](RequestContext&, Input& in, const json&, const std::string& name, JsonReply reply) {
                  auto type = in.Str("EncryptionType", "encryptionType", true, 1, 16, "NONE|KMS");
                  auto key = in.Str("KeyId", "keyId", true, 1, 2048);
                  if (Status s = in.Check(); !s.ok()) return reply(s);
                  if (*type != "KMS")
                    return reply(Status::InvalidArgument("EncryptionType must be KMS to start encryption."));
                  if (Status s = store_.SetEncryption(name, "KMS", *key); !s.ok()) return reply(s);
                  ok(reply);
                });
  svc.operations["StopStreamEncryption"] =
      stream_op("StopStreamEncryption",
                [this, ok](RequestContext&, Input& in, const json&, const std::string& name, JsonReply reply) {
                  auto type = in.Str("EncryptionType", "encryptionType", true, 1, 16, "NONE|KMS");
                  in.Str("KeyId", "keyId", true, 1, 2048);
                  if (Status s = in.Check(); !s.ok()) return reply(s);
                  (void)type;
                  if (Status s = store_.SetEncryption(name, "NONE", ""); !s.ok()) return reply(s);
                  ok(reply);
                });

  svc.operations["DescribeLimits"] = [this](RequestContext& ctx, std::string_view, JsonReply reply) {
    if (Status s = ctx.Authorize("kinesis:DescribeLimits", "*"); !s.ok()) return reply(s);
    int open = 0, on_demand = 0;
    for (const auto& st : store_.ListSummaries()) {
      open += static_cast<int>(st.shards.size());
      on_demand += st.mode == streams::StreamMode::kOnDemand;
    }
    reply(Dump({{"ShardLimit", 500},
                {"OpenShardCount", open},
                {"OnDemandStreamCount", on_demand},
                {"OnDemandStreamCountLimit", 50}}));
  };

  svc.operations["UpdateStreamMode"] =
      WithInput([this, ok](RequestContext& ctx, Input& in, const json& parsed_body, JsonReply reply) {
        auto arn = in.Str("StreamARN", "streamARN", true, 1, 2048, kStreamArnPattern);
        std::optional<std::string> mode;
        if (const json* d = in.Member("StreamModeDetails", json::value_t::object)) {
          Input din(*d);
          mode = din.Str("StreamMode", "streamModeDetails.streamMode", true, 1, 64, "PROVISIONED|ON_DEMAND");
          if (Status s = din.Check(); !s.ok()) return reply(s);
        } else {
          in.Fail("Value null at 'streamModeDetails' failed to satisfy constraint: Member must not be null");
        }
        if (Status s = in.Check(); !s.ok()) return reply(s);
        auto name = store_.Resolve("", *arn, "");
        if (!name.ok()) return reply(name.status());
        if (Status s = ctx.Authorize("kinesis:UpdateStreamMode", *arn); !s.ok()) return reply(s);
        Status s = store_.SetMode(
            *name, *mode == "ON_DEMAND" ? streams::StreamMode::kOnDemand : streams::StreamMode::kProvisioned);
        if (!s.ok()) return reply(s);
        ok(reply);
      });

  svc.operations["UpdateMaxRecordSize"] =
      stream_op("UpdateMaxRecordSize",
                [this, ok](RequestContext&, Input& in, const json&, const std::string& name, JsonReply reply) {
                  auto kib = in.Int("MaxRecordSizeInKiB", "maxRecordSizeInKiB", true, 1024, 10240);
                  if (Status s = in.Check(); !s.ok()) return reply(s);
                  if (Status s = store_.SetMaxRecordSize(name, static_cast<int>(*kib)); !s.ok()) return reply(s);
                  ok(reply);
                });

  auto monitoring = [this](bool enable) {
    return [this, enable](RequestContext&, Input& in, const json&, const std::string& name, JsonReply reply) {
      std::vector<std::string> metrics;
      if (const json* m = in.Member("ShardLevelMetrics", json::value_t::array)) {
        for (const auto& v : *m) {
          if (v.is_string()) metrics.push_back(v.get<std::string>());
        }
      } else {
        in.Fail("Value null at 'shardLevelMetrics' failed to satisfy constraint: Member must not be null");
      }
      if (Status s = in.Check(); !s.ok()) return reply(s);
      std::vector<std::string> before, after;
      if (Status s = store_.SetShardLevelMetrics(name, metrics, enable, &before, &after); !s.ok()) return reply(s);
      auto st = store_.Describe(name);
      reply(Dump({{"StreamName", name},
                  {"StreamARN", st.ok() ? st->arn : ""},
                  {"CurrentShardLevelMetrics", before},
                  {"DesiredShardLevelMetrics", after}}));
    };
  };
  svc.operations["EnableEnhancedMonitoring"] = stream_op("EnableEnhancedMonitoring", monitoring(true));
  svc.operations["DisableEnhancedMonitoring"] = stream_op("DisableEnhancedMonitoring", monitoring(false));

  svc.operations["SplitShard"] = stream_op(
      "SplitShard", [this, ok](RequestContext&, Input& in, const json&, const std::string& name, JsonReply reply) {
        auto shard = in.Str("ShardToSplit", "shardToSplit", true, 1, 128, kShardIdPattern);
        auto key = in.Str("NewStartingHashKey", "newStartingHashKey", true, 1, 128, kHashKeyPattern);
        if (Status s = in.Check(); !s.ok()) return reply(s);
        auto hash = streams::ParseHashKey(*key);
        if (!hash)
          return reply(Status::InvalidArgument("NewStartingHashKey " + *key + " is out of range [0, 2^128-1]."));
        if (Status s = store_.SplitShard(name, *shard, *hash); !s.ok()) return reply(s);
        ok(reply);
      });
  svc.operations["MergeShards"] = stream_op(
      "MergeShards", [this, ok](RequestContext&, Input& in, const json&, const std::string& name, JsonReply reply) {
        auto a = in.Str("ShardToMerge", "shardToMerge", true, 1, 128, kShardIdPattern);
        auto b = in.Str("AdjacentShardToMerge", "adjacentShardToMerge", true, 1, 128, kShardIdPattern);
        if (Status s = in.Check(); !s.ok()) return reply(s);
        if (Status s = store_.MergeShards(name, *a, *b); !s.ok()) return reply(s);
        ok(reply);
      });
  svc.operations["UpdateShardCount"] = stream_op(
      "UpdateShardCount", [this](RequestContext&, Input& in, const json&, const std::string& name, JsonReply reply) {
        auto target = in.Int("TargetShardCount", "targetShardCount", true, 1, 100000);
        auto scaling = in.Str("ScalingType", "scalingType", true, 1, 32, "UNIFORM_SCALING");
        if (Status s = in.Check(); !s.ok()) return reply(s);
        (void)scaling;
        auto before = store_.UpdateShardCount(name, static_cast<int>(*target));
        if (!before.ok()) return reply(before.status());
        auto st = store_.Describe(name);
        reply(Dump({{"StreamName", name},
                    {"CurrentShardCount", *before},
                    {"TargetShardCount", *target},
                    {"StreamARN", st.ok() ? st->arn : ""}}));
      });

  // Consumers.
  auto consumer_json = [](const streams::ConsumerInfo& c, const std::string& stream_arn, bool with_stream) {
    json j = {{"ConsumerName", c.name},
              {"ConsumerARN", c.arn},
              {"ConsumerStatus", "ACTIVE"},
              {"ConsumerCreationTimestamp", Seconds(c.created_ms)}};
    if (with_stream) j["StreamARN"] = stream_arn;
    return j;
  };
  svc.operations["RegisterStreamConsumer"] =
      WithInput([this, consumer_json](RequestContext& ctx, Input& in, const json& parsed_body, JsonReply reply) {
        auto arn = in.Str("StreamARN", "streamARN", true, 1, 2048, kStreamArnPattern);
        auto consumer = in.Str("ConsumerName", "consumerName", true, 1, 128, kStreamNamePattern);
        if (Status s = in.Check(); !s.ok()) return reply(s);
        auto name = store_.Resolve("", *arn, "");
        if (!name.ok()) return reply(name.status());
        if (Status s = ctx.Authorize("kinesis:RegisterStreamConsumer", *arn); !s.ok()) return reply(s);
        auto c = store_.RegisterConsumer(*name, *consumer);
        if (!c.ok()) {
          return reply(c.status().code() == StatusCode::kAlreadyExists ? c.status().WithType("ResourceInUseException")
                                                                       : c.status());
        }
        reply(Dump({{"Consumer", consumer_json(*c, *arn, false)}}));
      });
  // Finds a consumer by ConsumerARN, or StreamARN + ConsumerName.
  auto find_consumer = [this](Input& in, std::string* stream_name, std::string* stream_arn,
                              streams::ConsumerInfo* out) -> Status {
    auto carn = in.Str("ConsumerARN", "consumerARN", false, 1, 2048);
    auto sarn = in.Str("StreamARN", "streamARN", false, 1, 2048, kStreamArnPattern);
    auto cname = in.Str("ConsumerName", "consumerName", false, 1, 128, kStreamNamePattern);
    EL_RETURN_IF_ERROR(in.Check());
    std::string arn = sarn.value_or("");
    if (carn) {
      size_t p = carn->find("/consumer/");
      if (p == std::string::npos) return Status::InvalidArgument("Invalid ConsumerARN " + *carn);
      arn = carn->substr(0, p);
    } else if (!sarn || !cname) {
      return Status::InvalidArgument("Either ConsumerARN, or StreamARN and ConsumerName, must be provided.");
    }
    EL_ASSIGN_OR_RETURN(*stream_name, store_.Resolve("", arn, ""));
    *stream_arn = arn;
    EL_ASSIGN_OR_RETURN(auto st, store_.Describe(*stream_name));
    for (const auto& c : st.consumers) {
      if ((carn && c.arn == *carn) || (!carn && c.name == *cname)) {
        *out = c;
        return Status::Ok();
      }
    }
    return Status::NotFound("Consumer " + (carn ? *carn : *cname) + " under stream " + arn + " not found.");
  };
  svc.operations["DescribeStreamConsumer"] = WithInput(
      [this, find_consumer, consumer_json](RequestContext& ctx, Input& in, const json& parsed_body, JsonReply reply) {
        std::string name, arn;
        streams::ConsumerInfo c;
        if (Status s = find_consumer(in, &name, &arn, &c); !s.ok()) return reply(s);
        if (Status s = ctx.Authorize("kinesis:DescribeStreamConsumer", c.arn); !s.ok()) return reply(s);
        reply(Dump({{"ConsumerDescription", consumer_json(c, arn, true)}}));
      });
  svc.operations["DeregisterStreamConsumer"] =
      WithInput([this, find_consumer, ok](RequestContext& ctx, Input& in, const json& parsed_body, JsonReply reply) {
        std::string name, arn;
        streams::ConsumerInfo c;
        if (Status s = find_consumer(in, &name, &arn, &c); !s.ok()) return reply(s);
        if (Status s = ctx.Authorize("kinesis:DeregisterStreamConsumer", c.arn); !s.ok()) return reply(s);
        if (Status s = store_.DeregisterConsumer(name, c.name); !s.ok()) return reply(s);
        ok(reply);
      });
  svc.operations["ListStreamConsumers"] =
      WithInput([this, consumer_json](RequestContext& ctx, Input& in, const json& parsed_body, JsonReply reply) {
        auto arn = in.Str("StreamARN", "streamARN", true, 1, 2048, kStreamArnPattern);
        auto max = in.Int("MaxResults", "maxResults", false, 1, 10000);
        auto token = in.Str("NextToken", "nextToken", false, 1, 1048576);
        in.TimestampMs("StreamCreationTimestamp");
        if (Status s = in.Check(); !s.ok()) return reply(s);
        auto name = store_.Resolve("", *arn, "");
        if (!name.ok()) return reply(name.status());
        if (Status s = ctx.Authorize("kinesis:ListStreamConsumers", *arn); !s.ok()) return reply(s);
        auto st = store_.Describe(*name);
        if (!st.ok()) return reply(st.status());
        std::string after;
        if (token) {
          auto d = auth::Base64Decode(*token);
          if (!d || !StartsWith(*d, "consumers:")) return reply(Status::InvalidArgument("Invalid NextToken."));
          after = d->substr(10);
        }
        json list = json::array();
        std::string last;
        bool more = false;
        for (const auto& c : st->consumers) {
          if (!after.empty() && c.name <= after) continue;
          if (static_cast<int64_t>(list.size()) >= max.value_or(100)) {
            more = true;
            break;
          }
          list.push_back(consumer_json(c, *arn, false));
          last = c.name;
        }
        json out = {{"Consumers", list}};
        if (more) out["NextToken"] = auth::Base64Encode("consumers:" + last);
        reply(Dump(out));
      });

  // Data plane.
  struct PutItem {
    std::string partition_key;
    std::string data;
    std::optional<std::string> explicit_hash_key;
  };
  // Decodes one record; validation failures go to `in`.
  auto decode_record = [](Input& in, const std::string& prefix, PutItem* out) -> Status {
    auto pk = in.Str("PartitionKey", (prefix + "partitionKey").c_str(), true, 1, 256);
    auto data = in.Str("Data", (prefix + "data").c_str(), true, 0, SIZE_MAX);
    auto ehk = in.Str("ExplicitHashKey", (prefix + "explicitHashKey").c_str(), false, 1, 128, kHashKeyPattern);
    EL_RETURN_IF_ERROR(in.Check());
    auto bytes = auth::Base64Decode(*data);
    if (!bytes)
      return Serialization("Base64 decoding failed for the Data of " +
                           (prefix.empty() ? std::string("the record") : prefix));
    out->partition_key = std::move(*pk);
    out->data = std::move(*bytes);
    out->explicit_hash_key = std::move(ehk);
    return Status::Ok();
  };
  // The routing key of a record, or InvalidArgumentException.
  auto hash_key_of = [](const PutItem& item) -> Result<HashKey> {
    if (item.explicit_hash_key) {
      auto h = streams::ParseHashKey(*item.explicit_hash_key);
      if (!h) {
        return Status::InvalidArgument(
            "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
            "Specified value was " +
            *item.explicit_hash_key);
      }
      return *h;
    }
    auto md5 = auth::Md5(item.partition_key);
    HashKey h = 0;
    for (uint8_t b : md5) h = (h << 8) | b;
    return h;
  };

  svc.operations["PutRecord"] =
      stream_op("PutRecord", [this, decode_record, hash_key_of](RequestContext&, Input& in, const json&,
                                                                const std::string& name, JsonReply reply) {
        PutItem item;
        if (Status s = decode_record(in, "", &item); !s.ok()) return reply(s);
        auto ordering =
            in.Str("SequenceNumberForOrdering", "sequenceNumberForOrdering", false, 1, 128, kSequencePattern);
        if (Status s = in.Check(); !s.ok()) return reply(s);
        auto max_bytes = store_.MaxRecordBytes(name);
        if (!max_bytes.ok()) return reply(max_bytes.status());
        const size_t limit = *max_bytes;
        if (item.data.size() + item.partition_key.size() > limit) {
          return reply(Status::InvalidArgument("1 validation error detected: Value at 'data' failed to satisfy "
                                               "constraint: Member must have length less than or equal to " +
                                               std::to_string(limit))
                           .WithType("ValidationException"));
        }
        if (ordering && !streams::ParseSequenceNumber(*ordering)) {
          return reply(Status::InvalidArgument("ExclusiveMinimumSequenceNumber " + *ordering +
                                               " used in PutRecord on stream " + name + " under account " +
                                               store_.options().account_id + " is invalid."));
        }
        auto hash = hash_key_of(item);
        if (!hash.ok()) return reply(hash.status());
        store_.Put(name, {{*hash, std::move(item.partition_key), std::move(item.data)}},
                   [reply](std::vector<Result<streams::PutOutput>> results) {
                     const auto& r = results.at(0);
                     if (!r.ok()) return reply(r.status());
                     reply(Dump({{"ShardId", streams::ShardIdOf(r->shard_index)},
                                 {"SequenceNumber", streams::FormatSequenceNumber(r->sequence)},
                                 {"EncryptionType", r->kms ? "KMS" : "NONE"}}));
                   });
      });

  // Answers a PutRecords once the store has written (or refused) every record.
  auto put_records_reply = [](JsonReply reply) {
    return [reply = std::move(reply)](std::vector<Result<streams::PutOutput>> results) {
      std::string out;
      out.reserve(64 + results.size() * 110);
      out += "{\"Records\":[";
      int failed = 0;
      std::string encryption = "NONE";
      for (size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        if (i) out += ',';
        if (r.ok()) {
          out += "{\"SequenceNumber\":\"";
          streams::AppendSequenceNumber(r->sequence, &out);
          out += "\",\"ShardId\":\"shardId-";
          const size_t at = out.size();
          out.append(12, '0');
          for (uint32_t v = r->shard_index, d = 0; d < 12; ++d, v /= 10)
            out[at + 11 - d] = static_cast<char>('0' + v % 10);
          out += "\"}";
          if (r->kms) encryption = "KMS";
        } else {
          ++failed;
          // A stream that is gone fails the whole call; anything else is a retryable per-record failure.
          if (r.status().code() == StatusCode::kNotFound && failed == static_cast<int>(results.size())) {
            return reply(r.status());
          }
          if (r.status().type() == "ProvisionedThroughputExceededException") {
            out += R"({"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":)";
            AppendJsonString(out, r.status().message());
            out += '}';
          } else {
            out += R"({"ErrorCode":"InternalFailure","ErrorMessage":"Internal service failure."})";
          }
        }
      }
      out += "],\"FailedRecordCount\":" + std::to_string(failed) + ",\"EncryptionType\":\"" + encryption + "\"}";
      reply(std::move(out));
    };
  };

  JsonOperation put_records_general = stream_op("PutRecords", [this, decode_record, hash_key_of, put_records_reply](
                                                                  RequestContext&, Input& in, const json& body,
                                                                  const std::string& name, JsonReply reply) {
    auto it = body.find("Records");
    if (it == body.end() || it->is_null()) {
      in.Fail("Value null at 'records' failed to satisfy constraint: Member must not be null");
    } else if (!it->is_array()) {
      return reply(Serialization("Records must be a list"));
    } else if (it->empty()) {
      in.Fail(
          "Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1");
    } else if (it->size() > 500) {
      in.Fail(
          "Value '[...]' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500");
    }
    if (Status s = in.Check(); !s.ok()) return reply(s);
    auto limit = store_.MaxRecordBytes(name);
    if (!limit.ok()) return reply(limit.status());
    std::vector<streams::PutInput> inputs;
    inputs.reserve(it->size());
    size_t total = 0;
    for (size_t i = 0; i < it->size(); ++i) {
      const json& r = (*it)[i];
      if (!r.is_object()) return reply(Serialization("Each record must be a structure"));
      Input rin(r);
      PutItem item;
      const std::string prefix = "records." + std::to_string(i + 1) + ".member.";
      if (Status s = decode_record(rin, prefix, &item); !s.ok()) return reply(s);
      if (item.data.size() + item.partition_key.size() > *limit) {
        return reply(Status::InvalidArgument("1 validation error detected: Value at '" + prefix +
                                             "data' failed to satisfy constraint: Member must have length less than or "
                                             "equal to " +
                                             std::to_string(*limit))
                         .WithType("ValidationException"));
      }
      total += item.data.size() + item.partition_key.size();
      auto hash = hash_key_of(item);
      if (!hash.ok()) return reply(hash.status());
      inputs.push_back({*hash, std::move(item.partition_key), std::move(item.data)});
    }
    if (total > kMaxPutRecordsBytes) return reply(Status::InvalidArgument("Records size exceeds 5 MB limit"));
    store_.Put(name, std::move(inputs), put_records_reply(std::move(reply)));
  });

  // The common case without a JSON DOM; anything unusual goes the general way.
  svc.operations["PutRecords"] = [this, general = std::move(put_records_general), hash_key_of, put_records_reply](
                                     RequestContext& ctx, std::string_view body, JsonReply reply) {
    auto fast = ParsePutRecordsFast(body);
    if (!fast) return general(ctx, body, std::move(reply));
    auto name = store_.Resolve(fast->stream_name, fast->stream_arn, fast->stream_id);
    if (!name.ok()) return general(ctx, body, std::move(reply));
    auto limit = store_.MaxRecordBytes(*name);
    if (!limit.ok()) return general(ctx, body, std::move(reply));
    std::vector<streams::PutInput> inputs;
    inputs.reserve(fast->records.size());
    size_t total = 0;
    for (auto& r : fast->records) {
      auto data = auth::Base64Decode(r.data);
      if (!data || data->size() + r.partition_key.size() > *limit) return general(ctx, body, std::move(reply));
      PutItem item{std::move(r.partition_key), std::move(*data), std::nullopt};
      if (!r.explicit_hash_key.empty()) item.explicit_hash_key = std::string(r.explicit_hash_key);
      auto hash = hash_key_of(item);
      if (!hash.ok()) return general(ctx, body, std::move(reply));
      total += item.data.size() + item.partition_key.size();
      inputs.push_back({*hash, std::move(item.partition_key), std::move(item.data)});
    }
    if (total > kMaxPutRecordsBytes) return general(ctx, body, std::move(reply));
    const std::string arn =
        "arn:aws:kinesis:" + ctx.server().region + ":" + ctx.server().account_id + ":stream/" + *name;
    if (Status s = ctx.Authorize("kinesis:PutRecords", arn); !s.ok()) return reply(s);
    store_.Put(*name, std::move(inputs), put_records_reply(std::move(reply)));
  };

  // Shard iterators: base64 of [version 1][stream created ms][issued ms]
  // [shard index][position][name], then 16 bytes of HMAC-SHA256 over them.
  auto make_iterator = [this](const std::string& name, int64_t stream_created_ms, uint32_t shard, uint64_t position) {
    std::string p(1, '\x01');
    auto put = [&p](uint64_t v, int bytes) {
      for (int i = 0; i < bytes; ++i) p.push_back(static_cast<char>(v >> (8 * i)));
    };
    put(static_cast<uint64_t>(stream_created_ms), 8);
    put(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch()).count()),
        8);
    put(shard, 4);
    put(position, 8);
    p += name;
    auto mac = auth::HmacSha256(iterator_key_, p);
    p.append(reinterpret_cast<const char*>(mac.data()), 16);
    return auth::Base64Encode(p);
  };
  struct Iterator {
    std::string name;
    int64_t stream_created_ms;
    int64_t issued_ms;
    uint32_t shard;
    uint64_t position;
  };
  auto parse_iterator = [this](const std::string& token) -> Result<Iterator> {
    const Status invalid = Status::InvalidArgument("Invalid ShardIterator.");
    auto raw = auth::Base64Decode(token);
    if (!raw || raw->size() < 1 + 28 + 1 + 16 || (*raw)[0] != '\x01') return invalid;
    std::string_view body(raw->data(), raw->size() - 16);
    auto mac = auth::HmacSha256(iterator_key_, body);
    if (!auth::ConstantTimeEquals(std::string_view(reinterpret_cast<const char*>(mac.data()), 16),
                                  std::string_view(*raw).substr(raw->size() - 16))) {
      return invalid;
    }
    auto get = [&](size_t off, int bytes) {
      uint64_t v = 0;
      for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(body[off + i]);
      return v;
    };
    Iterator it{std::string(body.substr(29)), static_cast<int64_t>(get(1, 8)), static_cast<int64_t>(get(9, 8)),
                static_cast<uint32_t>(get(17, 4)), get(21, 8)};
    return it;
  };

  svc.operations["GetShardIterator"] = stream_op(
      "GetShardIterator",
      [this, make_iterator](RequestContext&, Input& in, const json&, const std::string& name, JsonReply reply) {
        auto shard = in.Str("ShardId", "shardId", true, 1, 128, kShardIdPattern);
        auto type = in.Str("ShardIteratorType", "shardIteratorType", true, 1, 64,
                           "AT_SEQUENCE_NUMBER|AFTER_SEQUENCE_NUMBER|TRIM_HORIZON|LATEST|AT_TIMESTAMP");
        auto seq = in.Str("StartingSequenceNumber", "startingSequenceNumber", false, 1, 128, kSequencePattern);
        auto ts = in.TimestampMs("Timestamp");
        if (Status s = in.Check(); !s.ok()) return reply(s);
        auto st = store_.Describe(name);
        if (!st.ok()) return reply(st.status());
        auto index = streams::ParseShardId(*shard);
        if (!index || std::none_of(st->shards.begin(), st->shards.end(), [&](const auto& sh) { return sh.index == *index; })) {
          return reply(Status::NotFound("Shard " + *shard + " in stream " + name + " under account " +
                                        store_.options().account_id + " does not exist"));
        }
        const bool by_seq = *type == "AT_SEQUENCE_NUMBER" || *type == "AFTER_SEQUENCE_NUMBER";
        if (by_seq != seq.has_value() && *type != "AT_TIMESTAMP") {
          return reply(Status::InvalidArgument(
              "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) "
              "TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified " +
              *type + " and " + (seq ? "also a" : "no") + " StartingSequenceNumber."));
        }
        if (*type == "AT_TIMESTAMP" && !ts) {
          return reply(
              Status::InvalidArgument("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                                      "Current request has no timestamp parameter."));
        }
        streams::IteratorType t = *type == "AT_SEQUENCE_NUMBER"      ? streams::IteratorType::kAtSequenceNumber
                                  : *type == "AFTER_SEQUENCE_NUMBER" ? streams::IteratorType::kAfterSequenceNumber
                                  : *type == "TRIM_HORIZON"          ? streams::IteratorType::kTrimHorizon
                                  : *type == "LATEST"                ? streams::IteratorType::kLatest
                                                                     : streams::IteratorType::kAtTimestamp;
        auto position = store_.IteratorPosition(name, *index, t, seq.value_or(""), ts.value_or(0));
        if (!position.ok()) return reply(position.status());
        reply(Dump({{"ShardIterator", make_iterator(name, st->created_ms, *index, *position)}}));
      });

  svc.operations["GetRecords"] = WithInput(
      [this, make_iterator, parse_iterator](RequestContext& ctx, Input& in, const json& parsed_body, JsonReply reply) {
        auto token = in.Str("ShardIterator", "shardIterator", true, 1, 512);
        auto limit = in.Int("Limit", "limit", false, 1, 10000);
        in.Str("StreamARN", "streamARN", false, 1, 2048, kStreamArnPattern);
        if (Status s = in.Check(); !s.ok()) return reply(s);
        auto it = parse_iterator(*token);
        if (!it.ok()) return reply(it.status());
        const std::string arn =
            "arn:aws:kinesis:" + ctx.server().region + ":" + ctx.server().account_id + ":stream/" + it->name;
        if (Status s = ctx.Authorize("kinesis:GetRecords", arn); !s.ok()) return reply(s);
        const int64_t now =
            std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch()).count();
        if (now - it->issued_ms > kIteratorTtlMs) {
          return reply(Status::InvalidArgument("Iterator expired. The iterator was created at time " +
                                               std::to_string(it->issued_ms) + " ms while right now it is " +
                                               std::to_string(now) +
                                               " ms which is further in the future than the tolerated delay of 300000 "
                                               "milliseconds.")
                           .WithType("ExpiredIteratorException"));
        }
        auto st = store_.Describe(it->name);
        if (!st.ok() || st->created_ms != it->stream_created_ms) {
          return reply(Status::NotFound("Shard " + streams::ShardIdOf(it->shard) + " in stream " + it->name +
                                        " under account " + store_.options().account_id + " does not exist"));
        }
        auto out = store_.Read(it->name, it->shard, it->position, static_cast<size_t>(limit.value_or(10000)),
                               kMaxGetRecordsBytes);
        if (!out.ok()) return reply(out.status());
        std::string body_out;
        body_out.reserve(256 + out->records.size() * 128);
        body_out += "{\"Records\":[";
        for (size_t i = 0; i < out->records.size(); ++i) {
          const auto& r = out->records[i];
          if (i) body_out += ',';
          char ts[32];
          std::snprintf(ts, sizeof(ts), "%lld.%03lld", static_cast<long long>(r.arrival_ms / 1000),
                        static_cast<long long>(r.arrival_ms % 1000));
          body_out += "{\"SequenceNumber\":\"";
          body_out += r.sequence_number;
          body_out += "\",\"ApproximateArrivalTimestamp\":";
          body_out += ts;
          body_out += ",\"Data\":\"";
          body_out += auth::Base64Encode(r.data);
          body_out += "\",\"PartitionKey\":";
          AppendJsonString(body_out, r.partition_key);
          body_out += ",\"EncryptionType\":\"";
          body_out += r.encryption_type;
          body_out += "\"}";
        }
        body_out += "],\"MillisBehindLatest\":" + std::to_string(out->millis_behind_latest);
        if (out->shard_ended) {
          json children = json::array();
          for (const auto& c : out->children) {
            json parents = json::array({c.parent});
            if (!c.adjacent_parent.empty()) parents.push_back(c.adjacent_parent);
            children.push_back({{"ShardId", c.id}, {"ParentShards", parents}, {"HashKeyRange", HashRange(c)}});
          }
          body_out += ",\"ChildShards\":" + Dump(children);
        } else {
          body_out += ",\"NextShardIterator\":\"" +
                      make_iterator(it->name, it->stream_created_ms, it->shard, out->next_position) + "\"";
        }
        body_out += "}";
        reply(std::move(body_out));
      });

  return svc;
}

}  // namespace eventlake::api
