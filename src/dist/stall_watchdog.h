// The stall watchdog (after Horovod's stall inspector): a thread on every rank that sends rank 0
// a heartbeat with its CollectiveSnapshot once a second, over a private duplicate of the job's
// communicator. Rank 0 compares them: when a rank has waited in a collective longer than the
// warning threshold, it logs which ranks have not arrived at that collective (and what they last
// did); past the timeout it aborts the job with the same report. A rank whose process is frozen
// stops sending heartbeats and is reported as silent.
//
// Every rank also watches itself: if its own wait outlives the timeout by a grace period (rank 0
// itself frozen, say), it aborts on its own.
//
// Thread-safety: everything but stop_ belongs to the watchdog's own thread; the tracker it reads
// is thread-safe, and the destructor stops the thread through stop_ before joining it.
#pragma once

#include <mpi.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "dist/collective_tracker.h"
#include "hearth/dist/communicator.h"

namespace hearth::dist {

// Builds the report rank 0 prints, from every rank's latest snapshot. `heard_ago[r]` is how long
// ago rank r's snapshot arrived. Empty when no rank has waited `threshold` seconds. Pure, so it
// is unit-tested without MPI.
std::string StallReport(const std::vector<CollectiveSnapshot>& ranks,
                        const std::vector<double>& heard_ago, double threshold,
                        double silence_seconds);

class StallWatchdog {
 public:
  // `comm` is a duplicate of the job's communicator reserved for heartbeats.
  StallWatchdog(MPI_Comm comm, const CollectiveTracker& tracker, const MpiOptions& options);
  ~StallWatchdog();  // stops and joins the thread
  StallWatchdog(const StallWatchdog&) = delete;
  StallWatchdog& operator=(const StallWatchdog&) = delete;

 private:
  void Run();
  void Inspect(std::vector<CollectiveSnapshot>& latest, std::vector<double>& heard_at);
  [[noreturn]] void AbortJob(const std::string& report);

  MPI_Comm comm_;
  const CollectiveTracker& tracker_;
  MpiOptions options_;
  int rank_ = 0;
  int size_ = 1;
  double interval_ = 1.0;
  int64_t warned_for_ = -1;  // the collective number last warned about
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace hearth::dist
