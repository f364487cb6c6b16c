// ByteProgress on the progress display's pieces (train/progress_format.h).
#include "cli/byte_progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "absl/strings/str_format.h"
#include "cli/remote_client.h"
#include "train/progress_format.h"

namespace hearth::cli {

ByteProgress::ByteProgress(std::string what, std::FILE* out)
    : what_(std::move(what)), out_(out), start_(Seconds()) {
  line_ = progress::ResolveDisplay(ProgressOptions::Mode::kAuto, ProgressOptions::Color::kOff,
                                   ::isatty(::fileno(out)) == 1, std::getenv("TERM"), nullptr)
              .line;
}

ByteProgress::~ByteProgress() {
  if (open_) std::fputc('\n', out_);
}

double ByteProgress::Seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void ByteProgress::Update(int64_t done, int64_t total) {
  if (total >= 0 && total < kMinBytes) return;
  if (total < 0 && done < kMinBytes) return;
  const double now = Seconds();
  const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : -1;
  const std::string amount =
      total > 0
          ? absl::StrFormat(" %s / %s  %s", FormatBytes(done), FormatBytes(total),
                            progress::FormatDuration(now - start_))
          : absl::StrFormat(" %s  %s", FormatBytes(done), progress::FormatDuration(now - start_));
  if (line_) {
    if (now - last_draw_ < 0.1 && done != total) return;
    last_draw_ = now;
    std::fprintf(out_, "\r%s",
                 progress::LayoutLine(what_ + " ", fraction, amount, 80, false).c_str());
    open_ = true;
  } else if (fraction >= 0) {
    const int tenth = static_cast<int>(fraction * 10);
    if (tenth <= last_tenth_) return;
    last_tenth_ = tenth;
    std::fprintf(out_, "%s: %d%%%s\n", what_.c_str(), tenth * 10, amount.c_str());
  }
  std::fflush(out_);
}

}  // namespace hearth::cli
