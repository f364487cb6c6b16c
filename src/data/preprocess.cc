// Preprocessor: builds the pipeline from steps or text, fits the steps in order on training
// data, applies them, and exports/imports the fitted statistics by name.
#include "hearth/data/preprocess.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/preprocess_ops.h"

namespace hearth {
namespace {

using data_internal::FitContext;
using data_internal::GetPreprocessOp;
using data_internal::PreprocessOp;

constexpr char kStatePrefix[] = "preprocess.";
constexpr PreprocessKind kAllKinds[] = {PreprocessKind::kStandardize,  PreprocessKind::kMinMax,
                                        PreprocessKind::kScale,        PreprocessKind::kOneHot,
                                        PreprocessKind::kImpute,       PreprocessKind::kRobustScale,
                                        PreprocessKind::kClip,         PreprocessKind::kLog1p,
                                        PreprocessKind::kDropConstant, PreprocessKind::kOrdinal};
constexpr ImputeStrategy kAllStrategies[] = {ImputeStrategy::kMean, ImputeStrategy::kMedian,
                                             ImputeStrategy::kMostFrequent,
                                             ImputeStrategy::kConstant};

// Puts "preprocess step 1 (minmax): " in front of a step's error.
Status InStep(const Status& status, size_t index, PreprocessKind kind) {
  if (status.ok()) return status;
  return Status(status.code(), absl::StrCat("preprocess step ", index, " (",
                                            GetPreprocessOp(kind).name, "): ", status.message()));
}

Status CheckFeatures(const Tensor& x) {
  if (!x.defined() || x.dtype() != DType::kFloat32 || x.rank() < 1) {
    return absl::InvalidArgumentError(
        x.defined() ? absl::StrCat("preprocessing needs float32 features [N, ...], got ",
                                   DTypeName(x.dtype()), " ", x.shape().ToString())
                    : "preprocessing needs float32 features [N, ...], got an undefined tensor");
  }
  return absl::OkStatus();
}

// One part holding every row: nothing to combine.
class SinglePart final : public FitReducer {
 public:
  Status Agree(const Status& local) override { return local; }
  Status Sum(std::span<double>) override { return absl::OkStatus(); }
  Status Min(std::span<float>) override { return absl::OkStatus(); }
  Status Max(std::span<float>) override { return absl::OkStatus(); }
  StatusOr<std::vector<int64_t>> Union(std::span<const int64_t> values) override {
    return std::vector<int64_t>(values.begin(), values.end());
  }
  StatusOr<std::vector<std::vector<double>>> Gather(std::span<const double> values) override {
    return std::vector<std::vector<double>>{{values.begin(), values.end()}};
  }
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits on commas outside parentheses.
std::vector<std::string_view> SplitTopLevel(std::string_view s) {
  std::vector<std::string_view> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '(') ++depth;
    if (s[i] == ')') --depth;
    if (s[i] == ',' && depth == 0) {
      parts.push_back(Trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  parts.push_back(Trim(s.substr(start)));
  return parts;
}

template <typename T>
bool ParseWhole(std::string_view s, T* value) {
  s = Trim(s);
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *value);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

// "0.5" or "1/255".
bool ParseFactor(std::string_view s, float* factor) {
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) return ParseWhole(s, factor);
  double numerator = 0, denominator = 0;
  if (!ParseWhole(s.substr(0, slash), &numerator) ||
      !ParseWhole(s.substr(slash + 1), &denominator) || denominator == 0) {
    return false;
  }
  *factor = static_cast<float>(numerator / denominator);
  return true;
}

StatusOr<PreprocessStep> ParseStep(std::string_view text, std::string_view spec) {
  const auto error = [&](const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat("preprocessing spec \"", std::string(spec), "\": ", what));
  };
  std::string_view name = text;
  std::string_view args;
  bool has_args = false;
  const size_t open = text.find('(');
  if (open != std::string_view::npos) {
    if (text.back() != ')')
      return error(absl::StrCat("expected ')' at the end of \"", std::string(text), "\""));
    name = Trim(text.substr(0, open));
    args = Trim(text.substr(open + 1, text.size() - open - 2));
    has_args = true;
  }
  const PreprocessKind* kind = nullptr;
  for (const PreprocessKind& k : kAllKinds) {
    if (name == GetPreprocessOp(k).name) kind = &k;
  }
  if (kind == nullptr) {
    return error(absl::StrCat("unknown step \"", std::string(name),
                              "\"; expected standardize, minmax, scale(factor), "
                              "onehot(column, ...), impute(strategy, ...), robust_scale, "
                              "clip(lower, upper), log1p, drop_constant or ordinal(column, ...)"));
  }
  switch (*kind) {
    case PreprocessKind::kStandardize:
    case PreprocessKind::kMinMax:
    case PreprocessKind::kRobustScale:
    case PreprocessKind::kLog1p:
    case PreprocessKind::kDropConstant:
      if (!args.empty()) return error(absl::StrCat(std::string(name), " takes no arguments"));
      return PreprocessStep::Of(*kind);
    case PreprocessKind::kOrdinal: {
      PreprocessStep step = PreprocessStep::Of(PreprocessKind::kOrdinal);
      if (!has_args || args.empty()) return error("ordinal takes column indices: ordinal(0, 3)");
      for (std::string_view part : SplitTopLevel(args)) {
        int64_t column = 0;
        if (!ParseWhole(part, &column))
          return error(
              absl::StrCat("ordinal: expected a column index, got \"", std::string(part), "\""));
        step.columns.push_back(column);
      }
      return step;
    }
    case PreprocessKind::kClip: {
      const std::vector<std::string_view> parts = SplitTopLevel(args);
      float lower = 0, upper = 0;
      if (!has_args || parts.size() < 2 || !ParseWhole(parts[0], &lower) ||
          !ParseWhole(parts[1], &upper))
        return error(
            "clip takes two quantiles, then optionally columns: clip(0.01, 0.99), "
            "clip(0.05, 0.95, 0, 3)");
      PreprocessStep step = PreprocessStep::Clip(lower, upper);
      for (size_t i = 2; i < parts.size(); ++i) {
        int64_t column = 0;
        if (!ParseWhole(parts[i], &column))
          return error(
              absl::StrCat("clip: expected a column index, got \"", std::string(parts[i]), "\""));
        step.columns.push_back(column);
      }
      return step;
    }
    case PreprocessKind::kImpute: {
      const std::vector<std::string_view> parts = SplitTopLevel(args);
      if (!has_args || parts.empty() || parts[0].empty())
        return error(
            "impute takes a strategy: impute(mean), impute(median, indicator, 0, 2), "
            "impute(constant=-1)");
      PreprocessStep step = PreprocessStep::Impute(ImputeStrategy::kMean);
      std::string_view strategy = parts[0];
      if (const size_t eq = strategy.find('='); eq != std::string_view::npos) {
        if (!ParseWhole(strategy.substr(eq + 1), &step.fill_value))
          return error(absl::StrCat("impute: expected constant=<number>, got \"",
                                    std::string(strategy), "\""));
        strategy = Trim(strategy.substr(0, eq));
        if (strategy != "constant")
          return error("impute: only the constant strategy takes a value (constant=-1)");
      }
      bool known = false;
      for (ImputeStrategy s : kAllStrategies) {
        if (strategy != ImputeStrategyName(s)) continue;
        step.strategy = s;
        known = true;
      }
      if (!known)
        return error(absl::StrCat("impute: unknown strategy \"", std::string(strategy),
                                  "\"; expected mean, median, most_frequent or constant=<value>"));
      for (size_t i = 1; i < parts.size(); ++i) {
        int64_t column = 0;
        if (parts[i] == "indicator" && step.columns.empty() && !step.add_indicator) {
          step.add_indicator = true;
        } else if (ParseWhole(parts[i], &column)) {
          step.columns.push_back(column);
        } else {
          return error(absl::StrCat("impute: expected \"indicator\" or a column index, got \"",
                                    std::string(parts[i]), "\""));
        }
      }
      return step;
    }
    case PreprocessKind::kScale: {
      float factor = 0;
      if (!has_args || !ParseFactor(args, &factor)) {
        return error("scale takes a factor: scale(0.5) or scale(1/255)");
      }
      return PreprocessStep::Scale(factor);
    }
    case PreprocessKind::kOneHot: {
      std::vector<int64_t> columns;
      int64_t min_frequency = 0;
      if (!has_args || args.empty()) return error("onehot takes column indices: onehot(0, 3)");
      for (std::string_view part : SplitTopLevel(args)) {
        int64_t column = 0;
        if (part.starts_with("min_frequency=")) {
          if (!ParseWhole(part.substr(14), &min_frequency) || min_frequency < 0)
            return error(absl::StrCat("onehot: expected min_frequency=<count>, got \"",
                                      std::string(part), "\""));
          continue;
        }
        if (!ParseWhole(part, &column)) {
          return error(
              absl::StrCat("onehot: expected a column index, got \"", std::string(part), "\""));
        }
        columns.push_back(column);
      }
      PreprocessStep step = PreprocessStep::OneHot(std::move(columns));
      step.min_frequency = min_frequency;
      return step;
    }
  }
  return error("unknown step");
}

}  // namespace

const char* ImputeStrategyName(ImputeStrategy strategy) {
  switch (strategy) {
    case ImputeStrategy::kMean:
      return "mean";
    case ImputeStrategy::kMedian:
      return "median";
    case ImputeStrategy::kMostFrequent:
      return "most_frequent";
    case ImputeStrategy::kConstant:
      return "constant";
  }
  return "?";
}

FitReducer& SinglePartReducer() {
  static SinglePart* const reducer = new SinglePart;  // stateless, never destroyed
  return *reducer;
}

StatusOr<Preprocessor> Preprocessor::Create(std::vector<PreprocessStep> steps) {
  for (size_t i = 0; i < steps.size(); ++i) {
    const PreprocessStep& step = steps[i];
    if (step.kind == PreprocessKind::kScale && (!std::isfinite(step.factor) || step.factor == 0)) {
      return InStep(absl::InvalidArgumentError(
                        absl::StrCat("the factor must be finite and non-zero, got ", step.factor)),
                    i, step.kind);
    }
    if (step.kind == PreprocessKind::kClip &&
        !(step.lower >= 0 && step.lower < step.upper && step.upper <= 1))
      return InStep(
          absl::InvalidArgumentError(absl::StrFormat(
              "expected quantiles 0 <= lower < upper <= 1, got %g and %g", step.lower, step.upper)),
          i, step.kind);
    if (step.kind == PreprocessKind::kImpute && step.strategy == ImputeStrategy::kConstant &&
        !std::isfinite(step.fill_value))
      return InStep(absl::InvalidArgumentError("the constant must be finite"), i, step.kind);
    if ((step.kind == PreprocessKind::kOneHot || step.kind == PreprocessKind::kOrdinal) &&
        step.columns.empty())
      return InStep(absl::InvalidArgumentError("no columns given"), i, step.kind);
    const bool lists_columns =
        step.kind == PreprocessKind::kOneHot || step.kind == PreprocessKind::kOrdinal ||
        step.kind == PreprocessKind::kImpute || step.kind == PreprocessKind::kClip;
    if (lists_columns && !step.columns.empty()) {
      std::vector<int64_t> sorted = step.columns;
      std::sort(sorted.begin(), sorted.end());
      if (sorted.front() < 0) {
        return InStep(absl::InvalidArgumentError(absl::StrCat(
                          "column indices must be non-negative, got ", sorted.front())),
                      i, step.kind);
      }
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
        return InStep(
            absl::InvalidArgumentError(absl::StrCat(
                "column ", *std::adjacent_find(sorted.begin(), sorted.end()), " is listed twice")),
            i, step.kind);
      }
    }
  }
  Preprocessor pre;
  pre.steps_ = std::move(steps);
  return pre;
}

