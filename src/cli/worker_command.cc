// `hearth worker`: one rank of a job that hearthd runs. hearthd starts it through
// launch/hearthrun; it is not meant to be typed. Every rank fetches the spec from the coordinator;
// rank 0 downloads the checkpoint to resume from, reports progress and uploads checkpoints
// (WorkerReporter), so worker machines need no shared filesystem with the coordinator.
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/worker_reporter.h"
#include "coordinator/grpc_status.h"
#include "coordinator/sha256.h"
#include "hearth/blas.h"
#include "hearth/dist/collectives.h"
#include "hearth/env.h"
#include "hearth/job.h"

namespace hearth::cli {
namespace {

using coordinator::FromGrpc;

volatile std::sig_atomic_t stop_signal = 0;
void OnStopSignal(int signal) {
  stop_signal = signal;
}

struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::string token;
};

StatusOr<Connection> Connect(const ParsedArgs& args) {
  Connection c;
  if (args.Has("token-file")) {
    HEARTH_ASSIGN_OR_RETURN(std::string text, Env::Default().ReadFile(args.Get("token-file")));
    c.token = std::string(absl::StripAsciiWhitespace(text));
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (args.Has("ca")) {
    HEARTH_ASSIGN_OR_RETURN(std::string ca, Env::Default().ReadFile(args.Get("ca")));
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ca;
    credentials = grpc::SslCredentials(options);
  }
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(64 << 20);
  c.channel = grpc::CreateCustomChannel(args.Get("coordinator"), credentials, channel_args);
  return c;
}

// Downloads a job's checkpoint into the run directory (sha256 verified) for --resume.
Status DownloadForResume(v1::Coordinator::Stub& stub, const Connection& c,
                         const std::string& job_id, const std::string& checkpoint_id,
                         const std::string& run_dir) {
  grpc::ClientContext context;
  if (!c.token.empty()) context.AddMetadata("authorization", "Bearer " + c.token);
  v1::DownloadCheckpointRequest request;
  request.set_job_id(job_id);
  request.set_checkpoint_id(checkpoint_id);
  std::unique_ptr<grpc::ClientReader<v1::CheckpointChunk>> reader(
      stub.DownloadCheckpoint(&context, request));
  v1::CheckpointChunk chunk;
  v1::CheckpointInfo info;
  std::string bytes;
  while (reader->Read(&chunk)) {
    if (chunk.has_info()) info = chunk.info();
    bytes += chunk.data();
  }
  HEARTH_RETURN_IF_ERROR(FromGrpc(reader->Finish()));
  if (coordinator::Sha256Hex(bytes) != info.sha256())
    return absl::DataLossError(absl::StrFormat(
        "checkpoint %s arrived damaged (sha256 mismatch); the job will be retried", info.id()));
  HEARTH_RETURN_IF_ERROR(Env::Default().CreateDirs(run_dir));
  // Only the downloaded file: the checkpoint index is rebuilt from it.
  std::error_code error;
  std::filesystem::remove(std::filesystem::path(run_dir) / CheckpointManager::kIndexFile, error);
  return Env::Default().WriteFileAtomically(
      absl::StrFormat("%s/ckpt-%d.safetensors", run_dir, info.step()), bytes);
}

int Run(const ParsedArgs& args) {
  const CommandSpec& spec = WorkerCommand().spec;
  for (const char* required : {"coordinator", "job", "out"})
    if (!args.Has(required))
      return Fail(spec, absl::InvalidArgumentError(
                            absl::StrFormat("--%s is required (hearthd passes it)", required)));
  auto comm = dist::CreateCommunicator();
  if (!comm.ok()) return Fail(spec, comm.status());
  const bool root = (*comm)->is_root();
  auto connection = Connect(args);
  if (!connection.ok()) return Fail(spec, connection.status());
  v1::WorkerService::Stub workers(connection->channel);
  v1::Coordinator::Stub coordinator(connection->channel);

  grpc::ClientContext context;
  if (!connection->token.empty())
    context.AddMetadata("authorization", "Bearer " + connection->token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::FetchSpecRequest fetch;
  fetch.set_job_id(args.Get("job"));
  v1::FetchSpecResponse job;
  if (Status s = FromGrpc(workers.FetchSpec(&context, fetch, &job)); !s.ok())
    return Fail(spec, Status(s.code(),
                             "fetching the job from the coordinator: " + std::string(s.message())));
  const std::string run_dir = args.Get("out");
  const bool resume = !job.resume_checkpoint_id().empty();
  if (root && resume) {
    if (Status s = DownloadForResume(coordinator, *connection, args.Get("job"),
                                     job.resume_checkpoint_id(), run_dir);
        !s.ok())
      (*comm)->Abort(absl::StrFormat("hearth worker: rank 0: %s", s.message()), 1);
  }
  std::unique_ptr<WorkerReporter> reporter;
  if (root) {
    if (Status s = Env::Default().CreateDirs(run_dir); !s.ok())
      (*comm)->Abort(std::string(s.message()), 1);
    reporter = std::make_unique<WorkerReporter>(workers, connection->token, args.Get("job"),
                                                job.attempt(), run_dir);
    reporter->Start();
  }
  for (int signal : {SIGINT, SIGTERM, SIGUSR1}) std::signal(signal, OnStopSignal);
  TrainOptions options;
  options.comm = comm->get();
  options.run_dir = run_dir;
  options.resume = resume;
  options.progress.mode = ProgressOptions::Mode::kPlain;
  WorkerReporter* watcher = reporter.get();
  options.stop_requested = [watcher] {
    return stop_signal != 0 || (watcher != nullptr && watcher->stop_requested());
  };
  auto reducer = dist::ReducerOptions::FromEnvironment();
  if (reducer.ok()) options.reducer = *reducer;
  SetBlasThreads(
      std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / (*comm)->local_size()));
  StatusOr<TrainResult> result = Train(job.spec(), options);
  if (!result.ok()) {
    if ((*comm)->size() > 1 && !dist::IsCollectiveError(result.status()))
      (*comm)->Abort(
          absl::StrFormat("hearth worker: rank %d: %s", (*comm)->rank(), result.status().message()),
          1);
    return root ? Fail(spec, result.status()) : 1;
  }
  if (root && !result->interrupted) {
    if (Status s = reporter->Finish(*result); !s.ok())
      return Fail(spec, Status(s.code(), "reporting the result to the coordinator: " +
                                             std::string(s.message())));
  }
  return result->interrupted ? 130 : 0;
}

}  // namespace

const Command& WorkerCommand() {
  static const Command command{
      {"worker",
       "hearth worker --coordinator HOST:PORT --job JOB --out RUN_DIR [--token-file F] [--ca F]",
       "run one worker of a coordinator job (started by hearthd)",
       "Runs one rank of a job that hearthd schedules: fetches the job spec from the\n"
       "coordinator, trains (resuming from the checkpoint the coordinator names), and from rank\n"
       "0 reports progress and uploads checkpoints. hearthd starts it through launch/hearthrun;\n"
       "you do not need to run it yourself.",
       {},
       {{"coordinator", "HOST:PORT", "the coordinator's worker address"},
        {"job", "JOB", "the job id"},
        {"out", "RUN_DIR", "local run directory on this machine"},
        {"token-file", "FILE", "the coordinator's token"},
        {"ca", "FILE", "CA certificate when the coordinator serves TLS"}}},
      Run};
  return command;
}

}  // namespace hearth::cli
