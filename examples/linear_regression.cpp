// The seed program: linear regression y = W*x + b, trained with a GradientTape exactly as a
// TensorFlow learner would write it.
#include <cstdio>

#include "hearth/hearth.h"

int main() {
  auto x = hearth::Tensor::FromVector({1, 2, 3, 4, 5});
  auto y = hearth::Tensor::FromVector({2, 4, 6, 8, 10});

  auto W = hearth::Variable(0.0f);
  auto b = hearth::Variable(0.0f);
  hearth::SGD optimizer(/*learning_rate=*/0.01);

  for (int epoch = 1; epoch <= 100; ++epoch) {
    hearth::GradientTape tape;
    auto loss = hearth::mean(hearth::square(W * x + b - y));
    auto grads = tape.gradient(loss, {W, b});
    optimizer.apply_gradients(grads, {W, b});
    if (epoch % 20 == 0) std::printf("epoch %3d  loss %.6f\n", epoch, loss.item());
  }

  auto loss = hearth::mean(hearth::square(W * x + b - y));
  std::printf("W = %.6g, b = %.6g, loss = %.6g\n", W.item(), b.item(), loss.item());
  return 0;
}
