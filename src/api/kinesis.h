// The Kinesis Data Streams API (JSON 1.1, target prefix Kinesis_20131202):
// decoding and validating every action, calling the streams room, and
// encoding the answers as the AWS SDKs expect them.
#pragma once

#include <string>

#include "api/context.h"
#include "api/json_service.h"
#include "common/clock.h"
#include "streams/stream_store.h"

namespace eventlake::api {

class KinesisApi {
 public:
  // `store` and `clock` must outlive the API. `iterator_key` signs shard
  // iterators so that they cannot be forged or altered.
  KinesisApi(streams::StreamStore& store, const Clock& clock, std::string iterator_key)
      : store_(store), clock_(clock), iterator_key_(std::move(iterator_key)) {}

  // The service table entry with every supported operation.
  JsonService Service();

 private:
  streams::StreamStore& store_;
  const Clock& clock_;
  const std::string iterator_key_;
};

}  // namespace eventlake::api
