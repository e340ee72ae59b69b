#include "delivery/processors.h"

extern "C" {
#include <jq.h>
}

#include <simdjson.h>

#include <cmath>
#include <cstring>

#include "auth/crypto.h"
#include "common/compression.h"

namespace eventlake::delivery {
namespace {

constexpr size_t kMaxDecompressed = 64 << 20;

Status Invalid(std::string message) {
  return Status::InvalidArgument(std::move(message)).WithType("InvalidArgumentException");
}

// Protobuf wire reading, enough for KPL's AggregatedRecord.
struct ProtoReader {
  std::string_view in;
  size_t at = 0;
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at >= in.size()) return false;
      const uint8_t b = static_cast<uint8_t>(in[at++]);
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool Bytes(std::string_view* out) {
    uint64_t len;
    if (!Varint(&len) || len > in.size() - at) return false;
    *out = in.substr(at, len);
    at += len;
    return true;
  }
  bool Skip(uint32_t wire_type) {
    uint64_t v;
    std::string_view s;
    switch (wire_type) {
      case 0: return Varint(&v);
      case 1: return (at += 8) <= in.size();
      case 2: return Bytes(&s);
      case 5: return (at += 4) <= in.size();
      default: return false;
    }
  }
};

}  // namespace

struct JqQuery::State {
  jq_state* jq = nullptr;
  simdjson::dom::parser parser;
  std::string errors;
};

// The words a partition-key query may not use: they read the server's environment or other
// input, stop the process, or loop without end (a query runs on every record, in the stream's
// delivery thread, without a time limit). jq 1.6's implode aborts on bad input.
Status CheckQueryWords(const std::string& program) {
  static const char* const kRefused[] = {"env", "$ENV", "input", "inputs", "input_filename", "input_line_number",
                                         "$__loc__", "halt", "halt_error", "debug", "stderr", "def", "recurse",
                                         "recurse_down", "range", "repeat", "while", "until", "implode", "getpath",
                                         "paths", "leaf_paths", "walk", "splits", "combinations"};
  bool in_string = false;
  for (size_t i = 0; i < program.size();) {
    const char c = program[i];
    if (in_string) {
      if (c == '\\') {
        i += 2;
        continue;
      }
      if (c == '"') in_string = false;
      ++i;
      continue;
    }
    if (c == '"') {
      in_string = true;
      ++i;
      continue;
    }
    if (c == '$' || c == '_' || std::isalpha(static_cast<unsigned char>(c))) {
      size_t j = i + 1;
      while (j < program.size() && (program[j] == '_' || std::isalnum(static_cast<unsigned char>(program[j])))) ++j;
      const std::string word = program.substr(i, j - i);
      size_t after = j;
      while (after < program.size() && std::isspace(static_cast<unsigned char>(program[after]))) ++after;
      // .env is a field and {env: ...} a key, not the builtin.
      const bool field = (i > 0 && program[i - 1] == '.') || (after < program.size() && program[after] == ':');
      for (const char* refused : kRefused) {
        if (!field && word == refused) {
          return Invalid("MetadataExtractionQuery may not use '" + word +
                         "': partition-key queries may not loop, define functions, or read the environment or "
                         "other input.");
        }
      }
      i = j;
      continue;
    }
    ++i;
  }
  return Status::Ok();
}

// jq 1.6 aborts the process when strftime, strflocaltime or todate get a number gmtime cannot
// convert (beyond about 6.7e16, or NaN): record data could stop the server. These definitions,
// put before every query, shadow them with versions that refuse such numbers first (an error for
// that record only).
constexpr char kSafeDates[] =
    "def _el_strftime(f): strftime(f); def _el_strflocaltime(f): strflocaltime(f); "
    "def _el_date_ok: if type == \"number\" and (isnan or . > 1e16 or . < -1e16) "
    "then error(\"the number is out of range for a date\") else . end; "
    "def strftime(f): _el_date_ok | _el_strftime(f); def strflocaltime(f): _el_date_ok | _el_strflocaltime(f); "
    "def todate: strftime(\"%Y-%m-%dT%H:%M:%SZ\"); def date: todate; ";

Result<std::unique_ptr<JqQuery>> JqQuery::Compile(const std::string& program) {
  EL_RETURN_IF_ERROR(CheckQueryWords(program));
  std::unique_ptr<JqQuery> q(new JqQuery());
  q->state_ = std::make_unique<State>();
  q->state_->jq = jq_init();
  if (!q->state_->jq) return Status::Internal("jq_init failed");
  jq_set_error_cb(
      q->state_->jq,
      [](void* data, jv msg) {
        auto* s = static_cast<State*>(data);
        if (jv_get_kind(msg) == JV_KIND_STRING) {
          if (!s->errors.empty()) s->errors += "; ";
          s->errors += jv_string_value(msg);
        }
        jv_free(msg);
      },
      q->state_.get());
  if (!jq_compile(q->state_->jq, (kSafeDates + program).c_str())) {
    std::string why = q->state_->errors.empty() ? "it does not compile" : q->state_->errors;
    return Invalid("MetadataExtractionQuery is not a valid JQ 1.6 expression: " + why);
  }
  return q;
}

