// The collectives data-parallel training needs, behind one interface with two implementations:
// Open MPI (a process launched by mpirun) and a single process (world size 1, every collective a
// no-op or a copy). Both are always built, so the trainer has one code path.
//
//   HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> comm, CreateCommunicator());
//   HEARTH_RETURN_IF_ERROR(comm->AllReduce(std::span(sums), ReduceOp::kSum, "metric sums"));
//
// Every collective takes a short description (`what`). The MPI implementation records which
// collective each rank is in for the stall watchdog (see MpiOptions), so a hang is reported as
// "rank 2 never arrived at 'allreduce gradients (bucket 3 of 5)'".
//
// All ranks must call the same collectives in the same order with the same sizes, as with MPI.
// Collectives are not thread-safe: call them from one thread. The exception is a request's
// StartAllReduceSum, Test and Wait, which may come from different threads (not at once).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "hearth/status.h"

namespace hearth::dist {

enum class ReduceOp { kSum, kMax, kMin };

// An allreduce in flight (StartAllReduceSum). Finish it with Communicator::Wait; Test lets the
// caller drive progress while it computes (Open MPI has no asynchronous progress thread).
using RequestId = int64_t;

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // This process's index among the ranks on the same machine, and how many there are.
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  // "mpi" or "local".
  virtual std::string_view backend() const = 0;
  bool is_root() const { return rank() == 0; }

  // In-place allreduce.
  virtual Status AllReduce(std::span<float> data, ReduceOp op, std::string_view what) = 0;
  virtual Status AllReduce(std::span<double> data, ReduceOp op, std::string_view what) = 0;
  virtual Status AllReduce(std::span<int64_t> data, ReduceOp op, std::string_view what) = 0;
  // Copies `root`'s bytes into every rank's `data` (the same size everywhere).
  virtual Status Broadcast(std::span<std::byte> data, int root, std::string_view what) = 0;
  // Every rank contributes mine (the same size everywhere); `all` (size() * mine.size() bytes)
  // receives them in rank order.
  virtual Status AllGather(std::span<const std::byte> mine, std::span<std::byte> all,
                           std::string_view what) = 0;
  virtual Status Barrier(std::string_view what) = 0;

  // Starts an in-place sum allreduce and returns at once. `data` must stay alive and untouched
  // until Wait returns.
  virtual StatusOr<RequestId> StartAllReduceSum(std::span<float> data, std::string_view what) = 0;
  // Whether the request has finished; advances communication either way.
  virtual StatusOr<bool> Test(RequestId request) = 0;
  virtual Status Wait(RequestId request) = 0;

  // Sends `send` to `peer` and receives the same number of floats from it into `recv` (the
  // pairwise exchange of recursive doubling).
  virtual Status SendRecv(std::span<const float> send, std::span<float> recv, int peer,
                          std::string_view what) = 0;

  // Ends the whole job (every rank) after printing `message` on this rank's stderr.
  [[noreturn]] virtual void Abort(std::string_view message, int exit_code) = 0;
};

// World size 1: reductions leave the data as it is, broadcasts and barriers do nothing.
std::unique_ptr<Communicator> MakeLocalCommunicator();

// Tuning of the MPI communicator's stall watchdog (Horovod's stall inspector, per rank).
struct MpiOptions {
  // A rank that has waited this long in one collective makes rank 0 log which ranks have not
  // arrived. 0 turns the watchdog off.
  double stall_warning_seconds = 60;
  // ... and this long aborts the whole job with that report.
  double stall_timeout_seconds = 300;
  // Defaults overridden by HEARTH_STALL_WARNING_SECONDS and HEARTH_STALL_TIMEOUT_SECONDS.
  static StatusOr<MpiOptions> FromEnvironment();
};

// Initialises MPI (MPI_THREAD_MULTIPLE, which the watchdog thread needs; an MPI that cannot
// provide it is an error) and returns a communicator over MPI_COMM_WORLD. MPI is finalised when
// the last MPI communicator is destroyed. Only one may exist at a time.
StatusOr<std::unique_ptr<Communicator>> MakeMpiCommunicator(const MpiOptions& options);

// True when this process was started by mpirun (or srun with PMIx) as one rank of a job.
bool LaunchedByMpi();

// An MPI communicator when LaunchedByMpi(), a local one otherwise.
StatusOr<std::unique_ptr<Communicator>> CreateCommunicator();

}  // namespace hearth::dist

namespace hearth::dist {

// Errors that every rank reaches together (the same check on the same reduced or broadcast data)
// carry this mark. The CLI then reports them once, from rank 0, and every rank ends normally;
// any other error on one rank aborts the whole job (MPI_Abort), since the others may be waiting
// for it in a collective.
Status CollectiveError(Status status);
bool IsCollectiveError(const Status& status);

}  // namespace hearth::dist
