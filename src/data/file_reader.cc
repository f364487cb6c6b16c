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
#include "hearth/data/file_access.h"
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
  HEARTH_ASSIGN_OR_RETURN(const int fd, OpenDataFile(path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoToStatus("cannot stat", path, err);
  }
  errno = 0;
  gzFile file = gzdopen(fd, "rb");  // owns fd from here
  if (file == nullptr) {
    ::close(fd);
    return ErrnoToStatus("cannot open", path, errno != 0 ? errno : ENOMEM);
  }
  // 256 KiB makes big files fast; a small file gets a buffer its size (zlib allocates it, and
  // twice over for output, on every open).
  gzbuffer(file, static_cast<unsigned>(std::clamp<int64_t>(st.st_size, 8 << 10, 256 << 10)));
  // gzdirect looks at the first bytes: a file without the gzip magic is read as it is.
  const int64_t plain_size = gzdirect(file) ? static_cast<int64_t>(st.st_size) : -1;
  GzReader reader(path, file, plain_size);
  reader.compressed_size_ = static_cast<int64_t>(st.st_size);
  const DataFilePolicy policy = CurrentDataFilePolicy();
  reader.max_inflated_ = policy.max_bytes;
  reader.max_ratio_ = policy.max_compression_ratio;
  return reader;
}

GzReader::GzReader(GzReader&& other) noexcept
    : path_(std::move(other.path_)),
      file_(other.file_),
      plain_size_(other.plain_size_),
      compressed_size_(other.compressed_size_),
      inflated_(other.inflated_),
      max_inflated_(other.max_inflated_),
      max_ratio_(other.max_ratio_) {
  other.file_ = nullptr;
}

Status GzReader::CheckInflation() const {
  if (plain_size_ >= 0) return absl::OkStatus();
  if (max_inflated_ > 0 && inflated_ > max_inflated_)
    return absl::ResourceExhaustedError(absl::StrCat(
        path_, ": the gzip data inflates to more than ", max_inflated_,
        " bytes, the limit for files read inside hearthd (--max-data-mb); use a smaller file, "
        "or raise the limit"));
  // Ratios of small files say little: the check starts past 1 MiB of output.
  if (max_ratio_ > 0 && inflated_ > (int64_t{1} << 20) &&
      static_cast<double>(inflated_) >
          max_ratio_ * static_cast<double>(std::max<int64_t>(compressed_size_, 1)))
    return absl::ResourceExhaustedError(absl::StrCat(
        path_, ": the gzip data inflates more than ", max_ratio_, " times its ", compressed_size_,
        " bytes, which real data does not (a \"zip bomb\"); it is refused "
        "(hearthd --max-gzip-ratio)"));
  return absl::OkStatus();
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
    inflated_ += got;
    HEARTH_RETURN_IF_ERROR(CheckInflation());
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
  // A gzip seek inflates everything before the offset: the limits apply to it first.
  inflated_ = std::max(inflated_, offset);
  HEARTH_RETURN_IF_ERROR(CheckInflation());
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
  HEARTH_ASSIGN_OR_RETURN(const int fd, OpenDataFile(path));
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
