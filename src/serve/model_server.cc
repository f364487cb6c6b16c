#include "serve/model_server.h"

#include <utility>

namespace hearth::serve {
namespace {

RegistryOptions WithHooks(RegistryOptions registry, const ModelServerOptions& options,
                          ServingMetrics& metrics) {
  registry.log = options.log;
  registry.on_batch = [&metrics](const std::string& model, int64_t rows) {
    metrics.RecordBatch(model, rows);
  };
  return registry;
}

}  // namespace

ModelServer::ModelServer(ModelServerOptions options)
    : options_(std::move(options)),
      registry_(options_.models, WithHooks(options_.registry, options_, metrics_)),
      reloader_(registry_, options_.poll_seconds),
      api_(registry_, metrics_, [this] {
        ApiOptions api = options_.api;
        api.reload = [this](std::function<void(Status)> done) {
          reloader_.Request(std::move(done));
        };
        return api;
      }()) {}

ModelServer::~ModelServer() {
  Drain();
  reloader_.Stop();
}

Status ModelServer::Listen() {
  if (options_.http.listen.empty()) return absl::OkStatus();
  auto http = std::make_unique<HttpServer>(api_, options_.http);
  HEARTH_RETURN_IF_ERROR(http->Start());
  http_ = std::move(http);
  return absl::OkStatus();
}

int ModelServer::port() const {
  return http_ != nullptr ? http_->port() : 0;
}

void ModelServer::Serve(int threads) {
  if (http_ != nullptr) http_->Run(threads);
}

void ModelServer::ServeInBackground(int threads) {
  if (http_ == nullptr) return;
  std::lock_guard<std::mutex> lock(drain_mu_);
  for (int i = 0; i < threads; ++i) io_threads_.emplace_back([this] { http_->Run(1); });
}

void ModelServer::Drain() {
  std::lock_guard<std::mutex> lock(drain_mu_);
  api_.set_draining();
  if (http_ != nullptr) http_->Stop();
  for (std::thread& t : io_threads_)
    if (t.joinable()) t.join();
  io_threads_.clear();
}

}  // namespace hearth::serve
