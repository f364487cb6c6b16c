// The model server's request decoding, whole: the route of a path, then a KServe v2 infer body or
// a TF Serving predict body (the first byte picks which) decoded against a real trained model
// (examples/jobs/logistic_regression.json, trained once when the fuzzer starts), run through the
// model when it decodes, and encoded back. No input may crash, hang or allocate without bound.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "hearth/job.h"
#include "hearth/train.h"
#include "serve/kserve_v2.h"
#include "serve/model_registry.h"
#include "serve/routes.h"
#include "serve/tf_serving_rest.h"

namespace {

std::shared_ptr<const hearth::serve::ServedModel> TrainedModel() {
  static std::shared_ptr<const hearth::serve::ServedModel> model = [] {
    const std::string dir = (std::filesystem::temp_directory_path() /
                             ("hearth-fuzz-serve-" + std::to_string(::getpid())))
                                .string();
    auto spec = hearth::LoadJobSpec("examples/jobs/logistic_regression.json");
    hearth::TrainOptions options;
    options.run_dir = dir;
    options.progress.silent = true;
    auto trained = spec.ok() ? hearth::Train(*spec, options)
                             : hearth::StatusOr<hearth::TrainResult>(spec.status());
    if (!trained.ok()) {
      std::fprintf(stderr, "serve_request_fuzzer: run from the source tree: %s\n",
                   std::string(trained.status().message()).c_str());
      std::abort();
    }
    static hearth::serve::ModelRegistry registry({{"m", trained->best_checkpoint}}, {});
    if (!registry.Reload().ok()) std::abort();
    auto found = registry.Find("m");
    std::filesystem::remove_all(dir);  // loaded: the files are no longer needed
    return *found;
  }();
  return model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::shared_ptr<const hearth::serve::ServedModel> model = TrainedModel();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)hearth::serve::MatchRoute("POST", text);
  if (size == 0) return 0;
  const std::string_view body = text.substr(1);
  constexpr int64_t kMaxRows = 64;
  if (data[0] & 1) {
    auto call = hearth::serve::kserve::ParseInferRequest(*model, body, kMaxRows);
    if (!call.ok()) return 0;
    auto inference = model->Infer(call->values, call->rows);
    if (inference.ok()) (void)hearth::serve::kserve::InferResponse(*model, *call, *inference);
  } else {
    auto call = hearth::serve::tfserving::ParsePredictRequest(*model, body, kMaxRows);
    if (!call.ok()) return 0;
    auto inference = model->Infer(call->values, call->rows);
    if (inference.ok()) (void)hearth::serve::tfserving::PredictResponse(*model, *inference);
  }
  return 0;
}
