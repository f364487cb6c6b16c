// `hearth submit`, `status`, `list`, `logs` and `cancel`: jobs on the coordinator (hearthd).
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "cli/follow_progress.h"
#include "cli/json_writer.h"
#include "cli/remote_client.h"
#include "cli/remote_display.h"
#include "hearth/job.h"

namespace hearth::cli {
namespace {

constexpr char kJsonHelp[] = "print the result as one JSON object (for scripts)";

// A job with data.folds runs on hearthd as a sweep without parameters: one job per fold, in
// parallel within the slots, the folds' mean and spread on the sweep (docs/coordinator.md).
int SubmitCrossValidation(const ParsedArgs& args, const v1::JobSpec& job, int64_t workers) {
  v1::SweepSpec sweep;
  sweep.set_name(job.name());
  *sweep.mutable_base() = job;
  if (workers > 0) sweep.mutable_base()->set_workers(static_cast<int32_t>(workers));
  sweep.set_method(v1::SweepSpec::GRID);
  // Ranked by the first metric the job names, as `hearth train` lists it first; else the loss.
  sweep.set_metric(job.metrics().empty() ? "val_loss" : "val_" + job.metrics(0));
  std::fprintf(stderr,
               "data.folds: submitting the %d folds as a cross-validation sweep (one job per "
               "fold, in parallel); `hearth status SWEEP` shows each fold's %s and their mean\n",
               job.data().folds(), sweep.metric().c_str());
  return SubmitSweepAndReport(SubmitCommand().spec, args, sweep);
}

int RunSubmit(const ParsedArgs& args) {
  const CommandSpec& spec = SubmitCommand().spec;
  const std::string& path = args.positionals[0];
  // The same checks as `hearth train`, here, before anything reaches the coordinator.
  auto job = LoadJobSpec(path);
  if (!job.ok()) return Fail(spec, job.status());
  if (Status s = ValidateJobSpec(*job); !s.ok())
    return Fail(spec, absl::Status(s.code(), absl::StrFormat("%s: %s", path, s.message())));
  auto workers = PositiveIntFlag(args, "workers", 0, 4096);
  if (!workers.ok()) return Fail(spec, workers.status());
  if (job->data().folds() > 0 && !job->data().has_fold())
    return SubmitCrossValidation(args, *job, *workers);
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());

  v1::SubmitJobRequest request;
  *request.mutable_spec() = *job;
  request.set_workers(static_cast<int32_t>(*workers));
  v1::SubmitJobResponse response;
  auto context = (*client)->NewContext();
  const grpc::Status status = (*client)->stub().SubmitJob(context.get(), request, &response);
  if (!status.ok()) return FailRpc(spec, status, (*client)->address());
  const std::string id = response.job().id();
  const bool json = args.Has("json");
  if (!args.Has("follow")) {
    std::printf("%s\n", json ? ProtoJson(response.job()).c_str() : id.c_str());
    return 0;
  }
  if (!json) {
    std::printf("%s\n", id.c_str());
    std::fflush(stdout);
  }
  const FollowResult followed = FollowJob(**client, id, /*quiet=*/json);
  return ReportFollowed(spec, **client, followed, id, json);
}

// Parses --state values ("running,QUEUED").
StatusOr<std::vector<v1::JobState>> ParseStates(const std::string& flag_value) {
  std::vector<v1::JobState> states;
  for (absl::string_view part : absl::StrSplit(flag_value, ',', absl::SkipWhitespace())) {
    const std::string name = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(part));
    v1::JobState state;
    if (!v1::JobState_Parse(name, &state) || state == v1::JOB_STATE_UNSPECIFIED)
      return absl::InvalidArgumentError(absl::StrFormat(
          "--state: unknown state \"%s\"; use QUEUED, RUNNING, RESTARTING, SUCCEEDED, FAILED or "
          "CANCELLED",
          std::string(part)));
    states.push_back(state);
  }
  return states;
}

int ListJobs(const CommandSpec& spec, const ParsedArgs& args) {
  v1::ListJobsRequest request;
  if (args.Has("state")) {
    auto states = ParseStates(args.Get("state"));
    if (!states.ok()) return Fail(spec, states.status());
    for (v1::JobState s : *states) request.add_states(s);
  }
  auto limit = PositiveIntFlag(args, "limit", 0, 100000);
  if (!limit.ok()) return Fail(spec, limit.status());
  request.set_limit(static_cast<int32_t>(*limit));
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());
  v1::ListJobsResponse response;
  auto context = (*client)->NewContext();
  const grpc::Status status = (*client)->stub().ListJobs(context.get(), request, &response);
  if (!status.ok()) return FailRpc(spec, status, (*client)->address());
  if (args.Has("json")) {
    std::printf("%s\n", ProtoJson(response).c_str());
  } else if (response.jobs().empty()) {
    std::printf("no jobs%s\n", args.Has("state") ? " in these states" : "");
  } else {
    PrintJobTable(stdout, response.jobs());
  }
  return 0;
}

