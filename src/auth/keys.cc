#include "auth/keys.h"

#include <nlohmann/json.hpp>

#include <mutex>

#include "auth/crypto.h"
#include "io/files.h"

namespace eventlake::auth {

Principal RootPrincipal(const std::string& account_id) {
  return Principal{"arn:aws:iam::" + account_id + ":root", account_id, account_id, true};
}

std::vector<meta::Migration> KeyStore::Migrations() {
  return {{100, "auth: access keys",
           "CREATE TABLE access_keys("
           "  access_key_id TEXT PRIMARY KEY,"
           "  secret_access_key TEXT NOT NULL,"
           "  principal_arn TEXT NOT NULL,"
           "  is_root INTEGER NOT NULL DEFAULT 0,"
           "  status TEXT NOT NULL DEFAULT 'Active',"
           "  created_at INTEGER NOT NULL);"}};
}

Result<std::unique_ptr<KeyStore>> KeyStore::Open(meta::Store& store, std::string account_id) {
  std::unique_ptr<KeyStore> ks(new KeyStore(store, std::move(account_id)));
  EL_RETURN_IF_ERROR(ks->Reload());
  return ks;
}

Status KeyStore::Reload() {
  EL_ASSIGN_OR_RETURN(auto rows, store_.Query("SELECT access_key_id, secret_access_key, principal_arn, is_root, "
                                               "status FROM access_keys"));
  std::unordered_map<std::string, AccessKey> keys;
  for (const auto& row : rows) {
    AccessKey k;
    k.id = meta::AsText(row[0]);
    k.secret = meta::AsText(row[1]);
    bool root = meta::AsInt(row[3]) != 0;
    k.principal = root ? RootPrincipal(account_id_) : Principal{meta::AsText(row[2]), account_id_, k.id, false};
    k.active = meta::AsText(row[4]) == "Active";
    keys.emplace(k.id, std::move(k));
  }
  std::unique_lock lock(mu_);
  keys_ = std::move(keys);
  return Status::Ok();
}

Status KeyStore::PutRootKey(const std::string& id, const std::string& secret) {
  Principal root = RootPrincipal(account_id_);
  EL_RETURN_IF_ERROR(store_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_RETURN_IF_ERROR(txn.Execute("DELETE FROM access_keys WHERE is_root = 1 OR access_key_id = ?", {id}).status());
    return txn
        .Execute("INSERT INTO access_keys(access_key_id, secret_access_key, principal_arn, is_root, status, "
                 "created_at) VALUES (?, ?, ?, 1, 'Active', strftime('%s','now'))",
                 {id, secret, root.arn})
        .status();
  }));
  return Reload();
}

std::optional<AccessKey> KeyStore::Lookup(std::string_view id) const {
  std::shared_lock lock(mu_);
  auto it = keys_.find(std::string(id));
  if (it == keys_.end() || !it->second.active) return std::nullopt;
  return it->second;
}

Result<RootCredentials> LoadOrCreateRootCredentials(const std::string& data_dir, const char* env_id,
                                                    const char* env_secret) {
  bool has_id = env_id && *env_id, has_secret = env_secret && *env_secret;
  if (has_id != has_secret) {
    return Status::InvalidArgument(
        "set both EVENTLAKE_ROOT_ACCESS_KEY_ID and EVENTLAKE_ROOT_SECRET_ACCESS_KEY, or neither");
  }
  if (has_id) {
    return RootCredentials{env_id, env_secret, RootCredentials::Source::kEnvironment, {}};
  }
  const std::string path = data_dir + "/root-credentials.json";
  auto existing = io::ReadWholeFile(path);
  if (existing.ok()) {
    auto doc = nlohmann::json::parse(*existing, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || !doc.value("AccessKeyId", nlohmann::json()).is_string() ||
        !doc.value("SecretAccessKey", nlohmann::json()).is_string()) {
      return Status::DataLoss(path + " is not a valid credentials file; remove it to generate new credentials");
    }
    return RootCredentials{doc["AccessKeyId"].get<std::string>(), doc["SecretAccessKey"].get<std::string>(),
                           RootCredentials::Source::kFile, path};
  }
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();

  // The shapes of AWS keys: 20 characters starting AKIA, 40-character secrets.
  RootCredentials creds{"AKIA" + RandomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
                        RandomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
                        RootCredentials::Source::kGenerated, path};
  // Format: docs/formats/data-directory.md.
  nlohmann::ordered_json doc = {
      {"Version", 1}, {"AccessKeyId", creds.access_key_id}, {"SecretAccessKey", creds.secret_access_key}};
  EL_RETURN_IF_ERROR(io::WriteFileAtomically(path, doc.dump(2) + "\n", 0600));
  return creds;
}

}  // namespace eventlake::auth
