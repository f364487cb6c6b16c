// `hearth worker`: one rank of a job that hearthd runs. hearthd starts it through
// launch/hearthrun; it is not meant to be typed. Every rank fetches the spec from the coordinator;
// rank 0 downloads the checkpoint to resume from, reports progress and uploads checkpoints
// (WorkerReporter), so worker machines need no shared filesystem with the coordinator.
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_format.h"
#include "cli/checkpoint_download.h"
#include "cli/commands.h"
#include "cli/remote_client.h"
#include "cli/worker_reporter.h"
#include "coordinator/worker_credentials.h"
#include "core/fault_injection.h"
#include "hearth/blas.h"
#include "hearth/data/file_access.h"
#include "hearth/dist/collectives.h"
#include "hearth/env.h"
#include "hearth/job.h"

namespace hearth::cli {
namespace {

volatile std::sig_atomic_t stop_signal = 0;
void OnStopSignal(int signal) {
  stop_signal = signal;
}

// The secret hearthd gave this attempt, from the environment (never argv or a file).
StatusOr<std::string> WorkerSecret() {
  const char* secret = std::getenv(coordinator::kWorkerSecretVariable);
  if (secret == nullptr || *secret == '\0')
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s is not set: hearth worker runs only as started by hearthd, which gives each attempt "
        "of a job its own secret",
        coordinator::kWorkerSecretVariable));
  return std::string(secret);
}

int Run(const ParsedArgs& args) {
  const CommandSpec& spec = WorkerCommand().spec;
  for (const char* required : {"coordinator", "job", "out"})
    if (!args.Has(required))
      return Fail(spec, absl::InvalidArgumentError(
                            absl::StrFormat("--%s is required (hearthd passes it)", required)));
  StatusOr<std::string> secret = WorkerSecret();
  if (!secret.ok()) return Fail(spec, secret.status());
  auto comm = dist::CreateCommunicator();
  if (!comm.ok()) return Fail(spec, comm.status());
  const bool root = (*comm)->is_root();
  auto client = RemoteClient::ConnectWithCredential(args, *secret);
  if (!client.ok()) return Fail(spec, client.status());
  std::unique_ptr<v1::WorkerService::Stub> workers = (*client)->NewWorkerStub();
  const std::string job_id = args.Get("job");

  auto context = (*client)->NewContext(std::chrono::seconds(60));
  v1::FetchSpecRequest fetch;
  fetch.set_job_id(job_id);
  v1::FetchSpecResponse job;
  if (grpc::Status s = workers->FetchSpec(context.get(), fetch, &job); !s.ok())
    return Fail(spec, Status(static_cast<absl::StatusCode>(s.error_code()),
                             "fetching the job from the coordinator: " +
                                 DescribeRpcError(s, (*client)->address())));
  // What fault-injection points can match on in a worker (docs/reliability.md).
  faults::SetAttribute("attempt", std::to_string(job.attempt()));
  faults::SetAttribute("job", job_id);
  faults::SetAttribute("job_name", job.spec().name());
  // The data is read as hearthd would read it: beneath its roots, regular files only.
  DataFilePolicy policy;
  policy.roots.assign(job.data_roots().begin(), job.data_roots().end());
  policy.excluded.assign(job.excluded_paths().begin(), job.excluded_paths().end());
  policy.regular_files_only = true;
  if (Status s = SetDataFilePolicy(policy); !s.ok())
    return Fail(spec, Status(s.code(), absl::StrFormat("the coordinator's data roots on this "
                                                       "machine: %s",
                                                       s.message())));
  const std::string run_dir = args.Get("out");
  const bool resume = !job.resume_checkpoint_id().empty();
  if (root && resume) {
    // Only the downloaded file in the run directory: the checkpoint index is rebuilt from it.
    std::error_code ignored;
    std::filesystem::remove(std::filesystem::path(run_dir) / CheckpointManager::kIndexFile,
                            ignored);
    Status made = Env::Default().CreateDirs(run_dir);
    if (made.ok())
      made = DownloadCheckpointAsWorker(**client, *workers, job_id, job.attempt(),
                                        job.resume_checkpoint_id(),
                                        [&](const v1::CheckpointInfo& info) {
                                          return JoinPath(run_dir, CheckpointFileName(info.step()));
                                        })
                 .status();
    if (!made.ok())
      (*comm)->Abort(absl::StrFormat("hearth worker: rank 0: resuming from %s: %s",
                                     job.resume_checkpoint_id(), made.message()),
                     1);
  }
  std::unique_ptr<WorkerReporter> reporter;
  if (root) {
    if (Status s = Env::Default().CreateDirs(run_dir); !s.ok())
      (*comm)->Abort(std::string(s.message()), 1);
    reporter = std::make_unique<WorkerReporter>(**client, *workers, job_id, job.attempt(), run_dir);
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
  if (root && result->interrupted) {
    // Stopped (cancelled, or a newer attempt took over): the checkpoint saved on the way out is
    // uploaded, so nothing trained is lost.
    if (Status s = reporter->Flush(); !s.ok())
      std::fprintf(stderr, "hearth worker: uploading the last checkpoint: %s\n",
                   std::string(s.message()).c_str());
  } else if (root) {
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
       "hearth worker --coordinator HOST:PORT --job JOB --out RUN_DIR [--ca F]",
       "run one worker of a coordinator job (started by hearthd)",
       "Runs one rank of a job that hearthd schedules: fetches the job spec from the\n"
       "coordinator, trains (resuming from the checkpoint the coordinator names), and from rank\n"
       "0 reports progress and uploads checkpoints. It authenticates with the secret hearthd\n"
       "gives each attempt in HEARTH_WORKER_SECRET. hearthd starts it through launch/hearthrun;\n"
       "you do not need to run it yourself.",
       {},
       {{"coordinator", "HOST:PORT", "the coordinator's worker address"},
        {"job", "JOB", "the job id"},
        {"out", "RUN_DIR", "local run directory on this machine"},
        {"ca", "FILE", "CA certificate when the coordinator serves TLS"}}},
      Run};
  return command;
}

}  // namespace hearth::cli
