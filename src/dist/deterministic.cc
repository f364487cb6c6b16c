#include "hearth/dist/deterministic.h"

#include <bit>

#include "absl/strings/str_format.h"

namespace hearth::dist {

Status CheckDeterministicLayout(int world_size, int shards) {
  if (!std::has_single_bit(static_cast<unsigned>(shards)))
    return absl::InvalidArgumentError(absl::StrFormat(
        "deterministic mode: %d micro-shards is not a power of two; use 1, 2, 4, 8, ...", shards));
  if (!std::has_single_bit(static_cast<unsigned>(world_size)) || world_size > shards)
    return absl::InvalidArgumentError(absl::StrFormat(
        "deterministic mode needs a power-of-two number of workers no larger than the %d "
        "micro-shards (deterministic_shards), got %d workers; use 1, 2, 4, ... workers or turn "
        "deterministic off",
        shards, world_size));
  return absl::OkStatus();
}

std::span<float> ShardTree::NextLeaf() {
  if (!spare_.empty()) {
    leaf_ = std::move(spare_.back());
    spare_.pop_back();
  }
  leaf_.assign(numel_, 0.0f);
  return leaf_;
}

void ShardTree::Push() {
  Partial node{std::move(leaf_), 0};
  while (!stack_.empty() && stack_.back().height == node.height) {
    Partial& left = stack_.back();
    for (int64_t i = 0; i < numel_; ++i) left.sum[i] += node.sum[i];
    spare_.push_back(std::move(node.sum));
    node = {std::move(left.sum), left.height + 1};
    stack_.pop_back();
  }
  stack_.push_back(std::move(node));
  ++leaves_;
}

std::span<float> ShardTree::Root() {
  HEARTH_CHECK(!stack_.empty());
  // With a power-of-two leaf count the stack holds exactly one node. Otherwise fold the rest in,
  // right to left (still a fixed order).
  while (stack_.size() > 1) {
    Partial right = std::move(stack_.back());
    stack_.pop_back();
    for (int64_t i = 0; i < numel_; ++i) stack_.back().sum[i] += right.sum[i];
  }
  return stack_.back().sum;
}

void ShardTree::Clear() {
  for (Partial& p : stack_) spare_.push_back(std::move(p.sum));
  stack_.clear();
  leaves_ = 0;
}

Status TreeAllReduce(Communicator& comm, std::span<float> data, std::vector<float>& scratch) {
  const int size = comm.size();
  if (!std::has_single_bit(static_cast<unsigned>(size)))
    return absl::InvalidArgumentError(
        absl::StrFormat("deterministic allreduce: %d ranks is not a power of two", size));
  scratch.resize(data.size());
  for (int distance = 1; distance < size; distance <<= 1) {
    const int peer = comm.rank() ^ distance;
    HEARTH_RETURN_IF_ERROR(comm.SendRecv(
        data, scratch, peer, absl::StrFormat("deterministic allreduce (level %d)", distance)));
    for (size_t i = 0; i < data.size(); ++i) data[i] += scratch[i];
  }
  return absl::OkStatus();
}

}  // namespace hearth::dist
