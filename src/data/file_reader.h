// File access shared by the data readers: errno -> Status, whole-file reads, a reader that
// decompresses gzip transparently while still seeking cheaply in plain files, and positioned reads
// of plain files (a rank of a distributed job reading only its own records).
#pragma once

#include <cstdint>
#include <string>

#include "hearth/status.h"

namespace hearth::data_internal {

// The whole (decompressed, when gzip) content of `path`.
StatusOr<std::string> ReadFileToString(const std::string& path);

// Sequential reads with seeking over a plain or gzip file (zlib's gzread reads both). Files are
// opened under the data-file policy (hearth/data/file_access.h), gzip limits included.
class GzReader {
 public:
  static StatusOr<GzReader> Open(const std::string& path);
  GzReader(GzReader&& other) noexcept;
  GzReader& operator=(GzReader&& other) = delete;
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;
  ~GzReader();

  // Reads up to `n` bytes into `dst`; fewer only at the end of the data. An error for corrupt
  // gzip data.
  StatusOr<int64_t> Read(void* dst, int64_t n);
  // Moves to an absolute offset in the (decompressed) data. Plain files really seek; gzip files
  // decompress up to the offset.
  Status Seek(int64_t offset);
  // After a short read: whether gzip data ended mid-stream (a cut-off .gz file).
  bool gzip_truncated() const;
  // The size on disk of a plain file, or -1 for a gzip file (its data size is unknown until read).
  int64_t plain_size() const { return plain_size_; }
  const std::string& path() const { return path_; }

 private:
  GzReader(std::string path, void* file, int64_t plain_size)
      : path_(std::move(path)), file_(file), plain_size_(plain_size) {}
  // RESOURCE_EXHAUSTED once gzip data has inflated past the policy's limits (file_access.h).
  Status CheckInflation() const;

  std::string path_;
  void* file_;  // gzFile; kept opaque so this header does not pull in zlib.h
  int64_t plain_size_;
  int64_t compressed_size_ = 0;
  int64_t inflated_ = 0;
  int64_t max_inflated_ = 0;
  double max_ratio_ = 0;
};

// Positioned reads (pread) of a plain file: no buffering, so a read of n bytes costs n bytes of
// I/O and nothing more, wherever it is.
class PlainFile {
 public:
  static StatusOr<PlainFile> Open(const std::string& path);
  PlainFile(PlainFile&& other) noexcept;
  PlainFile& operator=(PlainFile&& other) = delete;
  PlainFile(const PlainFile&) = delete;
  PlainFile& operator=(const PlainFile&) = delete;
  ~PlainFile();

  // Reads up to `n` bytes at byte `offset` into `dst`; fewer only at the end of the file.
  StatusOr<int64_t> ReadAt(void* dst, int64_t n, int64_t offset) const;
  int64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  PlainFile(std::string path, int fd, int64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}

  std::string path_;
  int fd_;
  int64_t size_;
};

}  // namespace hearth::data_internal
