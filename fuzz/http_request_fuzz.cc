// Untrusted bytes from a socket: the HTTP parser with the server's limits, then
// the whole front door (protocol detection, SigV4 verification, gzip, form and
// S3 route decoding, error rendering) against a real key store.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "api/front_door.h"
#include "api/services.h"
#include "auth/audit.h"
#include "auth/keys.h"
#include "http/request_parser.h"
#include "meta/store.h"

namespace {

using namespace eventlake;

struct World {
  World() {
    dir = std::filesystem::temp_directory_path() / ("el-fuzz-http-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    store = std::move(*meta::OpenSqliteStore(dir + "/meta.db"));
    if (!store->Migrate(auth::KeyStore::Migrations()).ok()) std::abort();
    keys = std::move(*auth::KeyStore::Open(*store, "000000000000"));
    if (!keys->PutRootKey("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").ok()) std::abort();
    audit = std::move(*auth::AuditLog::Open(dir + "/audit"));
    verifier = std::make_unique<auth::Verifier>(*keys, clock);
    api::FrontDoorOptions opts;
    opts.server = {"us-east-1", "000000000000", "fuzz"};
    door = std::make_unique<api::FrontDoor>(opts, *verifier, authorizer, *audit, clock);
    for (auto& svc : api::AwsJsonServices()) door->AddJsonService(std::move(svc));
    door->SetReady({"fuzz"});
  }
  std::string dir;
  // The date of the AWS SigV4 test suite, so seeds from it verify.
  ManualClock clock{Clock::TimePoint(std::chrono::seconds(1440938160))};
  std::unique_ptr<meta::Store> store;
  std::unique_ptr<auth::KeyStore> keys;
  std::unique_ptr<auth::AuditLog> audit;
  std::unique_ptr<auth::Verifier> verifier;
  auth::Authorizer authorizer;
  std::unique_ptr<api::FrontDoor> door;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto req = http::ParseRequest(bytes, 64 * 1024, 1 << 20);
  if (!req.ok()) {
    HttpRequest empty;
    (void)world->door->Reject(empty, 400, req.status().message());
    return 0;
  }
  (void)world->door->BodyLimit(*req);
  bool answered = false;
  world->door->Handle(std::move(*req), [&](HttpResponse&& r) {
    answered = true;
    if (r.status < 100 || r.status > 599) std::abort();
  });
  if (!answered) std::abort();  // every request must be answered
  return 0;
}