StatusOr<Preprocessor> Preprocessor::Parse(std::string_view spec) {
  std::vector<PreprocessStep> steps;
  if (!Trim(spec).empty()) {
    for (std::string_view part : SplitTopLevel(spec)) {
      if (part.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("preprocessing spec \"", std::string(spec), "\": empty step"));
      }
      HEARTH_ASSIGN_OR_RETURN(PreprocessStep step, ParseStep(part, spec));
      steps.push_back(std::move(step));
    }
  }
  return Create(std::move(steps));
}

Status Preprocessor::Fit(const Tensor& train) {
  HEARTH_RETURN_IF_ERROR(CheckFeatures(train));
  return FitSteps(train, 0, train.dim(0), SinglePartReducer(), /*want_output=*/false).status();
}

StatusOr<Tensor> Preprocessor::FitApply(const Tensor& train) {
  HEARTH_RETURN_IF_ERROR(CheckFeatures(train));
  return FitSteps(train, 0, train.dim(0), SinglePartReducer(), /*want_output=*/true);
}

RowRange Preprocessor::FitPartRows(int64_t total_rows, int part, int parts) {
  HEARTH_CHECK(total_rows >= 0 && parts >= 1 && part >= 0 && part < parts);
  const int64_t block_rows = data_internal::FitBlockRows(total_rows);
  const int64_t blocks = (total_rows + block_rows - 1) / block_rows;
  const int64_t begin = std::min(total_rows, blocks * part / parts * block_rows);
  const int64_t end = std::min(total_rows, blocks * (part + 1) / parts * block_rows);
  return {begin, end - begin};
}

