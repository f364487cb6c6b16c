#include "coordinator/rotating_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "hearth/env.h"

namespace hearth::coordinator {
namespace {

std::string SegmentPath(const std::string& dir, const std::string& base, int64_t segment) {
  return absl::StrCat(dir, "/", base, ".", segment, ".log");
}

// Reads up to `n` bytes at `offset`; the bytes actually read.
std::string ReadAt(int fd, int64_t offset, int64_t n) {
  std::string out(static_cast<size_t>(std::max<int64_t>(n, 0)), '\0');
  int64_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, out.data() + got, static_cast<size_t>(n - got), offset + got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += r;
  }
  out.resize(static_cast<size_t>(got));
  return out;
}

int64_t FileSize(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// Splits complete lines (each ending in '\n') off the front of `text`; returns the bytes used.
size_t SplitLines(std::string_view text, std::vector<std::string>& out) {
  size_t used = 0;
  for (size_t nl; (nl = text.find('\n', used)) != std::string_view::npos; used = nl + 1)
    out.emplace_back(text.substr(used, nl - used));
  return used;
}

}  // namespace

RotatingLogWriter::RotatingLogWriter(std::string dir, std::string base, LogLimits limits)
    : dir_(std::move(dir)), base_(std::move(base)), limits_(limits) {
  limits_.segment_bytes = std::max<int64_t>(limits_.segment_bytes, 1024);
  limits_.segments = std::max(limits_.segments, 1);
  const std::vector<int64_t> existing = LogSegments(dir_, base_);
  error_ = Env::Default().CreateDirs(dir_);
  if (error_.ok()) error_ = OpenSegment(existing.empty() ? 0 : existing.back());
}

RotatingLogWriter::~RotatingLogWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Status RotatingLogWriter::OpenSegment(int64_t segment) {
  if (fd_ >= 0) ::close(fd_);
  const std::string path = SegmentPath(dir_, base_, segment);
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return ErrnoToStatus("cannot open log", path, errno);
  segment_ = segment;
  size_ = FileSize(fd_);
  // Rotation: drop the oldest segments beyond the limit.
  const std::vector<int64_t> segments = LogSegments(dir_, base_);
  for (size_t i = 0; i + limits_.segments < segments.size(); ++i)
    ::unlink(SegmentPath(dir_, base_, segments[i]).c_str());
  return absl::OkStatus();
}

Status RotatingLogWriter::Append(std::string_view line) {
  if (!error_.ok()) return error_;
  // A line never spans segments, so every segment holds whole lines.
  line = line.substr(0, static_cast<size_t>(limits_.segment_bytes - 1));
  const int64_t bytes = static_cast<int64_t>(line.size()) + 1;
  if (size_ > 0 && size_ + bytes > limits_.segment_bytes) {
    error_ = OpenSegment(segment_ + 1);
    if (!error_.ok()) return error_;
  }
  buffer_.assign(line);
  buffer_.push_back('\n');
  size_t written = 0;
  while (written < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + written, buffer_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = ErrnoToStatus("cannot write log", SegmentPath(dir_, base_, segment_), errno);
      return error_;
    }
    written += static_cast<size_t>(n);
  }
  size_ += bytes;
  return absl::OkStatus();
}

std::vector<int64_t> LogSegments(const std::string& dir, const std::string& base) {
  std::vector<int64_t> segments;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return segments;
  const std::string prefix = base + ".";
  while (const dirent* entry = ::readdir(d)) {
    std::string_view name = entry->d_name;
    if (!name.starts_with(prefix) || !name.ends_with(".log")) continue;
    name.remove_prefix(prefix.size());
    name.remove_suffix(4);
    int64_t segment = 0;
    if (!name.empty() && name.size() <= 18 &&
        absl::SimpleAtoi(absl::string_view(name.data(), name.size()), &segment) && segment >= 0 &&
        absl::StrCat(segment) == name)
      segments.push_back(segment);
  }
  ::closedir(d);
  std::sort(segments.begin(), segments.end());
  return segments;
}

