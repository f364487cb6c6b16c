// A FitReducer over a communicator: the ranks of a data-parallel job fit the preprocessing on
// their parts of the training set and combine the statistics with collectives.
#pragma once

#include <span>
#include <vector>

#include "hearth/data/preprocess.h"
#include "hearth/dist/communicator.h"

namespace hearth::run {

// Every rank must make the same calls (Preprocessor::FitPart does). Errors of the collectives
// themselves are returned as they are; Agree's are marked dist::CollectiveError.
class CommFitReducer final : public FitReducer {
 public:
  explicit CommFitReducer(dist::Communicator& comm) : comm_(comm) {}

  Status Agree(const Status& local) override;
  Status Sum(std::span<double> values) override;
  Status Min(std::span<float> values) override;
  Status Max(std::span<float> values) override;
  StatusOr<std::vector<int64_t>> Union(std::span<const int64_t> values) override;
  StatusOr<std::vector<std::vector<double>>> Gather(std::span<const double> values) override;

 private:
  dist::Communicator& comm_;
};

}  // namespace hearth::run
