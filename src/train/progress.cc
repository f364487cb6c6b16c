// ProgressReporter: the training run's progress display (a redrawn bar at a terminal, plain
// lines in a log file), and the formatting helpers it is built from.
#include "train/progress_format.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hearth {
namespace progress {

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  // Cap absurd estimates (a stalled first step) so the text stays short.
  const auto total = static_cast<int64_t>(std::min(seconds, 359999.0) + 0.5);
  const int64_t h = total / 3600, m = total / 60 % 60, s = total % 60;
  if (h > 0) return absl::StrFormat("%d:%02d:%02d", h, m, s);
  return absl::StrFormat("%02d:%02d", m, s);
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return absl::StrFormat("%.4g", v);
}

double EstimateRemainingSeconds(int64_t steps_done, double elapsed_seconds, int64_t steps_left) {
  if (steps_done <= 0 || !(elapsed_seconds > 0) || steps_left < 0) return std::nan("");
  return elapsed_seconds / static_cast<double>(steps_done) * static_cast<double>(steps_left);
}

std::string RenderBar(double fraction, int width, const std::string& fill_on,
                      const std::string& fill_off) {
  const int inside = std::max(0, width - 2);
  if (!(fraction >= 0)) fraction = 0;  // also NaN
  fraction = std::min(fraction, 1.0);
  const int filled = static_cast<int>(fraction * inside);
  std::string bar = "[";
  if (filled > 0) absl::StrAppend(&bar, fill_on, std::string(filled, '#'), fill_off);
  absl::StrAppend(&bar, std::string(inside - filled, '.'), "]");
  return bar;
}

Display ResolveDisplay(ProgressOptions::Mode mode, ProgressOptions::Color color, bool is_tty,
                       const char* term, const char* no_color) {
  // A dumb terminal (Emacs shell, some CI consoles) cannot be trusted to honour '\r' or escapes.
  const bool dumb = term != nullptr && std::strcmp(term, "dumb") == 0;
  Display d;
  switch (mode) {
    case ProgressOptions::Mode::kAuto:
      d.line = is_tty && !dumb;
      break;
    case ProgressOptions::Mode::kLine:
      d.line = true;
      break;
    case ProgressOptions::Mode::kPlain:
      d.line = false;
      break;
  }
  switch (color) {
    case ProgressOptions::Color::kAuto:
      // no-color.org: set and not empty disables colour.
      d.color = d.line && !dumb && !(no_color != nullptr && no_color[0] != '\0');
      break;
    case ProgressOptions::Color::kOn:
      d.color = d.line;
      break;
    case ProgressOptions::Color::kOff:
      d.color = false;
      break;
  }
  return d;
}

std::string LayoutLine(const std::string& prefix, double fraction, const std::string& suffix,
                       int columns, bool color) {
  constexpr int kMinBar = 10, kMaxBar = 30;
  const int usable = std::max(1, columns - 1);
  const int text = static_cast<int>(prefix.size() + suffix.size());
  const int bar = std::min(kMaxBar, usable - text);
  if (fraction >= 0 && bar >= kMinBar) {
    return absl::StrCat(
        prefix, RenderBar(fraction, bar, color ? "\x1b[32m" : "", color ? "\x1b[0m" : ""), suffix);
  }
  // The text is ASCII, so cutting by bytes cuts by columns.
  std::string line = prefix;
  if (!line.empty() && line.back() == ' ' && !suffix.empty() && suffix.front() == ' ')
    line.pop_back();
  line += suffix;
  if (static_cast<int>(line.size()) > usable) line.resize(usable);
  return line;
}

}  // namespace progress