int RunList(const ParsedArgs& args) {
  return ListJobs(ListCommand().spec, args);
}

int ShowSweep(const CommandSpec& spec, RemoteClient& client, const std::string& id, bool json) {
  v1::GetSweepRequest request;
  request.set_id(id);
  v1::Sweep sweep;
  auto context = client.NewContext();
  const grpc::Status status = client.stub().GetSweep(context.get(), request, &sweep);
  if (!status.ok()) return FailRpc(spec, status, client.address());
  if (json) {
    std::printf("%s\n", ProtoJson(sweep).c_str());
  } else {
    PrintSweep(stdout, sweep);
  }
  return 0;
}

int RunStatus(const ParsedArgs& args) {
  const CommandSpec& spec = StatusCommand().spec;
  if (args.positionals.empty()) {
    if (args.Has("follow"))
      return Fail(spec, absl::InvalidArgumentError("--follow needs a JOB to follow"));
    return ListJobs(spec, args);
  }
  const std::string& id = args.positionals[0];
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());
  const bool json = args.Has("json");
  if (LooksLikeSweepId(id)) {
    if (args.Has("follow"))
      return Fail(spec, absl::InvalidArgumentError(
                            "--follow follows a job; for a sweep use `hearth sweep` --follow at "
                            "submission, or run `hearth status` again"));
    return ShowSweep(spec, **client, id, json);
  }
  if (args.Has("follow")) {
    const FollowResult followed = FollowJob(**client, id, /*quiet=*/json);
    return ReportFollowed(spec, **client, followed, id, json);
  }
  v1::GetJobRequest request;
  request.set_id(id);
  v1::Job job;
  auto context = (*client)->NewContext();
  const grpc::Status status = (*client)->stub().GetJob(context.get(), request, &job);
  if (!status.ok()) return FailRpc(spec, status, (*client)->address());
  if (json) {
    std::printf("%s\n", ProtoJson(job).c_str());
  } else {
    PrintJobDetail(stdout, job);
  }
  return 0;
}

int RunLogs(const ParsedArgs& args) {
  const CommandSpec& spec = LogsCommand().spec;
  auto rank = NonNegativeIntFlag(args, "rank", -1, 1 << 20);
  if (!rank.ok()) return Fail(spec, rank.status());
  auto tail = PositiveIntFlag(args, "tail", 0, 1 << 30);
  if (!tail.ok()) return Fail(spec, tail.status());
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());

  v1::GetJobLogsRequest request;
  request.set_id(args.positionals[0]);
  request.set_rank(static_cast<int32_t>(*rank));
  request.set_all_ranks(*rank < 0);
  request.set_follow(args.Has("follow"));
  request.set_tail(static_cast<int32_t>(*tail));
  auto context =
      (*client)->NewContext(args.Has("follow") ? std::chrono::seconds(0) : kLongDeadline);
  auto reader = (*client)->stub().GetJobLogs(context.get(), request);
  const bool json = args.Has("json");
  v1::LogChunk chunk;
  int attempt = -1;
  while (reader->Read(&chunk)) {
    for (const v1::LogLine& line : chunk.lines()) {
      // Following a job across a restart: say where the new attempt's lines begin.
      if (!json && attempt >= 0 && line.attempt() != attempt)
        std::printf("--- attempt %d ---\n", line.attempt());
      attempt = line.attempt();
      if (json) {
        std::printf("%s\n", JsonObject()
                                .Add("rank", line.rank())
                                .Add("attempt", line.attempt())
                                .Add("text", line.text())
                                .str()
                                .c_str());
      } else if (*rank < 0 && !absl::StartsWith(line.text(), "[rank ")) {
        std::printf("[rank %d] %s\n", line.rank(), line.text().c_str());
      } else {
        std::printf("%s\n", line.text().c_str());
      }
    }
    std::fflush(stdout);
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return FailRpc(spec, status, (*client)->address());
  return 0;
}

