// Metrics by name, MetricSet, and the distributed recipe (sum states, load, compute).
#include <gtest/gtest.h>

#include "hearth/metrics.h"
#include "metrics/metric_test_util.h"

namespace hearth {
namespace {

using testing_metrics::Rows;

TEST(MetricRegistryTest, EveryNameMakesAMetricOfThatName) {
  MetricOptions options;
  options.num_classes = 2;  // inertia around cluster means needs it
  for (const std::string& name : MetricNames()) {
    auto metric = MakeMetric(name, options);
    ASSERT_TRUE(metric.ok()) << name << ": " << metric.status();
    EXPECT_EQ((*metric)->name(), name);
  }
  EXPECT_EQ(MetricNames().size(), 24u);
}

TEST(MetricRegistryTest, UnknownNameListsTheValidOnes) {
  auto metric = MakeMetric("f2");
  ASSERT_FALSE(metric.ok());
  EXPECT_EQ(metric.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(metric.status().message().find("unknown metric \"f2\""), std::string::npos);
  EXPECT_NE(metric.status().message().find("f1_macro, precision_micro"), std::string::npos);
  EXPECT_NE(metric.status().message().find("silhouette"), std::string::npos);
  MetricOptions bad_eps;
  bad_eps.log_loss_eps = 0;
  EXPECT_FALSE(MakeMetric("log_loss", bad_eps).ok());
}

TEST(MetricSetTest, ResultsInRequestedOrder) {
  auto set = MetricSet::Create({"f1_macro", "accuracy"});
  ASSERT_TRUE(set.ok());
  const Tensor p = Tensor::FromVector({1, 0, 0, 1, 1, 0}, Shape{3, 2});
  ASSERT_TRUE(set->Update(p, Tensor::FromInt64({0, 1, 1}, Shape{3})).ok());
  auto results = set->Compute();
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0].first, "f1_macro");
  EXPECT_EQ((*results)[1].first, "accuracy");
  EXPECT_DOUBLE_EQ((*results)[1].second, 2.0 / 3);
  EXPECT_FALSE(MetricSet::Create({"accuracy", "accuracy"}).ok());
  EXPECT_FALSE(MetricSet::Create({"accuracy", "nope"}).ok());
}

// Two "ranks" evaluate halves of the data; summing their states and loading the sum gives the
// results over all of it, including on a rank that saw no batch but declared num_classes.
TEST(MetricSetTest, DistributedEvaluationIsASumOfStates) {
  const Tensor p =
      Tensor::FromVector({2.0f, 1.0f, 0.1f, 0.5f, 2.5f, 0.3f, 0.2f, 0.1f, 3.0f, 1.5f, 1.4f, 0.2f,
                          0.1f, 0.3f, 0.2f, 2.2f, 0.1f, 0.4f, 0.3f, 0.2f, 1.1f, 1.0f, 2.0f, 0.5f},
                         Shape{8, 3});
  const Tensor y = Tensor::FromInt64({0, 1, 2, 1, 2, 0, 1, 1}, Shape{8});
  const std::vector<std::string> names = {"accuracy", "precision_macro", "f1_macro", "log_loss"};
  MetricOptions options;
  options.num_classes = 3;

  auto all = MetricSet::Create(names, options);
  ASSERT_TRUE(all->Update(p, y).ok());
  const MetricResults expected = *all->Compute();

  auto rank0 = MetricSet::Create(names, options);
  auto rank1 = MetricSet::Create(names, options);
  auto rank2 = MetricSet::Create(names, options);  // no data
  ASSERT_TRUE(rank0->Update(Rows(p, 0, 5), Rows(y, 0, 5)).ok());
  ASSERT_TRUE(rank1->Update(Rows(p, 5, 8), Rows(y, 5, 8)).ok());
  std::vector<double> state = rank0->State();
  ASSERT_EQ(state.size(), rank2->State().size());
  for (const auto* other : {&*rank1, &*rank2}) {  // the allreduce
    const std::vector<double> s = other->State();
    ASSERT_EQ(s.size(), state.size());
    for (size_t i = 0; i < s.size(); ++i) state[i] += s[i];
  }
  for (auto* rank : {&*rank0, &*rank1, &*rank2}) {
    ASSERT_TRUE(rank->LoadState(state).ok());
    const MetricResults got = *rank->Compute();
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].first, expected[i].first);
      EXPECT_NEAR(got[i].second, expected[i].second, 1e-12) << got[i].first;
    }
  }
  EXPECT_FALSE(rank0->LoadState(std::vector<double>(3, 0.0)).ok());
  EXPECT_TRUE(rank0->summable());
  EXPECT_FALSE(MetricSet::Create({"silhouette"})->summable());
}

TEST(MetricSetTest, LoadStateNeedsAKnownLayout) {
  auto set = MetricSet::Create({"accuracy"});  // classes not declared, nothing seen
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->State().empty());
  const Status s = set->LoadState(std::vector<double>(10, 0.0));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("num_classes"), std::string::npos);
}

}  // namespace
}  // namespace hearth
