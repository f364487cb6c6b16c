// The model server's costs per request, in process: the forward pass of one row (the figure the
// serving issue bounds at 50 µs), a batch of 64 rows per row, decoding a KServe v2 request of one
// row, encoding its reply, and a whole request through ServingApi (no sockets). Prints one line
// per figure with the OpenBLAS kernel. Run through bench/compare_serving.sh for the side-by-side
// figures with the FastAPI + PyTorch peer.
//
// usage: serve_bench CHECKPOINT [MODEL_NAME]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <random>
#include <string>

#include "absl/strings/str_format.h"
#include "core/json.h"
#include "hearth/autograd.h"
#include "hearth/blas.h"
#include "hearth/train.h"
#include "serve/kserve_v2.h"
#include "serve/serving_api.h"

namespace hearth::serve {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best microseconds per iteration over 5 timed runs of `iters` (after a warm-up).
double BestMicros(const std::function<void()>& body, int iters) {
  for (int i = 0; i < iters / 10 + 2; ++i) body();
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const double t0 = Now();
    for (int i = 0; i < iters; ++i) body();
    best = std::min(best, (Now() - t0) / iters);
  }
  return best * 1e6;
}

std::string OneRowRequest(int64_t width) {
  std::mt19937 rng(12345);
  std::uniform_real_distribution<float> u(0, 1);
  std::string body = absl::StrFormat(
      R"({"inputs":[{"name":"input","shape":[1,%d],"datatype":"FP32","data":[)", width);
  for (int64_t i = 0; i < width; ++i) body += absl::StrFormat("%s%.6f", i ? "," : "", u(rng));
  return body + "]}]}";
}

int Run(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: serve_bench CHECKPOINT [MODEL_NAME]\n");
    return 2;
  }
  const std::string name = argc > 2 ? argv[2] : "model";
  std::printf("blas_core=%s\n", BlasCoreName().c_str());
  ModelRegistry registry({{name, argv[1]}}, RegistryOptions{});
  if (Status s = registry.Reload(); !s.ok()) {
    std::fprintf(stderr, "serve_bench: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::shared_ptr<const ServedModel> served = *registry.Find(name);
  auto model = TrainedModel::Load(argv[1]);
  if (!model.ok()) return 1;
  const int64_t width = served->rows().width();

  Tensor one = Tensor::Full(Shape{1, width}, 0.5f);
  std::printf("forward_1_row_us=%.2f\n", BestMicros([&] { (void)(*model)->Outputs(one); }, 2000));
  Tensor batch = Tensor::Full(Shape{64, width}, 0.5f);
  std::printf("forward_64_rows_us_per_row=%.2f\n",
              BestMicros([&] { (void)(*model)->Outputs(batch); }, 200) / 64);

  const std::string body = OneRowRequest(width);
  std::printf("request_bytes=%zu\n", body.size());
  std::printf(
      "parse_json_us=%.2f\n",
      BestMicros([&] { (void)json::Parse(body, json::ParseOptions{.pack_numbers = true}); }, 2000));
  std::printf("decode_v2_us=%.2f\n",
              BestMicros([&] { (void)kserve::ParseInferRequest(*served, body, 1024); }, 2000));
  StatusOr<kserve::InferCall> call = kserve::ParseInferRequest(*served, body, 1024);
  StatusOr<Inference> inference = served->Infer(call->values, call->rows);
  std::printf("encode_v2_us=%.2f\n",
              BestMicros([&] { (void)kserve::InferResponse(*served, *call, *inference); }, 20000));
  ServingMetrics metrics;
  ServingApi api(registry, metrics, ApiOptions{});
  const std::string path = "/v2/models/" + name + "/infer";
  std::printf("api_request_us=%.2f\n",
              BestMicros(
                  [&] {
                    std::promise<HttpReply> reply;
                    api.Handle(HttpRequest{"POST", path, std::nullopt, body},
                               [&reply](HttpReply r) { reply.set_value(std::move(r)); });
                    (void)reply.get_future().get();
                  },
                  2000));
  return 0;
}

}  // namespace
}  // namespace hearth::serve

int main(int argc, char** argv) {
  hearth::ReexecWithBestBlasCore(argv);
  return hearth::serve::Run(argc, argv);
}
