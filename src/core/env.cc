// The POSIX Env, the atomic-write protocol every Env shares, and errno -> Status mapping.
#include "hearth/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/fault_injection.h"

namespace hearth {
namespace {

const char* HintFor(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return "the disk is full or over quota; free space or point the run directory at a larger "
             "volume";
    case EACCES:
    case EPERM:
      return "check the permissions of the file and its directory";
    case EROFS:
      return "the file system is read-only; choose a writable directory";
    case ENOENT:
      return "check that the path and its parent directory exist";
    case ENOTDIR:
      return "a component of the path is a file, not a directory";
    case EISDIR:
      return "the path is a directory; give a file path";
    case ENAMETOOLONG:
      return "use a shorter path";
    case EMFILE:
    case ENFILE:
      return "too many open files; raise the limit (ulimit -n)";
    case EIO:
      return "the device reported an I/O error; check it (dmesg) or use another disk";
    default:
      return "check the path and the file system";
  }
}

absl::StatusCode CodeFor(int err) {
  switch (err) {
    case ENOENT:
      return absl::StatusCode::kNotFound;
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
      return absl::StatusCode::kResourceExhausted;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case ENOTDIR:
    case EISDIR:
    case ENAMETOOLONG:
      return absl::StatusCode::kInvalidArgument;
    default:
      return absl::StatusCode::kInternal;
  }
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) override {
    // Fault point "write" (docs/reliability.md): a full disk (ENOSPC) by default.
    if (const int err = faults::FailureErrno("write", {{"path", path_}}, ENOSPC))
      return ErrnoToStatus("cannot write", path_, err);
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoToStatus("cannot write", path_, errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  Status Sync() override {
    if (const int err = faults::FailureErrno("fsync", {{"path", path_}}, EIO))
      return ErrnoToStatus("cannot fsync", path_, err);
    if (::fsync(fd_) != 0) return ErrnoToStatus("cannot fsync", path_, errno);
    return absl::OkStatus();
  }

  Status Close() override {
    if (fd_ < 0) return absl::OkStatus();
    const int rc = ::close(fd_);
    fd_ = -1;
    // close() can report a deferred write error (NFS, quota): it must not be ignored.
    if (rc != 0) return ErrnoToStatus("cannot close", path_, errno);
    return absl::OkStatus();
  }

 private:
  std::string path_;
  int fd_;
};

class PosixEnv final : public Env {
 public:
  StatusOr<std::string> ReadFile(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus("cannot open", path, errno);
    std::string out;
    struct stat st;
    if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
    char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        return ErrnoToStatus("cannot read", path, err);
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }

  StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoToStatus("cannot create", path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return ErrnoToStatus("cannot rename " + from + " to", to, errno);
    return absl::OkStatus();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoToStatus("cannot remove", path, errno);
    return absl::OkStatus();
  }

  Status SyncDir(const std::string& dir) override {
    if (const int err = faults::FailureErrno("fsync", {{"path", dir}}, EIO))
      return ErrnoToStatus("cannot fsync directory", dir, err);
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus("cannot open directory", dir, errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    // Some file systems cannot fsync a directory (EINVAL); there is nothing more we can do there.
    if (rc != 0 && err != EINVAL) return ErrnoToStatus("cannot fsync directory", dir, err);
    return absl::OkStatus();
  }

  StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoToStatus("cannot list directory", dir, errno);
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
      const std::string_view name = e->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    const int err = errno;
    ::closedir(d);
    if (err != 0) return ErrnoToStatus("cannot list directory", dir, err);
    std::sort(names.begin(), names.end());
    return names;
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Status CreateDirs(const std::string& dir) override {
    if (dir.empty()) return absl::InvalidArgumentError("CreateDirs: empty directory path");
    // Create each prefix ending before a '/', then the whole path.
    for (size_t pos = dir.find('/', 1);; pos = dir.find('/', pos + 1)) {
      const std::string prefix = dir.substr(0, pos);
      if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
        return ErrnoToStatus("cannot create directory", prefix, errno);
      if (pos == std::string::npos) break;
    }
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return ErrnoToStatus("cannot create directory", dir, errno);
    if (!S_ISDIR(st.st_mode)) return ErrnoToStatus("cannot create directory", dir, ENOTDIR);
    return absl::OkStatus();
  }
};

}  // namespace

Env& Env::Default() {
  static PosixEnv* env = new PosixEnv;  // leaked on purpose: usable during static destruction
  return *env;
}

Status ErrnoToStatus(std::string_view op, const std::string& path, int err) {
  return Status(CodeFor(err), absl::StrFormat("%s %s: %s (errno %d); %s", op, path,
                                              std::strerror(err), err, HintFor(err)));
}

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool IsAtomicWriteTempName(std::string_view name) {
  return name.find(".tmp-") != std::string_view::npos;
}

StatusOr<std::unique_ptr<AtomicFile>> Env::NewAtomicFile(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  // Unique per process and call, so concurrent writers of the same path never share a temp file.
  std::string tmp = absl::StrCat(path, ".tmp-", ::getpid(), "-", counter++);
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, NewWritableFile(tmp));
  return std::unique_ptr<AtomicFile>(new AtomicFile(*this, path, std::move(tmp), std::move(file)));
}

AtomicFile::~AtomicFile() {
  if (file_ == nullptr) return;
  file_.reset();
  // Best effort: the temp file is garbage either way, and `path` was never touched.
  if (env_.FileExists(temp_)) env_.RemoveFile(temp_).IgnoreError();
}

Status AtomicFile::Append(std::string_view data) {
  if (file_ == nullptr) return absl::FailedPreconditionError(path_ + ": already committed");
  return file_->Append(data);
}

Status AtomicFile::Commit() {
  if (file_ == nullptr) return absl::FailedPreconditionError(path_ + ": already committed");
  HEARTH_RETURN_IF_ERROR(file_->Sync());
  HEARTH_RETURN_IF_ERROR(file_->Close());
  HEARTH_RETURN_IF_ERROR(env_.RenameFile(temp_, path_));
  file_.reset();
  // Without this the rename itself may be lost in a power cut, resurrecting the old file.
  return env_.SyncDir(DirName(path_));
}

Status Env::WriteFileAtomically(const std::string& path, std::span<const std::string_view> pieces) {
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file, NewAtomicFile(path));
  for (std::string_view piece : pieces) HEARTH_RETURN_IF_ERROR(file->Append(piece));
  return file->Commit();
}

}  // namespace hearth
