// `hearth deploy`, `hearth models` and `hearth undeploy`: the models a coordinator serves from its
// jobs' checkpoints (src/coordinator/deployments.h).
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "cli/remote_client.h"

namespace hearth::cli {
namespace {

std::string VersionList(const google::protobuf::RepeatedField<int64_t>& versions) {
  return absl::StrJoin(versions.begin(), versions.end(), ", ");
}

// One model: its versions with where each came from, its labels, where it is served.
void PrintDeployment(const v1::Deployment& d) {
  std::printf("%s%s\n", d.name().c_str(), d.url().empty() ? "" : ("  " + d.url()).c_str());
  for (const v1::DeployedVersion& v : d.versions()) {
    std::vector<std::string> labels;
    for (const auto& [alias, version] : d.aliases())
      if (version == v.version()) labels.push_back(alias);
    std::printf("  version %-4lld %-24s %s%s%s\n", static_cast<long long>(v.version()),
                v.checkpoint_id().c_str(), FormatTime(v.deployed_at()).c_str(),
                v.loaded() ? "" : "  (not loaded)",
                labels.empty() ? "" : ("  [" + absl::StrJoin(labels, ", ") + "]").c_str());
  }
  if (!d.error().empty()) std::printf("  problem: %s\n", d.error().c_str());
}

int RunDeploy(const ParsedArgs& args) {
  const CommandSpec& spec = DeployCommand().spec;
  if (!args.Has("name"))
    return Fail(spec, absl::InvalidArgumentError(
                          "--name: give the served model's name, e.g. --name iris (it appears in "
                          "URLs: /v2/models/iris/infer)"));
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());
  v1::DeployRequest request;
  request.set_job_id(args.positionals[0]);
  request.set_checkpoint_id(args.Get("checkpoint"));
  request.set_name(args.Get("name"));
  request.set_alias(args.Get("alias"));
  v1::DeployResponse response;
  auto context = (*client)->NewContext();
  const grpc::Status status = (*client)->stub().Deploy(context.get(), request, &response);
  if (!status.ok()) return FailRpc(spec, status, (*client)->address());
  if (args.Has("json")) {
    std::printf("%s\n", ProtoJson(response).c_str());
    return 0;
  }
  const v1::Deployment& d = response.deployment();
  std::printf("deployed %s as %s version %lld%s\n", request.job_id().c_str(), d.name().c_str(),
              static_cast<long long>(response.version()),
              request.alias().empty() ? "" : (" (" + request.alias() + ")").c_str());
  if (!response.retired_versions().empty())
    std::printf("retired older versions: %s (--keep-deployed-versions)\n",
                VersionList(response.retired_versions()).c_str());
  if (d.url().empty())
    std::printf(
        "this hearthd does not serve HTTP; start it with --serve-listen 127.0.0.1:7412 to call "
        "the model over HTTP/JSON\n");
  else
    std::printf("call it: curl -d '{\"inputs\": [...]}' %s/infer\n", d.url().c_str());
  return 0;
}

int RunModels(const ParsedArgs& args) {
  const CommandSpec& spec = ModelsCommand().spec;
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());
  v1::ListDeploymentsResponse response;
  auto context = (*client)->NewContext();
  const grpc::Status status =
      (*client)->stub().ListDeployments(context.get(), v1::ListDeploymentsRequest(), &response);
  if (!status.ok()) return FailRpc(spec, status, (*client)->address());
  if (args.Has("json")) {
    std::printf("%s\n", ProtoJson(response).c_str());
  } else if (response.deployments().empty()) {
    std::printf(
        "no models deployed; deploy a job's checkpoint with `hearth deploy JOB --name "
        "NAME`\n");
  } else {
    for (const v1::Deployment& d : response.deployments()) PrintDeployment(d);
  }
  return 0;
}

int RunUndeploy(const ParsedArgs& args) {
  const CommandSpec& spec = UndeployCommand().spec;
  StatusOr<int64_t> version = PositiveIntFlag(args, "version", 0, int64_t{1} << 62);
  if (!version.ok()) return Fail(spec, version.status());
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());
  v1::UndeployRequest request;
  request.set_name(args.positionals[0]);
  request.set_version(*version);
  v1::UndeployResponse response;
  auto context = (*client)->NewContext();
  const grpc::Status status = (*client)->stub().Undeploy(context.get(), request, &response);
  if (!status.ok()) return FailRpc(spec, status, (*client)->address());
  if (args.Has("json")) {
    std::printf("%s\n", ProtoJson(response).c_str());
  } else {
    std::printf("stopped serving %s version%s %s; the jobs' checkpoints are kept\n",
                request.name().c_str(), response.removed_versions_size() == 1 ? "" : "s",
                VersionList(response.removed_versions()).c_str());
  }
  return 0;
}

}  // namespace

const Command& DeployCommand() {
  static const Command command{
      {"deploy",
       "hearth deploy JOB --name NAME [--checkpoint ID] [--alias LABEL] [--json] "
       "[connection flags]",
       "serve a coordinator job's checkpoint as a model",
       "Serves a job's checkpoint (the best, else the latest, or --checkpoint ID) from the\n"
       "coordinator as the next version of model NAME, over HTTP/JSON when hearthd runs with\n"
       "--serve-listen (KServe v2 and TF Serving REST, as `hearth serve`; docs/serving.md).\n"
       "It answers once the version is loaded, or says why it cannot be served. Deployed\n"
       "versions survive a restart of hearthd; the newest --keep-deployed-versions and any a\n"
       "label names are kept.",
       {"JOB"},
       WithConnectionFlags(
           {{"name", "NAME", "the model's name: letters, digits, '_', '-', '.' (required)"},
            {"checkpoint", "ID", "a checkpoint id from `hearth checkpoints` (default: best)"},
            {"alias", "LABEL", "also label the new version, e.g. production (moves the label)"},
            {"json", "", "print the deployment as one JSON object"}})},
      RunDeploy};
  return command;
}

const Command& ModelsCommand() {
  static const Command command{
      {"models",
       "hearth models [--json] [connection flags]",
       "list the models a coordinator serves",
       "Lists the models deployed on the coordinator: each version with the checkpoint it\n"
       "came from and when, its labels, whether it is loaded, and its URL.",
       {},
       WithConnectionFlags({{"json", "", "print the list as one JSON object"}})},
      RunModels};
  return command;
}

const Command& UndeployCommand() {
  static const Command command{
      {"undeploy",
       "hearth undeploy NAME [--version V] [--json] [connection flags]",
       "stop serving a deployed model",
       "Stops serving one version of a deployed model, or all of it. The jobs' checkpoints\n"
       "are untouched: deploy one again at any time.",
       {"NAME"},
       WithConnectionFlags({{"version", "V", "only this version (default: every version)"},
                            {"json", "", "print what was removed as one JSON object"}})},
      RunUndeploy};
  return command;
}

}  // namespace hearth::cli
