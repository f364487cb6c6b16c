// Engine micro-benchmarks: op dispatch overhead, matmul against raw cblas_sgemm, and MLP training
// steps on the shapes of ../shared/peers/mlp_ref.c. Prints one line per figure; run through
// bench/compare_engine.sh to get the side-by-side ratios with the plain C peer.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "hearth/autograd.h"
#include "hearth/blas.h"
#include "hearth/nn.h"
#include "hearth/ops.h"
#include "hearth/optim.h"
#include "hearth/timeline.h"

namespace hearth {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best seconds per iteration over `repeats` timed runs of `iters` iterations (after a warm-up).
double BestSeconds(const std::function<void()>& body, int iters, int repeats = 5) {
  for (int i = 0; i < iters / 10 + 2; ++i) body();
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const double t0 = Now();
    for (int i = 0; i < iters; ++i) body();
    best = std::min(best, (Now() - t0) / iters);
  }
  return best;
}

void Dispatch() {
  Tensor a = Variable(1.0f), b = Variable(2.0f);
  const double s = BestSeconds(
      [&] {
        GradientTape tape;
        Tensor c = add(a, b);
        auto g = tape.gradient(c, {a, b});
      },
      200000);
  std::printf("dispatch add_1elem_fwd_bwd_ns=%.0f\n", s * 1e9);
}

// One TimelineSpan, off (an atomic load) and on (two clock reads and a buffered store, the
// buffer written out every Timeline::kFlushEvents events to /dev/null).
void TimelineSpans() {
  auto span = [] { TimelineSpan s("forward", "compute"); };
  const double off = BestSeconds(span, 1000000);
  if (!Timeline::Get().Start("/dev/null", 0).ok()) return;
  const double on = BestSeconds(span, 1000000);
  Timeline::Get().Stop().IgnoreError();
  std::printf("timeline span_off_ns=%.1f span_on_ns=%.1f\n", off * 1e9, on * 1e9);
}

void Matmul(int n) {
  Tensor a = Tensor::Full({n, n}, 0.5f), b = Tensor::Full({n, n}, 0.25f);
  std::vector<float> c(static_cast<size_t>(n) * n);
  const int iters = std::max(3, 400000000 / (n * n * n));
  // Rounds alternate between the two sides so that load from other processes hits both alike.
  double raw = 1e30, ours = 1e30;
  for (int round = 0; round < 5; ++round) {
    raw = std::min(raw, BestSeconds(
                            [&] {
                              cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f,
                                          a.f32(), n, b.f32(), n, 0.0f, c.data(), n);
                            },
                            iters, 1));
    ours = std::min(ours, BestSeconds([&] { Tensor out = matmul(a, b); }, iters, 1));
  }
  const double flops = 2.0 * n * n * n;
  std::printf("matmul n=%d hearth_gflops=%.1f sgemm_gflops=%.1f ratio=%.3f\n", n,
              flops / ours / 1e9, flops / raw / 1e9, raw / ours);
}

void MlpStep(int batch, const std::vector<int64_t>& dims, int iters) {
  Generator rng(0);
  Sequential model;
  for (size_t l = 0; l + 1 < dims.size(); ++l) {
    model.Emplace<Linear>(dims[l], dims[l + 1], rng);
    if (l + 2 < dims.size()) model.Emplace<ActivationLayer>(Activation::kReLU);
  }
  ParameterSet params(model);
  SGD sgd(0.01);
  Tensor x = Tensor::Empty({batch, dims[0]});
  for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = rng.Uniform(-1, 1);
  std::vector<int64_t> y(batch);
  for (auto& v : y) v = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(dims.back())));
  Tensor labels = Tensor::FromInt64(y, {batch});
  float last = 0;
  const double s = BestSeconds(
      [&] {
        GradientTape tape;
        Tensor loss = softmax_cross_entropy(model(x), labels);
        tape.gradient_into(loss, params.params(), params.grads());
        sgd.Step(params);
        last = loss.item();
      },
      iters);
  double flops = 0;
  for (size_t l = 0; l + 1 < dims.size(); ++l) flops += 6.0 * batch * dims[l] * dims[l + 1];
  std::printf("mlp_step batch=%d dims=", batch);
  for (size_t l = 0; l < dims.size(); ++l) std::printf("%s%lld", l ? "-" : "", (long long)dims[l]);
  std::printf(" ms=%.4f gflops=%.1f loss=%.3f\n", s * 1e3, flops / s / 1e9, last);
}

}  // namespace
}  // namespace hearth

int main(int argc, char** argv) {
  const char* only = argc > 1 ? argv[1] : "";
  hearth::SetBlasThreads(1);
  std::printf("openblas_core=%s threads=1\n", hearth::BlasCoreName().c_str());
  if (!*only || !std::strcmp(only, "dispatch")) hearth::Dispatch();
  if (!*only || !std::strcmp(only, "timeline")) hearth::TimelineSpans();
  if (!*only || !std::strcmp(only, "matmul"))
    for (int n : {256, 512, 1024}) hearth::Matmul(n);
  if (!*only || !std::strcmp(only, "mlp")) {
    hearth::MlpStep(32, {32, 64, 64, 10}, 20000);
    hearth::MlpStep(64, {784, 256, 256, 10}, 1000);
  }
  return 0;
}
