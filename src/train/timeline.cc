// The training timeline: events buffered in memory and written as Chrome trace-event JSON.
#include "hearth/timeline.h"

#include <time.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/json.h"

namespace hearth {

Timeline& Timeline::Get() {
  static Timeline* timeline = new Timeline();  // never destroyed: threads may record at exit
  return *timeline;
}

int64_t Timeline::Now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

Status Timeline::Start(const std::string& path, int rank) {
  std::lock_guard<std::mutex> lock(mu_);
  if (file_ != nullptr)
    return absl::InvalidArgumentError(
        absl::StrFormat("timeline: already recording into %s", path_));
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr)
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s=%s: cannot write the timeline there: %s; give a file in a writable directory",
        kEnvironmentVariable, path, std::strerror(errno)));
  file_ = file;
  path_ = path;
  rank_ = rank;
  first_ = true;
  write_error_ = absl::OkStatus();
  buffer_.clear();
  buffer_.reserve(kFlushEvents);
  row_names_ = {{kTraining, "training"},
                {kProgress, "allreduce progress"},
                {kCheckpoint, "checkpoint saver"},
                {kStats, "step stats allreduce"}};
  std::fputs("[\n", file_);
  on_.store(true, std::memory_order_relaxed);
  return absl::OkStatus();
}

void Timeline::NameRow(int row, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [r, n] : row_names_)
    if (r == row) return;
  row_names_.emplace_back(row, name);
}

void Timeline::Complete(const char* name, const char* category, int64_t begin_ns, int64_t end_ns,
                        int row, int64_t arg) {
  if (!on()) return;
  Record({name, category, begin_ns, std::max(end_ns, begin_ns), row, arg});
}

void Timeline::Instant(const char* name, const char* category, int64_t at_ns, int row,
                       int64_t arg) {
  if (!on()) return;
  Record({name, category, at_ns, -1, row, arg});
}

void Timeline::Record(const Event& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (file_ == nullptr) return;
  buffer_.push_back(event);
  if (buffer_.size() >= kFlushEvents) FlushLocked();
}

namespace {

// Nanoseconds as microseconds with three decimals ("1234.567"), without printf's cost: the
// formatting is most of what recording an event costs.
void AppendMicros(std::string& out, int64_t ns) {
  absl::StrAppend(&out, ns / 1000, ".");
  const auto frac = static_cast<int>(ns % 1000);
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
}

}  // namespace

void Timeline::FlushLocked() {
  std::string out;
  out.reserve(buffer_.size() * 120);
  const std::string pid = absl::StrCat(",\"pid\":", rank_, ",\"tid\":");
  for (const Event& e : buffer_) {
    if (!first_) out += ",\n";
    first_ = false;
    out += "{\"name\":";
    json::AppendString(out, e.name);
    out += ",\"cat\":";
    json::AppendString(out, e.category);
    // Microseconds with nanosecond digits: the viewers take fractional timestamps.
    out += ",\"ts\":";
    AppendMicros(out, e.begin_ns);
    if (e.end_ns >= 0) {
      out += ",\"ph\":\"X\",\"dur\":";
      AppendMicros(out, e.end_ns - e.begin_ns);
    } else {
      out += ",\"ph\":\"i\",\"s\":\"t\"";
    }
    absl::StrAppend(&out, pid, e.row);
    if (e.arg >= 0) absl::StrAppend(&out, ",\"args\":{\"value\":", e.arg, "}");
    out += "}";
  }
  buffer_.clear();
  if (std::fwrite(out.data(), 1, out.size(), file_) != out.size() && write_error_.ok())
    write_error_ = absl::DataLossError(absl::StrFormat(
        "timeline %s: writing failed: %s (is the disk full?)", path_, std::strerror(errno)));
}

Status Timeline::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (file_ == nullptr) return absl::OkStatus();
  on_.store(false, std::memory_order_relaxed);
  FlushLocked();
  // Names for the viewer: the rank as the process, and each row.
  std::string meta;
  auto add = [&](const std::string& kind, int tid, const std::string& name) {
    meta += first_ ? "" : ",\n";
    first_ = false;
    meta += absl::StrFormat("{\"name\":\"%s\",\"ph\":\"M\",\"pid\":%d", kind, rank_);
    if (tid >= 0) absl::StrAppendFormat(&meta, ",\"tid\":%d", tid);
    meta += ",\"args\":{\"name\":";
    json::AppendString(meta, name);
    meta += "}}";
  };
  add("process_name", -1, absl::StrCat("rank ", rank_));
  for (const auto& [row, name] : row_names_) add("thread_name", row, name);
  meta += "\n]\n";
  std::fputs(meta.c_str(), file_);
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!closed && write_error_.ok())
    write_error_ = absl::DataLossError(
        absl::StrFormat("timeline %s: closing failed: %s", path_, std::strerror(errno)));
  return write_error_;
}

std::string TimelinePath(const std::string& path, int rank, int world) {
  if (world <= 1) return path;
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  const bool has_extension =
      dot != std::string::npos && (slash == std::string::npos || dot > slash);
  const std::string stem = has_extension ? path.substr(0, dot) : path;
  const std::string extension = has_extension ? path.substr(dot) : "";
  return absl::StrFormat("%s.rank%d%s", stem, rank, extension);
}

Status MergeTimelines(const std::string& path, int world) {
  std::string merged = "[\n";
  bool any = false;
  for (int rank = 0; rank < world; ++rank) {
    const std::string part = TimelinePath(path, rank, world);
    std::ifstream in(part);
    if (!in)
      return absl::NotFoundError(absl::StrFormat(
          "timeline: %s is not on this host (its rank ran elsewhere): open the rank files one by "
          "one",
          part));
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    absl::string_view events = absl::StripAsciiWhitespace(text);
    if (!absl::ConsumePrefix(&events, "[")) {
      return absl::DataLossError(absl::StrFormat("timeline: %s is not a trace-event array", part));
    }
    absl::ConsumeSuffix(&events, "]");
    events = absl::StripAsciiWhitespace(events);
    if (events.empty()) continue;
    if (any) merged += ",\n";
    merged.append(events.data(), events.size());
    any = true;
  }
  merged += "\n]\n";
  std::ofstream out(path, std::ios::trunc);
  out << merged;
  out.close();
  if (!out) return absl::DataLossError(absl::StrFormat("timeline: cannot write %s", path));
  return absl::OkStatus();
}

}  // namespace hearth
