#include "io/fault_injection_file_system.h"

#include <filesystem>

namespace eventlake::io {
namespace {

std::string Parent(const std::string& path) { return std::filesystem::path(path).parent_path().string(); }

}  // namespace

class FaultFile final : public File {
 public:
  FaultFile(FaultInjectionFileSystem& fs, std::shared_ptr<FaultInjectionFileSystem::Node> node, uint64_t generation)
      : fs_(fs), node_(std::move(node)), generation_(generation) {}

  Status Append(std::string_view data) override {
    std::lock_guard lock(fs_.mu_);
    if (Dead()) return Status::IoError("injected write failure");
    node_->data.append(data);
    return Status::Ok();
  }
  Status Sync() override {
    std::lock_guard lock(fs_.mu_);
    if (Dead()) return Status::IoError("injected sync failure");
    node_->durable_data = node_->data;
    return Status::Ok();
  }
  Status ReadAt(uint64_t offset, size_t n, std::string* out) const override {
    std::lock_guard lock(fs_.mu_);
    if (offset >= node_->data.size()) {
      out->clear();
    } else {
      *out = node_->data.substr(offset, n);
    }
    return Status::Ok();
  }
  Status Truncate(uint64_t size) override {
    std::lock_guard lock(fs_.mu_);
    if (Dead()) return Status::IoError("injected write failure");
    node_->data.resize(std::min<uint64_t>(size, node_->data.size()));
    return Status::Ok();
  }
  uint64_t Size() const override {
    std::lock_guard lock(fs_.mu_);
    return node_->data.size();
  }
  void ReleaseCache(uint64_t offset, uint64_t length) override {
    std::lock_guard lock(fs_.mu_);
    fs_.released_bytes_ += length;
    const std::string& durable = node_->durable_data;
    if (offset + length > durable.size() || node_->data.compare(0, offset + length, durable, 0, offset + length) != 0) {
      ++fs_.unsynced_releases_;
    }
  }

 private:
  // Caller holds fs_.mu_.
  bool Dead() const { return fs_.fail_writes_ || fs_.crashed_ || generation_ != fs_.generation_; }

  FaultInjectionFileSystem& fs_;
  std::shared_ptr<FaultInjectionFileSystem::Node> node_;
  const uint64_t generation_;
};

uint64_t FaultInjectionFileSystem::released_bytes() {
  std::lock_guard lock(mu_);
  return released_bytes_;
}

int FaultInjectionFileSystem::unsynced_releases() {
  std::lock_guard lock(mu_);
  return unsynced_releases_;
}

Result<std::unique_ptr<File>> FaultInjectionFileSystem::Open(const std::string& path, OpenMode mode) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (mode == OpenMode::kCreateNew) {
    if (it != files_.end()) return Status::AlreadyExists("open " + path + ": exists");
    if (!dirs_.count(Parent(path))) return Status::NotFound("open " + path + ": no such directory");
    if (fail_writes_ || crashed_) return Status::IoError("injected create failure");
    auto node = std::make_shared<Node>();
    files_[path] = node;
    return std::unique_ptr<File>(new FaultFile(*this, node, generation_));
  }
  if (it == files_.end()) return Status::NotFound("open " + path + ": no such file");
  return std::unique_ptr<File>(new FaultFile(*this, it->second, generation_));
}

Status FaultInjectionFileSystem::WriteFileAtomically(const std::string& path, std::string_view contents) {
  std::lock_guard lock(mu_);
  if (fail_writes_ || crashed_) return Status::IoError("injected write failure");
  if (!dirs_.count(Parent(path))) return Status::NotFound("write " + path + ": no such directory");
  auto node = std::make_shared<Node>();
  node->data = node->durable_data = std::string(contents);
  files_[path] = node;
  durable_files_[path] = node;
  return Status::Ok();
}

Result<std::string> FaultInjectionFileSystem::ReadFile(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return Status::NotFound("read " + path + ": no such file");
  return it->second->data;
}

