// Optimizer state for checkpoints: names, zero-copy views, validation on load, and exact resume.
#include <gtest/gtest.h>

#include "hearth/nn.h"
#include "hearth/optim.h"
#include "optim/optim_test_util.h"

namespace hearth {
namespace {

using optim_test::AllOptimizerCases;
using optim_test::BitIdentical;
using optim_test::FillGrads;
using optim_test::Flatten;
using optim_test::GradValue;
using optim_test::OddParams;
using optim_test::ReferenceParams;

std::vector<std::string> Names(const std::vector<NamedTensor>& tensors) {
  std::vector<std::string> names;
  for (const NamedTensor& t : tensors) names.push_back(t.name);
  return names;
}

// A deep copy, as a checkpoint file would hold.
std::vector<NamedTensor> Snapshot(const std::vector<NamedTensor>& tensors) {
  std::vector<NamedTensor> copy;
  for (const NamedTensor& t : tensors) copy.push_back({t.name, t.tensor.Clone()});
  return copy;
}

std::vector<NamedTensor> Without(std::vector<NamedTensor> tensors, const std::string& name) {
  std::erase_if(tensors, [&](const NamedTensor& t) { return t.name == name; });
  return tensors;
}

std::vector<NamedTensor> Replacing(std::vector<NamedTensor> tensors, const std::string& name,
                                   Tensor value) {
  for (NamedTensor& t : tensors) {
    if (t.name == name) t.tensor = value;
  }
  return tensors;
}

// An Adam that has taken one step on the reference parameters.
struct SteppedAdam {
  SteppedAdam() : params(ReferenceParams()) {
    FillGrads(params.grads(), 0);
    optimizer.Step(params);
  }
  Adam optimizer{0.1};
  ParameterSet params;
};

TEST(OptimizerStateTest, ResumeIsBitIdenticalToAnUninterruptedRun) {
  for (const auto& c : AllOptimizerCases()) {
    SCOPED_TRACE(c.label);
    // A schedule too, so the restored step count must also drive the learning rate.
    auto make = [&] {
      auto optimizer = c.make();
      optimizer->SetSchedule(std::make_unique<WarmupSchedule>(
          std::make_unique<CosineSchedule>(0.05, 6, 0.001), /*warmup_steps=*/2, 0.1));
      return optimizer;
    };
    auto uninterrupted = make();
    ParameterSet params(OddParams());
    std::vector<NamedTensor> checkpoint;
    for (int t = 0; t < 6; ++t) {
      if (t == 3) {
        for (int i = 0; i < params.size(); ++i)
          checkpoint.push_back({params.name(i), params.param(i).Clone()});
        for (NamedTensor& s : Snapshot(uninterrupted->State(params))) checkpoint.push_back(s);
      }
      FillGrads(params.grads(), t);
      uninterrupted->Step(params);
    }

    std::vector<NamedTensor> weights(checkpoint.begin(), checkpoint.begin() + params.size());
    ParameterSet restored(Snapshot(weights));
    auto resumed = make();
    // Model weights in the same list are ignored.
    ASSERT_TRUE(resumed->LoadState(restored, checkpoint).ok());
    EXPECT_EQ(resumed->iterations(), 3);
    for (int t = 3; t < 6; ++t) {
      FillGrads(restored.grads(), t);
      resumed->Step(restored);
    }
    EXPECT_TRUE(BitIdentical(Flatten(params.params()), Flatten(restored.params())));
  }
}

TEST(OptimizerStateTest, ResumeFromBeforeTheFirstStep) {
  // Step 0 means "no momentum buffer yet": it is still taken from the first gradient after a load.
  SGD fresh(SGDOptions{.lr = 0.1, .momentum = 0.9});
  ParameterSet a(ReferenceParams());
  const std::vector<NamedTensor> state = Snapshot(fresh.State(a));
  EXPECT_EQ(*state[0].tensor.i64(), 0);

  SGD resumed(SGDOptions{.lr = 0.1, .momentum = 0.9});
  ParameterSet b(ReferenceParams());
  ASSERT_TRUE(resumed.LoadState(b, state).ok());
  for (int t = 0; t < 3; ++t) {
    FillGrads(a.grads(), t);
    fresh.Step(a);
    FillGrads(b.grads(), t);
    resumed.Step(b);
  }
  EXPECT_TRUE(BitIdentical(Flatten(a.params()), Flatten(b.params())));
}

TEST(OptimizerStateTest, NamesShapesAndValues) {
  SteppedAdam s;
  const std::vector<NamedTensor> state = s.optimizer.State(s.params);
  EXPECT_EQ(Names(state),
            (std::vector<std::string>{"optim.step", "optim.w.exp_avg", "optim.w.exp_avg_sq",
                                      "optim.b.exp_avg", "optim.b.exp_avg_sq"}));
  EXPECT_EQ(state[0].tensor.dtype(), DType::kInt64);
  EXPECT_EQ(state[0].tensor.rank(), 0);
  EXPECT_EQ(*state[0].tensor.i64(), 1);
  EXPECT_EQ(state[1].tensor.shape(), (Shape{2, 3}));
  EXPECT_EQ(state[4].tensor.shape(), (Shape{3}));
  // After one step exp_avg = (1 - beta1) * grad.
  for (int j = 0; j < 6; ++j) EXPECT_FLOAT_EQ(state[1].tensor.f32()[j], 0.1f * GradValue(j, 0));
  for (int j = 0; j < 3; ++j) EXPECT_FLOAT_EQ(state[3].tensor.f32()[j], 0.1f * GradValue(6 + j, 0));
}

TEST(OptimizerStateTest, StateTensorsAreViewsIntoOneArena) {
  SteppedAdam s;
  const std::vector<NamedTensor> state = s.optimizer.State(s.params);
  EXPECT_EQ(state[1].tensor.storage(), state[4].tensor.storage());
  const float before = state[1].tensor.f32()[0];
  FillGrads(s.params.grads(), 1);
  s.optimizer.Step(s.params);
  EXPECT_NE(state[1].tensor.f32()[0], before);
}

TEST(OptimizerStateTest, SlotNamesFollowTheOptions) {
  ParameterSet params(ReferenceParams());
  SGD plain(0.1);
  EXPECT_EQ(Names(plain.State(params)), (std::vector<std::string>{"optim.step"}));
  RMSprop full(RMSpropOptions{.lr = 0.01, .momentum = 0.9, .centered = true});
  EXPECT_EQ(full.slot_names(),
            (std::vector<std::string>{"square_avg", "momentum_buffer", "grad_avg"}));
  EXPECT_EQ(SGD(SGDOptions{.momentum = 0.5}).slot_names(),
            (std::vector<std::string>{"momentum_buffer"}));
}

TEST(OptimizerStateTest, MissingTensorIsNotFoundByName) {
  SteppedAdam s;
  const auto state = Snapshot(s.optimizer.State(s.params));
  Adam other(0.1);
  const absl::Status status = other.LoadState(s.params, Without(state, "optim.b.exp_avg_sq"));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(status.message().find("'optim.b.exp_avg_sq'"), std::string::npos) << status;

  const absl::Status no_step = other.LoadState(s.params, Without(state, "optim.step"));
  EXPECT_EQ(no_step.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(no_step.message().find("'optim.step'"), std::string::npos) << no_step;
}

TEST(OptimizerStateTest, WrongShapeOrDtypeIsInvalidArgumentByName) {
  SteppedAdam s;
  const auto state = Snapshot(s.optimizer.State(s.params));
  Adam other(0.1);
  const absl::Status shape =
      other.LoadState(s.params, Replacing(state, "optim.w.exp_avg", Tensor::Zeros(Shape{3, 2})));
  EXPECT_EQ(shape.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(shape.message().find("'optim.w.exp_avg' is float32 [3, 2], expected float32 [2, 3]"),
            std::string::npos)
      << shape;

  const absl::Status dtype = other.LoadState(
      s.params, Replacing(state, "optim.w.exp_avg", Tensor::Zeros(Shape{2, 3}, DType::kInt64)));
  EXPECT_EQ(dtype.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(dtype.message().find("'optim.w.exp_avg' is int64"), std::string::npos) << dtype;

  const absl::Status step =
      other.LoadState(s.params, Replacing(state, "optim.step", Tensor::Scalar(1.0f)));
  EXPECT_EQ(step.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(step.message().find("'optim.step'"), std::string::npos) << step;

  const absl::Status negative =
      other.LoadState(s.params, Replacing(state, "optim.step", Tensor::FromInt64({-1}, Shape{})));
  EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument);
}

TEST(OptimizerStateTest, StateOfAnotherOptimizerIsRejected) {
  SteppedAdam s;
  const auto adam_state = Snapshot(s.optimizer.State(s.params));
  // SGD without momentum keeps no per-parameter state: Adam's moments are unexpected.
  SGD sgd(0.1);
  const absl::Status unexpected = sgd.LoadState(s.params, adam_state);
  EXPECT_EQ(unexpected.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unexpected.message().find("unexpected optimizer state tensor 'optim.w.exp_avg'"),
            std::string::npos)
      << unexpected;
  // SGD with momentum misses its buffer.
  SGD momentum(SGDOptions{.lr = 0.1, .momentum = 0.9});
  const absl::Status missing = momentum.LoadState(s.params, adam_state);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("'optim.w.momentum_buffer'"), std::string::npos) << missing;
}

TEST(OptimizerStateTest, DuplicateTensorIsRejected) {
  SteppedAdam s;
  auto state = Snapshot(s.optimizer.State(s.params));
  state.push_back(state[1]);
  Adam other(0.1);
  const absl::Status status = other.LoadState(s.params, state);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("'optim.w.exp_avg' appears twice"), std::string::npos) << status;
}

TEST(OptimizerStateTest, FailedLoadChangesNothing) {
  SteppedAdam s;
  const auto good = Snapshot(s.optimizer.State(s.params));
  auto bad = Snapshot(good);
  bad[0].tensor = Tensor::FromInt64({42}, Shape{});
  bad[1].tensor.Fill(7.0f);
  bad = Without(bad, "optim.b.exp_avg_sq");
  EXPECT_FALSE(s.optimizer.LoadState(s.params, bad).ok());
  EXPECT_EQ(s.optimizer.iterations(), 1);
  const auto after = s.optimizer.State(s.params);
  for (size_t i = 1; i < good.size(); ++i)
    EXPECT_EQ(after[i].tensor.ToVector(), good[i].tensor.ToVector()) << good[i].name;
}

TEST(OptimizerStateTest, LoadingItsOwnViewsIsANoOp) {
  SteppedAdam s;
  const auto before = Snapshot(s.optimizer.State(s.params));
  ASSERT_TRUE(s.optimizer.LoadState(s.params, s.optimizer.State(s.params)).ok());
  const auto after = s.optimizer.State(s.params);
  for (size_t i = 1; i < before.size(); ++i)
    EXPECT_EQ(after[i].tensor.ToVector(), before[i].tensor.ToVector());
}

}  // namespace
}  // namespace hearth
