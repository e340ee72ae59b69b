#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>

#include "io/file_system.h"
#include "io/files.h"

namespace eventlake::io {
namespace {

Status Errno(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " " + path + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(msg);
  if (err == EEXIST) return Status::AlreadyExists(msg);
  return Status::IoError(msg);
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path, uint64_t size) : fd_(fd), path_(std::move(path)), size_(size) {}
  ~PosixFile() override { ::close(fd_); }

  Status Append(std::string_view data) override {
    uint64_t offset = size_.load(std::memory_order_relaxed);
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    size_.store(offset, std::memory_order_release);
    return Status::Ok();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return Errno("fdatasync", path_, errno);
    return Status::Ok();
  }

  Status ReadAt(uint64_t offset, size_t n, std::string* out) const override {
    out->resize(n);
    EL_ASSIGN_OR_RETURN(size_t got, ReadInto(offset, out->data(), n));
    out->resize(got);
    return Status::Ok();
  }

  int NativeHandle() const override { return fd_; }

  void AdviseSequential() override { (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL); }

  Result<size_t> ReadInto(uint64_t offset, char* buf, size_t n) const override {
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, buf + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Errno("read", path_, errno);
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return Errno("truncate", path_, errno);
    size_.store(size, std::memory_order_release);
    return Status::Ok();
  }

  uint64_t Size() const override { return size_.load(std::memory_order_acquire); }

  void StartWriteback(uint64_t offset, uint64_t length) override {
    (void)::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(length), SYNC_FILE_RANGE_WRITE);
  }

  void ReleaseCache(uint64_t offset, uint64_t length) override {
    // Advice only: a failure changes nothing that matters.
    (void)::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(length), POSIX_FADV_DONTNEED);
  }

 private:
  const int fd_;
  const std::string path_;
  std::atomic<uint64_t> size_;  // the writer's end of file; readers see what was appended before
};

class Posix final : public FileSystem {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    int flags = O_RDWR | O_CLOEXEC | (mode == OpenMode::kCreateNew ? O_CREAT | O_EXCL : 0);
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return Errno("open", path, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return Errno("stat", path, err);
    }
    return std::unique_ptr<File>(new PosixFile(fd, path, static_cast<uint64_t>(st.st_size)));
  }

  Status WriteFileAtomically(const std::string& path, std::string_view contents) override {
    return io::WriteFileAtomically(path, contents, 0644);
  }

  Result<std::string> ReadFile(const std::string& path) override { return ReadWholeFile(path); }

  Result<std::vector<std::string>> List(const std::string& dir) override {
    std::error_code ec;
    std::vector<std::string> out;
    for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
      out.push_back(it->path().filename().string());
    }
    if (ec) return Errno("list", dir, ec.value());
    return out;
  }

  Status CreateDirs(const std::string& dir) override { return EnsureDirectory(dir); }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Errno("remove", path, errno);
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Errno("rename", from, errno);
    return Status::Ok();
  }

  Status SyncDir(const std::string& dir) override { return SyncDirectory(dir); }

  Status RemoveAll(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) return Status::IoError("remove " + dir + ": " + ec.message());
    return Status::Ok();
  }

  bool Exists(const std::string& path) override {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  }
};

}  // namespace

FileSystem& PosixFileSystem() {
  static Posix fs;
  return fs;
}

}  // namespace eventlake::io
