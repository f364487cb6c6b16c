#include "coordinator/sweep_plan.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "coordinator/spec_fields.h"
#include "hearth/job.h"
#include "hearth/random.h"

namespace hearth::coordinator {
namespace {

// How many trials a grid has, or -1 past kMaxSweepTrials: multiplied out with that bound before
// anything is built, so a small request cannot ask for a huge grid.
int64_t GridSize(const v1::SweepSpec& spec) {
  int64_t size = 1;
  for (const v1::SweepParameter& p : spec.parameters()) {
    size *= p.values_size();
    if (size > kMaxSweepTrials) return -1;
  }
  return size;
}

// Every combination of the grid's values, first parameter varying slowest.
std::vector<std::vector<double>> Grid(const v1::SweepSpec& spec) {
  std::vector<std::vector<double>> out = {{}};
  for (const v1::SweepParameter& p : spec.parameters()) {
    std::vector<std::vector<double>> next;
    for (const auto& prefix : out)
      for (double v : p.values()) {
        next.push_back(prefix);
        next.back().push_back(v);
      }
    out = std::move(next);
  }
  return out;
}

std::vector<std::vector<double>> RandomSamples(const v1::SweepSpec& spec, uint64_t seed) {
  Generator rng(seed ^ 0x5eedull);
  std::vector<std::vector<double>> out(spec.trials());
  for (auto& trial : out)
    for (const v1::SweepParameter& p : spec.parameters()) {
      const double u = rng.Uniform();
      trial.push_back(
          p.log_scale() ? std::exp(std::log(p.min()) + u * (std::log(p.max()) - std::log(p.min())))
                        : p.min() + u * (p.max() - p.min()));
    }
  return out;
}

// The folds each point of the search is trained on: base.data.folds when the base trains them
// all (no data.fold), else 0 (none).
int SweptFolds(const v1::SweepSpec& spec) {
  const v1::DataSpec& data = spec.base().data();
  return data.folds() > 0 && !data.has_fold() ? data.folds() : 0;
}

// Each point once per fold, the fold appended as the value of kFoldParameter.
std::vector<std::vector<double>> WithFolds(const std::vector<std::vector<double>>& points,
                                           int folds) {
  std::vector<std::vector<double>> out;
  for (const std::vector<double>& point : points)
    for (int f = 0; f < folds; ++f) {
      out.push_back(point);
      out.back().push_back(f);
    }
  return out;
}

}  // namespace

std::string SweepTrialName(const std::string& sweep_name, const std::string& sweep_id,
                           size_t index) {
  return absl::StrFormat("%s-t%d", sweep_name.empty() ? sweep_id : sweep_name, index);
}

StatusOr<std::vector<v1::Trial>> PlanSweep(const v1::SweepSpec& spec) {
  auto invalid = [](const std::string& field, const std::string& what) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: %s", field, what));
  };
  if (Status s = ValidateJobSpec(spec.base()); !s.ok())
    return invalid("spec.base", std::string(s.message()));
  const int folds = SweptFolds(spec);
  if (spec.parameters().empty() && folds == 0)
    return invalid("spec.parameters", "give at least one (or cross-validate: base.data.folds)");
  if (spec.parameters_size() > kMaxSweepParameters)
    return invalid("spec.parameters",
                   absl::StrFormat("at most %d parameters", kMaxSweepParameters));
  if (spec.metric().empty())
    return invalid("spec.metric", "name the metric to optimise, e.g. val_loss or val_accuracy");
  for (int i = 0; i < spec.parameters_size(); ++i) {
    const v1::SweepParameter& p = spec.parameters(i);
    const std::string field = absl::StrFormat("spec.parameters[%d]", i);
    if (folds > 0 && (p.path() == kFoldParameter || p.path() == "data.folds"))
      return invalid(
          field + ".path",
          "the sweep trains every fold of base.data.folds itself: remove this parameter");
    if (StatusOr<bool> integer = IsIntegerField(spec.base(), p.path()); !integer.ok())
      return invalid(field + ".path", std::string(integer.status().message()));
    if (spec.method() == v1::SweepSpec::GRID && p.values().empty())
      return invalid(field + ".values", "a grid needs values for every parameter");
    if (spec.method() == v1::SweepSpec::RANDOM &&
        (!(p.min() < p.max()) || (p.log_scale() && p.min() <= 0)))
      return invalid(field, "random search needs min < max (and min > 0 with log_scale)");
  }
  std::vector<std::vector<double>> values;
  if (spec.method() == v1::SweepSpec::GRID) {
    const int64_t size = GridSize(spec);
    if (size < 0 || size * std::max(folds, 1) > kMaxSweepTrials)
      return absl::ResourceExhaustedError(absl::StrFormat(
          "spec.parameters: the grid's combinations (the product of the number of values of each "
          "parameter, times base.data.folds) are more than %d trials; use fewer values, or "
          "RANDOM search with trials",
          kMaxSweepTrials));
    values = Grid(spec);
  } else if (spec.method() == v1::SweepSpec::RANDOM) {
    const int most = kMaxSweepTrials / std::max(folds, 1);
    if (spec.trials() < 1 || spec.trials() > most)
      return invalid("spec.trials",
                     absl::StrFormat("must be from 1 to %d%s", most,
                                     folds > 0 ? " (each trial is trained once per fold)" : ""));
    values = RandomSamples(spec, spec.base().seed());
  } else {
    return invalid("spec.method", "GRID or RANDOM");
  }
  if (folds > 0) values = WithFolds(values, folds);

  std::vector<v1::Trial> trials(values.size());
  for (size_t t = 0; t < values.size(); ++t) {
    v1::Trial* trial = &trials[t];
    trial->set_state(v1::QUEUED);
    v1::JobSpec trial_spec = spec.base();
    for (size_t i = 0; i < values[t].size(); ++i) {
      const std::string& path =
          static_cast<int>(i) < spec.parameters_size() ? spec.parameters(i).path() : kFoldParameter;
      HEARTH_RETURN_IF_ERROR(SetNumericField(trial_spec, path, values[t][i]));
      HEARTH_ASSIGN_OR_RETURN(bool integer, IsIntegerField(trial_spec, path));
      v1::Metric* m = trial->add_parameters();
      m->set_name(path);
      m->set_value(integer ? std::round(values[t][i]) : values[t][i]);
    }
    // The name the trial will run under (a placeholder id when the sweep has no name: ids are
    // always valid names).
    trial_spec.set_name(SweepTrialName(spec.name(), "s-000000", t));
    if (Status s = ValidateJobSpec(trial_spec); !s.ok()) {
      if (absl::StartsWith(s.message(), "name:"))
        return invalid("spec.name",
                       absl::StrFormat("trials are named \"%s\", which is not a valid job name: "
                                       "use up to 120 letters, digits, '.', '_' or '-'",
                                       trial_spec.name()));
      return invalid(absl::StrFormat("trial %d", t), std::string(s.message()));
    }
  }
  return trials;
}

}  // namespace hearth::coordinator
