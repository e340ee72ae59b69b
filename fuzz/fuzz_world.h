// What the front-door fuzzers share: a FrontDoor over a real meta store, key
// store and audit trail in a fresh temporary directory, on a fixed clock.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "api/front_door.h"
#include "auth/audit.h"
#include "auth/keys.h"
#include "meta/store.h"

namespace eventlake::fuzz {

struct FrontDoorWorld {
  // `migrations` beyond the key store's; `at` is the fixed time of the clock.
  FrontDoorWorld(const std::string& name, std::vector<meta::Migration> migrations, Clock::TimePoint at,
                 bool verify_signatures)
      : clock(at) {
    dir = std::filesystem::temp_directory_path() / ("el-fuzz-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = std::move(*meta::OpenSqliteStore(dir + "/meta.db"));
    auto all = auth::KeyStore::Migrations();
    for (auto& m : migrations) all.push_back(std::move(m));
    if (!store->Migrate(all).ok()) std::abort();
    keys = std::move(*auth::KeyStore::Open(*store, "000000000000"));
    if (!keys->PutRootKey("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").ok()) std::abort();
    audit = std::move(*auth::AuditLog::Open(dir + "/audit"));
    verifier = std::make_unique<auth::Verifier>(*keys, clock);
    api::FrontDoorOptions opts;
    opts.server = {"us-east-1", "000000000000", "fuzz"};
    opts.verify_signatures = verify_signatures;
    door = std::make_unique<api::FrontDoor>(opts, *verifier, authorizer, *audit, clock);
  }

  std::string dir;
  ManualClock clock;
  std::unique_ptr<meta::Store> store;
  std::unique_ptr<auth::KeyStore> keys;
  std::unique_ptr<auth::AuditLog> audit;
  std::unique_ptr<auth::Verifier> verifier;
  auth::Authorizer authorizer;
  std::unique_ptr<api::FrontDoor> door;
};

}  // namespace eventlake::fuzz
