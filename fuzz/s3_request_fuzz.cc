// Untrusted S3 requests through the front door into a real object store: the
// S3 route and query decoding, the aws-chunked upload framing (streamed into
// a sink as the server does), and the XML request bodies (DeleteObjects,
// tagging, versioning, CompleteMultipartUpload, bucket documents).
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "api/front_door.h"
#include "api/s3.h"
#include "auth/audit.h"
#include "auth/keys.h"
#include "http/request_parser.h"
#include "io/file_system.h"
#include "meta/store.h"
#include "objects/object_store.h"

namespace {

using namespace eventlake;

struct World {
  World() {
    dir = std::filesystem::temp_directory_path() / ("el-fuzz-s3-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = std::move(*meta::OpenSqliteStore(dir + "/meta.db"));
    auto migrations = auth::KeyStore::Migrations();
    for (auto& m : objects::ObjectStore::Migrations()) migrations.push_back(m);
    if (!store->Migrate(migrations).ok()) std::abort();
    keys = std::move(*auth::KeyStore::Open(*store, "000000000000"));
    audit = std::move(*auth::AuditLog::Open(dir + "/audit"));
    verifier = std::make_unique<auth::Verifier>(*keys, clock);
    objects::ObjectStoreOptions oo;
    oo.data_dir = dir;
    oo.zones = {"raw"};
    objects = std::move(*objects::ObjectStore::Open(*store, io::PosixFileSystem(), clock, oo));
    api::S3Options so;
    so.max_object_bytes = 1 << 20;
    so.min_part_bytes = 1;
    so.threads = 1;
    s3 = std::make_unique<api::S3Api>(*objects, so);
    api::FrontDoorOptions opts;
    opts.server = {"us-east-1", "000000000000", "fuzz"};
    opts.verify_signatures = false;  // reach the operations
    door = std::make_unique<api::FrontDoor>(opts, *verifier, authorizer, *audit, clock);
    door->SetS3(s3.get());
    door->SetReady({"fuzz"});
  }
  std::string dir;
  ManualClock clock{Clock::TimePoint(std::chrono::seconds(1'700'000'000))};
  std::unique_ptr<meta::Store> store;
  std::unique_ptr<auth::KeyStore> keys;
  std::unique_ptr<auth::AuditLog> audit;
  std::unique_ptr<auth::Verifier> verifier;
  auth::Authorizer authorizer;
  std::unique_ptr<objects::ObjectStore> objects;
  std::unique_ptr<api::S3Api> s3;
  std::unique_ptr<api::FrontDoor> door;
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
