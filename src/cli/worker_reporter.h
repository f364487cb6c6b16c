// Rank 0 of a coordinator-run job (`hearth worker`) tells hearthd what the trainer writes to its
// run directory: new metrics.jsonl records become progress reports, new checkpoints are uploaded
// (streamed, with their sha256). It watches the files rather than hooking into the trainer, so
// what the coordinator sees is exactly what a local run leaves on disk.
//
// Thread-safety: a polling thread of its own runs Poll; Flush and Finish (from the training
// thread) stop it first, and mu_ keeps every Poll, and the state it advances, to one thread at a
// time. stop_requested() is an atomic read, safe from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "cli/remote_client.h"
#include "hearth/status.h"
#include "hearth/train.h"
#include "hearth/v1/coordinator.grpc.pb.h"

namespace hearth::cli {

class WorkerReporter {
 public:
  // `client` makes the authorised call contexts; `stub` is its WorkerService stub.
  WorkerReporter(const RemoteClient& client, v1::WorkerService::Stub& stub, std::string job_id,
                 int attempt, std::string run_dir);
  ~WorkerReporter();

  // Starts polling the run directory every `period_ms`.
  void Start(int period_ms = 300);
  // Reports what is left (uploading every checkpoint not yet sent) and stops polling.
  Status Flush();
  // Flush(), then the final result.
  Status Finish(const TrainResult& result);
  // Set when the coordinator asked the job to stop (cancelled).
  bool stop_requested() const { return stop_; }
  // The first error talking to the coordinator (reported once, polling continues).
  Status error() const;

 private:
  void Loop(int period_ms);
  // One pass: new metric records, new checkpoints (those in the trainer's index; on the final
  // pass all of them).
  Status Poll(bool final_pass = false);
  Status Report(const v1::ProgressReport& report);
  Status Upload(const std::string& path, int64_t step, const std::string& metric_name,
                double metric_value);

  const RemoteClient& client_;
  v1::WorkerService::Stub& stub_;
  std::string job_id_, run_dir_;
  int attempt_;
  size_t records_seen_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<int64_t> uploaded_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> stop_{false};
  std::atomic<bool> quit_{false};
  mutable std::mutex mu_;  // Poll from the thread and from Finish
  Status error_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace hearth::cli
