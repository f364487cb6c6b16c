// The Open MPI communicator over MPI_COMM_WORLD, with the stall watchdog.
#include <mpi.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "dist/collective_tracker.h"
#include "dist/stall_watchdog.h"
#include "hearth/dist/communicator.h"

namespace hearth::dist {
namespace {

std::atomic<bool> mpi_communicator_alive{false};

MPI_Op ToMpi(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return MPI_SUM;
    case ReduceOp::kMax:
      return MPI_MAX;
    case ReduceOp::kMin:
      return MPI_MIN;
  }
  return MPI_SUM;
}

std::string MpiErrorText(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, length);
}

Status FromMpi(int code, std::string_view operation, std::string_view what) {
  if (code == MPI_SUCCESS) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrFormat("MPI %s '%s' failed: %s", operation, what, MpiErrorText(code)));
}

// Counts above INT_MAX would need derived datatypes; gradients of 8 GB are out of scope.
StatusOr<int> Count(size_t n, std::string_view what) {
  if (n > static_cast<size_t>(INT32_MAX))
    return absl::InvalidArgumentError(absl::StrFormat(
        "collective '%s': %d elements is more than one MPI call can carry", what, n));
  return static_cast<int>(n);
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(const MpiOptions& options) {
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node_);
    MPI_Comm_rank(node_, &local_rank_);
    MPI_Comm_size(node_, &local_size_);
    tracker_ = std::make_unique<CollectiveTracker>(rank_);
    if (options.stall_warning_seconds > 0 && size_ > 1) {
      MPI_Comm_dup(MPI_COMM_WORLD, &watchdog_comm_);
      watchdog_ = std::make_unique<StallWatchdog>(watchdog_comm_, *tracker_, options);
    }
  }

  ~MpiCommunicator() override {
    watchdog_.reset();
    if (watchdog_comm_ != MPI_COMM_NULL) MPI_Comm_free(&watchdog_comm_);
    MPI_Comm_free(&node_);
    MPI_Finalize();
    mpi_communicator_alive = false;
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string_view backend() const override { return "mpi"; }

  Status AllReduce(std::span<float> data, ReduceOp op, std::string_view what) override {
    return Reduce(data.data(), data.size(), MPI_FLOAT, op, what);
  }
  Status AllReduce(std::span<double> data, ReduceOp op, std::string_view what) override {
    return Reduce(data.data(), data.size(), MPI_DOUBLE, op, what);
  }
  Status AllReduce(std::span<int64_t> data, ReduceOp op, std::string_view what) override {
    return Reduce(data.data(), data.size(), MPI_INT64_T, op, what);
  }

  Status Broadcast(std::span<std::byte> data, int root, std::string_view what) override {
    HEARTH_ASSIGN_OR_RETURN(int count, Count(data.size(), what));
    BlockingCollective scope(*tracker_, what);
    return FromMpi(MPI_Bcast(data.data(), count, MPI_BYTE, root, MPI_COMM_WORLD), "broadcast",
                   what);
  }

  Status AllGather(std::span<const std::byte> mine, std::span<std::byte> all,
                   std::string_view what) override {
    if (all.size() != mine.size() * static_cast<size_t>(size_))
      return absl::InvalidArgumentError(
          absl::StrFormat("allgather '%s': output of %d bytes for %d ranks of %d", what, all.size(),
                          size_, mine.size()));
    HEARTH_ASSIGN_OR_RETURN(int count, Count(mine.size(), what));
    BlockingCollective scope(*tracker_, what);
    return FromMpi(
        MPI_Allgather(mine.data(), count, MPI_BYTE, all.data(), count, MPI_BYTE, MPI_COMM_WORLD),
        "allgather", what);
  }

  Status Barrier(std::string_view what) override {
    BlockingCollective scope(*tracker_, what);
    return FromMpi(MPI_Barrier(MPI_COMM_WORLD), "barrier", what);
  }

  StatusOr<RequestId> StartAllReduceSum(std::span<float> data, std::string_view what) override {
    HEARTH_ASSIGN_OR_RETURN(int count, Count(data.size(), what));
    tracker_->Arrive(what);
    MPI_Request request;
    HEARTH_RETURN_IF_ERROR(FromMpi(MPI_Iallreduce(MPI_IN_PLACE, data.data(), count, MPI_FLOAT,
                                                  MPI_SUM, MPI_COMM_WORLD, &request),
                                   "iallreduce", what));
    std::lock_guard lock(requests_mu_);
    const RequestId id = next_request_++;
    requests_[id] = {request, std::string(what)};
    return id;
  }

  StatusOr<bool> Test(RequestId id) override {
    std::lock_guard lock(requests_mu_);
    auto it = requests_.find(id);
    if (it == requests_.end()) return true;
    int done = 0;
    HEARTH_RETURN_IF_ERROR(
        FromMpi(MPI_Test(&it->second.request, &done, MPI_STATUS_IGNORE), "test", it->second.what));
    if (done) requests_.erase(it);
    return done != 0;
  }

  Status Wait(RequestId id) override {
    Pending pending;
    {
      std::lock_guard lock(requests_mu_);
      auto it = requests_.find(id);
      if (it == requests_.end()) return absl::OkStatus();  // finished in an earlier Test
      pending = std::move(it->second);
      requests_.erase(it);
    }
    tracker_->BeginWait();
    const int code = MPI_Wait(&pending.request, MPI_STATUS_IGNORE);
    tracker_->EndWait();
    return FromMpi(code, "wait", pending.what);
  }

  Status SendRecv(std::span<const float> send, std::span<float> recv, int peer,
                  std::string_view what) override {
    HEARTH_ASSIGN_OR_RETURN(int count, Count(send.size(), what));
    if (recv.size() != send.size())
      return absl::InvalidArgumentError(absl::StrFormat(
          "sendrecv '%s': %d floats to send but room for %d", what, send.size(), recv.size()));
    BlockingCollective scope(*tracker_, what);
    return FromMpi(MPI_Sendrecv(send.data(), count, MPI_FLOAT, peer, 0, recv.data(), count,
                                MPI_FLOAT, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                   "sendrecv", what);
  }

  [[noreturn]] void Abort(std::string_view message, int exit_code) override {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::exit(exit_code);
  }

 private:
  Status Reduce(void* data, size_t n, MPI_Datatype type, ReduceOp op, std::string_view what) {
    HEARTH_ASSIGN_OR_RETURN(int count, Count(n, what));
    BlockingCollective scope(*tracker_, what);
    return FromMpi(MPI_Allreduce(MPI_IN_PLACE, data, count, type, ToMpi(op), MPI_COMM_WORLD),
                   "allreduce", what);
  }

  struct Pending {
    MPI_Request request;
    std::string what;
  };

  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  MPI_Comm node_ = MPI_COMM_NULL;
  MPI_Comm watchdog_comm_ = MPI_COMM_NULL;
  std::unique_ptr<CollectiveTracker> tracker_;
  std::unique_ptr<StallWatchdog> watchdog_;
  // Start, Test and Wait may come from different threads (the reducer's progress thread).
  std::mutex requests_mu_;
  std::unordered_map<RequestId, Pending> requests_;
  RequestId next_request_ = 1;
};

// Open MPI settings read by MPI_Init_thread, measured on these machines (bench/reducer_bench,
// docs/performance.md). A value the user set wins.
void SetOpenMpiDefaults() {
  // Open MPI 4.1's non-blocking allreduce (libnbc) picks its binomial algorithm (reduce to rank 0,
  // then broadcast: twice the data) whenever the reduction is in place or there are fewer than 4
  // ranks, which is always the reducer's case; its ring algorithm runs as fast as the tuned
  // blocking MPI_Allreduce.
  ::setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", /*overwrite=*/0);
  // Between ranks on one host, large messages go through the shared-memory transport's copy-in/
  // copy-out buffers instead of a single copy by process_vm_readv (CMA). On these VMs CMA made an
  // MLP's 1 MB allreduce take 190-260 us against 110 us, and 1.3-2.4x longer at any size from
  // 64 KB to 26 MB. In containers CMA usually fails anyway (no ptrace): Open MPI warns there and
  // Docker users are told to set this.
  ::setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", /*overwrite=*/0);
}

StatusOr<double> SecondsFromEnv(const char* name, double fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !(value >= 0))
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s=\"%s\": expected a number of seconds >= 0 (0 turns it off)", name, text));
  return value;
}

}  // namespace

