// hearthd: the Hearth coordinator. Accepts jobs over gRPC, runs them on worker slots through
// launch/hearthrun, keeps their history and checkpoints in --data-dir, and serves evaluation and
// prediction. docs/coordinator.md.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli/args.h"
#include "cli/worker_launcher.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/worker_service.h"
#include "hearth/env.h"

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
      "./hearth-data. See docs/coordinator.md.",
      {},
      {{"listen", "HOST:PORT", "address to serve on (default 127.0.0.1:7411)"},
       {"data-dir", "DIR", "database, logs and checkpoints (default ./hearth-data)"},
       {"slots", "N", "worker processes that may run at once (default: this machine's cores)"},
       {"hostfile", "FILE", "run workers on these machines (Open MPI hostfile)"},
       {"data-root", "DIR[,DIR...]", "directories job data may come from (default: .)"},
       {"token-file", "FILE", "require `authorization: Bearer <token>` with this token"},
       {"insecure", "", "allow a non-loopback --listen without --token-file"},
       {"tls-cert", "FILE", "serve TLS with this certificate chain (PEM)"},
       {"tls-key", "FILE", "... and this private key (PEM)"},
       {"worker-address", "HOST:PORT", "how workers reach hearthd (default: --listen)"},
       {"max-request-mb", "N", "largest request accepted, in MiB (default 64)"}}};
  return spec;
}

bool IsLoopback(const std::string& address) {
  return address.starts_with("127.") || address.starts_with("localhost:") ||
         address.starts_with("[::1]");
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "hearthd: %s\n", message.c_str());
  return 1;
}

StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  StatusOr<std::string> text = Env::Default().ReadFile(path);
  if (!text.ok())
    return absl::InvalidArgumentError(absl::StrFormat("--%s: %s", flag, text.status().message()));
  return text;
}

int Run(const cli::ParsedArgs& args) {
  const std::string listen = args.Get("listen", "127.0.0.1:7411");
  const std::string data_dir =
      std::filesystem::absolute(args.Get("data-dir", "hearth-data")).lexically_normal().string();
  int slots = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (args.Has("slots") && (!absl::SimpleAtoi(args.Get("slots"), &slots) || slots < 1))
    return Fail("--slots: expected a positive integer, got \"" + args.Get("slots") + "\"");
  int max_mb = 64;
  if (args.Has("max-request-mb") &&
      (!absl::SimpleAtoi(args.Get("max-request-mb"), &max_mb) || max_mb < 1 || max_mb > 2047))
    return Fail("--max-request-mb: expected an integer from 1 to 2047");

  TokenAuth auth;
  if (args.Has("token-file")) {
    StatusOr<TokenAuth> loaded = TokenAuth::FromFile(args.Get("token-file"));
    if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
    auth = *loaded;
  }
  if (!IsLoopback(listen) && !auth.enabled() && !args.Has("insecure"))
    return Fail(absl::StrFormat(
        "refusing to listen on %s without a token: anyone who can reach it could run jobs. "
        "Pass --token-file FILE (recommended) or --insecure",
        listen));
  std::vector<std::string> root_list =
      args.Has("data-root") ? std::vector<std::string>(absl::StrSplit(args.Get("data-root"), ','))
                            : std::vector<std::string>{"."};
  StatusOr<DataRoots> roots = DataRoots::Create(root_list);
  if (!roots.ok()) return Fail(std::string(roots.status().message()));

  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) return Fail(absl::StrFormat("--data-dir %s: %s", data_dir, error.message()));
  StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(data_dir + "/hearthd.db");
  if (!store.ok()) return Fail(std::string(store.status().message()));

  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (args.Has("tls-cert") || args.Has("tls-key")) {
    StatusOr<std::string> cert = ReadFile(args.Get("tls-cert"), "tls-cert");
    StatusOr<std::string> key = ReadFile(args.Get("tls-key"), "tls-key");
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
  scheduler_options.data_dir = data_dir;
  scheduler_options.slots = slots;
  scheduler_options.hostfile = args.Get("hostfile");
  scheduler_options.hearthrun = *hearthrun;
  scheduler_options.hearth_binary = (self.parent_path() / "hearth").string();
  scheduler_options.worker_address = args.Get("worker-address", "");
  if (args.Has("token-file"))
    scheduler_options.token_file = std::filesystem::absolute(args.Get("token-file")).string();
  if (args.Has("tls-cert"))
    scheduler_options.ca_file = std::filesystem::absolute(args.Get("tls-cert")).string();

  EventHub hub;
  Scheduler scheduler(**store, hub, scheduler_options);
  if (Status s = scheduler.Recover(); !s.ok()) return Fail(std::string(s.message()));
  CoordinatorContext context{**store, scheduler, hub, auth, *roots, data_dir, slots};
  SweepManager sweeps(**store, scheduler, hub, *roots);
  CoordinatorService coordinator(context, sweeps);
  WorkerServiceImpl workers(context);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, credentials, &port);
  builder.SetMaxReceiveMessageSize(max_mb << 20);
  builder.RegisterService(&coordinator);
  builder.RegisterService(&workers);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0)
    return Fail(absl::StrFormat("cannot listen on %s (in use? try another --listen port)", listen));
  // The bound port, so `--listen 127.0.0.1:0` (any free port) can be found by scripts and tests.
  const std::string bound = listen.substr(0, listen.rfind(':')) + ":" + std::to_string(port);
  std::fprintf(stderr, "hearthd: listening on %s, data in %s, %d slot%s%s\n", bound.c_str(),
               data_dir.c_str(), slots, slots == 1 ? "" : "s",
               auth.enabled() ? ", token required" : "");
  // Workers dial the address actually bound unless told otherwise.
  if (scheduler_options.worker_address.empty()) scheduler.SetWorkerAddress(bound);
  scheduler.Start();
  sweeps.Start();

  // SIGINT/SIGTERM: stop accepting calls and return. Running jobs keep running; the next hearthd
  // restarts them from their checkpoints (Scheduler::Recover).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int received = 0;
  sigwait(&signals, &received);
  std::fprintf(stderr, "hearthd: shutting down\n");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
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
  return hearth::coordinator::Run(*args);
}
