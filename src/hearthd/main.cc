// hearthd: the Hearth coordinator. Accepts jobs over gRPC, runs them on worker slots through
// launch/hearthrun, keeps their history and checkpoints in --data-dir, and serves evaluation and
// prediction. docs/coordinator.md. main only parses flags and runs the server.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <future>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli/args.h"
#include "cli/worker_launcher.h"
#include "coordinator/checkpoint_store.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/data_dir.h"
#include "coordinator/deployments.h"
#include "coordinator/reflection_auth.h"
#include "coordinator/worker_service.h"
#include "hearth/env.h"
#include "serve/model_server.h"

namespace hearth::coordinator {
namespace {

const cli::CommandSpec& Spec() {
  static const cli::CommandSpec spec{
      "hearthd",
      "hearthd [flags]",
      "the Hearth coordinator",
      "Runs the Hearth coordinator: accepts training jobs over gRPC (hearth submit), launches\n"
      "their workers through launch/hearthrun, streams their progress, stores their history in\n"
      "an SQLite database and their checkpoints in --data-dir, and serves evaluation and\n"
      "prediction. With no flags it listens on 127.0.0.1:7411 and keeps its state in\n"
      "./hearth-data. Every limit below answers RESOURCE_EXHAUSTED naming its flag when a\n"
      "request goes past it. With --serve-listen it also serves the models deployed from its\n"
      "jobs (hearth deploy) as `hearth serve` does, with the same token and TLS. See\n"
      "docs/coordinator.md and docs/serving.md.",
      {},
      {{"listen", "HOST:PORT", "address to serve on (default 127.0.0.1:7411)"},
       {"data-dir", "DIR", "database, logs and checkpoints (default ./hearth-data)"},
       {"slots", "N", "worker processes that may run at once (default: this machine's cores)"},
       {"hostfile", "FILE", "run workers on these machines (Open MPI hostfile)"},
       {"data-root", "DIR[,DIR...]",
        "directories job data may come from (default: .; never the data dir)"},
       {"token-file", "FILE", "require `authorization: Bearer <token>` with this token"},
       {"insecure", "", "allow a non-loopback --listen without a token, or a token without TLS"},
       {"tls-cert", "FILE", "serve TLS with this certificate chain (PEM)"},
       {"tls-key", "FILE", "... and this private key (PEM)"},
       {"worker-address", "HOST:PORT", "how workers reach hearthd (default: --listen)"},
       {"max-request-mb", "N", "largest request accepted, in MiB (default 64)"},
       {"max-queued-jobs", "N", "jobs that may wait in the queue (default 1000)"},
       {"max-list-page", "N", "jobs in one list answer (default 1000)"},
       {"max-streams", "N", "watch, log and download streams at once (default 256)"},
       {"max-rows", "N", "examples in one evaluate or predict call (default 1000000)"},
       {"max-data-mb", "N", "largest data file hearthd reads itself, inflated (default 1024)"},
       {"max-gzip-ratio", "N", "how much a gzip data file may inflate (default 100)"},
       {"max-checkpoint-mb", "N", "largest checkpoint upload, in MiB (default 4096)"},
       {"max-events-per-job", "N", "step events kept per job, oldest dropped (default 10000)"},
       {"max-checkpoints-per-job", "N",
        "checkpoints kept per job, beyond the latest and best (default 100)"},
       {"max-log-mb-per-rank", "N", "log kept per rank and attempt, oldest rotated (default 32)"},
       {"serve-listen", "HOST:PORT",
        "serve deployed models over HTTP/JSON here (hearth deploy; default: not served over "
        "HTTP)"},
       {"serve-cors-origin", "ORIGIN", "let a browser app from ORIGIN call the model server"},
       {"keep-deployed-versions", "N",
        "versions kept per deployed model, beyond those an alias names (default 3)"}}};
  return spec;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "hearthd: %s\n", message.c_str());
  return 1;
}

// Everything the flags say, checked.
struct Flags {
  std::string listen, data_dir, hostfile, worker_address, token_file, tls_cert, tls_key;
  std::vector<std::string> data_roots;
  int slots = 1;
  int max_request_mb = 64;
  bool insecure = false;
  CoordinatorLimits limits;
  StoreLimits store;
  int64_t max_data_mb = 1024;
  double max_gzip_ratio = 100;
  int64_t max_log_mb = 32;
  std::string serve_listen, serve_cors_origin;
  int keep_deployed_versions = 3;
};

StatusOr<int64_t> IntFlag(const cli::ParsedArgs& args, const std::string& name, int64_t fallback,
                          int64_t min, int64_t max) {
  if (!args.Has(name)) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(args.Get(name), &value) || value < min || value > max)
    return absl::InvalidArgumentError(absl::StrFormat(
        "--%s: expected an integer from %d to %d, got \"%s\"", name, min, max, args.Get(name)));
  return value;
}

