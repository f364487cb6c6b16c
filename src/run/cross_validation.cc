// k-fold cross-validation: a job with data.folds trained once per fold, each fold a run of its
// own in <run_dir>/fold-<i>, the folds' validation metrics summarised in cross_validation.json.
#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"
#include "hearth/checkpoint.h"
#include "hearth/dist/collectives.h"
#include "hearth/env.h"
#include "hearth/job.h"
#include "hearth/metrics.h"
#include "hearth/train.h"

namespace hearth {
namespace {

void AddMetrics(const MetricResults& metrics, google::protobuf::RepeatedPtrField<v1::Metric>* out) {
  for (const auto& [name, value] : metrics) {
    v1::Metric* m = out->Add();
    m->set_name(name);
    m->set_value(value);
  }
}

// Per metric over the folds: mean, population standard deviation (numpy's default), range. A
// metric missing from some fold is summarised over the folds that have it.
void Summarise(v1::CrossValidationReport& report) {
  std::vector<std::string> order;  // first fold's order, as the job lists them
  std::map<std::string, std::vector<double>> values;
  for (const v1::FoldResult& fold : report.fold_results()) {
    for (const v1::Metric& m : fold.validation_metrics()) {
      auto [it, added] = values.try_emplace(m.name());
      if (added) order.push_back(m.name());
      it->second.push_back(m.value());
    }
  }
  report.clear_summary();
  for (const std::string& name : order) {
    const std::vector<double>& v = values[name];
    const MeanAndStd spread = MeanAndPopulationStd(v);
    v1::MetricSummary* s = report.add_summary();
    s->set_name(name);
    s->set_mean(spread.mean);
    s->set_std(spread.std);
    s->set_min(*std::min_element(v.begin(), v.end()));
    s->set_max(*std::max_element(v.begin(), v.end()));
  }
}

std::string ReportPath(const std::string& run_dir) {
  return JoinPath(run_dir, kCrossValidationFileName);
}

Status WriteReport(const v1::CrossValidationReport& report, const std::string& run_dir) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(report, &json, options).ok())
    return absl::InternalError("cannot write the cross-validation report as JSON");
  return Env::Default().WriteFileAtomically(ReportPath(run_dir), json);
}

// On rank 0: the folds already done when resuming (the report so far), else a fresh report.
StatusOr<v1::CrossValidationReport> StartReport(const v1::JobSpec& spec,
                                                const TrainOptions& options) {
  v1::CrossValidationReport report;
  const std::string path = ReportPath(options.run_dir);
  if (options.resume && Env::Default().FileExists(path)) {
    HEARTH_ASSIGN_OR_RETURN(std::string json, Env::Default().ReadFile(path));
    if (!google::protobuf::util::JsonStringToMessage(json, &report).ok() ||
        report.folds() != spec.data().folds() || report.fold_results_size() > report.folds())
      return absl::DataLossError(absl::StrFormat(
          "%s: not the cross-validation report of this job's %d folds; start a new run (--out)",
          path, spec.data().folds()));
  }
  report.set_folds(spec.data().folds());
  report.set_stratified(spec.data().stratify());
  return report;
}

// Whether fold_dir has a checkpoint to resume from.
bool HasCheckpoint(const std::string& fold_dir) {
  if (!Env::Default().FileExists(fold_dir)) return false;
  StatusOr<std::unique_ptr<CheckpointManager>> manager =
      CheckpointManager::Open(Env::Default(), fold_dir);
  return manager.ok() && (*manager)->Latest().has_value();
}

}  // namespace

std::string FoldRunDir(const std::string& run_dir, int fold) {
  return JoinPath(run_dir, absl::StrFormat("fold-%d", fold));
}

StatusOr<CrossValidationResult> CrossValidate(const v1::JobSpec& spec,
                                              const TrainOptions& options) {
  HEARTH_RETURN_IF_ERROR(ValidateJobSpec(spec));
  if (spec.data().folds() == 0 || spec.data().has_fold())
    return absl::InvalidArgumentError(
        "cross-validation: expected a job with data.folds and without data.fold");
  if (options.run_dir.empty()) return absl::InvalidArgumentError("no run directory given");
  std::unique_ptr<dist::Communicator> local_comm;
  dist::Communicator* comm = options.comm;
  if (comm == nullptr) {
    local_comm = dist::MakeLocalCommunicator();
    comm = local_comm.get();
  }
  const bool root = comm->is_root();

  // Rank 0 holds the run directory: it reads the report so far and tells every rank.
  std::string shared;
  Status started = absl::OkStatus();
  if (root) {
    StatusOr<v1::CrossValidationReport> report = StartReport(spec, options);
    if (report.ok()) shared = report->SerializeAsString();
    started = report.status();
  }
  HEARTH_RETURN_IF_ERROR(dist::AgreeOnStatus(*comm, started));
  HEARTH_RETURN_IF_ERROR(dist::BroadcastString(*comm, &shared, 0, "cross-validation report"));
  CrossValidationResult result;
  if (!result.report.ParseFromString(shared))
    return dist::CollectiveError(
        absl::InternalError("cross-validation report: damaged in transit"));
  result.workers = comm->size();

  const int folds = spec.data().folds();
  TrainOptions fold_options = options;
  fold_options.comm = comm;
  for (int fold = result.report.fold_results_size(); fold < folds; ++fold) {
    v1::JobSpec fold_spec = spec;
    fold_spec.mutable_data()->set_fold(fold);
    fold_options.run_dir = FoldRunDir(options.run_dir, fold);
    std::string resume = root && options.resume && HasCheckpoint(fold_options.run_dir) ? "1" : "";
    HEARTH_RETURN_IF_ERROR(dist::BroadcastString(*comm, &resume, 0, "resume the fold"));
    fold_options.resume = !resume.empty();
    if (!options.progress.quiet && root)
      std::fprintf(options.progress.out, "fold %d (%d of %d): %s\n", fold, fold + 1, folds,
                   fold_options.run_dir.c_str());
    HEARTH_ASSIGN_OR_RETURN(TrainResult trained, Train(fold_spec, fold_options));
    result.wall_seconds += trained.wall_seconds;
    if (trained.interrupted) {
      result.interrupted = true;
      return result;
    }
    if (trained.already_finished)
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s had finished, but its scores are not in %s (the run stopped in between): remove %s "
          "and resume to train that fold again",
          fold_options.run_dir, ReportPath(options.run_dir), fold_options.run_dir));
    v1::FoldResult* r = result.report.add_fold_results();
    r->set_fold(fold);
    r->set_steps(trained.steps);
    r->set_early_stopped(trained.early_stopped);
    AddMetrics(trained.validation_metrics, r->mutable_validation_metrics());
    AddMetrics(trained.test_metrics, r->mutable_test_metrics());
    r->set_checkpoint(trained.checkpoint);
    r->set_best_checkpoint(trained.best_checkpoint);
    Summarise(result.report);
    // Each fold is recorded as soon as it ends, so a resumed run skips it.
    Status written = root ? WriteReport(result.report, options.run_dir) : absl::OkStatus();
    HEARTH_RETURN_IF_ERROR(dist::AgreeOnStatus(*comm, written));
  }
  return result;
}

}  // namespace hearth
