// A timeline of training, as Horovod's HOROVOD_TIMELINE: with HEARTH_TIMELINE=FILE every rank
// records what each step spends its time on (data, forward, backward, each gradient bucket's
// ready time and allreduce, waiting for the other ranks, the optimizer, checkpoints and
// evaluation) as Chrome trace events, which chrome://tracing and Perfetto (ui.perfetto.dev)
// open. `hearth timeline FILE` summarises one per step and draws it as SVG. docs/running.md.
//
//   Timeline& timeline = Timeline::Get();
//   HEARTH_RETURN_IF_ERROR(timeline.Start(TimelinePath(path, rank, world), rank));
//   { TimelineSpan span("forward", "compute"); ... }
//   timeline.Instant("bucket ready", "comm", Timeline::Now(), Timeline::kTraining, bucket);
//   HEARTH_RETURN_IF_ERROR(timeline.Stop());
//
// Recording is an atomic load when off. On, an event is two clock reads and a store into a
// buffer under an uncontended mutex; the buffer is written out every kFlushEvents events (with
// the step's other work, not at exit only, so memory stays bounded on long runs). Timestamps are
// CLOCK_MONOTONIC microseconds, so the traces of ranks on one host line up when merged.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "hearth/status.h"

namespace hearth {

class Timeline {
 public:
  // Rows ("threads") of a rank's trace. Allreduces of the gradient buckets overlap backward and
  // each other, so bucket b has a row of its own: kBucketRows + b.
  static constexpr int kTraining = 0;    // the training loop: data, step, forward, backward, ...
  static constexpr int kProgress = 1;    // the reducer's progress thread
  static constexpr int kCheckpoint = 2;  // the checkpoint saver's thread
  static constexpr int kStats = 3;       // the step's loss and stop-flag allreduce
  static constexpr int kBucketRows = 16;
  static constexpr size_t kFlushEvents = 8192;

  // The process's timeline, off until Start.
  static Timeline& Get();
  // The environment variable that turns it on: HEARTH_TIMELINE=FILE.
  static constexpr char kEnvironmentVariable[] = "HEARTH_TIMELINE";

  // Starts recording rank `rank`'s events into `path` (replaced). INVALID_ARGUMENT when the file
  // cannot be written, or when already started.
  Status Start(const std::string& path, int rank);
  // Writes the rest and closes the file (a valid JSON array). OK when not started.
  Status Stop();
  bool on() const { return on_.load(std::memory_order_relaxed); }
  const std::string& path() const { return path_; }

  // CLOCK_MONOTONIC, in nanoseconds.
  static int64_t Now();
  // An event from begin_ns to end_ns on row `row`. `arg` >= 0 is shown as args.value (a bucket
  // index, a byte count, a step). `name` and `category` must outlive the timeline (literals).
  void Complete(const char* name, const char* category, int64_t begin_ns, int64_t end_ns,
                int row = kTraining, int64_t arg = -1);
  // A moment (e.g. a bucket's gradients all ready).
  void Instant(const char* name, const char* category, int64_t at_ns, int row = kTraining,
               int64_t arg = -1);
  // Names a row in the trace viewer ("allreduce bucket 2").
  void NameRow(int row, const std::string& name);

 private:
  struct Event {
    const char* name;
    const char* category;
    int64_t begin_ns;
    int64_t end_ns;  // -1: an instant
    int row;
    int64_t arg;
  };
  void Record(const Event& event);
  void FlushLocked();

  std::atomic<bool> on_{false};
  std::mutex mu_;
  std::FILE* file_ = nullptr;
  std::string path_;
  int rank_ = 0;
  bool first_ = true;
  std::vector<Event> buffer_;
  std::vector<std::pair<int, std::string>> row_names_;
  Status write_error_;
};

// Records [construction, destruction) as one event when the timeline is on.
class TimelineSpan {
 public:
  TimelineSpan(const char* name, const char* category, int row = Timeline::kTraining,
               int64_t arg = -1)
      : name_(name),
        category_(category),
        row_(row),
        arg_(arg),
        begin_(Timeline::Get().on() ? Timeline::Now() : -1) {}
  ~TimelineSpan() {
    if (begin_ >= 0)
      Timeline::Get().Complete(name_, category_, begin_, Timeline::Now(), row_, arg_);
  }
  TimelineSpan(const TimelineSpan&) = delete;
  TimelineSpan& operator=(const TimelineSpan&) = delete;

 private:
  const char* name_;
  const char* category_;
  int row_;
  int64_t arg_;
  int64_t begin_;
};

// Where rank `rank` of `world` writes: `path` itself for one process, else with the rank before
// the extension ("trace.json" -> "trace.rank1.json").
std::string TimelinePath(const std::string& path, int rank, int world);

// Joins the rank files of `world` ranks (TimelinePath) into one trace at `path`, each rank a
// process of its own. NOT_FOUND when a rank's file is not here (it ran on another host).
Status MergeTimelines(const std::string& path, int world);

}  // namespace hearth