int RunCancel(const ParsedArgs& args) {
  const CommandSpec& spec = CancelCommand().spec;
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());
  v1::CancelJobRequest request;
  request.set_id(args.positionals[0]);
  v1::Job job;
  auto context = (*client)->NewContext();
  const grpc::Status status = (*client)->stub().CancelJob(context.get(), request, &job);
  if (!status.ok()) return FailRpc(spec, status, (*client)->address());
  if (args.Has("json")) {
    std::printf("%s\n", ProtoJson(job).c_str());
  } else if (job.state() == v1::CANCELLED) {
    std::printf("%s: CANCELLED\n", job.id().c_str());
  } else {
    std::printf("%s: cancelling (%s; its workers save a checkpoint and stop)\n", job.id().c_str(),
                StateName(job.state()).c_str());
  }
  return 0;
}

}  // namespace

const Command& SubmitCommand() {
  static const Command command{
      {"submit",
       "hearth submit JOB.json [--workers N] [--follow] [--json] [connection flags]",
       "submit a job spec to the coordinator (hearthd)",
       "Checks a job spec like `hearth train` does, submits it to the coordinator and prints\n"
       "the job id. --follow then shows the job's progress like local training and exits 0 if\n"
       "it succeeds, 1 if it fails (with the failing rank's error and log tail) or is\n"
       "cancelled. Ctrl-C stops following, not the job. Data paths in the spec are read by\n"
       "hearthd, inside its data roots. A spec with data.folds (k-fold cross-validation) is\n"
       "submitted as a sweep of one job per fold, run in parallel: it prints the sweep id,\n"
       "and --follow shows the folds and their mean as `hearth sweep --follow` does.",
       {"JOB.json"},
       WithConnectionFlags(
           {{"workers", "N", "worker processes (default: the job's \"workers\", else 1)"},
            {"follow", "", "show progress until the job ends; the exit status is the job's"},
            {"json", "", "print the job as one JSON object (with --follow: as it ended)"}})},
      RunSubmit};
  return command;
}

const Command& StatusCommand() {
  static const Command command{
      {"status",
       "hearth status [JOB|SWEEP] [--follow] [--json] [connection flags]",
       "show a job (or sweep) on the coordinator; without one, list jobs",
       "Shows a job in detail: state, progress, restarts, final metrics and checkpoints, or\n"
       "why it failed with the end of the failing rank's log. A sweep id (s-...) shows its\n"
       "trials. Without an id, lists the jobs like `hearth list`. --follow attaches to a job's\n"
       "progress like `hearth submit --follow`.",
       {"JOB|SWEEP"},
       WithConnectionFlags(
           {{"follow", "", "follow the job's progress until it ends"}, {"json", "", kJsonHelp}})},
      RunStatus,
      [](const CommandSpec& spec, int argc, char** argv) {
        return ParseWithExtras(spec, argc, argv, {.optional_positionals = 1});
      }};
  return command;
}

const Command& ListCommand() {
  static const Command command{
      {"list",
       "hearth list [--state S]... [--limit N] [--json] [connection flags]",
       "list the coordinator's jobs, newest first",
       "Lists the coordinator's jobs, newest first, with their state and progress.",
       {},
       WithConnectionFlags(
           {{"state", "S", "only jobs in state S (e.g. RUNNING); repeat it or use commas for more"},
            {"limit", "N", "at most N jobs (default 100)"},
            {"json", "", kJsonHelp}})},
      RunList,
      [](const CommandSpec& spec, int argc, char** argv) {
        return ParseWithExtras(spec, argc, argv, {.repeatable = {"state"}});
      }};
  return command;
}

const Command& LogsCommand() {
  static const Command command{
      {"logs",
       "hearth logs JOB [--rank R] [--tail N] [--follow] [--json] [connection flags]",
       "print a coordinator job's worker logs",
       "Prints a job's worker logs (stdout and stderr interleaved): every rank's, each line\n"
       "prefixed [rank N], or one rank's with --rank.",
       {"JOB"},
       WithConnectionFlags(
           {{"rank", "R", "only rank R's log"},
            {"tail", "N", "only the last N lines"},
            {"follow", "", "keep printing new lines until the job ends"},
            {"json", "", "print one JSON object per line: {\"rank\", \"attempt\", \"text\"}"}})},
      RunLogs};
  return command;
}

const Command& CancelCommand() {
  static const Command command{
      {"cancel",
       "hearth cancel JOB [--json] [connection flags]",
       "cancel a coordinator job",
       "Cancels a queued or running job: its workers save a checkpoint and stop. A job that\n"
       "has already ended cannot be cancelled (FAILED_PRECONDITION).",
       {"JOB"},
       WithConnectionFlags({{"json", "", "print the job as one JSON object"}})},
      RunCancel};
  return command;
}

}  // namespace hearth::cli
