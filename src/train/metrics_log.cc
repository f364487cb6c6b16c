// metrics.jsonl: MetricsRecord and its JSON form, the append-only writer, and the reader.
#include "hearth/report.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <variant>

#include "absl/strings/str_cat.h"
#include "core/json.h"
#include "train/report_text.h"

namespace hearth {
namespace report {

std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80             ? 1
                       : (c & 0xe0) == 0xc0 ? 2
                       : (c & 0xf0) == 0xe0 ? 3
                       : (c & 0xf8) == 0xf0 ? 4
                                            : 0;
    // json::IsValidUtf8 owns the rules (overlong forms, surrogates); reuse it per sequence.
    if (len > 0 && i + len <= s.size() && json::IsValidUtf8(s.substr(i, len))) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

void AppendJsonNumber(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[40];
  std::to_chars_result r;
  const bool is_float = std::fabs(v) <= std::numeric_limits<float>::max() &&
                        static_cast<double>(static_cast<float>(v)) == v;
  if (is_float)
    r = std::to_chars(buf, buf + sizeof(buf), static_cast<float>(v));
  else
    r = std::to_chars(buf, buf + sizeof(buf), v);
  const std::string_view text(buf, r.ptr - buf);
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

}  // namespace report

namespace {

using Value = MetricsRecord::Value;

Status LineError(std::string_view name, size_t line, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(name), ":", line, ": ", std::string(what),
                   "; each line of a metrics log must be one flat JSON object (fix or delete the "
                   "line)"));
}

// One parsed line as a record. Errors are the bare reason; the caller adds file and line.
StatusOr<MetricsRecord> ParseLine(std::string_view text) {
  HEARTH_ASSIGN_OR_RETURN(json::Value v, json::Parse(text));
  if (!v.is_object()) return absl::InvalidArgumentError("not a JSON object");
  MetricsRecord record;
  for (const auto& [key, key_pos, member] : v.object) {
    switch (member.type) {
      case json::Value::Type::kNull:
        record.SetNull(key);
        break;
      case json::Value::Type::kBool:
        record.SetBool(key, member.boolean);
        break;
      case json::Value::Type::kString:
        record.SetString(key, member.text);
        break;
      case json::Value::Type::kNumber: {
        int64_t i;
        double d;
        if (member.text.find_first_of(".eE") == std::string::npos && member.AsInt64(&i)) {
          record.SetInt(key, i);
        } else if (member.AsDouble(&d)) {
          record.SetNumber(key, d);
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat("the number ", member.text, " of \"", key, "\" is out of range"));
        }
        break;
      }
      case json::Value::Type::kArray:
      case json::Value::Type::kObject:
        return absl::InvalidArgumentError(
            absl::StrCat("the value of \"", key, "\" is an array or object"));
    }
  }
  return record;
}

}  // namespace

MetricsRecord& MetricsRecord::Set(std::string_view key, Value v) {
  for (auto& [k, old] : fields_) {
    if (k == key) {
      old = std::move(v);
      return *this;
    }
  }
  fields_.emplace_back(std::string(key), std::move(v));
  return *this;
}

const MetricsRecord::Value* MetricsRecord::Find(std::string_view key) const {
  for (const auto& [k, v] : fields_)
    if (k == key) return &v;
  return nullptr;
}

double MetricsRecord::Number(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr) return std::nan("");
  if (const auto* d = std::get_if<double>(v)) return *d;
  if (const auto* i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
  return std::nan("");
}

std::optional<std::string> MetricsRecord::String(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  return std::nullopt;
}

std::string MetricsRecord::type() const {
  return String("type").value_or("");
}

std::string MetricsRecord::ToJson() const {
  std::string out = "{";
  for (const auto& [key, value] : fields_) {
    if (out.size() > 1) out += ',';
    json::AppendString(out, report::SanitizeUtf8(key));
    out += ':';
    if (std::holds_alternative<std::monostate>(value)) {
      out += "null";
    } else if (const auto* b = std::get_if<bool>(&value)) {
      out += *b ? "true" : "false";
    } else if (const auto* i = std::get_if<int64_t>(&value)) {
      absl::StrAppend(&out, *i);
    } else if (const auto* d = std::get_if<double>(&value)) {
      report::AppendJsonNumber(out, *d);
    } else {
      json::AppendString(out, report::SanitizeUtf8(std::get<std::string>(value)));
    }
  }
  out += '}';
  return out;
}