Status Preprocessor::FitPart(const Tensor& rows, int64_t total_rows, int part, int parts,
                             FitReducer& reducer) {
  HEARTH_CHECK(parts >= 1 && part >= 0 && part < parts);
  const RowRange mine = FitPartRows(total_rows, part, parts);
  Status local = CheckFeatures(rows);
  if (local.ok() && rows.dim(0) != mine.count) {
    local = absl::InvalidArgumentError(absl::StrCat(
        "preprocessing part ", part, " of ", parts, " must fit on rows [", mine.begin, ", ",
        mine.begin + mine.count, ") of ", total_rows, ", got ", rows.dim(0), " rows"));
  }
  HEARTH_RETURN_IF_ERROR(reducer.Agree(local));
  return FitSteps(rows, mine.begin, total_rows, reducer, /*want_output=*/false).status();
}

StatusOr<Tensor> Preprocessor::FitSteps(const Tensor& train, int64_t first_row, int64_t total_rows,
                                        FitReducer& reducer, bool want_output) {
  if (total_rows == 0) return absl::InvalidArgumentError("cannot fit preprocessing on zero rows");
  const FitContext ctx{&reducer, first_row, total_rows};
  std::vector<std::vector<Tensor>> stats;
  Tensor x = train;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const PreprocessOp& op = GetPreprocessOp(steps_[i].kind);
    auto fitted = op.fit(steps_[i], x, ctx);
    HEARTH_RETURN_IF_ERROR(InStep(fitted.status(), i, steps_[i].kind));
    if (i + 1 == steps_.size() && !want_output) {
      stats.push_back(std::move(*fitted));
      break;
    }
    // Only the caller's tensor must stay untouched; later steps may overwrite earlier outputs.
    auto applied = op.apply(steps_[i], *fitted, x, /*in_place=*/i > 0);
    HEARTH_RETURN_IF_ERROR(reducer.Agree(InStep(applied.status(), i, steps_[i].kind)));
    stats.push_back(std::move(*fitted));
    x = std::move(*applied);
  }
  // Only a complete fit replaces the previous statistics.
  stats_ = std::move(stats);
  fitted_ = true;
  return x;
}