JqQuery::~JqQuery() {
  if (state_ && state_->jq) jq_teardown(&state_->jq);
}

Result<std::map<std::string, std::string>> JqQuery::Run(std::string_view record) {
  if (record.size() > static_cast<size_t>(INT32_MAX)) return Status::InvalidArgument("record too large");
  // Checked strictly first (UTF-8 included): jq 1.6's parser leaks on some malformed input.
  {
    simdjson::padded_string padded(record);
    simdjson::dom::element doc;
    if (state_->parser.parse(padded).get(doc) != simdjson::SUCCESS) {
      return Status::InvalidArgument("Non JSON record provided");
    }
  }
  jv input = jv_parse_sized(record.data(), static_cast<int>(record.size()));
  if (!jv_is_valid(input)) {
    jv_free(input);
    return Status::InvalidArgument("Non JSON record provided");
  }
  state_->errors.clear();
  jq_start(state_->jq, input, 0);  // takes ownership of input
  // The first output is the answer; the next jq_start resets the program.
  jv result = jq_next(state_->jq);
  if (!jv_is_valid(result)) {
    jv msg = jv_invalid_get_msg(result);
    std::string why = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "the query produced no output";
    jv_free(msg);
    return Status::InvalidArgument("The JQ query failed: " + why);
  }
  if (jv_get_kind(result) != JV_KIND_OBJECT) {
    jv_free(result);
    return Status::InvalidArgument("The JQ query must produce an object of partition keys");
  }
  std::map<std::string, std::string> keys;
  std::string failure;
  jv_object_foreach(result, key, value) {
    const std::string name = jv_string_value(key);
    switch (jv_get_kind(value)) {
      case JV_KIND_STRING:
        keys[name] = jv_string_value(value);
        break;
      case JV_KIND_TRUE:
        keys[name] = "true";
        break;
      case JV_KIND_FALSE:
        keys[name] = "false";
        break;
      case JV_KIND_NUMBER: {
        const double d = jv_number_value(value);
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) {
          keys[name] = std::to_string(static_cast<int64_t>(d));
        } else {
          jv text = jv_dump_string(jv_copy(value), 0);
          keys[name] = jv_string_value(text);
          jv_free(text);
        }
        break;
      }
      default:
        if (failure.empty()) {
          failure = "partition key '" + name + "' is " +
                    (jv_get_kind(value) == JV_KIND_NULL ? std::string("null or missing")
                                                        : std::string("a ") + jv_kind_name(jv_get_kind(value)));
        }
        break;
    }
    jv_free(key);
    jv_free(value);
  }
  jv_free(result);
  if (!failure.empty()) return Status::InvalidArgument("Could not extract " + failure);
  return keys;
}

bool SplitJsonObjects(std::string_view data, std::vector<std::string_view>* out) {
  size_t i = 0;
  const size_t n = data.size();
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (true) {
    while (i < n && space(data[i])) ++i;
    if (i == n) return true;
    if (data[i] != '{') return false;
    const size_t start = i;
    int depth = 0;
    bool in_string = false;
    for (; i < n; ++i) {
      const char c = data[i];
      if (in_string) {
        if (c == '\\') {
          ++i;
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) break;
      }
    }
    if (i >= n) return false;  // unterminated
    out->push_back(data.substr(start, i + 1 - start));
    ++i;
  }
}

Result<std::vector<std::string>> DeaggregateKpl(std::string_view data) {
  static const char kMagic[] = "\xF3\x89\x9A\xC2";
  std::vector<std::string> out;
  if (data.size() < 4 + 16 || std::memcmp(data.data(), kMagic, 4) != 0) {
    out.emplace_back(data);
    return out;
  }
  const std::string_view message = data.substr(4, data.size() - 4 - 16);
  const auto digest = auth::Md5(message);
  if (std::memcmp(digest.data(), data.data() + data.size() - 16, 16) != 0) {
    // Not an aggregate after all (the magic bytes by chance): the record as it is.
    out.emplace_back(data);
    return out;
  }
  ProtoReader r{message};
  while (r.at < message.size()) {
    uint64_t tag;
    if (!r.Varint(&tag)) return Status::InvalidArgument("corrupt KPL aggregated record");
    if ((tag >> 3) == 3 && (tag & 7) == 2) {  // Record
      std::string_view record;
      if (!r.Bytes(&record)) return Status::InvalidArgument("corrupt KPL aggregated record");
      ProtoReader rr{record};
      std::string_view payload;
      bool have = false;
      while (rr.at < record.size()) {
        uint64_t t;
        if (!rr.Varint(&t)) return Status::InvalidArgument("corrupt KPL record");
        if ((t >> 3) == 3 && (t & 7) == 2) {
          if (!rr.Bytes(&payload)) return Status::InvalidArgument("corrupt KPL record");
          have = true;
        } else if (!rr.Skip(static_cast<uint32_t>(t & 7))) {
          return Status::InvalidArgument("corrupt KPL record");
        }
      }
      if (have) out.emplace_back(payload);
    } else if (!r.Skip(static_cast<uint32_t>(tag & 7))) {
      return Status::InvalidArgument("corrupt KPL aggregated record");
    }
  }
  return out;
}

