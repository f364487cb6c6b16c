// The one thread that reloads a registry's models: every `poll_seconds`, and whenever asked (on
// SIGHUP, POST /v2/repository/reload), so that a slow load never holds up an I/O thread or the
// signal thread. A reload asked for while one runs is answered by the next, which starts right
// after.
//
// Thread-safety: Request and Stop may be called from any thread; mu_ guards the requests.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "serve/model_registry.h"

namespace hearth::serve {

class Reloader {
 public:
  using Done = std::function<void(const Status&)>;
  // poll_seconds 0: only when asked.
  Reloader(ModelRegistry& registry, int poll_seconds);
  ~Reloader() { Stop(); }

  // Starts a reload soon; `done` (if given) gets its result, on the reloader's thread.
  void Request(Done done = {});
  // Answers whoever still waits with UNAVAILABLE and joins the thread. Idempotent.
  void Stop();

 private:
  void Loop();

  ModelRegistry& registry_;
  const int poll_seconds_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Done> waiting_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts once the rest is ready
};

}  // namespace hearth::serve
