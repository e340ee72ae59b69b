#include "objects/blob_store.h"

#include "common/ids.h"

namespace eventlake::objects {

const char* TierName(Tier tier) { return tier == Tier::kCold ? "cold" : "hot"; }

std::optional<Tier> ParseTier(std::string_view name) {
  if (name == "hot") return Tier::kHot;
  if (name == "cold") return Tier::kCold;
  return std::nullopt;
}

namespace {

std::string NewBlobId() {
  char buf[33];
  snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(FastRandom64()),
           static_cast<unsigned long long>(FastRandom64()));
  return std::string(buf, 32);
}

class LocalBlobStore final : public BlobStore {
 public:
  LocalBlobStore(io::FileSystem& fs, std::string root, std::string cold_root)
      : fs_(fs), tmp_dir_(root + "/tmp"), hot_dir_(root + "/blobs"), cold_dir_(cold_root + "/blobs") {}

  Status Init() {
    EL_RETURN_IF_ERROR(fs_.CreateDirs(tmp_dir_));
    EL_RETURN_IF_ERROR(fs_.CreateDirs(hot_dir_));
    return fs_.CreateDirs(cold_dir_);
  }

  std::string Dir(const std::string& id, Tier tier) const {
    return (tier == Tier::kCold ? cold_dir_ : hot_dir_) + "/" + id.substr(0, 2);
  }
  std::string Path(const std::string& id, Tier tier) const { return Dir(id, tier) + "/" + id; }

  class FileWriter final : public Writer {
   public:
    FileWriter(LocalBlobStore& store, std::string id, std::string path, std::unique_ptr<io::File> file)
        : store_(store), id_(std::move(id)), path_(std::move(path)), file_(std::move(file)) {}
    ~FileWriter() override {
      file_.reset();
      if (!committed_) store_.fs_.Remove(path_).IgnoreError();
    }
    Status Write(std::string_view bytes) override {
      EL_RETURN_IF_ERROR(file_->Append(bytes));
      size_ += bytes.size();
      // Large uploads go to the disk while they arrive, so that the fsync at
      // the end waits for the last few megabytes only.
      if (size_ - written_back_ >= kWritebackBytes) {
        file_->StartWriteback(written_back_, size_ - written_back_);
        written_back_ = size_;
      }
      return Status::Ok();
    }
    Status Flush() override {
      EL_RETURN_IF_ERROR(file_->Sync());
      synced_ = size_;
      return Status::Ok();
    }
    uint64_t size() const override { return size_; }
    const std::string& id() const override { return id_; }
    Status Commit() override {
      // Into place first, then one sync: the journal commit that makes the bytes durable carries the
      // new name too, so the directory's sync has nothing left to wait for. Until the metadata refers
      // to it, a blob in blobs/ is an orphan that the next start removes.
      const std::string dir = store_.Dir(id_, Tier::kHot), final_path = store_.Path(id_, Tier::kHot);
      EL_RETURN_IF_ERROR(store_.fs_.CreateDirs(dir));
      EL_RETURN_IF_ERROR(store_.fs_.Rename(path_, final_path));
      path_ = final_path;  // what to remove if this fails
      if (synced_ != size_) EL_RETURN_IF_ERROR(file_->Sync());
      EL_RETURN_IF_ERROR(store_.fs_.SyncDir(dir));
      committed_ = true;
      return Status::Ok();
    }

   private:
    static constexpr uint64_t kWritebackBytes = 8 << 20;
    LocalBlobStore& store_;
    std::string id_, path_;
    std::unique_ptr<io::File> file_;
    uint64_t size_ = 0, written_back_ = 0;
    std::optional<uint64_t> synced_;  // the size at the last Flush()
    bool committed_ = false;
  };

