#include "api/services.h"

namespace eventlake::api {

std::vector<JsonService> AwsJsonServices() {
  std::vector<JsonService> out;
  auto add = [&](const char* prefix, const char* signing_name, size_t max_body) {
    JsonService s;
    s.target_prefix = prefix;
    s.signing_name = signing_name;
    s.max_body_bytes = max_body;
    out.push_back(std::move(s));
  };
  // Kinesis PutRecords carries up to 10 MiB of data, base64-encoded in JSON.
  add("Kinesis_20131202", "kinesis", 16 << 20);
  add("Firehose_20150804", "firehose", 8 << 20);
  add("AWSEvents", "events", 2 << 20);
  add("AWSGlue", "glue", 8 << 20);
  add("AmazonAthena", "athena", 2 << 20);
  return out;
}

}  // namespace eventlake::api
