// `hearth eval`, `hearth predict` and `hearth inspect`: commands that load a trained checkpoint.
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "cli/json_writer.h"
#include "hearth/data.h"
#include "hearth/job.h"
#include "hearth/train.h"
#include "run/report_files.h"

namespace hearth::cli {
namespace {

// Beside the checkpoint, named after the data: runs/x/ckpt-300.safetensors evaluated on
// data/test.csv reports into runs/x/eval-test/.
std::string DefaultReportDir(const std::string& checkpoint, const std::string& data) {
  const std::filesystem::path data_path(data);
  std::string stem = data_path.filename().string();
  for (const char* suffix : {".gz", ".csv", ".npy", ".idx"})
    if (absl::EndsWith(stem, suffix)) stem.resize(stem.size() - std::strlen(suffix));
  return (std::filesystem::path(checkpoint).parent_path() / ("eval-" + stem)).string();
}

int RunEval(const ParsedArgs& args) {
  const CommandSpec& spec = EvalCommand().spec;
  auto model = TrainedModel::Load(args.positionals[0]);
  if (!model.ok()) return Fail(spec, model.status());
  auto data = (*model)->ReadData(args.Get("data"), args.Get("labels"));
  if (!data.ok()) return Fail(spec, data.status());
  auto report = (*model)->Report(*data);
  if (!report.ok()) return Fail(spec, report.status());
  JsonObject header;
  header.Add("checkpoint", args.positionals[0]);
  return EmitEvalReport(spec, args, *report, std::move(header),
                        DefaultReportDir(args.positionals[0], args.Get("data")));
}

std::string FormatPrediction(const TrainedModel::Prediction& p) {
  std::string line;
  if (!p.values.empty()) {
    for (size_t i = 0; i < p.values.size(); ++i)
      line += absl::StrFormat("%s%.9g", i ? "," : "", p.values[i]);
    return line;
  }
  line = p.label.empty() ? std::to_string(p.class_id) : CsvField(p.label);
  for (float prob : p.probabilities) line += absl::StrFormat(",%.6f", prob);
  return line;
}

int RunPredict(const ParsedArgs& args) {
  const CommandSpec& spec = PredictCommand().spec;
  auto model = TrainedModel::Load(args.positionals[0]);
  if (!model.ok()) return Fail(spec, model.status());
  auto features = (*model)->ReadFeatures(args.Get("input"));
  if (!features.ok()) return Fail(spec, features.status());
  const std::string output = args.Get("output");
  if (output.size() > 4 && output.substr(output.size() - 4) == ".npy") {
    auto outputs = (*model)->Outputs(*features);
    if (!outputs.ok()) return Fail(spec, outputs.status());
    if (Status s = WriteNpy(output, *outputs); !s.ok()) return Fail(spec, s);
    std::fprintf(stderr, "wrote %lld predictions to %s\n", static_cast<long long>(outputs->dim(0)),
                 output.c_str());
    return 0;
  }
  auto predictions = (*model)->Predict(*features);
  if (!predictions.ok()) return Fail(spec, predictions.status());
  StatusOr<std::FILE*> opened = OpenOutput(output);
  if (!opened.ok()) return Fail(spec, opened.status());
  std::FILE* out = *opened;
  const v1::Task task = (*model)->spec().task();
  if (args.Has("json")) {
    for (const auto& p : *predictions) {
      JsonObject o;
      if (task == v1::REGRESSION) {
        std::string values = "[";
        for (size_t i = 0; i < p.values.size(); ++i)
          values += absl::StrFormat("%s%.9g", i ? "," : "", p.values[i]);
        o.Raw("values", values + "]");
      } else {
        o.Add("class", p.class_id);
        if (!p.label.empty()) o.Add("label", p.label);
        std::string probs = "[";
        for (size_t i = 0; i < p.probabilities.size(); ++i)
          probs += absl::StrFormat("%s%.6f", i ? "," : "", p.probabilities[i]);
        if (!p.probabilities.empty()) o.Raw("probabilities", probs + "]");
      }
      std::fprintf(out, "%s\n", o.str().c_str());
    }
  } else {
    // A header, then one CSV row per example.
    if (task == v1::REGRESSION) {
      std::fprintf(out, "prediction\n");
    } else if (task == v1::CLUSTERING) {
      std::fprintf(out, "cluster\n");
    } else {
      std::string header = "class";
      const auto& names = (*model)->class_names();
      const size_t classes = predictions->empty() ? 0 : (*predictions)[0].probabilities.size();
      for (size_t c = 0; c < classes; ++c)
        header += ",p_" + (c < names.size() ? names[c] : std::to_string(c));
      std::fprintf(out, "%s\n", header.c_str());
    }
    for (const auto& p : *predictions) std::fprintf(out, "%s\n", FormatPrediction(p).c_str());
  }
  if (out != stdout) std::fclose(out);
  return 0;
}

int RunInspect(const ParsedArgs& args) {
  const CommandSpec& spec = InspectCommand().spec;
  auto checkpoint = LoadCheckpoint(Env::Default(), args.positionals[0]);
  if (!checkpoint.ok()) return Fail(spec, checkpoint.status());
  auto model = TrainedModel::Load(args.positionals[0]);
  if (args.Has("json")) {
    JsonObject out;
    out.Add("checkpoint", args.positionals[0]);
    JsonObject meta;
    for (const auto& [k, v] : checkpoint->metadata)
      if (k != ckpt_keys::kModelSpec) meta.Add(k, v);
    out.Raw("metadata", meta.str());
    std::string tensors = "[";
    for (size_t i = 0; i < checkpoint->tensors.size(); ++i) {
      const NamedTensor& t = checkpoint->tensors[i];
      JsonObject o;
      o.Add("name", t.name)
          .Add("dtype", DTypeName(t.tensor.dtype()))
          .Raw("shape", absl::StrCat("[", absl::StrJoin(t.tensor.shape().ToVector(), ","), "]"));
      absl::StrAppend(&tensors, i ? "," : "", o.str());
    }
    out.Raw("tensors", tensors + "]");
    if (model.ok()) out.Add("model", (*model)->Describe());
    std::printf("%s\n", out.str().c_str());
    return 0;
  }
  std::printf("%s\n", args.positionals[0].c_str());
  if (model.ok()) std::printf("model: %s\n", (*model)->Describe().c_str());
  std::printf("metadata:\n");
  for (const auto& [k, v] : checkpoint->metadata)
    if (k != ckpt_keys::kModelSpec) std::printf("  %-22s %s\n", k.c_str(), v.c_str());
  std::printf("tensors:\n");
  int64_t total = 0;
  for (const NamedTensor& t : checkpoint->tensors) {
    std::printf("  %-40s %-8s %s\n", t.name.c_str(), DTypeName(t.tensor.dtype()),
                t.tensor.shape().ToString().c_str());
    total += t.tensor.numel();
  }
  std::printf("%zu tensors, %lld values\n", checkpoint->tensors.size(),
              static_cast<long long>(total));
  return 0;
}

}  // namespace

int EmitEvalReport(const CommandSpec& spec, const ParsedArgs& args,
                   const v1::EvaluationReport& report, JsonObject header,
                   const std::string& default_dir) {
  std::vector<std::string> written;
  const std::string dir = args.Has("out") ? args.Get("out") : default_dir;
  if (!args.Has("no-files") && !dir.empty()) {
    auto files = run::WriteReportFiles(report, dir);
    if (!files.ok()) return Fail(spec, files.status());
    written = *std::move(files);
  }
  if (args.Has("json")) {
    MetricResults metrics;
    for (const v1::Metric& m : report.metrics()) metrics.emplace_back(m.name(), m.value());
    header.Add("examples", static_cast<int64_t>(report.examples()))
        .Add("metrics", metrics)
        .Raw("report", run::ReportJson(report, /*indent=*/false));
    std::printf("%s\n", header.str().c_str());
    return 0;
  }
  std::printf("%s", run::FormatReport(report).c_str());
  if (!written.empty()) std::printf("\nwrote %s\n", absl::StrJoin(written, ", ").c_str());
  return 0;
}

StatusOr<std::FILE*> OpenOutput(const std::string& path) {
  if (path.empty()) return stdout;
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr)
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot write %s: check the directory exists and is writable", path));
  return out;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

const Command& EvalCommand() {
  static const Command command{
      {"eval",
       "hearth eval CHECKPOINT --data FILE [--labels FILE] [--out DIR] [--no-files] [--json]",
       "evaluate a checkpoint on labelled data",
       "Evaluates a trained checkpoint on labelled data: the job's metrics and loss, then every\n"
       "other metric of the task, the per-class table and the confusion matrix. Writes\n"
       "report.json and SVG figures (confusion matrix, ROC, precision-recall, reliability; or\n"
       "residuals for regression) into DIR.",
       {"CHECKPOINT"},
       {{"data", "FILE", "data to evaluate (CSV, IDX or .npy, read like the job's training data)"},
        {"labels", "FILE", "labels file for IDX/.npy data"},
        {"out", "DIR",
         "where report.json and the figures go (default: eval-<data name> beside a local "
         "checkpoint; none for a job unless given)"},
        {"no-files", "", "print only; write no report files"},
        {"json", "", "print one JSON object (for scripts), the whole report under \"report\""}}},
      RunEval};
  return command;
}

const Command& PredictCommand() {
  static const Command command{
      {"predict",
       "hearth predict CHECKPOINT --input FILE.csv|.npy|IDX [--output FILE] [--json]",
       "predict with a checkpoint",
       "Predicts with a trained checkpoint: the class and its probabilities (classification),\n"
       "the values (regression) or the cluster (k-means), one row per example.",
       {"CHECKPOINT"},
       {{"input", "FILE", "examples to predict (a CSV may include or omit the label column)"},
        {"output", "FILE", "write CSV there (or raw model outputs when FILE ends in .npy)"},
        {"json", "", "print one JSON object per example"}}},
      RunPredict};
  return command;
}

const Command& InspectCommand() {
  static const Command command{
      {"inspect",
       "hearth inspect CHECKPOINT [--json]",
       "show a checkpoint's model, metadata and tensors",
       "Shows a checkpoint's model, metadata and tensors (and verifies its checksums).",
       {"CHECKPOINT"},
       {{"json", "", "print one JSON object (for scripts)"}}},
      RunInspect};
  return command;
}

}  // namespace hearth::cli