  class FileReader final : public Reader {
   public:
    explicit FileReader(std::unique_ptr<io::File> file) : file_(std::move(file)) {}
    Result<size_t> ReadAt(uint64_t offset, char* buf, size_t n) override { return file_->ReadInto(offset, buf, n); }
    int NativeHandle() const override { return file_->NativeHandle(); }

   private:
    std::unique_ptr<io::File> file_;
  };

  Result<std::unique_ptr<Writer>> Create() override {
    std::string id = NewBlobId();
    std::string path = tmp_dir_ + "/" + id;
    EL_ASSIGN_OR_RETURN(auto file, fs_.Open(path, io::FileSystem::OpenMode::kCreateNew));
    return std::unique_ptr<Writer>(new FileWriter(*this, std::move(id), std::move(path), std::move(file)));
  }

  Result<std::string> LocalPath(const std::string& id, Tier tier) const override { return Path(id, tier); }

  Result<std::unique_ptr<Reader>> Open(const std::string& id, Tier tier) override {
    EL_ASSIGN_OR_RETURN(auto file, fs_.Open(Path(id, tier), io::FileSystem::OpenMode::kOpenExisting));
    file->AdviseSequential();  // objects are mostly read whole, or in long ranges
    return std::unique_ptr<Reader>(new FileReader(std::move(file)));
  }

  Status Remove(const std::string& id, Tier tier) override { return fs_.Remove(Path(id, tier)); }

  Status Copy(const std::string& id, Tier from, Tier to) override {
    // Whole and durable under its name before anyone may refer to it.
    const std::string dir = Dir(id, to), tmp = Path(id, to) + ".tmp";
    EL_RETURN_IF_ERROR(fs_.CreateDirs(dir));
    EL_ASSIGN_OR_RETURN(auto src, fs_.Open(Path(id, from), io::FileSystem::OpenMode::kOpenExisting));
    fs_.Remove(tmp).IgnoreError();
    EL_ASSIGN_OR_RETURN(auto dst, fs_.Open(tmp, io::FileSystem::OpenMode::kCreateNew));
    std::string buf;
    for (uint64_t off = 0;;) {
      EL_RETURN_IF_ERROR(src->ReadAt(off, 1 << 20, &buf));
      if (buf.empty()) break;
      EL_RETURN_IF_ERROR(dst->Append(buf));
      off += buf.size();
    }
    EL_RETURN_IF_ERROR(dst->Sync());
    dst.reset();
    EL_RETURN_IF_ERROR(fs_.Rename(tmp, Path(id, to)));
    return fs_.SyncDir(dir);
  }

  Status ForEach(const std::function<void(const std::string& id, Tier tier)>& fn) override {
    for (Tier tier : {Tier::kHot, Tier::kCold}) {
      const std::string& dir = tier == Tier::kCold ? cold_dir_ : hot_dir_;
      auto subdirs = fs_.List(dir);
      if (!subdirs.ok()) continue;
      for (const auto& sub : *subdirs) {
        auto files = fs_.List(dir + "/" + sub);
        if (!files.ok()) continue;
        for (const auto& name : *files) fn(name, tier);  // a leftover "<id>.tmp" is no blob id: swept too
      }
    }
    return Status::Ok();
  }

  Result<size_t> DiscardUnfinished() override {
    EL_ASSIGN_OR_RETURN(auto leftovers, fs_.List(tmp_dir_));
    for (const auto& name : leftovers) EL_RETURN_IF_ERROR(fs_.Remove(tmp_dir_ + "/" + name));
    return leftovers.size();
  }

 private:
  io::FileSystem& fs_;
  const std::string tmp_dir_, hot_dir_, cold_dir_;
};

}  // namespace

Result<std::unique_ptr<BlobStore>> NewLocalBlobStore(io::FileSystem& fs, std::string root, std::string cold_root) {
  auto store = std::make_unique<LocalBlobStore>(fs, std::move(root), std::move(cold_root));
  EL_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<BlobStore>(std::move(store));
}

}  // namespace eventlake::objects