std::vector<std::string> ReadLogLines(const std::string& dir, const std::string& base,
                                      LogCursor& cursor, int64_t max_bytes, bool* skipped) {
  std::vector<std::string> lines;
  const std::vector<int64_t> segments = LogSegments(dir, base);
  if (segments.empty()) return lines;
  if (cursor.segment < segments.front()) {
    cursor = {segments.front(), 0};
    if (skipped != nullptr) *skipped = true;
  }
  int64_t budget = std::max<int64_t>(max_bytes, 1);
  for (auto it = std::lower_bound(segments.begin(), segments.end(), cursor.segment);
       it != segments.end() && budget > 0; ++it) {
    if (*it != cursor.segment) cursor = {*it, 0};
    const int fd = ::open(SegmentPath(dir, base, *it).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // rotated away meanwhile
    const int64_t size = FileSize(fd);
    // At least one whole line, however long: grow the read until it holds a '\n'.
    for (int64_t want = budget; cursor.offset < size;) {
      const std::string chunk = ReadAt(fd, cursor.offset, std::min(want, size - cursor.offset));
      const size_t before = lines.size();
      const size_t used = SplitLines(chunk, lines);
      cursor.offset += static_cast<int64_t>(used);
      budget -= static_cast<int64_t>(used);
      if (lines.size() > before || static_cast<int64_t>(chunk.size()) < want) break;
      want *= 2;  // a line longer than the budget so far
    }
    const bool done_with_segment = cursor.offset >= size && std::next(it) != segments.end();
    ::close(fd);
    if (!done_with_segment) break;  // the writer may still append here
  }
  return lines;
}

std::vector<std::string> TailLogLines(const std::string& dir, const std::string& base, int lines,
                                      int64_t max_bytes, LogCursor* end) {
  std::vector<std::string> out;
  const std::vector<int64_t> segments = LogSegments(dir, base);
  if (end != nullptr) *end = segments.empty() ? LogCursor{} : LogCursor{segments.back(), 0};
  if (lines <= 0) return out;
  std::string text;  // the end of the log, newest segment last
  bool from_start = false;
  for (auto it = segments.rbegin(); it != segments.rend() && max_bytes > 0; ++it) {
    const int fd = ::open(SegmentPath(dir, base, *it).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    const int64_t size = FileSize(fd);
    const int64_t take = std::min(size, max_bytes);
    std::string piece = ReadAt(fd, size - take, take);
    if (it == segments.rbegin()) {
      // Only complete lines: a line being written is left for the follower.
      const size_t nl = piece.rfind('\n');
      piece.resize(nl == std::string::npos ? 0 : nl + 1);
      if (end != nullptr) *end = {*it, size - take + static_cast<int64_t>(piece.size())};
    }
    text.insert(0, piece);
    ::close(fd);
    max_bytes -= take;
    from_start = take == size && std::next(it) == segments.rend();
    if (std::count(text.begin(), text.end(), '\n') > lines) break;
  }
  // Without the log's beginning, the first line may be cut: drop it.
  size_t begin = 0;
  if (!from_start) {
    const size_t nl = text.find('\n');
    begin = nl == std::string::npos ? text.size() : nl + 1;
  }
  SplitLines(std::string_view(text).substr(begin), out);
  if (out.size() > static_cast<size_t>(lines)) out.erase(out.begin(), out.end() - lines);
  return out;
}

LogCursor EndOfLog(const std::string& dir, const std::string& base) {
  const std::vector<int64_t> segments = LogSegments(dir, base);
  if (segments.empty()) return {};
  const int64_t segment = segments.back();
  const int fd = ::open(SegmentPath(dir, base, segment).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {segment, 0};
  const int64_t size = FileSize(fd);
  // Back to the end of the last complete line, in case a write is under way.
  constexpr int64_t kLook = 64 << 10;
  const std::string end = ReadAt(fd, std::max<int64_t>(0, size - kLook), std::min(size, kLook));
  ::close(fd);
  const size_t nl = end.rfind('\n');
  const int64_t cut = nl == std::string::npos ? std::max<int64_t>(0, size - kLook)
                                              : size - static_cast<int64_t>(end.size() - nl - 1);
  return {segment, cut};
}

}  // namespace hearth::coordinator
