// `hearth sweep SWEEP.json`: submits a hyperparameter search (hearth.v1.SweepSpec as JSON) to the
// coordinator and, with --follow, watches its trials until the sweep ends.
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "cli/remote_client.h"
#include "cli/remote_display.h"
#include "hearth/env.h"
#include "hearth/job.h"

namespace hearth::cli {
namespace {

// How long --follow keeps polling through coordinator outages (a restart of hearthd).
constexpr std::chrono::seconds kOutageTolerance{60};

// The sweep spec in `path`: protobuf's JSON mapping, unknown fields rejected, and the base job
// spec checked like `hearth submit` does, except for the fields the sweep sets itself.
StatusOr<v1::SweepSpec> LoadSweepSpec(const std::string& path) {
  auto text = Env::Default().ReadFile(path);
  if (!text.ok())
    return absl::Status(text.status().code(),
                        absl::StrFormat("%s: %s", path, text.status().message()));
  v1::SweepSpec spec;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(*text, &spec, options);
  if (!parsed.ok())
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: %s (a hearth.v1.SweepSpec in protobuf's JSON mapping: name, base, "
                        "parameters, method, trials, metric, direction, early_stopping, "
                        "grace_epochs, parallelism)",
                        path, parsed.message().ToString()));
  if (!spec.has_base())
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: base: required, the job spec every trial starts from", path));
  if (spec.parameters().empty() && spec.base().data().folds() == 0)
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: parameters: list at least one field to vary (or cross-validate: base.data.folds)",
        path));
  std::vector<std::string> errors;
  for (int i = 0; i < spec.parameters_size(); ++i)
    if (spec.parameters(i).path().empty())
      errors.push_back(absl::StrFormat("parameters[%d].path: required, e.g. \"optimizer.lr\"", i));
  for (const std::string& error : JobSpecErrors(spec.base())) {
    bool swept = false;
    for (const v1::SweepParameter& p : spec.parameters())
      swept = swept || absl::StartsWith(error, p.path());
    if (!swept) errors.push_back("base." + error);
  }
  if (!errors.empty())
    return absl::InvalidArgumentError(absl::StrFormat("%s: %s", path, absl::StrJoin(errors, "; ")));
  return spec;
}

// Polls the sweep every second, telling each trial's state changes on stderr, until it ends
// (then `ended` holds it).
grpc::Status FollowSweep(RemoteClient& client, const std::string& id, v1::Sweep* ended) {
  std::map<std::string, v1::JobState> seen;  // by trial index and job id
  auto last_ok = std::chrono::steady_clock::now();
  bool outage_noted = false;
  while (true) {
    v1::GetSweepRequest request;
    request.set_id(id);
    v1::Sweep& sweep = *ended;
    auto context = client.NewContext();
    const grpc::Status status = client.stub().GetSweep(context.get(), request, &sweep);
    if (!status.ok()) {
      const bool transient = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                             status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
      if (!transient || std::chrono::steady_clock::now() - last_ok > kOutageTolerance)
        return status;
      if (!outage_noted)
        std::fprintf(stderr, "lost the connection to hearthd at %s; retrying for up to a minute\n",
                     client.address().c_str());
      outage_noted = true;
    } else {
      last_ok = std::chrono::steady_clock::now();
      outage_noted = false;
      for (int i = 0; i < sweep.trials_size(); ++i) {
        const v1::Trial& t = sweep.trials(i);
        const std::string key = absl::StrFormat("%d %s", i, t.job_id());
        auto it = seen.find(key);
        if (it != seen.end() && it->second == t.state()) continue;
        seen[key] = t.state();
        std::string text =
            absl::StrFormat("%s: %s", TrialName(sweep, i),
                            t.stopped_early() ? "stopped early" : StateName(t.state()));
        if (IsTerminal(t.state()) && t.state() != v1::CANCELLED)
          text += absl::StrFormat(" (%s %.6g)", SweepMetricName(sweep.spec()), t.metric_value());
        std::fprintf(stderr, "%s\n", text.c_str());
      }
      if (IsTerminal(sweep.state())) return grpc::Status::OK;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int RunSweep(const ParsedArgs& args) {
  const CommandSpec& spec = SweepCommand().spec;
  auto sweep_spec = LoadSweepSpec(args.positionals[0]);
  if (!sweep_spec.ok()) return Fail(spec, sweep_spec.status());
  return SubmitSweepAndReport(spec, args, *sweep_spec);
}

}  // namespace

int SubmitSweepAndReport(const CommandSpec& spec, const ParsedArgs& args,
                         const v1::SweepSpec& sweep_spec) {
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());
  v1::SubmitSweepRequest request;
  *request.mutable_spec() = sweep_spec;
  v1::Sweep sweep;
  auto context = (*client)->NewContext();
  const grpc::Status status = (*client)->stub().SubmitSweep(context.get(), request, &sweep);
  if (!status.ok()) return FailRpc(spec, status, (*client)->address());
  const bool json = args.Has("json");
  if (!args.Has("follow")) {
    std::printf("%s\n", json ? ProtoJson(sweep).c_str() : sweep.id().c_str());
    return 0;
  }
  if (!json) {
    std::printf("%s\n", sweep.id().c_str());
    std::fflush(stdout);
  }
  v1::Sweep ended;
  const grpc::Status followed = FollowSweep(**client, sweep.id(), &ended);
  if (!followed.ok()) return FailRpc(spec, followed, (*client)->address());
  if (json) {
    std::printf("%s\n", ProtoJson(ended).c_str());
  } else {
    PrintSweep(stdout, ended);
  }
  return ended.state() == v1::SUCCEEDED ? 0 : 1;
}

const Command& SweepCommand() {
  static const Command command{
      {"sweep",
       "hearth sweep SWEEP.json [--follow] [--json] [connection flags]",
       "submit a hyperparameter sweep to the coordinator",
       "Submits a hyperparameter search: a hearth.v1.SweepSpec as JSON, whose \"base\" is a job\n"
       "spec and whose \"parameters\" vary its numeric fields by path (grid or random search,\n"
       "optional median early stopping). With base.data.folds every point is cross-validated:\n"
       "one trial per fold, run in parallel, the points ranked by their folds' mean (then\n"
       "\"parameters\" may be empty). Prints the sweep id; `hearth status SWEEP` shows its\n"
       "trials. --follow reports each trial as it starts and ends, then the table of trials\n"
       "and the best one, and exits 0 if the sweep succeeded. See docs/coordinator.md.",
       {"SWEEP.json"},
       WithConnectionFlags(
           {{"follow", "", "watch the trials until the sweep ends"},
            {"json", "", "print the sweep as one JSON object (with --follow: as it ended)"}})},
      RunSweep};
  return command;
}

}  // namespace hearth::cli
