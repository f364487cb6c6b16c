// A small classifier trained in C++: a 2-16-16-3 MLP learns three interleaved spirals, the
// classic dataset a linear model cannot separate. Shows Sequential, the flat ParameterSet,
// mini-batches, Adam, and evaluation under NoGradGuard.
#include <cmath>
#include <cstdio>
#include <vector>

#include "hearth/hearth.h"

namespace {

constexpr int kClasses = 3;
constexpr int kPerClass = 200;

// Points on three noisy spiral arms, one class per arm.
void MakeSpirals(hearth::Generator& rng, hearth::Tensor* features, hearth::Tensor* labels) {
  std::vector<float> xs;
  std::vector<int64_t> ys;
  for (int c = 0; c < kClasses; ++c) {
    for (int i = 0; i < kPerClass; ++i) {
      const float r = static_cast<float>(i) / kPerClass;
      const float t = 4.0f * r + 2.0944f * c + 0.2f * rng.Normal();
      xs.push_back(r * std::sin(t));
      xs.push_back(r * std::cos(t));
      ys.push_back(c);
    }
  }
  *features = hearth::Tensor::FromVector(xs, {kClasses * kPerClass, 2});
  *labels = hearth::Tensor::FromInt64(ys, {kClasses * kPerClass});
}

float Accuracy(hearth::Module& model, const hearth::Tensor& x, const hearth::Tensor& y) {
  hearth::NoGradGuard no_grad;
  auto predicted = hearth::argmax(model(x));
  int correct = 0;
  for (int64_t i = 0; i < y.numel(); ++i) correct += predicted.i64()[i] == y.i64()[i];
  return static_cast<float>(correct) / static_cast<float>(y.numel());
}

}  // namespace

int main(int, char** argv) {
  // Picks the fast OpenBLAS kernel on CPUs that 0.3.21 misdetects (see README).
  hearth::ReexecWithBestBlasCore(argv);
  hearth::Generator rng(/*seed=*/7);
  hearth::Tensor x, y;
  MakeSpirals(rng, &x, &y);

  hearth::Sequential model;
  model.Emplace<hearth::Linear>(2, 16, rng)
      .Emplace<hearth::ActivationLayer>(hearth::Activation::kTanh)
      .Emplace<hearth::Linear>(16, 16, rng)
      .Emplace<hearth::ActivationLayer>(hearth::Activation::kTanh)
      .Emplace<hearth::Linear>(16, kClasses, rng);
  hearth::ParameterSet params(model);
  hearth::Adam optimizer(/*learning_rate=*/0.02);

  const int64_t n = x.dim(0), batch = 60;
  std::printf("spirals: %lld points, %d classes, model %s (%lld parameters)\n",
              static_cast<long long>(n), kClasses, model.Describe().c_str(),
              static_cast<long long>(model.ParameterCount()));
  for (int epoch = 1; epoch <= 300; ++epoch) {
    std::vector<int64_t> order(n);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.Below(i + 1)]);
    float epoch_loss = 0.0f;
    for (int64_t start = 0; start < n; start += batch) {
      std::vector<float> bx;
      std::vector<int64_t> by;
      for (int64_t j = start; j < start + batch; ++j) {
        bx.push_back(x.f32()[order[j] * 2]);
        bx.push_back(x.f32()[order[j] * 2 + 1]);
        by.push_back(y.i64()[order[j]]);
      }
      hearth::GradientTape tape;
      auto loss = hearth::cross_entropy_loss(model(hearth::Tensor::FromVector(bx, {batch, 2})),
                                             hearth::Tensor::FromInt64(by, {batch}));
      tape.gradient_into(loss, params.params(), params.grads());
      optimizer.Step(params);
      epoch_loss += loss.item() * batch / n;
    }
    if (epoch % 50 == 0)
      std::printf("epoch %3d  loss %.4f  accuracy %.3f\n", epoch, epoch_loss,
                  Accuracy(model, x, y));
  }
  const float accuracy = Accuracy(model, x, y);
  std::printf("final training accuracy %.3f\n", accuracy);
  return accuracy > 0.9f ? 0 : 1;
}