StatusOr<Flags> ReadFlags(const cli::ParsedArgs& args) {
  Flags f;
  f.listen = args.Get("listen", "127.0.0.1:7411");
  std::error_code error;
  f.data_dir = std::filesystem::absolute(args.Get("data-dir", "hearth-data"), error)
                   .lexically_normal()
                   .string();
  if (error)
    return absl::InvalidArgumentError(
        absl::StrFormat("--data-dir %s: %s", args.Get("data-dir", "hearth-data"), error.message()));
  f.hostfile = args.Get("hostfile");
  f.worker_address = args.Get("worker-address", "");
  f.insecure = args.Has("insecure");
  for (auto [flag, out] : {std::pair{"token-file", &f.token_file},
                           std::pair{"tls-cert", &f.tls_cert}, std::pair{"tls-key", &f.tls_key}})
    if (args.Has(flag)) *out = std::filesystem::absolute(args.Get(flag), error).string();
  if (f.tls_cert.empty() != f.tls_key.empty())
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together: give both");
  f.data_roots = args.Has("data-root")
                     ? std::vector<std::string>(absl::StrSplit(args.Get("data-root"), ','))
                     : std::vector<std::string>{"."};
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  HEARTH_ASSIGN_OR_RETURN(const int64_t slots, IntFlag(args, "slots", cores, 1, 1 << 16));
  f.slots = static_cast<int>(slots);
  HEARTH_ASSIGN_OR_RETURN(const int64_t request_mb, IntFlag(args, "max-request-mb", 64, 1, 2047));
  f.max_request_mb = static_cast<int>(request_mb);
  HEARTH_ASSIGN_OR_RETURN(const int64_t queued, IntFlag(args, "max-queued-jobs", 1000, 1, 1 << 24));
  HEARTH_ASSIGN_OR_RETURN(const int64_t page, IntFlag(args, "max-list-page", 1000, 1, 1 << 20));
  HEARTH_ASSIGN_OR_RETURN(const int64_t streams, IntFlag(args, "max-streams", 256, 1, 1 << 14));
  HEARTH_ASSIGN_OR_RETURN(f.limits.max_rows,
                          IntFlag(args, "max-rows", 1000000, 1, int64_t{1} << 40));
  HEARTH_ASSIGN_OR_RETURN(f.max_data_mb, IntFlag(args, "max-data-mb", 1024, 1, 1 << 24));
  HEARTH_ASSIGN_OR_RETURN(const int64_t ratio, IntFlag(args, "max-gzip-ratio", 100, 1, 1 << 20));
  f.max_gzip_ratio = static_cast<double>(ratio);
  HEARTH_ASSIGN_OR_RETURN(const int64_t checkpoint_mb,
                          IntFlag(args, "max-checkpoint-mb", 4096, 1, 1 << 24));
  HEARTH_ASSIGN_OR_RETURN(const int64_t events,
                          IntFlag(args, "max-events-per-job", 10000, 10, 1 << 30));
  HEARTH_ASSIGN_OR_RETURN(const int64_t checkpoints,
                          IntFlag(args, "max-checkpoints-per-job", 100, 2, 1 << 20));
  HEARTH_ASSIGN_OR_RETURN(f.max_log_mb, IntFlag(args, "max-log-mb-per-rank", 32, 1, 1 << 20));
  f.limits.max_queued_jobs = static_cast<int>(queued);
  f.limits.max_list_page = static_cast<int>(page);
  f.limits.max_streams = static_cast<int>(streams);
  f.limits.upload.max_bytes = checkpoint_mb << 20;
  f.store.max_events_per_job = static_cast<int>(events);
  f.store.max_checkpoints_per_job = static_cast<int>(checkpoints);
  HEARTH_RETURN_IF_ERROR(
      CheckExposure(f.listen, !f.token_file.empty(), !f.tls_cert.empty(), f.insecure, "run jobs"));
  f.serve_listen = args.Get("serve-listen");
  f.serve_cors_origin = args.Get("serve-cors-origin");
  HEARTH_ASSIGN_OR_RETURN(const int64_t keep, IntFlag(args, "keep-deployed-versions", 3, 1, 1000));
  f.keep_deployed_versions = static_cast<int>(keep);
  if (!f.serve_listen.empty())
    HEARTH_RETURN_IF_ERROR(CheckExposure(f.serve_listen, !f.token_file.empty(), !f.tls_cert.empty(),
                                         f.insecure, "read your models"));
  return f;
}

StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  StatusOr<std::string> text = Env::Default().ReadFile(path);
  if (!text.ok())
    return absl::InvalidArgumentError(absl::StrFormat("--%s: %s", flag, text.status().message()));
  return text;
}

