// Untrusted S3 requests through the front door into a real object store: the
// S3 route and query decoding, the aws-chunked upload framing (streamed into
// a sink as the server does), and the XML request bodies (DeleteObjects,
// tagging, versioning, CompleteMultipartUpload, bucket documents).

#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "api/front_door.h"
#include "api/s3.h"
#include "fuzz_world.h"
#include "http/request_parser.h"
#include "io/file_system.h"
#include "objects/object_store.h"

namespace {

using namespace eventlake;

struct World : fuzz::FrontDoorWorld {
  World() : FrontDoorWorld("s3", objects::ObjectStore::Migrations(), Clock::TimePoint(std::chrono::seconds(1'700'000'000)),
                           /*verify_signatures=*/false) {  // reach the operations
    objects::ObjectStoreOptions oo;
    oo.data_dir = dir;
    oo.zones = {"raw"};
    oo.lifecycle_interval = std::chrono::milliseconds(0);
    objects = std::move(*objects::ObjectStore::Open(*store, io::PosixFileSystem(), clock, oo));
    api::S3Options so;
    so.max_object_bytes = 1 << 20;
    so.min_part_bytes = 1;
    so.threads = 1;
    s3 = std::make_unique<api::S3Api>(*objects, so);
    door->SetS3(s3.get());
    door->SetReady({"fuzz"});
  }
  std::unique_ptr<objects::ObjectStore> objects;
  std::unique_ptr<api::S3Api> s3;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto req = http::ParseRequest(bytes, 64 * 1024, 1 << 20);
  if (!req.ok()) return 0;
  (void)world->door->BodyLimit(*req);
  // Bodies the server would stream go through the sink in small pieces.
  if (auto sink = world->door->StreamBody(*req)) {
    std::string body = std::move(req->body);
    req->body.clear();
    Status st;
    for (size_t at = 0; st.ok() && at < body.size(); at += 7) st = sink->Write(std::string_view(body).substr(at, 7));
    if (st.ok()) st = sink->Finish();
    req->body_sink = sink;
    req->body_status = st;
  }
  std::mutex mu;
  std::condition_variable cv;
  bool answered = false;
  world->door->Handle(std::move(*req), [&](HttpResponse&& r) {
    if (r.status < 100 || r.status > 599) std::abort();
    if (r.body_source) {  // drain a download
      std::string buf(4096, '\0');
      for (;;) {
        auto n = r.body_source->Read(buf.data(), buf.size());
        if (!n.ok() || *n == 0) break;
      }
    }
    std::lock_guard lock(mu);
    answered = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  if (!cv.wait_for(lock, std::chrono::seconds(20), [&] { return answered; })) std::abort();  // every request is answered
  return 0;
}
