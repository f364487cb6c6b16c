// A model server as one object, for both front ends: `hearth serve` (serve/run_server.h) and
// hearthd, which serves the models deployed from its jobs. It owns the metrics, the registry,
// the reloader, the API and, when `http.listen` is set, the HTTP listener and its I/O threads.
//
// Life: Load() looks at the sources once, Listen() binds, Serve() or ServeInBackground() runs
// the I/O threads, Drain() (or the destructor) stops: ready turns 503, the listener closes,
// requests in flight finish, the threads join.
//
// Thread-safety: registry(), RequestReload() and Drain() may be called from any thread once
// constructed; the rest from the thread that owns the server.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "serve/http_server.h"
#include "serve/model_registry.h"
#include "serve/reloader.h"
#include "serve/serving_api.h"
#include "serve/serving_metrics.h"

namespace hearth::serve {

struct ModelServerOptions {
  std::vector<ModelSource> models;
  RegistryOptions registry;  // its log and on_batch are the server's own
  HttpOptions http;          // listen empty: no HTTP (the registry still serves in process)
  ApiOptions api;            // its reload is the server's own
  int poll_seconds = 2;      // 0: reload only when asked
  std::function<void(const std::string& line)> log;  // the registry's load and refusal lines
};

class ModelServer {
 public:
  explicit ModelServer(ModelServerOptions options);
  ~ModelServer();

  ModelRegistry& registry() { return registry_; }
  ServingMetrics& metrics() { return metrics_; }

  // The first look at every source (ModelRegistry::Reload).
  Status Load() { return registry_.Reload(); }
  // Binds the HTTP listener; OK and nothing to do when no address is set.
  Status Listen();
  bool listening() const { return http_ != nullptr; }
  int port() const;  // after Listen
  // Serves HTTP until Drain, on this thread plus `threads - 1` more.
  void Serve(int threads);
  // Serves HTTP on `threads` threads of its own; returns at once.
  void ServeInBackground(int threads);
  void RequestReload(Reloader::Done done = {}) { reloader_.Request(std::move(done)); }
  // Stops the listener and lets requests in flight finish; joins the background threads.
  void Drain();

 private:
  const ModelServerOptions options_;
  ServingMetrics metrics_;
  ModelRegistry registry_;
  Reloader reloader_;
  ServingApi api_;
  std::unique_ptr<HttpServer> http_;
  std::mutex drain_mu_;  // Drain's callers take turns (the signal thread, the destructor)
  std::vector<std::thread> io_threads_ ABSL_GUARDED_BY(drain_mu_);
};

}  // namespace hearth::serve
