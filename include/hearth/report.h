// Reporting for a training run: the progress display people watch, the metrics.jsonl log that
// scripts read, and the SVG loss curves written from that log.
//
// A Trainer typically uses all three:
//
//   ProgressReporter progress({.quiet = flags.quiet});
//   HEARTH_ASSIGN_OR_RETURN(auto log, MetricsLogWriter::Open(JoinPath(run_dir, kMetricsLogName)));
//   progress.Start({.total_steps = steps_per_epoch * epochs, .epochs = epochs});
//   for (int epoch = 1; epoch <= epochs; ++epoch) {
//     progress.StartEpoch(epoch);
//     for (each batch) {
//       ... ++step ...
//       progress.Step(step, loss, batch_size);
//       if (step % 10 == 0) HEARTH_RETURN_IF_ERROR(log->Append(StepRecord{...}.ToRecord()));
//     }
//     MetricResults val = ...;
//     progress.EndEpoch(val);
//     HEARTH_RETURN_IF_ERROR(log->Append(EpochRecord{...}.ToRecord()));
//   }
//   progress.Finish(test_results);
//   HEARTH_ASSIGN_OR_RETURN(auto records, ReadMetricsLog(JoinPath(run_dir, kMetricsLogName)));
//   HEARTH_RETURN_IF_ERROR(WriteTrainingCurves(records, JoinPath(run_dir, "curves.svg")));
//
// Validation and test metrics are passed as name/value pairs, the same shape as MetricResults
// (hearth/metrics.h), so the results of a MetricSet go straight in.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "hearth/env.h"
#include "hearth/status.h"

namespace hearth {

using NamedValues = std::span<const std::pair<std::string, double>>;

// Progress display.

struct ProgressOptions {
  // Where the display goes. Not owned; must outlive the reporter.
  std::FILE* out = stderr;

  enum class Mode {
    kAuto,   // kLine on a terminal (isatty) unless TERM=dumb, else kPlain
    kLine,   // one line redrawn in place with '\r', with a bar; for people at a terminal
    kPlain,  // a full line every `plain_every_steps` steps and at epoch ends; for log files
  };
  Mode mode = Mode::kAuto;

  // Colour in kLine mode. Auto: on unless NO_COLOR is set (https://no-color.org) or TERM=dumb.
  enum class Color { kAuto, kOn, kOff };
  Color color = Color::kAuto;

  // Only Finish() prints (the final results); for scripts and --quiet.
  bool quiet = false;
  // Nothing at all, not even Finish(): the ranks other than 0 of a multi-worker job.
  bool silent = false;

  // kPlain: print a progress line when the step is a multiple of this (and at each epoch's end).
  int64_t plain_every_steps = 100;
  // kLine: the least time between two redraws, so a fast loop does not spend its time printing.
  double min_redraw_seconds = 0.1;
  // kLine: the line's width in columns. 0 asks the terminal (TIOCGWINSZ) at each redraw, so
  // resizing the window works; 80 when that fails.
  int columns = 0;
  // Weight of the past in the displayed loss, an exponential moving average (debiased, so the
  // first step shows the first loss). 0 shows each step's raw loss.
  double loss_smoothing = 0.9;

