// The data-file policy (hearth/data/file_access.h): openat2 beneath a root, checks on the opened
// descriptor, and a component-by-component O_NOFOLLOW walk where openat2 is missing.
#include "hearth/data/file_access.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "hearth/env.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;

struct PolicyHolder {
  std::mutex mu;
  std::shared_ptr<const DataFilePolicy> current = std::make_shared<DataFilePolicy>();
};

PolicyHolder& Holder() {
  static auto* holder = new PolicyHolder;  // leaked: readers may run during static destruction
  return *holder;
}

std::shared_ptr<const DataFilePolicy> Current() {
  PolicyHolder& h = Holder();
  std::lock_guard lock(h.mu);
  return h.current;
}

bool Within(const std::string& path, const std::string& dir) {
  if (dir == "/") return !path.empty() && path[0] == '/';
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

// Without openat2 (kernels before 5.6): every component opened with O_NOFOLLOW, so no symlink is
// followed at all, and ".." is refused.
int WalkBeneath(int root_fd, const std::string& relative, int flags) {
  std::vector<std::string> parts = absl::StrSplit(relative, '/', absl::SkipEmpty());
  int dir = ::dup(root_fd);
  for (size_t i = 0; dir >= 0 && i < parts.size(); ++i) {
    if (parts[i] == "..") {
      ::close(dir);
      errno = EXDEV;
      return -1;
    }
    if (parts[i] == ".") continue;
    const bool last = i + 1 == parts.size();
    const int next = ::openat(dir, parts[i].c_str(),
                              last ? flags | O_NOFOLLOW : O_PATH | O_DIRECTORY | O_NOFOLLOW);
    const int err = errno;
    ::close(dir);
    if (next < 0) {
      errno = err == ELOOP ? EXDEV : err;  // a symlink: as openat2 reports an escape
      return -1;
    }
    dir = next;
  }
  return dir;
}

int OpenBeneath(const std::string& root, const std::string& relative, int flags) {
  const int root_fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return -1;
  open_how how{};
  how.flags = static_cast<uint64_t>(flags);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof(how)));
  if (fd < 0 && errno == ENOSYS) fd = WalkBeneath(root_fd, relative, flags);
  const int err = errno;
  ::close(root_fd);
  errno = err;
  return fd;
}

std::string RootList(const DataFilePolicy& policy) {
  return absl::StrJoin(policy.roots, ", ");
}

Status Refuse(int fd, Status status) {
  ::close(fd);
  return status;
}

}  // namespace

StatusOr<std::string> PathOfDescriptor(int fd) {
  std::error_code error;
  const fs::path path = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), error);
  if (error)
    return absl::InternalError(
        absl::StrCat("cannot tell the path of descriptor ", fd, ": ", error.message()));
  return path.string();
}

Status SetDataFilePolicy(DataFilePolicy policy) {
  for (std::string& root : policy.roots) {
    std::error_code error;
    const fs::path canonical = fs::canonical(root, error);
    if (error || !fs::is_directory(canonical))
      return absl::InvalidArgumentError(absl::StrCat(
          "data root ", root, ": not an existing directory; create it or pass another"));
    root = canonical.string();
  }
  for (std::string& excluded : policy.excluded) {
    std::error_code error;
    const fs::path canonical = fs::weakly_canonical(excluded, error);
    if (!error) excluded = canonical.string();
  }
  auto made = std::make_shared<const DataFilePolicy>(std::move(policy));
  PolicyHolder& h = Holder();
  std::lock_guard lock(h.mu);
  h.current = std::move(made);
  return absl::OkStatus();
}

DataFilePolicy CurrentDataFilePolicy() {
  return *Current();
}

StatusOr<int> OpenDataFile(const std::string& path) {
  return OpenDataFile(path, *Current());
}

