// The world-size-1 communicator: what a job uses when it is not launched by mpirun.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "hearth/dist/communicator.h"

namespace hearth::dist {
namespace {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  std::string_view backend() const override { return "local"; }

  Status AllReduce(std::span<float>, ReduceOp, std::string_view) override { return Ok(); }
  Status AllReduce(std::span<double>, ReduceOp, std::string_view) override { return Ok(); }
  Status AllReduce(std::span<int64_t>, ReduceOp, std::string_view) override { return Ok(); }
  Status Broadcast(std::span<std::byte>, int root, std::string_view what) override {
    return CheckRoot(root, what);
  }
  Status AllGather(std::span<const std::byte> mine, std::span<std::byte> all,
                   std::string_view what) override {
    if (all.size() != mine.size())
      return absl::InvalidArgumentError(absl::StrCat("allgather '", std::string(what),
                                                     "': output of ", all.size(),
                                                     " bytes for 1 rank of ", mine.size()));
    if (!mine.empty()) std::memcpy(all.data(), mine.data(), mine.size());
    return Ok();
  }
  Status Barrier(std::string_view) override { return Ok(); }
  StatusOr<RequestId> StartAllReduceSum(std::span<float>, std::string_view) override { return 0; }
  StatusOr<bool> Test(RequestId) override { return true; }
  Status Wait(RequestId) override { return Ok(); }
  Status SendRecv(std::span<const float>, std::span<float>, int peer,
                  std::string_view what) override {
    return absl::InvalidArgumentError(absl::StrCat("sendrecv '", std::string(what), "': peer ",
                                                   peer, " does not exist in a 1-rank job"));
  }
  [[noreturn]] void Abort(std::string_view message, int exit_code) override {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
    std::exit(exit_code);
  }

 private:
  static Status Ok() { return absl::OkStatus(); }
  static Status CheckRoot(int root, std::string_view what) {
    if (root == 0) return Ok();
    return absl::InvalidArgumentError(
        absl::StrCat("broadcast '", std::string(what), "': root ", root, " in a 1-rank job"));
  }
};

}  // namespace

std::unique_ptr<Communicator> MakeLocalCommunicator() {
  return std::make_unique<LocalCommunicator>();
}

}  // namespace hearth::dist