  // Seconds on a monotonic clock. Empty: std::chrono::steady_clock. Tests inject a fake one.
  std::function<double()> clock = nullptr;
};

// What the run will do; known before the first step.
struct ProgressPlan {
  // Steps of the whole run, or 0 if unknown (then no bar and no ETA).
  int64_t total_steps = 0;
  int epochs = 1;
  // The global step the run starts from: 0 for a fresh run, the checkpoint's step on resume
  // (speed and ETA count only the steps this process ran).
  int64_t start_step = 0;
  // Epochs already complete when the run starts (on resume): what the final line reports if no
  // epoch starts, e.g. for a resumed run that had already finished.
  int completed_epochs = 0;
};

// Shows a training run's progress: epoch/epochs, step/total, the smoothed loss, examples per
// second, elapsed time and ETA, and a summary line at each epoch's end. See ProgressOptions for
// the two display modes. Write errors on `out` are ignored: progress output must never stop
// training. Not thread-safe: call it from the training loop's thread.
class ProgressReporter {
 public:
  explicit ProgressReporter(ProgressOptions options = {});
  // Ends an open kLine line with a newline, so the shell prompt does not land on it.
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  void Start(const ProgressPlan& plan);
  // `epoch` counts from 1.
  void StartEpoch(int epoch);
  // After each optimizer step: `step` is the global step just completed (start_step + 1 for the
  // first one), `loss` the batch's loss, `examples` the batch size (summed over ranks).
  void Step(int64_t step, double loss, int64_t examples);
  // Closes the epoch's progress line and prints a summary, "epoch 1/3 done in 00:12: loss 0.3012
  // val_loss 0.2 val_accuracy 0.95", where loss is the epoch's mean training loss (per example,
  // over the finite losses) and the rest are `validation` in order.
  void EndEpoch(NamedValues validation = {});
  // Prints the final line, also in quiet mode: "done: epoch 3/3 step 1125/1125 in 01:02:
  // test_accuracy 0.95".
  void Finish(NamedValues results = {});
  // A line of text (e.g. "saved checkpoint ..."), printed above the progress line. Quiet: dropped.
  void Message(std::string_view text);

  // True when the display redraws one line (kLine), after resolving kAuto.
  bool redraws_line() const { return line_mode_; }

 private:
  double Now() const;
  double SmoothedLoss() const;
  void Draw(bool force);
  void ClearLine();
  void EndLine();
  void Write(std::string_view text);
  int Columns() const;
  std::string StatusText(double now) const;

  ProgressOptions options_;
  bool line_mode_ = false;
  bool color_ = false;
  ProgressPlan plan_;
  int epoch_ = 0;
  int64_t step_ = 0;
  int64_t last_drawn_step_ = -1;  // so an epoch's end does not show its last step twice
  double last_loss_ = 0;
  double ema_ = 0;  // biased EMA of the finite losses; divide by (1 - smoothing^n)
  int64_t ema_count_ = 0;
  int64_t epoch_examples_ = 0;
  double epoch_loss_sum_ = 0;  // sum of loss * examples over the epoch's finite losses
  int64_t epoch_loss_examples_ = 0;
  double run_start_ = 0;
  double epoch_start_ = 0;
  double last_draw_ = -1e300;
  bool line_open_ = false;  // kLine: a progress line is on screen without its newline
};

// metrics.jsonl: one flat JSON object per line.

inline constexpr char kMetricsLogName[] = "metrics.jsonl";

// One line of metrics.jsonl: a flat JSON object whose values are numbers, strings, booleans or
// null. Fields keep their insertion order; setting an existing key replaces its value.
//
// Numbers: integers are exact (int64). Floating-point values are written with the shortest text
// that reads back as the same value, as a float32 when the value is exactly a float32 (losses
// and metrics come from float32 tensors: 0.4213f is written 0.4213, not 0.42130002379417419;
// narrow the double read back to float to get the same bits), else as a double. JSON has no NaN or
// infinity, so non-finite values are written as null: a reader sees null where a loss diverged, and
// the curves show a gap there.
class MetricsRecord {
 public:
  using Value = std::variant<std::monostate, bool, int64_t, double, std::string>;

  MetricsRecord& SetInt(std::string_view key, int64_t v) { return Set(key, v); }
  MetricsRecord& SetNumber(std::string_view key, double v) { return Set(key, v); }
  MetricsRecord& SetString(std::string_view key, std::string_view v) {
    return Set(key, std::string(v));
  }
  MetricsRecord& SetBool(std::string_view key, bool v) { return Set(key, v); }
  MetricsRecord& SetNull(std::string_view key) { return Set(key, std::monostate()); }
  MetricsRecord& Set(std::string_view key, Value v);

  // nullptr when absent.
  const Value* Find(std::string_view key) const;
  // The field as a double (integers converted); NaN when absent, null or not a number.
  double Number(std::string_view key) const;
  // The field's string; nullopt when absent or not a string.
  std::optional<std::string> String(std::string_view key) const;
  // The "type" field ("step", "epoch", ...), or "" when absent.
  std::string type() const;

  const std::vector<std::pair<std::string, Value>>& fields() const { return fields_; }
  // The JSON text, without a newline.
  std::string ToJson() const;

  friend bool operator==(const MetricsRecord&, const MetricsRecord&) = default;

