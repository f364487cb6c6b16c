#include "dist/stall_watchdog.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

#if defined(__SANITIZE_THREAD__)
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
#endif

namespace hearth::dist {
namespace {

constexpr int kHeartbeatTag = 7301;

// The snapshot MPI has received into `buffer`. MPI may copy it in from whichever thread is
// progressing MPI at the time (the training thread, inside its own MPI calls), and MPI_Test's
// completion orders that copy before this read; ThreadSanitizer cannot see inside the
// uninstrumented library, so under TSan the read is made without reporting that copy.
CollectiveSnapshot ReceivedByMpi(const CollectiveSnapshot& buffer) {
#if defined(__SANITIZE_THREAD__)
  AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
  const CollectiveSnapshot copy = buffer;
  AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
  return copy;
#else
  return buffer;
#endif
}

// How a rank that has not reached the stalled collective is doing.
std::string DescribeLaggard(const CollectiveSnapshot& s, double heard_ago, double silence) {
  std::string last = s.arrived == 0
                         ? std::string("has not started any collective")
                         : absl::StrFormat("last arrived at #%d '%s'", s.arrived, s.what);
  if (heard_ago > silence)
    return absl::StrFormat(
        "rank %d %s and has sent no heartbeat for %.0f s (frozen, or its "
        "machine is unreachable)",
        s.rank, last, heard_ago);
  return absl::StrFormat("rank %d %s and is %s", s.rank, last,
                         s.waiting ? "waiting there" : "still computing");
}

}  // namespace

std::string StallReport(const std::vector<CollectiveSnapshot>& ranks,
                        const std::vector<double>& heard_ago, double threshold,
                        double silence_seconds) {
  // The oldest collective someone is stuck in: a rank can finish its part of an allreduce and
  // move on to the next one while others still wait in it.
  int64_t stalled = std::numeric_limits<int64_t>::max();
  double longest = 0;
  std::string what;
  std::vector<int> waiting;
  for (const CollectiveSnapshot& s : ranks) {
    if (!s.waiting || s.wait_seconds < threshold) continue;
    waiting.push_back(s.rank);
    longest = std::max(longest, s.wait_seconds);
    if (s.arrived < stalled) {
      stalled = s.arrived;
      what = s.what;
    }
  }
  if (waiting.empty()) return "";
  std::vector<std::string> laggards;
  std::vector<int> missing;
  for (size_t r = 0; r < ranks.size(); ++r) {
    const CollectiveSnapshot& s = ranks[r];
    if (s.arrived >= stalled && heard_ago[r] <= silence_seconds) continue;
    missing.push_back(static_cast<int>(r));
    laggards.push_back(DescribeLaggard(s, heard_ago[r], silence_seconds));
  }
  std::string report =
      absl::StrFormat("collective #%d '%s' has waited %.0f s: rank%s %s waiting", stalled, what,
                      longest, waiting.size() > 1 ? "s" : "", absl::StrJoin(waiting, ", "));
  if (missing.empty())
    return report + "; every rank has arrived, so the transfer itself is slow (check the network)";
  return absl::StrFormat("%s; missing: %s. %s", report, absl::StrJoin(missing, ", "),
                         absl::StrJoin(laggards, "; "));
}

StallWatchdog::StallWatchdog(MPI_Comm comm, const CollectiveTracker& tracker,
                             const MpiOptions& options)
    : comm_(comm), tracker_(tracker), options_(options) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  interval_ = std::clamp(options_.stall_warning_seconds / 5, 0.05, 1.0);
  thread_ = std::thread([this] { Run(); });
}

StallWatchdog::~StallWatchdog() {
  stop_ = true;
  thread_.join();
}