Result<std::vector<std::string>> FaultInjectionFileSystem::List(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (!dirs_.count(dir)) return Status::NotFound("list " + dir + ": no such directory");
  std::vector<std::string> out;
  for (const auto& [path, node] : files_) {
    if (Parent(path) == dir) out.push_back(std::filesystem::path(path).filename().string());
  }
  for (const auto& d : dirs_) {
    if (Parent(d) == dir && d != dir) out.push_back(std::filesystem::path(d).filename().string());
  }
  return out;
}

Status FaultInjectionFileSystem::CreateDirs(const std::string& dir) {
  std::lock_guard lock(mu_);
  // Directories are durable at once: the tests are about files within them.
  for (std::filesystem::path p = dir; !p.empty() && p != p.root_path(); p = p.parent_path()) dirs_.insert(p.string());
  return Status::Ok();
}

Status FaultInjectionFileSystem::Remove(const std::string& path) {
  std::lock_guard lock(mu_);
  if (fail_writes_ || crashed_) return Status::IoError("injected remove failure");
  if (files_.erase(path) == 0) return Status::NotFound("remove " + path + ": no such file");
  return Status::Ok();
}

Status FaultInjectionFileSystem::Rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  if (fail_writes_ || crashed_) return Status::IoError("injected rename failure");
  auto it = files_.find(from);
  if (it == files_.end()) return Status::NotFound("rename " + from + ": no such file");
  if (!dirs_.count(Parent(to))) return Status::NotFound("rename to " + to + ": no such directory");
  auto node = it->second;
  files_.erase(it);
  files_[to] = std::move(node);
  return Status::Ok();
}

Status FaultInjectionFileSystem::SyncDir(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (fail_writes_ || crashed_) return Status::IoError("injected sync failure");
  for (auto it = durable_files_.begin(); it != durable_files_.end();) {
    if (Parent(it->first) == dir && !files_.count(it->first)) {
      it = durable_files_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [path, node] : files_) {
    if (Parent(path) == dir) durable_files_[path] = node;
  }
  return Status::Ok();
}

Status FaultInjectionFileSystem::RemoveAll(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (fail_writes_ || crashed_) return Status::IoError("injected remove failure");
  const std::string prefix = dir + "/";
  for (auto it = files_.begin(); it != files_.end();) {
    it = it->first.compare(0, prefix.size(), prefix) == 0 ? files_.erase(it) : std::next(it);
  }
  for (auto it = durable_files_.begin(); it != durable_files_.end();) {
    // Directory removal is modelled as durable at once, like creation.
    it = it->first.compare(0, prefix.size(), prefix) == 0 ? durable_files_.erase(it) : std::next(it);
  }
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    it = (*it == dir || it->compare(0, prefix.size(), prefix) == 0) ? dirs_.erase(it) : std::next(it);
  }
  return Status::Ok();
}

bool FaultInjectionFileSystem::Exists(const std::string& path) {
  std::lock_guard lock(mu_);
  return files_.count(path) > 0 || dirs_.count(path) > 0;
}

void FaultInjectionFileSystem::Crash() {
  std::lock_guard lock(mu_);
  files_.clear();
  for (const auto& [path, node] : durable_files_) {
    // Fresh nodes: files opened before the crash keep writing into the old ones, unseen.
    auto survivor = std::make_shared<Node>();
    survivor->data = survivor->durable_data = node->durable_data;
    files_[path] = survivor;
  }
  durable_files_ = files_;
  crashed_ = true;
  ++generation_;
}

void FaultInjectionFileSystem::Restart() {
  std::lock_guard lock(mu_);
  crashed_ = false;
}

void FaultInjectionFileSystem::FailWrites(bool fail) {
  std::lock_guard lock(mu_);
  fail_writes_ = fail;
}

Status FaultInjectionFileSystem::Corrupt(const std::string& path, uint64_t offset, std::string_view bytes) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return Status::NotFound("corrupt " + path + ": no such file");
  Node& n = *it->second;
  if (offset + bytes.size() > n.data.size()) return Status::InvalidArgument("corrupt past the end of " + path);
  n.data.replace(offset, bytes.size(), bytes);
  if (offset + bytes.size() <= n.durable_data.size()) n.durable_data.replace(offset, bytes.size(), bytes);
  return Status::Ok();
}

}  // namespace eventlake::io