namespace {

double SteadySeconds() {
  using std::chrono::duration;
  return duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string JoinValues(NamedValues values) {
  std::string out;
  for (const auto& [name, value] : values)
    absl::StrAppend(&out, " ", name, " ", progress::FormatValue(value));
  return out;
}

}  // namespace

ProgressReporter::ProgressReporter(ProgressOptions options) : options_(std::move(options)) {
  const int fd = options_.out != nullptr ? ::fileno(options_.out) : -1;
  const progress::Display d =
      progress::ResolveDisplay(options_.mode, options_.color, fd >= 0 && ::isatty(fd) == 1,
                               std::getenv("TERM"), std::getenv("NO_COLOR"));
  line_mode_ = d.line;
  color_ = d.color;
  if (options_.plain_every_steps < 1) options_.plain_every_steps = 1;
  run_start_ = epoch_start_ = Now();
}

ProgressReporter::~ProgressReporter() {
  EndLine();
}

double ProgressReporter::Now() const {
  return options_.clock ? options_.clock() : SteadySeconds();
}

void ProgressReporter::Write(std::string_view text) {
  if (options_.silent) return;
  if (options_.out == nullptr || text.empty()) return;
  std::fwrite(text.data(), 1, text.size(), options_.out);
  std::fflush(options_.out);
}

int ProgressReporter::Columns() const {
  if (options_.columns > 0) return options_.columns;
  winsize ws{};
  const int fd = options_.out != nullptr ? ::fileno(options_.out) : -1;
  if (fd >= 0 && ::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

void ProgressReporter::Start(const ProgressPlan& plan) {
  plan_ = plan;
  if (plan_.epochs < 1) plan_.epochs = 1;
  step_ = plan_.start_step;
  epoch_ = plan_.completed_epochs;
  last_drawn_step_ = -1;
  ema_ = 0;
  ema_count_ = 0;
  run_start_ = Now();
}

void ProgressReporter::StartEpoch(int epoch) {
  EndLine();
  epoch_ = epoch;
  epoch_examples_ = 0;
  epoch_loss_sum_ = 0;
  epoch_loss_examples_ = 0;
  epoch_start_ = Now();
  last_draw_ = -1e300;
}

void ProgressReporter::Step(int64_t step, double loss, int64_t examples) {
  step_ = step;
  last_loss_ = loss;
  epoch_examples_ += examples;
  if (std::isfinite(loss)) {
    // A diverged step must not poison the average for good; it shows as the raw nan instead.
    const double a = std::clamp(options_.loss_smoothing, 0.0, 0.9999);
    ema_ = a * ema_ + (1 - a) * loss;
    ++ema_count_;
    epoch_loss_sum_ += loss * static_cast<double>(std::max<int64_t>(examples, 1));
    epoch_loss_examples_ += std::max<int64_t>(examples, 1);
  }
  if (options_.quiet) return;
  if (line_mode_) {
    Draw(/*force=*/plan_.total_steps > 0 && step >= plan_.total_steps);
  } else if (step % options_.plain_every_steps == 0) {
    Draw(/*force=*/true);
  }
}

double ProgressReporter::SmoothedLoss() const {
  if (!std::isfinite(last_loss_) || ema_count_ == 0) return last_loss_;
  const double a = std::clamp(options_.loss_smoothing, 0.0, 0.9999);
  // Debiasing: the EMA starts at 0, so divide by the weight the real values have had.
  return ema_ / (1 - std::pow(a, static_cast<double>(ema_count_)));
}

std::string ProgressReporter::StatusText(double now) const {
  const double epoch_time = now - epoch_start_;
  const std::string speed =
      epoch_time > 0 ? absl::StrFormat("%.0f", static_cast<double>(epoch_examples_) / epoch_time)
                     : "-";
  const double eta = plan_.total_steps > 0 ? progress::EstimateRemainingSeconds(
                                                 step_ - plan_.start_step, now - run_start_,
                                                 plan_.total_steps - step_)
                                           : std::nan("");
  const std::string loss = progress::FormatValue(SmoothedLoss());
  const std::string elapsed = progress::FormatDuration(now - run_start_);
  const std::string eta_text = plan_.total_steps > 0 ? progress::FormatDuration(eta) : "";
  if (line_mode_) {
    std::string s = absl::StrCat(" ", step_);
    if (plan_.total_steps > 0) absl::StrAppend(&s, "/", plan_.total_steps);
    absl::StrAppend(&s, " loss ", loss, " ", speed, " ex/s ", elapsed);
    if (plan_.total_steps > 0) absl::StrAppend(&s, " eta ", eta_text);
    return s;
  }
  std::string s = absl::StrCat("epoch ", epoch_, "/", plan_.epochs, " step ", step_);
  if (plan_.total_steps > 0) absl::StrAppend(&s, "/", plan_.total_steps);
  absl::StrAppend(&s, " loss ", loss, " examples/s ", speed, " elapsed ", elapsed);
  if (plan_.total_steps > 0) absl::StrAppend(&s, " eta ", eta_text);
  return s;
}

void ProgressReporter::Draw(bool force) {
  const double now = Now();
  if (line_mode_) {
    if (!force && now - last_draw_ < options_.min_redraw_seconds) return;
    last_draw_ = now;
    last_drawn_step_ = step_;
    const double fraction =
        plan_.total_steps > 0 ? static_cast<double>(step_) / static_cast<double>(plan_.total_steps)
                              : -1;
    const std::string prefix = absl::StrCat("epoch ", epoch_, "/", plan_.epochs, " ");
    const std::string line =
        progress::LayoutLine(prefix, fraction, StatusText(now), Columns(), color_);
    // Overwrite in place, then clear what a longer previous line left to the right.
    Write(absl::StrCat("\r", line, "\x1b[K"));
    line_open_ = true;
    return;
  }
  last_drawn_step_ = step_;
  Write(absl::StrCat(StatusText(now), "\n"));
}

void ProgressReporter::ClearLine() {
  if (line_open_) Write("\r\x1b[K");
  line_open_ = false;
}

void ProgressReporter::EndLine() {
  if (line_open_) Write("\n");
  line_open_ = false;
}

void ProgressReporter::EndEpoch(NamedValues validation) {
  if (options_.quiet) return;
  // The epoch's last state stays on screen (kLine) or in the log (kPlain), shown once.
  if (step_ != last_drawn_step_) Draw(/*force=*/true);
  EndLine();
  const double now = Now();
  const double train_loss = epoch_loss_examples_ > 0
                                ? epoch_loss_sum_ / static_cast<double>(epoch_loss_examples_)
                                : std::nan("");
  Write(absl::StrCat("epoch ", epoch_, "/", plan_.epochs, " done in ",
                     progress::FormatDuration(now - epoch_start_), ": loss ",
                     progress::FormatValue(train_loss), JoinValues(validation), "\n"));
}

void ProgressReporter::Finish(NamedValues results) {
  EndLine();
  std::string line = absl::StrCat("done: epoch ", epoch_, "/", plan_.epochs, " step ", step_);
  if (plan_.total_steps > 0) absl::StrAppend(&line, "/", plan_.total_steps);
  absl::StrAppend(&line, " in ", progress::FormatDuration(Now() - run_start_));
  if (!results.empty()) absl::StrAppend(&line, ":", JoinValues(results));
  Write(absl::StrCat(line, "\n"));
}

void ProgressReporter::Message(std::string_view text) {
  if (options_.quiet) return;
  const bool redraw = line_open_;
  ClearLine();
  Write(std::string(text) + "\n");
  if (redraw) Draw(/*force=*/true);
}

}  // namespace hearth
