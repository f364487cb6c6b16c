// The model server's endpoints, independent of the transport: a request (method, path, the
// headers that matter, body) goes in, a reply (status, JSON body) comes out, through a callback
// because an infer reply comes from the batcher's thread. Routes: serve/routes.h. Protocols:
// serve/kserve_v2.h and serve/tf_serving_rest.h.
//
// Errors are JSON {"error": "..."} naming the row, field or flag, with the status their code
// maps to: INVALID_ARGUMENT 400, UNAUTHENTICATED 401, NOT_FOUND 404, RESOURCE_EXHAUSTED 413,
// UNAVAILABLE 503, anything else 500.
//
// Thread-safety: Handle may be called from any thread; the registry and metrics are
// thread-safe, and the rest is immutable after construction apart from the atomic `draining`.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/bearer_token.h"
#include "serve/model_registry.h"
#include "serve/routes.h"
#include "serve/serving_metrics.h"

namespace hearth::serve {

struct HttpRequest {
  std::string method;
  std::string path;  // without the query
  std::optional<std::string> authorization;
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

int HttpStatusOf(const Status& status);
// {"error": "<message>"} with the status `status` maps to.
HttpReply ErrorReply(const Status& status);

struct ApiOptions {
  BearerToken token;        // health stays open for probes; everything else needs it when set
  int64_t max_rows = 1024;  // rows per request
  // POST /v2/repository/reload: starts a reload and calls its argument with the result when it
  // is done, on whatever thread did it (loading is slow: never on the request's thread).
  std::function<void(std::function<void(Status)>)> reload;
};

class ServingApi {
 public:
  ServingApi(ModelRegistry& registry, ServingMetrics& metrics, ApiOptions options)
      : registry_(registry), metrics_(metrics), options_(std::move(options)) {}

  using Done = std::function<void(HttpReply reply)>;
  // Answers `request`; `done` runs exactly once, on this thread or the model's batcher thread.
  void Handle(HttpRequest request, Done done);

  // Ready turns false (503) while the server drains, so balancers stop sending.
  void set_draining() { draining_ = true; }

 private:
  void Infer(const Route& route, HttpRequest request, Done done);
  std::optional<HttpReply> Metadata(const Route& route);

  ModelRegistry& registry_;
  ServingMetrics& metrics_;
  const ApiOptions options_;
  std::atomic<bool> draining_{false};
};

}  // namespace hearth::serve