MetricsRecord StepRecord::ToRecord() const {
  MetricsRecord r;
  r.SetString("type", "step")
      .SetInt("step", step)
      .SetInt("epoch", epoch)
      .SetNumber("loss", loss)
      .SetNumber("lr", lr)
      .SetNumber("examples_per_second", examples_per_second)
      .SetNumber("time", time);
  return r;
}

MetricsRecord EpochRecord::ToRecord() const {
  MetricsRecord r;
  r.SetString("type", "epoch").SetInt("epoch", epoch).SetInt("step", step);
  r.SetNumber("train_loss", train_loss);
  for (const auto& [name, value] : metrics) r.SetNumber(name, value);
  r.SetNumber("time", time);
  return r;
}

namespace {

// The length of `fd`'s content up to and including its last '\n' (0 if there is none).
StatusOr<int64_t> CompleteLinesLength(int fd, int64_t size, const std::string& path) {
  char buf[4096];
  int64_t end = size;
  while (end > 0) {
    const int64_t start = std::max<int64_t>(0, end - static_cast<int64_t>(sizeof(buf)));
    const ssize_t n = ::pread(fd, buf, static_cast<size_t>(end - start), start);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus("read", path, errno);
    }
    if (n != end - start)
      return absl::DataLossError(absl::StrCat("read ", path,
                                              ": the file shrank while opening it; "
                                              "is another process writing this metrics log?"));
    for (int64_t i = n - 1; i >= 0; --i)
      if (buf[i] == '\n') return start + i + 1;
    end = start;
  }
  return 0;
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<MetricsLogWriter>> MetricsLogWriter::Open(const std::string& path) {
  // O_RDWR, not O_WRONLY: opening checks the tail for a torn line with pread.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoToStatus("open for appending", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoToStatus("stat", path, err);
  }
  StatusOr<int64_t> complete = CompleteLinesLength(fd, st.st_size, path);
  if (complete.ok() && *complete != st.st_size && ::ftruncate(fd, *complete) != 0)
    complete = ErrnoToStatus("cut the torn last line of", path, errno);
  if (!complete.ok()) {
    ::close(fd);
    return complete.status();
  }
  return std::unique_ptr<MetricsLogWriter>(new MetricsLogWriter(path, fd, *complete));
}

MetricsLogWriter::~MetricsLogWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Status MetricsLogWriter::Append(const MetricsRecord& record) {
  if (fd_ < 0)
    return absl::FailedPreconditionError(
        absl::StrCat("append to ", path_, ": the metrics log was closed; open it again"));
  const std::string line = absl::StrCat(record.ToJson(), "\n");
  const Status s = WriteAll(fd_, line, path_);
  if (!s.ok()) {
    // Best effort: take back the partial line, so the next record is not glued to it.
    (void)!::ftruncate(fd_, size_);
    return s;
  }
  size_ += static_cast<int64_t>(line.size());
  return absl::OkStatus();
}

Status MetricsLogWriter::Sync() {
  if (fd_ < 0) return absl::OkStatus();
  if (::fdatasync(fd_) != 0) return ErrnoToStatus("sync", path_, errno);
  return absl::OkStatus();
}

Status MetricsLogWriter::Close() {
  if (fd_ < 0) return absl::OkStatus();
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return ErrnoToStatus("close", path_, errno);
  return absl::OkStatus();
}

StatusOr<std::vector<MetricsRecord>> ParseMetricsLog(std::string_view text, std::string_view name) {
  std::vector<MetricsRecord> records;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    const bool complete = nl != std::string_view::npos;
    std::string_view line = text.substr(0, complete ? nl : text.size());
    text.remove_prefix(complete ? nl + 1 : text.size());
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    StatusOr<MetricsRecord> record = ParseLine(line);
    if (!record.ok()) {
      // A crash mid-write leaves a last line without its newline: that line is lost, not an error.
      if (!complete) break;
      return LineError(name, line_no, std::string(record.status().message()));
    }
    records.push_back(*std::move(record));
  }
  return records;
}

StatusOr<std::vector<MetricsRecord>> ReadMetricsLog(const std::string& path, Env& env) {
  HEARTH_ASSIGN_OR_RETURN(const std::string text, env.ReadFile(path));
  return ParseMetricsLog(text, path);
}

}  // namespace hearth
