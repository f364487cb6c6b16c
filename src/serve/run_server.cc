#include "serve/run_server.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "core/bearer_token.h"
#include "serve/serving_api.h"
#include "serve/serving_metrics.h"

namespace hearth::serve {
namespace {

// Signals arrive on whichever thread does not block them (OpenBLAS starts its threads before
// main), so the handler only writes the signal's number to a pipe that one thread reads.
int g_signal_pipe[2] = {-1, -1};

void OnSignal(int sig) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t ignored = ::write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

Status CatchSignals() {
  if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0)
    return absl::InternalError(absl::StrFormat("pipe: %s", std::strerror(errno)));
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::sigaction(sig, &action, nullptr);
  return absl::OkStatus();
}

int NextSignal() {
  unsigned char byte = 0;
  for (;;) {
    const ssize_t n = ::read(g_signal_pipe[0], &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    return -1;
  }
}

// The one thread that reloads the models: every --poll-seconds, on SIGHUP and on POST
// /v2/repository/reload, so that a slow load never holds up an I/O thread or the signal thread.
// A reload asked for while one runs is answered by the next, which starts right after.
//
// Thread-safety: Request and Stop may be called from any thread; mu_ guards the requests.
class Reloader {
 public:
  using Done = std::function<void(const Status&)>;
  Reloader(ModelRegistry& registry, int poll_seconds)
      : registry_(registry), poll_seconds_(poll_seconds), thread_([this] { Loop(); }) {}
  ~Reloader() { Stop(); }

  void Request(Done done = {}) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      requested_ = true;
      if (done) waiting_.push_back(std::move(done));
    }
    wake_.notify_one();
  }
  // Answers whoever still waits with UNAVAILABLE and joins the thread.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      const auto asked = [this] { return stopping_ || requested_; };
      if (poll_seconds_ > 0)
        wake_.wait_for(lock, std::chrono::seconds(poll_seconds_), asked);
      else
        wake_.wait(lock, asked);
      if (stopping_) break;
      requested_ = false;
      std::vector<Done> answer = std::move(waiting_);
      waiting_.clear();
      lock.unlock();
      const Status s = registry_.Reload();  // its problems are logged by the registry
      for (Done& done : answer) done(s);
      lock.lock();
    }
    std::vector<Done> answer = std::move(waiting_);
    waiting_.clear();
    lock.unlock();
    for (Done& done : answer) done(absl::UnavailableError("the server is stopping"));
  }

  ModelRegistry& registry_;
  const int poll_seconds_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Done> waiting_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts once the rest is ready
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "hearth serve: %s\n", message.c_str());
  return 1;
}

void LogLine(const std::string& line) {
  std::fprintf(stderr, "hearth serve: %s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace

int RunServer(ServeOptions options) {
  if (options.models.empty())
    return Fail("give at least one MODEL: a checkpoint, a run directory or a model repository");
  if (Status s = CheckExposure(options.http.listen, !options.token_file.empty(),
                               !options.http.tls_cert.empty(), options.insecure,
                               "read your models and use your machine");
      !s.ok())
    return Fail(std::string(s.message()));
  if (options.http.tls_cert.empty() != options.http.tls_key.empty())
    return Fail("--tls-cert and --tls-key go together: give both");
  ApiOptions api_options;
  api_options.max_rows = options.max_rows;
  if (!options.token_file.empty()) {
    StatusOr<BearerToken> token = BearerToken::FromFile(options.token_file);
    if (!token.ok()) return Fail(absl::StrFormat("--token-file: %s", token.status().message()));
    api_options.token = *std::move(token);
  }

  if (Status s = CatchSignals(); !s.ok()) return Fail(std::string(s.message()));

  ServingMetrics metrics;
  RegistryOptions registry_options = options.registry;
  registry_options.log = LogLine;
  registry_options.on_batch = [&metrics](const std::string& model, int64_t rows) {
    metrics.RecordBatch(model, rows);
  };
  ModelRegistry registry(options.models, registry_options);
  if (Status s = registry.Reload(); !s.ok() && !registry.ready())
    return Fail(absl::StrFormat("%s (nothing to serve)", s.message()));
  if (!registry.ready()) LogLine("no model loaded yet; waiting for the sources to fill");

  Reloader reloader(registry, options.poll_seconds);
  api_options.reload = [&reloader](Reloader::Done done) { reloader.Request(std::move(done)); };
  ServingApi api(registry, metrics, api_options);
  HttpServer server(api, options.http);
  if (Status s = server.Start(); !s.ok()) return Fail(std::string(s.message()));
  LogLine(absl::StrFormat("listening on %s (port %d)%s%s", options.http.listen, server.port(),
                          options.http.tls_cert.empty() ? "" : ", TLS",
                          api_options.token.enabled() ? ", token required" : ""));
  if (options.on_listening) options.on_listening(server.port());

  std::thread signal_thread([&] {
    for (;;) {
      const int sig = NextSignal();
      if (sig < 0) return;
      if (sig == SIGHUP) {
        LogLine("SIGHUP: reloading the models");
        reloader.Request();
        continue;
      }
      LogLine(absl::StrFormat("%s: draining (at most %ds)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                              options.drain_seconds));
      api.set_draining();
      server.Stop();
      // Requests still running after the drain time do not keep the process alive.
      std::this_thread::sleep_for(std::chrono::seconds(options.drain_seconds));
      LogLine("requests still running after the drain time; exiting anyway");
      std::fflush(stderr);
      std::_Exit(0);
    }
  });
  signal_thread.detach();
  server.Run(options.io_threads);
  reloader.Stop();
  LogLine("stopped");
  return 0;
}

}  // namespace hearth::serve
