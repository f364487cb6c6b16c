// GzReader and whole-file reads on top of zlib's gz* functions; PlainFile on top of pread.
#include "data/file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "hearth/env.h"

namespace hearth::data_internal {
namespace {

// gzread takes an unsigned int length.
constexpr int64_t kMaxChunk = int64_t{1} << 30;

gzFile AsGz(void* file) {
  return static_cast<gzFile>(file);
}

}  // namespace

StatusOr<GzReader> GzReader::Open(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoToStatus("cannot open", path, errno);
  if (S_ISDIR(st.st_mode)) return absl::InvalidArgumentError(path + ": is a directory");
  errno = 0;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return ErrnoToStatus("cannot open", path, errno != 0 ? errno : ENOMEM);
  gzbuffer(file, 256 * 1024);
  // gzdirect looks at the first bytes: a file without the gzip magic is read as it is.
  const int64_t plain_size = gzdirect(file) ? static_cast<int64_t>(st.st_size) : -1;
  return GzReader(path, file, plain_size);
}

GzReader::GzReader(GzReader&& other) noexcept
    : path_(std::move(other.path_)), file_(other.file_), plain_size_(other.plain_size_) {
  other.file_ = nullptr;
}

GzReader::~GzReader() {
  if (file_ != nullptr) gzclose(AsGz(file_));
}

StatusOr<int64_t> GzReader::Read(void* dst, int64_t n) {
  int64_t total = 0;
  char* out = static_cast<char*>(dst);
  while (total < n) {
    const int64_t want = std::min(n - total, kMaxChunk);
    const int got = gzread(AsGz(file_), out + total, static_cast<unsigned>(want));
    if (got < 0) {
      int errnum = 0;
      const char* message = gzerror(AsGz(file_), &errnum);
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": corrupt gzip data: ", message != nullptr ? message : "?"));
    }
    total += got;
    if (got < want) break;
  }
  return total;
}

bool GzReader::gzip_truncated() const {
  int errnum = 0;
  gzerror(AsGz(file_), &errnum);
  return errnum == Z_BUF_ERROR;
}

Status GzReader::Seek(int64_t offset) {
  if (gzseek(AsGz(file_), static_cast<z_off_t>(offset), SEEK_SET) < 0) {
    // Seeking past the end of gzip data fails; reads report the truncation with more detail.
    int errnum = 0;
    const char* message = gzerror(AsGz(file_), &errnum);
    if (errnum == Z_DATA_ERROR || errnum == Z_MEM_ERROR) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": corrupt gzip data: ", message != nullptr ? message : "?"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": truncated file: cannot reach byte offset ", offset));
  }
  return absl::OkStatus();
}

StatusOr<std::string> ReadFileToString(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(GzReader reader, GzReader::Open(path));
  std::string out;
  if (reader.plain_size() >= 0) {
    out.resize(static_cast<size_t>(reader.plain_size()));
    HEARTH_ASSIGN_OR_RETURN(int64_t got, reader.Read(out.data(), reader.plain_size()));
    out.resize(static_cast<size_t>(got));
    return out;
  }
  int64_t size = 0;
  int64_t capacity = 1 << 20;
  for (;;) {
    out.resize(static_cast<size_t>(capacity));
    HEARTH_ASSIGN_OR_RETURN(int64_t got, reader.Read(out.data() + size, capacity - size));
    size += got;
    if (size < capacity) break;
    capacity *= 2;
  }
  if (reader.gzip_truncated()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": truncated gzip file: the compressed data ends after ", size, " bytes"));
  }
  out.resize(static_cast<size_t>(size));
  return out;
}

StatusOr<PlainFile> PlainFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus("cannot open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoToStatus("cannot stat", path, err);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(path + ": is a directory");
  }
  return PlainFile(path, fd, static_cast<int64_t>(st.st_size));
}

PlainFile::PlainFile(PlainFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), size_(other.size_) {
  other.fd_ = -1;
}

PlainFile::~PlainFile() {
  if (fd_ >= 0) ::close(fd_);
}

StatusOr<int64_t> PlainFile::ReadAt(void* dst, int64_t n, int64_t offset) const {
  int64_t total = 0;
  char* out = static_cast<char*>(dst);
  while (total < n) {
    const int64_t want = std::min(n - total, kMaxChunk);
    const ssize_t got = ::pread(fd_, out + total, static_cast<size_t>(want), offset + total);
    if (got < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus("cannot read", path_, errno);
    }
    if (got == 0) break;
    total += got;
  }
  return total;
}

}  // namespace hearth::data_internal
