// Access keys: the table that maps an access key id to its secret and principal,
// kept in the control-plane store and cached in memory for the signature check.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/identity.h"
#include "common/status.h"
#include "meta/store.h"

namespace eventlake::auth {

class KeyStore {
 public:
  // The migrations that create this room's tables; apply before Open.
  static std::vector<meta::Migration> Migrations();

  // Loads every key of `store` into memory. `store` must outlive the KeyStore.
  static Result<std::unique_ptr<KeyStore>> Open(meta::Store& store, std::string account_id);

  // Makes (id, secret) the root key, replacing any earlier root key.
  Status PutRootKey(const std::string& id, const std::string& secret);

  // The active key with this id, or nullopt.
  std::optional<AccessKey> Lookup(std::string_view id) const;

 private:
  KeyStore(meta::Store& store, std::string account_id) : store_(store), account_id_(std::move(account_id)) {}
  Status Reload();

  meta::Store& store_;
  const std::string account_id_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, AccessKey> keys_;  // guarded by mu_
};

// Root credentials as the server uses them, and whether they were just made.
struct RootCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  enum class Source { kEnvironment, kFile, kGenerated } source;
  std::string file;  // where they are stored (kFile, kGenerated)
};

// Takes the root credentials from `env_id`/`env_secret` when both are set
// (InvalidArgument when only one is), else reads `<data_dir>/root-credentials.json`,
// else generates new ones and writes that file with mode 0600.
Result<RootCredentials> LoadOrCreateRootCredentials(const std::string& data_dir, const char* env_id,
                                                    const char* env_secret);

}  // namespace eventlake::auth
