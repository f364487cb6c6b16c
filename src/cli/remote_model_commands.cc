// `hearth eval` and `hearth predict` on a coordinator job (the coordinator loads the job's best or
// latest checkpoint and reads the data inside its data roots), or on a local checkpoint file as
// before (model_commands.cc).
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "cli/json_writer.h"
#include "cli/remote_client.h"
#include "cli/remote_display.h"
#include "hearth/env.h"

namespace hearth::cli {
namespace {

constexpr char kCheckpointFlagHelp[] =
    "a checkpoint id from `hearth checkpoints` (default: the best, else the latest)";

bool IsRemoteTarget(const ParsedArgs& args) {
  const std::string& target = args.positionals[0];
  if (LooksLikeJobId(target) || args.Has("coordinator")) return true;
  // $HEARTH_COORDINATOR alone does not turn an existing checkpoint file into a job id.
  return CoordinatorGiven(args) && !Env::Default().FileExists(target);
}

// The flags that only make sense for a coordinator job, given with a local checkpoint.
int RejectRemoteFlags(const CommandSpec& spec, const ParsedArgs& args) {
  for (const char* flag : {"checkpoint", "token-file", "ca"})
    if (args.Has(flag))
      return Fail(spec, absl::InvalidArgumentError(absl::StrFormat(
                            "--%s applies to a coordinator job (j-...), but %s is taken as a "
                            "local checkpoint file; add --coordinator HOST:PORT for a job",
                            flag, args.positionals[0])));
  return 0;
}

// "1,2.5": values as local predictions print them (%.9g), or probabilities (%.6f).
std::string FloatList(const google::protobuf::RepeatedField<float>& values, bool probabilities) {
  std::vector<std::string> parts;
  for (float v : values)
    parts.push_back(probabilities ? absl::StrFormat("%.6f", v) : absl::StrFormat("%.9g", v));
  return absl::StrJoin(parts, ",");
}

int RunEvalAny(const ParsedArgs& args) {
  const CommandSpec& spec = EvalAnyCommand().spec;
  if (!IsRemoteTarget(args)) {
    if (RejectRemoteFlags(spec, args)) return 1;
    return EvalCommand().run(args);
  }
  if (!args.Has("data"))
    return Fail(spec, absl::InvalidArgumentError("--data FILE is required (a file inside one of "
                                                 "hearthd's data roots)"));
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());
  v1::EvaluateRequest request;
  request.set_job_id(args.positionals[0]);
  request.set_checkpoint_id(args.Get("checkpoint"));
  request.set_data_path(args.Get("data"));
  request.set_labels_path(args.Get("labels"));
  v1::EvaluateResponse response;
  auto context = (*client)->NewContext(kLongDeadline);
  const grpc::Status status = (*client)->stub().Evaluate(context.get(), request, &response);
  if (!status.ok()) return FailRpc(spec, status, (*client)->address());
  JsonObject header;
  header.Add("job", request.job_id()).Add("checkpoint", response.checkpoint().id());
  if (!args.Has("json"))
    std::printf("checkpoint %s (step %lld)\n", response.checkpoint().id().c_str(),
                static_cast<long long>(response.checkpoint().step()));
  return EmitEvalReport(spec, args, response.report(), std::move(header), /*default_dir=*/"");
}

int RunPredictAny(const ParsedArgs& args) {
  const CommandSpec& spec = PredictAnyCommand().spec;
  if (!IsRemoteTarget(args)) {
    if (RejectRemoteFlags(spec, args)) return 1;
    return PredictCommand().run(args);
  }
  if (!args.Has("input"))
    return Fail(spec, absl::InvalidArgumentError("--input FILE is required (a file inside one of "
                                                 "hearthd's data roots)"));
  const std::string output = args.Get("output");
  if (absl::EndsWith(output, ".npy"))
    return Fail(spec, absl::InvalidArgumentError(absl::StrFormat(
                          "--output %s: raw model outputs (.npy) need a local checkpoint; fetch "
                          "it with `hearth download %s -o model.safetensors`",
                          output, args.positionals[0])));
  auto client = RemoteClient::Connect(args);
  if (!client.ok()) return Fail(spec, client.status());
  v1::PredictRequest request;
  request.set_job_id(args.positionals[0]);
  request.set_checkpoint_id(args.Get("checkpoint"));
  // hearthd reads the file (inside its data roots) with the job's own CSV settings.
  request.set_input_path(args.Get("input"));
  v1::PredictResponse response;
  auto context = (*client)->NewContext(kLongDeadline);
  const grpc::Status status = (*client)->stub().Predict(context.get(), request, &response);
  if (!status.ok()) return FailRpc(spec, status, (*client)->address());

  StatusOr<std::FILE*> opened = OpenOutput(output);
  if (!opened.ok()) return Fail(spec, opened.status());
  std::FILE* out = *opened;
  const auto& predictions = response.predictions();
  // The same output as for a local checkpoint, with the task read off the predictions.
  const bool regression = !predictions.empty() && predictions[0].class_id() < 0;
  const bool clustering =
      !regression && !predictions.empty() && predictions[0].probabilities().empty();
  if (args.Has("json")) {
    for (const v1::Prediction& p : predictions) {
      JsonObject o;
      if (regression) {
        o.Raw("values", absl::StrCat("[", FloatList(p.values(), false), "]"));
      } else {
        o.Add("class", static_cast<int64_t>(p.class_id()));
        if (!p.label().empty()) o.Add("label", p.label());
        if (!p.probabilities().empty())
          o.Raw("probabilities", absl::StrCat("[", FloatList(p.probabilities(), true), "]"));
      }
      std::fprintf(out, "%s\n", o.str().c_str());
    }
  } else {
    std::string header = regression ? "prediction" : clustering ? "cluster" : "class";
    if (!regression && !clustering)
      for (int c = 0; c < predictions[0].probabilities_size(); ++c)
        header += absl::StrFormat(",p_%d", c);
    std::fprintf(out, "%s\n", header.c_str());
    for (const v1::Prediction& p : predictions) {
      std::string line;
      if (regression) {
        line = FloatList(p.values(), false);
      } else {
        line = p.label().empty() ? std::to_string(p.class_id()) : CsvField(p.label());
        if (!p.probabilities().empty())
          absl::StrAppend(&line, ",", FloatList(p.probabilities(), true));
      }
      std::fprintf(out, "%s\n", line.c_str());
    }
  }
  if (out != stdout && std::fclose(out) != 0)
    return Fail(spec, absl::DataLossError(absl::StrFormat("cannot finish writing %s", output)));
  if (out != stdout)
    std::fprintf(stderr, "wrote %d predictions (checkpoint %s) to %s\n", predictions.size(),
                 response.checkpoint().id().c_str(), output.c_str());
  return 0;
}

std::vector<FlagSpec> WithJobFlags(std::vector<FlagSpec> flags) {
  flags.push_back({"checkpoint", "ID", kCheckpointFlagHelp});
  return WithConnectionFlags(std::move(flags));
}

}  // namespace

