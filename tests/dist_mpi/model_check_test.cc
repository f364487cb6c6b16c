// CheckSameModel across ranks: OK for identical models, and otherwise the same actionable
// FailedPrecondition on every rank, naming each differing rank and its first differing parameter.
#include "hearth/dist/model_check.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dist_mpi/mpi_test_env.h"
#include "hearth/dist/collectives.h"

namespace hearth::dist {
namespace {

using dist_mpi_test::Comm;

std::vector<NamedTensor> BaseModel() {
  return {{"embed.weight", Tensor::Zeros(Shape{10, 4})},
          {"dense.weight", Tensor::Zeros(Shape{4, 3})},
          {"dense.bias", Tensor::Zeros(Shape{3})}};
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The status every rank got must be the same: compare with rank 0's message.
void ExpectSameMessageEverywhere(const Status& status) {
  std::string root_message(status.message());
  EXPECT_TRUE(BroadcastString(Comm(), &root_message, 0, "rank 0's error").ok());
  EXPECT_EQ(std::string(status.message()), root_message);
}

TEST(MpiModelCheckTest, SameModelIsOk) {
  const Status status = CheckSameModel(Comm(), ParameterSet(BaseModel()));
  EXPECT_TRUE(status.ok()) << status;
}

TEST(MpiModelCheckTest, DifferentShapeOnRankOneIsNamedEverywhere) {
  std::vector<NamedTensor> params = BaseModel();
  if (Comm().rank() == 1) params[1].tensor = Tensor::Zeros(Shape{3, 4});
  const Status status = CheckSameModel(Comm(), ParameterSet(std::move(params)));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  const std::string message(status.message());
  EXPECT_TRUE(Contains(message, "rank 1 ")) << message;
  EXPECT_TRUE(Contains(message, "dense.weight:[3, 4]")) << message;
  EXPECT_TRUE(Contains(message, "dense.weight:[4, 3]")) << message;
  EXPECT_FALSE(Contains(message, "rank 2")) << message;
  ExpectSameMessageEverywhere(status);
}

TEST(MpiModelCheckTest, MissingAndExtraParameters) {
  const int last = Comm().size() - 1;
  std::vector<NamedTensor> params = BaseModel();
  if (Comm().rank() == last) params.pop_back();
  if (Comm().rank() == 1 && last != 1) params.push_back({"extra", Tensor::Zeros(Shape{2})});
  const Status status = CheckSameModel(Comm(), ParameterSet(std::move(params)));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  const std::string message(status.message());
  EXPECT_TRUE(Contains(message, "rank " + std::to_string(last) + " lacks parameter dense.bias"))
      << message;
  if (last != 1) {
    EXPECT_TRUE(Contains(message, "rank 1 has an extra parameter extra")) << message;
  }
  ExpectSameMessageEverywhere(status);
}

TEST(MpiModelCheckTest, RenamedParameter) {
  std::vector<NamedTensor> params = BaseModel();
  if (Comm().rank() == Comm().size() - 1) params[0].name = "embedding.weight";
  const Status status = CheckSameModel(Comm(), ParameterSet(std::move(params)));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  const std::string message(status.message());
  EXPECT_TRUE(Contains(message, "rank " + std::to_string(Comm().size() - 1) + " ")) << message;
  EXPECT_TRUE(Contains(message, "embedding.weight")) << message;
  ExpectSameMessageEverywhere(status);
}

TEST(MpiModelCheckTest, SameModelAgainAfterAMismatch) {
  // The mismatch path's extra collectives must leave every rank in step.
  const Status status = CheckSameModel(Comm(), ParameterSet(BaseModel()));
  EXPECT_TRUE(status.ok()) << status;
}

}  // namespace
}  // namespace hearth::dist