Result<std::unique_ptr<RecordProcessor>> RecordProcessor::Create(const std::vector<ProcessorSpec>& processors,
                                                                 bool kpl) {
  auto p = std::make_unique<RecordProcessor>();
  p->kpl_ = kpl;
  for (const ProcessorSpec& spec : processors) {
    if (spec.type == "Decompression") {
      p->decompress_ = true;
    } else if (spec.type == "CloudWatchLogProcessing") {
      p->cloudwatch_ = spec.Param("DataMessageExtraction", "false") == "true";
    } else if (spec.type == "RecordDeAggregation") {
      if (spec.Param("SubRecordType", "JSON") == "DELIMITED") {
        auto delim = auth::Base64Decode(spec.Param("Delimiter"));
        if (!delim || delim->empty()) return Invalid("RecordDeAggregation's Delimiter must be base64 text.");
        p->split_ = Split::kDelimited;
        p->split_delimiter_ = *delim;
      } else {
        p->split_ = Split::kJson;
      }
    } else if (spec.type == "MetadataExtraction") {
      auto q = JqQuery::Compile(spec.Param("MetadataExtractionQuery"));
      if (!q.ok()) return q.status();
      p->jq_ = std::move(*q);
    } else if (spec.type == "AppendDelimiterToRecord") {
      p->append_delimiter_ = true;
      const std::string given = spec.Param("Delimiter");
      if (!given.empty()) {
        auto d = auth::Base64Decode(given);
        if (!d) return Invalid("AppendDelimiterToRecord's Delimiter must be base64 text.");
        p->delimiter_ = *d;
      }
    }
  }
  return p;
}

bool RecordProcessor::Process(std::string_view data, std::vector<ProcessedRecord>* out, ProcessingFailure* failure) {
  out->clear();
  std::vector<std::string> stage;
  if (kpl_) {
    auto records = DeaggregateKpl(data);
    if (!records.ok()) {
      *failure = {"Deaggregation.Failed", records.status().message()};
      return false;
    }
    stage = std::move(*records);
  } else {
    stage.emplace_back(data);
  }

  if (decompress_) {
    for (std::string& s : stage) {
      auto plain = GunzipBounded(s, kMaxDecompressed);
      if (!plain.ok()) {
        *failure = {"Decompression.Failed", "The record could not be decompressed: " + plain.status().message()};
        return false;
      }
      s = std::move(*plain);
    }
  }
  if (cloudwatch_) {
    std::vector<std::string> messages;
    for (const std::string& s : stage) {
      nlohmann::json j = nlohmann::json::parse(s, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        *failure = {"CloudWatchLogProcessing.Failed", "The record is not a CloudWatch Logs subscription message"};
        return false;
      }
      if (j.value("messageType", "") != "DATA_MESSAGE") continue;  // control messages are dropped
      for (const auto& e : j.value("logEvents", nlohmann::json::array())) {
        if (e.is_object() && e.contains("message") && e["message"].is_string()) {
          messages.push_back(e["message"].get<std::string>() + "\n");
        }
      }
    }
    stage = std::move(messages);
  }
  if (split_ != Split::kNone) {
    // KPL aggregated records are opened first (a Kinesis source has done so already).
    if (!kpl_) {
      std::vector<std::string> opened;
      for (const std::string& s : stage) {
        auto records = DeaggregateKpl(s);
        if (!records.ok()) {
          *failure = {"Deaggregation.Failed", records.status().message()};
          return false;
        }
        for (auto& r : *records) opened.push_back(std::move(r));
      }
      stage = std::move(opened);
    }
    std::vector<std::string> parts;
    for (const std::string& s : stage) {
      if (split_ == Split::kJson) {
        std::vector<std::string_view> objects;
        if (!SplitJsonObjects(s, &objects)) {
          *failure = {"Deaggregation.Failed", "The record is not a sequence of JSON objects"};
          return false;
        }
        for (auto o : objects) parts.emplace_back(o);
      } else {
        size_t at = 0;
        while (at <= s.size()) {
          const size_t next = s.find(split_delimiter_, at);
          const size_t end = next == std::string::npos ? s.size() : next;
          if (end > at) parts.push_back(s.substr(at, end - at));
          if (next == std::string::npos) break;
          at = next + split_delimiter_.size();
        }
      }
    }
    stage = std::move(parts);
  }
  for (std::string& s : stage) {
    ProcessedRecord r;
    if (jq_) {
      auto keys = jq_->Run(s);
      if (!keys.ok()) {
        out->clear();
        *failure = {"DynamicPartitioning.MetadataExtractionFailed", keys.status().message()};
        return false;
      }
      r.partition_keys = std::move(*keys);
    }
    r.data = std::move(s);
    if (append_delimiter_) r.data += delimiter_;
    out->push_back(std::move(r));
  }
  return true;
}

}  // namespace eventlake::delivery
