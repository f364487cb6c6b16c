// main() of the dist_mpi test binary, run by mpirun: one MPI communicator for the whole run,
// full GoogleTest output from rank 0, failures only from the other ranks (prefixed with their
// rank), and an exit status that is non-zero on every rank when any rank failed.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dist_mpi/mpi_test_env.h"
#include "hearth/dist/communicator.h"

namespace hearth::dist_mpi_test {
namespace {

dist::Communicator* communicator = nullptr;

// Prints only what failed, each line tagged with the rank.
class FailurePrinter : public testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}

  void OnTestPartResult(const testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_,
                 result.file_name() ? result.file_name() : "unknown", result.line_number(),
                 result.message());
    std::fflush(stderr);
  }
  void OnTestEnd(const testing::TestInfo& info) override {
    if (!info.result()->Failed()) return;
    std::fprintf(stderr, "[rank %d] FAILED %s.%s\n", rank_, info.test_suite_name(), info.name());
    std::fflush(stderr);
  }

 private:
  int rank_;
};

}  // namespace

dist::Communicator& Comm() {
  HEARTH_CHECK_MSG(communicator != nullptr, "the dist_mpi tests run only from their own main()");
  return *communicator;
}

}  // namespace hearth::dist_mpi_test

int main(int argc, char** argv) {
  using hearth::dist_mpi_test::communicator;
  testing::InitGoogleTest(&argc, argv);

  // The defaults (60 s warning, 300 s abort) would outlast the CTest timeout: a hung collective
  // should end the run with the watchdog's report of who is missing instead.
  hearth::dist::MpiOptions options;
  options.stall_warning_seconds = 10;
  options.stall_timeout_seconds = 60;
  hearth::StatusOr<std::unique_ptr<hearth::dist::Communicator>> comm =
      hearth::dist::MakeMpiCommunicator(options);
  if (!comm.ok()) {
    std::fprintf(stderr, "dist_mpi_test: %s\n", std::string(comm.status().message()).c_str());
    return 2;
  }
  communicator = comm->get();
  const int rank = communicator->rank();
  const int size = communicator->size();

  if (rank != 0) {
    testing::TestEventListeners& listeners = testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new hearth::dist_mpi_test::FailurePrinter(rank));
  }
  const int result = RUN_ALL_TESTS();

  // Every rank learns which ranks failed, so all exit alike and rank 0 can say who.
  std::vector<int64_t> failed(size, 0);
  failed[rank] = result != 0 ? 1 : 0;
  const hearth::Status agreed =
      communicator->AllReduce(std::span(failed), hearth::dist::ReduceOp::kSum, "test results");
  bool any_failed = !agreed.ok() || result != 0;
  std::string failing;
  for (int r = 0; r < size; ++r) {
    if (failed[r] == 0) continue;
    any_failed = true;
    failing += (failing.empty() ? "" : ", ") + std::to_string(r);
  }
  if (rank == 0) {
    if (!agreed.ok())
      std::fprintf(stderr, "dist_mpi_test: could not collect the results: %s\n",
                   std::string(agreed.message()).c_str());
    else if (any_failed)
      std::fprintf(stderr, "dist_mpi_test: %d ranks: failures on rank(s) %s\n", size,
                   failing.c_str());
    else
      std::fprintf(stderr, "dist_mpi_test: %d ranks: all passed\n", size);
  }

  communicator = nullptr;
  comm->reset();  // finalises MPI
  return any_failed ? 1 : 0;
}