StatusOr<int> OpenDataFile(const std::string& path, const DataFilePolicy& policy) {
  if (path.empty()) return absl::InvalidArgumentError("empty data path");
  // O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it.
  const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | (policy.regular_files_only ? O_NONBLOCK : 0);
  int fd = -1;
  if (policy.roots.empty()) {
    fd = ::open(path.c_str(), flags);
    if (fd < 0) return ErrnoToStatus("cannot open", path, errno);
  } else {
    const fs::path given =
        fs::path(path).is_absolute() ? fs::path(path) : fs::path(policy.roots[0]) / path;
    std::string normal = given.lexically_normal().string();
    const std::string* root = nullptr;
    for (const std::string& r : policy.roots)
      if (Within(normal, r)) root = &r;
    if (root == nullptr) {
      // Named through another name of a root (a symlink to it): try the resolved path.
      std::error_code error;
      const std::string resolved = fs::weakly_canonical(given, error).string();
      for (const std::string& r : policy.roots)
        if (!error && Within(resolved, r)) {
          root = &r;
          normal = resolved;
        }
    }
    if (root == nullptr)
      return absl::PermissionDeniedError(
          absl::StrCat(path, " is outside the data roots (", RootList(policy),
                       "); put the data under a root or start hearthd with another --data-root"));
    const std::string relative =
        normal.size() > root->size() ? normal.substr(root->size() + (*root == "/" ? 0 : 1)) : ".";
    fd = OpenBeneath(*root, relative, flags);
    if (fd < 0 && (errno == EXDEV || errno == ELOOP)) {
      // A symlink that openat2 will not follow beneath the root (an absolute one): where it
      // really leads, if that is beneath a root, is opened the same careful way.
      std::error_code error;
      const std::string resolved = fs::canonical(given, error).string();
      for (const std::string& r : policy.roots)
        if (!error && Within(resolved, r) && resolved != r) {
          fd = OpenBeneath(r, resolved.substr(r.size() + (r == "/" ? 0 : 1)), flags);
          root = &r;
          break;
        }
      if (fd < 0 && errno != ENOENT) errno = EXDEV;
    }
    if (fd < 0) {
      const int err = errno;
      if (err == EXDEV || err == ELOOP)
        return absl::PermissionDeniedError(
            absl::StrCat(path, " leads outside the data root ", *root,
                         " (through a symlink or \"..\"); put the data itself under the root"));
      if (err == ENOENT)
        return absl::NotFoundError(
            absl::StrCat(path, " does not exist (data roots: ", RootList(policy), ")"));
      return ErrnoToStatus("cannot open", path, err);
    }
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    return Refuse(fd, ErrnoToStatus("cannot stat", path, err));
  }
  if (S_ISDIR(st.st_mode))
    return Refuse(fd, absl::InvalidArgumentError(path + ": is a directory; give a data file"));
  if (policy.regular_files_only && !S_ISREG(st.st_mode))
    return Refuse(fd, absl::InvalidArgumentError(absl::StrCat(
                          path,
                          ": not a regular file (a FIFO, socket or device); hearthd reads "
                          "only regular files: copy the data into a file")));
  if (policy.max_bytes > 0 && S_ISREG(st.st_mode) && st.st_size > policy.max_bytes)
    return Refuse(fd, absl::ResourceExhaustedError(absl::StrCat(
                          path, ": ", st.st_size, " bytes, more than the ", policy.max_bytes,
                          " hearthd reads itself (--max-data-mb); use a smaller file, or raise "
                          "the limit")));
  // Excluded files by identity too, so a hard link to one (same inode) is refused as well.
  for (const std::string& excluded : policy.excluded) {
    struct stat own;
    if (::stat(excluded.c_str(), &own) == 0 && !S_ISDIR(own.st_mode) && own.st_dev == st.st_dev &&
        own.st_ino == st.st_ino)
      return Refuse(fd, absl::PermissionDeniedError(absl::StrCat(
                            path,
                            " is one of hearthd's own files (a token, key or database); it "
                            "is never read as data")));
  }
  if (!policy.excluded.empty() || !policy.roots.empty()) {
    StatusOr<std::string> opened = PathOfDescriptor(fd);
    if (!opened.ok()) return Refuse(fd, opened.status());
    const std::string& real = *opened;
    for (const std::string& excluded : policy.excluded)
      if (Within(real, excluded))
        return Refuse(fd, absl::PermissionDeniedError(absl::StrCat(
                              path, " is inside hearthd's own files (", excluded,
                              "): its database, logs and checkpoints are never read as data")));
  }
  if (policy.regular_files_only) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace hearth