void StallWatchdog::Run() {
  std::vector<CollectiveSnapshot> latest(size_);
  std::vector<double> heard_at(size_, MonotonicSeconds());
  CollectiveSnapshot incoming;
  MPI_Request recv = MPI_REQUEST_NULL;
  MPI_Request send = MPI_REQUEST_NULL;
  CollectiveSnapshot outgoing;
  const bool root = rank_ == 0;
  if (root && size_ > 1)
    MPI_Irecv(&incoming, sizeof incoming, MPI_BYTE, MPI_ANY_SOURCE, kHeartbeatTag, comm_, &recv);
  double next_beat = 0;
  while (!stop_) {
    const double now = MonotonicSeconds();
    if (root) {
      // Drain every heartbeat that has arrived.
      for (;;) {
        int done = 0;
        MPI_Status status;
        if (recv == MPI_REQUEST_NULL || MPI_Test(&recv, &done, &status) != MPI_SUCCESS || !done)
          break;
        if (status.MPI_SOURCE >= 0 && status.MPI_SOURCE < size_) {
          latest[status.MPI_SOURCE] = ReceivedByMpi(incoming);
          heard_at[status.MPI_SOURCE] = now;
        }
        MPI_Irecv(&incoming, sizeof incoming, MPI_BYTE, MPI_ANY_SOURCE, kHeartbeatTag, comm_,
                  &recv);
      }
      if (now >= next_beat) {
        Inspect(latest, heard_at);
        next_beat = now + interval_;
      }
    } else if (now >= next_beat) {
      int done = 1;
      if (send != MPI_REQUEST_NULL) MPI_Test(&send, &done, MPI_STATUS_IGNORE);
      if (done) {  // never queue a second heartbeat behind one rank 0 has not taken yet
        outgoing = tracker_.Snapshot();
        MPI_Isend(&outgoing, sizeof outgoing, MPI_BYTE, 0, kHeartbeatTag, comm_, &send);
      }
      const CollectiveSnapshot self = tracker_.Snapshot();
      const double grace = std::max(30.0, 0.2 * options_.stall_timeout_seconds);
      if (options_.stall_timeout_seconds > 0 && self.waiting &&
          self.wait_seconds > options_.stall_timeout_seconds + grace)
        AbortJob(absl::StrFormat(
            "rank %d has waited %.0f s in collective #%d '%s' and rank 0's watchdog has not "
            "acted (rank 0 may be frozen or unreachable)",
            rank_, self.wait_seconds, self.arrived, self.what));
      next_beat = now + interval_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (recv != MPI_REQUEST_NULL) {
    MPI_Cancel(&recv);
    MPI_Wait(&recv, MPI_STATUS_IGNORE);
  }
  if (send != MPI_REQUEST_NULL) MPI_Request_free(&send);
}

void StallWatchdog::Inspect(std::vector<CollectiveSnapshot>& latest,
                            std::vector<double>& heard_at) {
  const double now = MonotonicSeconds();
  latest[0] = tracker_.Snapshot();
  heard_at[0] = now;
  std::vector<double> heard_ago(size_);
  for (int r = 0; r < size_; ++r) {
    heard_ago[r] = now - heard_at[r];
    latest[r].rank = r;
  }
  const double silence = std::max(1.0, 5 * interval_);
  // A timeout of 0 means warnings only, never an abort.
  std::string report = options_.stall_timeout_seconds > 0
                           ? StallReport(latest, heard_ago, options_.stall_timeout_seconds, silence)
                           : std::string();
  if (!report.empty()) AbortJob(report);
  report = StallReport(latest, heard_ago, options_.stall_warning_seconds, silence);
  if (report.empty()) return;
  int64_t stalled = 0;
  for (const CollectiveSnapshot& s : latest)
    if (s.waiting) stalled = std::max(stalled, s.arrived);
  if (stalled == warned_for_) return;
  warned_for_ = stalled;
  std::fprintf(stderr,
               "hearth: stall warning: %s. The job aborts after %.0f s "
               "(HEARTH_STALL_TIMEOUT_SECONDS).\n",
               report.c_str(), options_.stall_timeout_seconds);
  std::fflush(stderr);
}

void StallWatchdog::AbortJob(const std::string& report) {
  std::fprintf(stderr, "hearth: stall timeout, aborting the job: %s\n", report.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 3);
  std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

}  // namespace hearth::dist