// The model server of the deployed models: the repository in the data dir, reloaded when a
// deploy changes it (never polled), with hearthd's token and TLS.
StatusOr<std::unique_ptr<serve::ModelServer>> StartModelServer(const Flags& f) {
  serve::ModelServerOptions options;
  options.models = {{"", DeployedModelsDir(f.data_dir)}};
  options.registry.max_versions = 1000;  // Deployments keeps the count down (--keep-deployed-...)
  options.http.listen = f.serve_listen;
  options.http.tls_cert = f.tls_cert;
  options.http.tls_key = f.tls_key;
  options.http.cors_origin = f.serve_cors_origin;
  options.poll_seconds = 0;
  options.log = [](const std::string& line) {
    std::fprintf(stderr, "hearthd: models: %s\n", line.c_str());
    std::fflush(stderr);
  };
  if (!f.token_file.empty()) {
    StatusOr<BearerToken> token = BearerToken::FromFile(f.token_file);
    if (!token.ok())
      return absl::InvalidArgumentError(
          absl::StrFormat("--token-file: %s", token.status().message()));
    options.api.token = *std::move(token);
  }
  auto server = std::make_unique<serve::ModelServer>(std::move(options));
  if (Status s = server->Listen(); !s.ok())
    return absl::Status(s.code(), absl::StrFormat("--serve-listen: %s", s.message()));
  return server;
}

// SIGTERM must stop hearthd even if a handler is stuck (a hung network file system): handlers get
// `grace` to finish, then the process exits regardless. Its state is in the store, committed.
void ShutDown(grpc::Server& server, serve::ModelServer& models, std::chrono::seconds grace) {
  auto stopped = std::async(std::launch::async, [&server, &models, grace] {
    models.Drain();
    server.Shutdown(std::chrono::system_clock::now() + grace);
  });
  if (stopped.wait_for(grace + std::chrono::seconds(3)) == std::future_status::ready) return;
  std::fprintf(stderr, "hearthd: requests still running after %lds; exiting anyway\n",
               static_cast<long>(grace.count()));
  std::fflush(stderr);
  std::_Exit(0);
}

