// Planning a cross-validated sweep (base.data.folds): one trial per point and fold, the folds of
// a point adjacent, "data.fold" among each trial's parameters; the bounds count every fold.
#include "coordinator/sweep_plan.h"

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "hearth/job.h"

namespace hearth::coordinator {
namespace {

v1::SweepSpec CrossValidatedSweep(int folds, const std::vector<double>& lrs) {
  StatusOr<v1::JobSpec> base = ParseJobSpec(absl::StrFormat(R"({
    "name": "cv", "task": "CLASSIFICATION",
    "data": {"train": {"path": "examples/data/logistic_regression.csv", "label_column": "label"},
             "folds": %d},
    "model": {"layers": [{"dense": {"units": 1}}]}, "loss": {"type": "BINARY_CROSS_ENTROPY"},
    "optimizer": {"name": "sgd", "lr": 0.1}, "global_batch_size": 16, "epochs": 2})",
                                                            folds),
                                            "base");
  EXPECT_TRUE(base.ok()) << base.status();
  v1::SweepSpec spec;
  spec.set_name("cv");
  *spec.mutable_base() = *base;
  spec.set_method(v1::SweepSpec::GRID);
  spec.set_metric("val_loss");
  if (!lrs.empty()) {
    v1::SweepParameter* p = spec.add_parameters();
    p->set_path("optimizer.lr");
    for (double lr : lrs) p->add_values(lr);
  }
  return spec;
}

double Parameter(const v1::Trial& trial, const std::string& name) {
  for (const v1::Metric& p : trial.parameters())
    if (p.name() == name) return p.value();
  ADD_FAILURE() << "no parameter " << name;
  return -1;
}

TEST(SweepPlanTest, EachPointIsOneTrialPerFold) {
  StatusOr<std::vector<v1::Trial>> trials = PlanSweep(CrossValidatedSweep(3, {0.01, 0.1}));
  ASSERT_TRUE(trials.ok()) << trials.status();
  ASSERT_EQ(trials->size(), 6u);
  for (size_t t = 0; t < trials->size(); ++t) {
    EXPECT_EQ(Parameter((*trials)[t], "optimizer.lr"), t < 3 ? 0.01 : 0.1);
    EXPECT_EQ(Parameter((*trials)[t], kFoldParameter), static_cast<double>(t % 3));
  }
}

TEST(SweepPlanTest, ACrossValidationAloneNeedsNoParameters) {
  StatusOr<std::vector<v1::Trial>> trials = PlanSweep(CrossValidatedSweep(4, {}));
  ASSERT_TRUE(trials.ok()) << trials.status();
  ASSERT_EQ(trials->size(), 4u);
  EXPECT_EQ((*trials)[3].parameters_size(), 1);
  // Without folds a sweep still needs something to vary.
  v1::SweepSpec plain = CrossValidatedSweep(4, {});
  plain.mutable_base()->mutable_data()->set_folds(0);
  plain.mutable_base()->mutable_data()->set_validation_fraction(0.2);
  EXPECT_EQ(PlanSweep(plain).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SweepPlanTest, TheFoldsAreTheSweepsOwnParameter) {
  v1::SweepSpec spec = CrossValidatedSweep(3, {0.1});
  spec.mutable_parameters(0)->set_path(kFoldParameter);
  const Status s = PlanSweep(spec).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("spec.parameters[0].path: the sweep trains every fold"),
            std::string::npos)
      << s.message();
}

TEST(SweepPlanTest, TheTrialBoundCountsEveryFold) {
  std::vector<double> lrs;
  for (int i = 1; i <= 400; ++i) lrs.push_back(i * 1e-4);
  EXPECT_TRUE(PlanSweep(CrossValidatedSweep(2, lrs)).ok());
  EXPECT_EQ(PlanSweep(CrossValidatedSweep(3, lrs)).status().code(),
            absl::StatusCode::kResourceExhausted);
  v1::SweepSpec random = CrossValidatedSweep(5, {});
  random.set_method(v1::SweepSpec::RANDOM);
  v1::SweepParameter* p = random.add_parameters();
  p->set_path("optimizer.lr");
  p->set_min(1e-3);
  p->set_max(1e-1);
  random.set_trials(201);
  const Status s = PlanSweep(random).status();
  EXPECT_NE(s.message().find("spec.trials: must be from 1 to 200 (each trial is trained once per "
                             "fold)"),
            std::string::npos)
      << s.message();
  random.set_trials(200);
  EXPECT_TRUE(PlanSweep(random).ok());
}

}  // namespace
}  // namespace hearth::coordinator