StatusOr<Tensor> Preprocessor::Apply(const Tensor& features) const {
  return ApplySteps(features, /*overwrite_input=*/false);
}

StatusOr<Tensor> Preprocessor::ApplyInPlace(const Tensor& features) const {
  return ApplySteps(features, /*overwrite_input=*/true);
}

StatusOr<Tensor> Preprocessor::ApplySteps(const Tensor& features, bool overwrite_input) const {
  HEARTH_RETURN_IF_ERROR(CheckFeatures(features));
  if (!fitted()) {
    return absl::FailedPreconditionError(
        "preprocessing is not fitted: call Fit on the training features (or load it with "
        "FromState) before Apply");
  }
  Tensor x = features;
  for (size_t i = 0; i < steps_.size(); ++i) {
    static const std::vector<Tensor> kNoStats;
    const std::vector<Tensor>& stats = fitted_ ? stats_[i] : kNoStats;
    // Later steps own their input: the earlier step made it.
    auto applied =
        GetPreprocessOp(steps_[i].kind).apply(steps_[i], stats, x, overwrite_input || i > 0);
    HEARTH_RETURN_IF_ERROR(InStep(applied.status(), i, steps_[i].kind));
    x = std::move(*applied);
  }
  return x;
}

bool Preprocessor::AcceptsMissing(int64_t column) const {
  for (const PreprocessStep& step : steps_) {
    // Missing values reach an impute step unchanged and it fills them; its indicators go after
    // the raw columns, which keep their positions.
    if (step.kind == PreprocessKind::kImpute &&
        (step.columns.empty() ||
         std::find(step.columns.begin(), step.columns.end(), column) != step.columns.end()))
      return true;
    // Scaling keeps a missing value missing and the column where it is; anything else either
    // refuses missing values or moves the columns.
    if (step.kind != PreprocessKind::kImpute && step.kind != PreprocessKind::kScale &&
        step.kind != PreprocessKind::kLog1p)
      return false;
  }
  return false;
}

bool Preprocessor::AcceptsCategories(int64_t column) const {
  for (const PreprocessStep& step : steps_) {
    const bool listed =
        std::find(step.columns.begin(), step.columns.end(), column) != step.columns.end();
    if (step.kind == PreprocessKind::kOneHot) return listed;  // it moves the columns after it
    if (step.kind == PreprocessKind::kOrdinal && listed) return true;
    // Clipping named columns keeps the width and leaves the others alone.
    if (step.kind == PreprocessKind::kClip && !step.columns.empty() && !listed) continue;
    if (step.kind != PreprocessKind::kImpute && step.kind != PreprocessKind::kOrdinal) return false;
  }
  return false;
}

