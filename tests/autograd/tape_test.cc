// GradientTape semantics: what is recorded, gradient hooks, persistence and memory.
#include <gtest/gtest.h>

#include <unistd.h>
#include <fstream>

#include "hearth/autograd.h"
#include "hearth/nn.h"
#include "hearth/ops.h"

namespace hearth {
namespace {

TEST(TapeTest, RecordsOnlyOpsOnTrackedValues) {
  Tensor w = Variable(2.0f);
  Tensor c = Tensor::Scalar(3.0f);
  GradientTape tape;
  Tensor untracked = c * c;
  EXPECT_EQ(tape.size(), 0);
  Tensor y = w * c + untracked;
  EXPECT_EQ(tape.size(), 2);
  auto grads = tape.gradient(y, {w});
  EXPECT_FLOAT_EQ(grads[0].item(), 3.0f);
}

TEST(TapeTest, WatchTracksConstants) {
  Tensor x = Tensor::FromVector({1.0f, 2.0f, 3.0f});
  GradientTape tape;
  tape.watch(x);
  Tensor y = sum(square(x));
  auto grads = tape.gradient(y, {x});
  EXPECT_EQ(grads[0].ToVector(), (std::vector<float>{2.0f, 4.0f, 6.0f}));
}

TEST(TapeTest, UnconnectedSourceGetsZeros) {
  Tensor a = Variable(Tensor::FromVector({1.0f, 2.0f}));
  Tensor b = Variable(Tensor::FromVector({5.0f, 6.0f}));
  GradientTape tape;
  Tensor y = sum(a * 3.0f);
  auto grads = tape.gradient(y, {a, b});
  EXPECT_EQ(grads[0].ToVector(), (std::vector<float>{3.0f, 3.0f}));
  EXPECT_EQ(grads[1].ToVector(), (std::vector<float>{0.0f, 0.0f}));
}

TEST(TapeTest, ValueUsedTwiceAccumulates) {
  Tensor x = Variable(3.0f);
  GradientTape tape;
  Tensor y = x * x + x;  // dy/dx = 2x + 1
  EXPECT_FLOAT_EQ(tape.gradient(y, {x})[0].item(), 7.0f);
}

TEST(TapeTest, GradientWithRespectToIntermediate) {
  Tensor x = Variable(2.0f);
  GradientTape tape;
  Tensor h = x * 3.0f;
  Tensor y = h * h;  // dy/dh = 2h = 12, dy/dx = 36
  auto grads = tape.gradient(y, {h, x});
  EXPECT_FLOAT_EQ(grads[0].item(), 12.0f);
  EXPECT_FLOAT_EQ(grads[1].item(), 36.0f);
}

TEST(TapeTest, NoGradGuardStopsRecording) {
  Tensor w = Variable(1.0f);
  GradientTape tape;
  {
    NoGradGuard no_grad;
    Tensor y = w * 2.0f;
  }
  EXPECT_EQ(tape.size(), 0);
  Tensor y = w * 2.0f;
  EXPECT_EQ(tape.size(), 1);
}

TEST(TapeTest, PersistentTapeAllowsSeveralGradients) {
  Tensor x = Variable(2.0f);
  GradientTape tape(/*persistent=*/true);
  Tensor y = x * x * x;
  EXPECT_FLOAT_EQ(tape.gradient(y, {x})[0].item(), 12.0f);
  EXPECT_FLOAT_EQ(tape.gradient(y, {x})[0].item(), 12.0f);
}

TEST(TapeDeathTest, NonPersistentTapeRefusesSecondGradient) {
  Tensor x = Variable(2.0f);
  GradientTape tape;
  Tensor y = x * x;
  tape.gradient(y, {x});
  EXPECT_DEATH(tape.gradient(y, {x}), "only once");
}

TEST(TapeTest, NonPersistentTapeFreesIntermediates) {
  Tensor x = Variable(Tensor::Ones({100}));
  std::weak_ptr<Storage> intermediate;
  Tensor y;
  {
    GradientTape tape;
    Tensor h = exp(x);
    intermediate = h.storage();
    y = sum(h);
    h = Tensor();
    EXPECT_FALSE(intermediate.expired());  // the tape holds it for the backward pass
    tape.gradient(y, {x});
    EXPECT_TRUE(intermediate.expired());
  }
}

TEST(TapeTest, GradientIntoWritesArenaAndReportsReadyInReverseOrder) {
  Generator rng(3);
  Sequential model;
  model.Emplace<Linear>(4, 8, rng)
      .Emplace<ActivationLayer>(Activation::kReLU)
      .Emplace<Linear>(8, 2, rng);
  ParameterSet params(model);
  Tensor x = Tensor::Full({5, 4}, 0.5f);
  std::vector<int> ready;
  GradientTape tape;
  Tensor loss = sum(model(x));
  tape.gradient_into(loss, params.params(), params.grads(), false,
                     [&](int i) { ready.push_back(i); });
  // Parameters are ready last layer first: 2.bias and 2.weight, then 0.*.
  ASSERT_EQ(ready.size(), 4u);
  EXPECT_GE(ready[0], 2);
  EXPECT_GE(ready[1], 2);
  EXPECT_LT(ready[2], 2);
  EXPECT_LT(ready[3], 2);

  // Same values as the plain gradient() path.
  GradientTape tape2;
  Tensor loss2 = sum(model(x));
  auto grads = tape2.gradient(loss2, params.params());
  for (int i = 0; i < params.size(); ++i) EXPECT_EQ(grads[i].ToVector(), params.grad(i).ToVector());
}

TEST(TapeTest, GradientIntoAccumulates) {
  Tensor w = Variable(Tensor::FromVector({1.0f, 2.0f}));
  Tensor g = Tensor::FromVector({10.0f, 20.0f});
  GradientTape tape;
  Tensor y = sum(w * 3.0f);
  tape.gradient_into(y, {w}, {g}, /*accumulate=*/true);
  EXPECT_EQ(g.ToVector(), (std::vector<float>{13.0f, 23.0f}));
}

int64_t ResidentKilobytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

TEST(TapeTest, MemoryStaysFlatOver10000TrainingSteps) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer keeps freed memory in quarantine, so resident memory grows "
                  "by design; the plain build runs this test";
#endif
  Generator rng(5);
  Sequential model;
  model.Emplace<Linear>(16, 32, rng)
      .Emplace<ActivationLayer>(Activation::kReLU)
      .Emplace<Linear>(32, 4, rng);
  ParameterSet params(model);
  Tensor x = Tensor::Full({8, 16}, 0.1f);
  Tensor labels = Tensor::FromInt64({0, 1, 2, 3, 0, 1, 2, 3}, {8});
  auto step = [&] {
    GradientTape tape;
    Tensor loss = softmax_cross_entropy(model(x), labels);
    tape.gradient_into(loss, params.params(), params.grads());
    float* p = params.flat_params().f32();
    const float* g = params.flat_grads().f32();
    for (int64_t i = 0; i < params.numel(); ++i) p[i] -= 0.01f * g[i];
  };
  for (int i = 0; i < 1000; ++i) step();
  const int64_t before = ResidentKilobytes();
  for (int i = 0; i < 9000; ++i) step();
  const int64_t after = ResidentKilobytes();
  EXPECT_LT(after - before, 512) << "resident memory grew from " << before << " kB to " << after
                                 << " kB";
}

}  // namespace
}  // namespace hearth