const Command& EvalAnyCommand() {
  static const Command command{
      {"eval",
       "hearth eval CHECKPOINT|JOB --data FILE [--labels FILE] [--checkpoint ID] [--out DIR] "
       "[--no-files] [--json]",
       "evaluate a checkpoint or a coordinator job on labelled data",
       "Evaluates a trained checkpoint on labelled data: the job's metrics and loss, then every\n"
       "other metric of the task, the per-class table and the confusion matrix. Writes\n"
       "report.json and SVG figures (confusion matrix, ROC, precision-recall, reliability; or\n"
       "residuals for regression) into DIR.\n"
       "CHECKPOINT is a local .safetensors file. JOB is a coordinator job id (j-...; also any\n"
       "name with --coordinator, or with $HEARTH_COORDINATOR when no such local file exists):\n"
       "hearthd evaluates the job's best (else latest) checkpoint, or --checkpoint ID, on a\n"
       "data file inside its data roots.",
       {"CHECKPOINT|JOB"},
       WithJobFlags(EvalCommand().spec.flags)},
      RunEvalAny};
  return command;
}

const Command& PredictAnyCommand() {
  static const Command command{
      {"predict",
       "hearth predict CHECKPOINT|JOB --input FILE.csv|.npy|IDX [--output FILE] [--json]",
       "predict with a checkpoint or a coordinator job",
       "Predicts with a trained checkpoint: the class and its probabilities (classification),\n"
       "the values (regression) or the cluster (k-means), one row per example.\n"
       "CHECKPOINT is a local .safetensors file. JOB is a coordinator job id (j-...; also any\n"
       "name with --coordinator, or with $HEARTH_COORDINATOR when no such local file exists):\n"
       "hearthd predicts with the job's best (else latest) checkpoint, or --checkpoint ID,\n"
       "reading --input inside its data roots.",
       {"CHECKPOINT|JOB"},
       WithJobFlags(PredictCommand().spec.flags)},
      RunPredictAny};
  return command;
}

}  // namespace hearth::cli