StatusOr<MpiOptions> MpiOptions::FromEnvironment() {
  MpiOptions options;
  HEARTH_ASSIGN_OR_RETURN(
      options.stall_warning_seconds,
      SecondsFromEnv("HEARTH_STALL_WARNING_SECONDS", options.stall_warning_seconds));
  HEARTH_ASSIGN_OR_RETURN(
      options.stall_timeout_seconds,
      SecondsFromEnv("HEARTH_STALL_TIMEOUT_SECONDS", options.stall_timeout_seconds));
  if (options.stall_timeout_seconds > 0 &&
      options.stall_timeout_seconds < options.stall_warning_seconds)
    return absl::InvalidArgumentError(absl::StrFormat(
        "HEARTH_STALL_TIMEOUT_SECONDS (%g) is below HEARTH_STALL_WARNING_SECONDS (%g); the "
        "warning must come first",
        options.stall_timeout_seconds, options.stall_warning_seconds));
  return options;
}

StatusOr<std::unique_ptr<Communicator>> MakeMpiCommunicator(const MpiOptions& options) {
  if (mpi_communicator_alive.exchange(true))
    return absl::FailedPreconditionError("an MPI communicator already exists in this process");
  int initialized = 0;
  MPI_Initialized(&initialized);
  int provided = 0;
  if (initialized) {
    MPI_Query_thread(&provided);
  } else {
    SetOpenMpiDefaults();  // read by MPI_Init_thread
    // A rank whose peer died must not die of SIGPIPE when it next writes to that peer's socket or
    // to its launcher's closing output pipe: it would often exit before the launcher heard of the
    // peer, and mpirun would then name the survivor as the rank that failed (seen with hearthd's
    // ssh-launched workers: "rank 0 failed (exit code 141)" after rank 1 was killed). With SIGPIPE
    // ignored the write fails with EPIPE, and Open MPI reports the peer's failure instead.
    std::signal(SIGPIPE, SIG_IGN);
    if (int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
        code != MPI_SUCCESS) {
      mpi_communicator_alive = false;
      return absl::UnavailableError("MPI_Init_thread failed: " + MpiErrorText(code));
    }
  }
  // The watchdog thread sends heartbeats while the main thread is inside collectives.
  if (provided < MPI_THREAD_MULTIPLE) {
    MPI_Finalize();
    mpi_communicator_alive = false;
    return absl::FailedPreconditionError(absl::StrFormat(
        "this MPI provides thread level %d, but Hearth needs MPI_THREAD_MULTIPLE (%d) for its "
        "stall watchdog; use an MPI built with thread support (Debian's Open MPI 4.1 has it)",
        provided, MPI_THREAD_MULTIPLE));
  }
  return std::unique_ptr<Communicator>(new MpiCommunicator(options));
}

bool LaunchedByMpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

StatusOr<std::unique_ptr<Communicator>> CreateCommunicator() {
  if (!LaunchedByMpi()) return MakeLocalCommunicator();
  HEARTH_ASSIGN_OR_RETURN(MpiOptions options, MpiOptions::FromEnvironment());
  return MakeMpiCommunicator(options);
}

}  // namespace hearth::dist
