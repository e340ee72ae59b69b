// The Firehose API (JSON 1.1, target prefix Firehose_20150804): delivery
// streams to S3 destinations, direct puts, tags and encryption settings.
// Decodes and validates each action as AWS does, calls the delivery room
// (control-plane changes on the API's own threads: they commit to the meta
// store), and encodes the answers as the AWS SDKs expect them.
#pragma once

#include "api/json_service.h"
#include "common/thread_pool.h"
#include "delivery/delivery_service.h"

namespace eventlake::api {

class FirehoseApi {
 public:
  // `delivery` must outlive the API.
  explicit FirehoseApi(delivery::DeliveryService& delivery) : delivery_(delivery), pool_(2) {}

  JsonService Service();

 private:
  delivery::DeliveryService& delivery_;
  ThreadPool pool_;
};

}  // namespace eventlake::api
