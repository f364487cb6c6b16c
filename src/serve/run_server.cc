#include "serve/run_server.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "absl/strings/str_format.h"
#include "core/bearer_token.h"
#include "serve/model_server.h"

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
  ModelServerOptions server_options;
  server_options.models = options.models;
  server_options.registry = options.registry;
  server_options.http = options.http;
  server_options.api.max_rows = options.max_rows;
  server_options.poll_seconds = options.poll_seconds;
  server_options.log = LogLine;
  if (!options.token_file.empty()) {
    StatusOr<BearerToken> token = BearerToken::FromFile(options.token_file);
    if (!token.ok()) return Fail(absl::StrFormat("--token-file: %s", token.status().message()));
    server_options.api.token = *std::move(token);
  }
  const bool token_required = server_options.api.token.enabled();

  if (Status s = CatchSignals(); !s.ok()) return Fail(std::string(s.message()));

  ModelServer server(std::move(server_options));
  if (Status s = server.Load(); !s.ok() && !server.registry().ready())
    return Fail(absl::StrFormat("%s (nothing to serve)", s.message()));
  if (!server.registry().ready()) LogLine("no model loaded yet; waiting for the sources to fill");
  if (Status s = server.Listen(); !s.ok()) return Fail(std::string(s.message()));
  LogLine(absl::StrFormat("listening on %s (port %d)%s%s", options.http.listen, server.port(),
                          options.http.tls_cert.empty() ? "" : ", TLS",
                          token_required ? ", token required" : ""));
  if (options.on_listening) options.on_listening(server.port());

  // The signal thread drains on SIGTERM, then gives the requests in flight --drain-seconds before
  // exiting regardless. It is joined before anything it uses is destroyed: main wakes it when the
  // server has stopped (a 0 byte on the pipe, when it waits for a signal).
  std::mutex stop_mu;
  std::condition_variable stopped_cv;
  bool stopped = false;
  std::thread signal_thread([&] {
    for (;;) {
      const int sig = NextSignal();
      if (sig <= 0) return;
      if (sig == SIGHUP) {
        LogLine("SIGHUP: reloading the models");
        server.RequestReload();
        continue;
      }
      LogLine(absl::StrFormat("%s: draining (at most %ds)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                              options.drain_seconds));
      server.Drain();
      std::unique_lock<std::mutex> lock(stop_mu);
      if (stopped_cv.wait_for(lock, std::chrono::seconds(options.drain_seconds),
                              [&] { return stopped; }))
        return;
      // Requests still running after the drain time do not keep the process alive.
      LogLine("requests still running after the drain time; exiting anyway");
      std::fflush(stderr);
      std::_Exit(0);
    }
  });
  server.Serve(options.io_threads);
  {
    std::lock_guard<std::mutex> lock(stop_mu);
    stopped = true;
  }
  stopped_cv.notify_all();
  const unsigned char wake = 0;
  [[maybe_unused]] ssize_t ignored = ::write(g_signal_pipe[1], &wake, 1);
  signal_thread.join();
  LogLine("stopped");
  return 0;
}

}  // namespace hearth::serve