bool Preprocessor::fitted() const {
  if (fitted_) return true;
  for (const PreprocessStep& step : steps_) {
    if (GetPreprocessOp(step.kind).num_stats > 0) return false;
  }
  return true;
}

std::string Preprocessor::Description() const {
  std::string out;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const PreprocessStep& step = steps_[i];
    if (i > 0) out += ",";
    out += GetPreprocessOp(step.kind).name;
    if (step.kind == PreprocessKind::kScale) {
      // %.9g reads back as the same float.
      absl::StrAppend(&out, absl::StrFormat("(%.9g)", step.factor));
    } else if (step.kind == PreprocessKind::kOneHot) {
      out += "(";
      if (step.min_frequency > 1) absl::StrAppend(&out, "min_frequency=", step.min_frequency, ",");
      for (size_t c = 0; c < step.columns.size(); ++c) {
        absl::StrAppend(&out, c > 0 ? "," : "", step.columns[c]);
      }
      out += ")";
    } else if (step.kind == PreprocessKind::kImpute) {
      out += "(";
      out += ImputeStrategyName(step.strategy);
      if (step.strategy == ImputeStrategy::kConstant)
        absl::StrAppend(&out, absl::StrFormat("=%.9g", step.fill_value));
      if (step.add_indicator) out += ",indicator";
      for (int64_t c : step.columns) absl::StrAppend(&out, ",", c);
      out += ")";
    } else if (step.kind == PreprocessKind::kOrdinal) {
      out += "(";
      for (size_t c = 0; c < step.columns.size(); ++c)
        absl::StrAppend(&out, c > 0 ? "," : "", step.columns[c]);
      out += ")";
    } else if (step.kind == PreprocessKind::kClip) {
      absl::StrAppend(&out, absl::StrFormat("(%.9g,%.9g", step.lower, step.upper));
      for (int64_t c : step.columns) absl::StrAppend(&out, ",", c);
      out += ")";
    }
  }
  return out;
}

std::vector<NamedTensor> Preprocessor::State() const {
  std::vector<NamedTensor> state;
  if (!fitted_) return state;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const PreprocessOp& op = GetPreprocessOp(steps_[i].kind);
    for (int s = 0; s < op.num_stats; ++s) {
      // A copy: a caller writing into it must not change this pipeline.
      state.push_back({absl::StrCat(kStatePrefix, i, ".", op.name, ".", op.stat_names[s]),
                       stats_[i][s].Clone()});
    }
  }
  return state;
}

StatusOr<Preprocessor> Preprocessor::FromState(std::string_view description,
                                               const std::vector<NamedTensor>& state) {
  HEARTH_ASSIGN_OR_RETURN(Preprocessor pre, Parse(description));
  std::map<std::string, Tensor> by_name;
  for (const NamedTensor& named : state) {
    if (named.name.rfind(kStatePrefix, 0) != 0) continue;
    if (!named.tensor.defined()) {
      return absl::InvalidArgumentError(absl::StrCat(named.name, ": undefined tensor"));
    }
    if (!by_name.emplace(named.name, named.tensor).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("preprocessing statistic ", named.name, " appears twice"));
    }
  }
  for (size_t i = 0; i < pre.steps_.size(); ++i) {
    const PreprocessStep& step = pre.steps_[i];
    const PreprocessOp& op = GetPreprocessOp(step.kind);
    std::vector<NamedTensor> stats;
    for (int s = 0; s < op.num_stats; ++s) {
      const std::string name = absl::StrCat(kStatePrefix, i, ".", op.name, ".", op.stat_names[s]);
      auto it = by_name.find(name);
      if (it == by_name.end()) {
        return absl::InvalidArgumentError(absl::StrCat("missing preprocessing statistic ", name,
                                                       " (step ", i, " of \"",
                                                       std::string(description), "\")"));
      }
      // A private copy: the statistics must not change under a fitted pipeline.
      stats.push_back({name, it->second.Clone()});
      by_name.erase(it);
    }
    HEARTH_RETURN_IF_ERROR(op.validate(step, stats));
    std::vector<Tensor> tensors;
    for (NamedTensor& named : stats) tensors.push_back(std::move(named.tensor));
    pre.stats_.push_back(std::move(tensors));
  }
  if (!by_name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected preprocessing statistic ", by_name.begin()->first, ": the description \"",
        std::string(description), "\" has ", pre.steps_.size(), " steps"));
  }
  pre.fitted_ = true;
  return pre;
}

}  // namespace hearth
