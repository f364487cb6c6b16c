#include "coordinator/launcher_output.h"

#include "absl/strings/str_cat.h"
#include "coordinator/data_dir.h"

namespace hearth::coordinator {
namespace {

// Reads decimal digits at `pos` (at most `max_digits` of them) into `value`; false if none.
bool Digits(std::string_view s, size_t& pos, int max_digits, int64_t& value) {
  value = 0;
  const size_t start = pos;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (static_cast<int>(pos - start) == max_digits) return false;
    value = value * 10 + (s[pos] - '0');
    ++pos;
  }
  return pos > start;
}

}  // namespace

TaggedLine ParseTaggedLine(std::string_view line, int max_ranks) {
  // "[<jobid>,<rank>]<stdout>:" with <stderr> or <stddiag> for the other streams.
  size_t pos = 1;
  int64_t job = 0, rank = 0;
  if (line.empty() || line[0] != '[' || !Digits(line, pos, 10, job) || pos >= line.size() ||
      line[pos++] != ',' || !Digits(line, pos, 9, rank) || pos >= line.size() ||
      line[pos++] != ']' || rank >= max_ranks)
    return {-1, line};
  for (std::string_view stream : {"<stdout>:", "<stderr>:", "<stddiag>:"})
    if (line.substr(pos, stream.size()) == stream)
      return {static_cast<int>(rank), line.substr(pos + stream.size())};
  return {-1, line};
}

LauncherOutputSplitter::LauncherOutputSplitter(std::string log_dir, Options options)
    : log_dir_(std::move(log_dir)), options_(options) {}

RotatingLogWriter& LauncherOutputSplitter::LogOf(int rank) {
  std::unique_ptr<RotatingLogWriter>& log = logs_[rank];
  if (!log)
    log = std::make_unique<RotatingLogWriter>(
        log_dir_, rank < 0 ? kLauncherLogName : RankLogName(rank), options_.limits);
  return *log;
}

void LauncherOutputSplitter::Consume(std::string_view bytes) {
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    const size_t room = static_cast<size_t>(options_.max_line_bytes) -
                        std::min(line_.size(), static_cast<size_t>(options_.max_line_bytes));
    line_.append(piece.substr(0, room));
    if (piece.size() > room) cut_ += static_cast<int64_t>(piece.size() - room);
    if (nl == std::string_view::npos) return;
    EndLine();
    bytes.remove_prefix(nl + 1);
  }
}

void LauncherOutputSplitter::EndLine() {
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  const TaggedLine tagged = ParseTaggedLine(line_, options_.max_ranks);
  // A failing log (full disk) drops lines; the job goes on, the store keeps its record.
  if (cut_ > 0) {
    LogOf(tagged.rank)
        .Append(std::string(tagged.text) + " [... " + std::to_string(cut_) +
                " more bytes of this line cut]")
        .IgnoreError();
  } else {
    LogOf(tagged.rank).Append(tagged.text).IgnoreError();
  }
  line_.clear();
  cut_ = 0;
}

void LauncherOutputSplitter::Finish() {
  if (!line_.empty() || cut_ > 0) EndLine();
}

}  // namespace hearth::coordinator
