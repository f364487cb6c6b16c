// `hearth serve`: the model server's whole life as one process. Loads the models, listens, polls
// the sources for new versions (and reloads on SIGHUP or POST /v2/repository/reload), and on
// SIGTERM or SIGINT drains: /v2/health/ready turns 503, the listener closes, requests in flight
// finish, and the process exits after at most --drain-seconds.
#pragma once

#include <string>
#include <vector>

#include "serve/http_server.h"
#include "serve/model_registry.h"

namespace hearth::serve {

struct ServeOptions {
  std::vector<ModelSource> models;
  HttpOptions http;
  RegistryOptions registry;
  std::string token_file;
  bool insecure = false;
  int64_t max_rows = 1024;
  int poll_seconds = 2;  // 0: no polling (SIGHUP and the reload endpoint still reload)
  int drain_seconds = 10;
  int io_threads = 1;
  // Called once listening, with the port (for --listen HOST:0 and for tests).
  std::function<void(int port)> on_listening;
};

// Runs until SIGTERM or SIGINT. Returns the process exit status; errors go to stderr.
int RunServer(ServeOptions options);

}  // namespace hearth::serve