 private:
  std::vector<std::pair<std::string, Value>> fields_;
};

// {"type":"step","step":100,"epoch":1,"loss":0.41,"lr":0.05,"examples_per_second":8123.4,
//  "time":12.3}; `time` is seconds since the run started.
struct StepRecord {
  int64_t step = 0;
  int epoch = 0;
  double loss = 0;
  double lr = 0;
  double examples_per_second = 0;
  double time = 0;
  MetricsRecord ToRecord() const;
};

// {"type":"epoch","epoch":1,"step":375,"train_loss":0.3,"val_loss":0.2,"val_accuracy":0.95,
//  "time":40.1}: `metrics` are appended under their own names, in order.
struct EpochRecord {
  int epoch = 0;
  int64_t step = 0;
  double train_loss = 0;
  std::vector<std::pair<std::string, double>> metrics = {};
  double time = 0;
  MetricsRecord ToRecord() const;
};

// Appends records to a metrics.jsonl file, one line each. Each line goes to the kernel in one
// write(2) as soon as it is appended (no user-space buffer), so a crashed process loses at most
// the line it was writing; Sync() also makes the lines survive a power cut.
//
// Opening an existing file appends to it (a resumed run continues its log). A torn last line
// left by a crash (no trailing newline) is cut off first, so the next record starts on its own
// line. A failed Append removes its partial line too.
//
// This writes with POSIX calls rather than through Env: Env has no append mode. Not thread-safe.
class MetricsLogWriter {
 public:
  // Creates the file if needed (not its directory).
  static StatusOr<std::unique_ptr<MetricsLogWriter>> Open(const std::string& path);
  ~MetricsLogWriter();
  MetricsLogWriter(const MetricsLogWriter&) = delete;
  MetricsLogWriter& operator=(const MetricsLogWriter&) = delete;

  Status Append(const MetricsRecord& record);
  // fdatasync: the lines appended so far reach stable storage.
  Status Sync();
  Status Close();
  const std::string& path() const { return path_; }

 private:
  MetricsLogWriter(std::string path, int fd, int64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  std::string path_;
  int fd_;
  int64_t size_;  // bytes of complete lines, where a failed append truncates back to
};

// Parses metrics.jsonl text. `name` (the path) appears in errors. Blank lines are skipped; a last
// line without its newline that does not parse is a torn write and is dropped. Any other bad line
// is InvalidArgument naming the line number. Values that are arrays or objects are rejected.
StatusOr<std::vector<MetricsRecord>> ParseMetricsLog(std::string_view text,
                                                     std::string_view name = "metrics.jsonl");
StatusOr<std::vector<MetricsRecord>> ReadMetricsLog(const std::string& path,
                                                    Env& env = Env::Default());

// SVG training curves.

struct CurvesOptions {
  std::string title = "Training curves";
  // Pixels. Each panel is `panel_height` high; the image grows with the number of panels.
  int width = 960;
  int panel_height = 320;
  // Log scale for the loss panel. Auto: when every loss is positive and they span more than two
  // decades (a loss that falls from 2.3 to 0.01 is then readable at both ends).
  enum class LogScale { kAuto, kOn, kOff };
  LogScale loss_log_scale = LogScale::kAuto;
};

// Renders the records of a metrics.jsonl into one SVG image with up to three panels:
//   "Loss" against step: the step records' "loss", and every epoch record field whose name ends
//       in "loss" (train_loss, val_loss) at that epoch's last step;
//   "Metrics per epoch" against epoch: the epoch records' other numeric fields (val_accuracy...);
//   "Learning rate" against step: the step records' "lr", when it changes during the run.
// Empty panels are left out; with no plottable data at all the image says so. null/NaN values
// leave gaps. When a resumed run logged a step twice, the later record wins. Long runs are
// thinned to a few points per pixel column, keeping each column's extremes.
std::string RenderTrainingCurves(std::span<const MetricsRecord> records,
                                 const CurvesOptions& options = {});
// RenderTrainingCurves written to `path` atomically (Env::WriteFileAtomically).
Status WriteTrainingCurves(std::span<const MetricsRecord> records, const std::string& path,
                           const CurvesOptions& options = {}, Env& env = Env::Default());

}  // namespace hearth