int Run(const cli::ParsedArgs& args) {
  StatusOr<Flags> flags = ReadFlags(args);
  if (!flags.ok()) return Fail(std::string(flags.status().message()));
  const Flags& f = *flags;

  TokenAuth auth;
  if (!f.token_file.empty()) {
    StatusOr<TokenAuth> loaded = TokenAuth::FromFile(f.token_file);
    if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
    auth = *loaded;
  }
  // hearthd's own files are never data: its data dir, the token and the TLS key.
  std::vector<std::string> own = {f.data_dir};
  for (const std::string& path : {f.token_file, f.tls_key})
    if (!path.empty()) own.push_back(path);
  StatusOr<DataRoots> roots = DataRoots::Create(f.data_roots, own);
  if (!roots.ok()) return Fail(std::string(roots.status().message()));
  // hearthd's own reads (Evaluate, Predict) also have size limits; its workers' do not.
  DataFilePolicy policy = roots->Policy();
  policy.max_bytes = f.max_data_mb << 20;
  policy.max_compression_ratio = f.max_gzip_ratio;
  if (Status s = SetDataFilePolicy(policy); !s.ok()) return Fail(std::string(s.message()));

  if (Status s = Env::Default().CreateDirs(f.data_dir); !s.ok())
    return Fail(absl::StrFormat("--data-dir: %s", s.message()));
  StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(DatabasePath(f.data_dir), f.store);
  if (!store.ok()) return Fail(std::string(store.status().message()));
  if (Status s = RepairCheckpoints(**store, f.data_dir); !s.ok())
    return Fail(std::string(s.message()));

  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!f.tls_cert.empty()) {
    StatusOr<std::string> cert = ReadFile(f.tls_cert, "tls-cert");
    StatusOr<std::string> key = ReadFile(f.tls_key, "tls-key");
    if (!cert.ok()) return Fail(std::string(cert.status().message()));
    if (!key.ok()) return Fail(std::string(key.status().message()));
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back({*key, *cert});
    credentials = grpc::SslServerCredentials(options);
  }

  StatusOr<std::string> hearthrun = cli::FindHearthrun();
  if (!hearthrun.ok()) return Fail(std::string(hearthrun.status().message()));
  std::error_code self_error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", self_error);
  SchedulerOptions scheduler_options;
  scheduler_options.data_dir = f.data_dir;
  scheduler_options.slots = f.slots;
  scheduler_options.hostfile = f.hostfile;
  scheduler_options.hearthrun = *hearthrun;
  scheduler_options.hearth_binary = (self.parent_path() / "hearth").string();
  scheduler_options.worker_address = f.worker_address;
  scheduler_options.ca_file = f.tls_cert;
  scheduler_options.logs.limits.segment_bytes = (f.max_log_mb << 20) / 4;
  scheduler_options.logs.limits.segments = 4;

  EventHub hub, log_hub;
  WorkerCredentials workers_credentials;
  Scheduler scheduler(**store, hub, log_hub, workers_credentials, scheduler_options);
  if (Status s = scheduler.Recover(); !s.ok()) return Fail(std::string(s.message()));
  CoordinatorContext context{**store, scheduler,  hub,     log_hub, auth, workers_credentials,
                             *roots,  f.data_dir, f.slots, f.limits};
  // The models deployed from jobs, served in process and, with --serve-listen, over HTTP.
  StatusOr<std::unique_ptr<serve::ModelServer>> models = StartModelServer(f);
  if (!models.ok()) return Fail(std::string(models.status().message()));
  const std::string models_url =
      (*models)->listening()
          ? absl::StrFormat("%s://%s:%d", f.tls_cert.empty() ? "http" : "https",
                            f.serve_listen.substr(0, f.serve_listen.rfind(':')), (*models)->port())
          : "";
  Deployments deployments(f.data_dir, (*models)->registry(), f.keep_deployed_versions, models_url);
  if (Status s = deployments.Recover(); !s.ok())
    return Fail(absl::StrFormat("%s: %s", deployments.repository(), s.message()));
  if (Status s = (*models)->Load(); !s.ok()) return Fail(std::string(s.message()));
  (*models)->ServeInBackground(1);
  context.deployments = &deployments;
  SweepManager sweeps(**store, scheduler, hub, *roots);
  CoordinatorService coordinator(context, sweeps);
  WorkerServiceImpl workers(context);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(f.listen, credentials, &port);
  builder.SetMaxReceiveMessageSize(f.max_request_mb << 20);
  // Bounded threads: past them gRPC itself answers RESOURCE_EXHAUSTED instead of spawning more.
  grpc::ResourceQuota quota("hearthd");
  quota.SetMaxThreads(2 * f.limits.max_streams + 32);
  builder.SetResourceQuota(quota);
  builder.experimental().SetInterceptorCreators(ReflectionAuthInterceptors(auth));
  builder.RegisterService(&coordinator);
  builder.RegisterService(&workers);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0)
    return Fail(
        absl::StrFormat("cannot listen on %s (in use? try another --listen port)", f.listen));
  // The bound port, so `--listen 127.0.0.1:0` (any free port) can be found by scripts and tests.
  const std::string bound = f.listen.substr(0, f.listen.rfind(':')) + ":" + std::to_string(port);
  // Before the "listening on" line, which scripts and tests wait for: once it is there, so is
  // this one.
  if (!models_url.empty())
    std::fprintf(stderr, "hearthd: serving deployed models on %s\n", models_url.c_str());
  std::fprintf(stderr, "hearthd: listening on %s, data in %s, %d slot%s%s\n", bound.c_str(),
               f.data_dir.c_str(), f.slots, f.slots == 1 ? "" : "s",
               auth.enabled() ? ", token required" : "");
  // Workers dial the address actually bound unless told otherwise.
  if (f.worker_address.empty()) scheduler.SetWorkerAddress(bound);
  scheduler.Start();
  sweeps.Start();

  // SIGINT/SIGTERM: stop accepting calls and return. The jobs' workers lose their coordinator;
  // the next hearthd restarts them from their checkpoints (Scheduler::Recover).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int received = 0;
  sigwait(&signals, &received);
  std::fprintf(stderr, "hearthd: shutting down\n");
  ShutDown(*server, **models, std::chrono::seconds(2));
  return 0;
}

}  // namespace
}  // namespace hearth::coordinator

int main(int argc, char** argv) {
  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A worker's pipe closing must not kill hearthd.
  signal(SIGPIPE, SIG_IGN);
  // One malloc arena per core, not glibc's eight: hearthd serves from hundreds of threads, each of
  // which would otherwise grow arenas of its own (a 64-client load grew RSS 22% in a minute and
  // then stayed there; with this, 4%: docs/performance.md). MALLOC_ARENA_MAX set by the user wins.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr)
    mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  const hearth::cli::CommandSpec& spec = hearth::coordinator::Spec();
  auto args = hearth::cli::Parse(spec, argc - 1, argv + 1);
  if (!args.ok()) {
    std::fprintf(stderr, "hearthd: %s\n", std::string(args.status().message()).c_str());
    return 2;
  }
  if (args->help) {
    std::printf("%s", hearth::cli::HelpText(spec).c_str());
    return 0;
  }
  // The last resort: every error is a Status, but nothing may leave hearthd without a line.
  try {
    return hearth::coordinator::Run(*args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hearthd: internal error: %s\n", e.what());
    return 1;
  }
}
