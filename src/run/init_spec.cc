// ChooseJobSpec: the profile's columns become features and steps, the label the task, and the
// size of the data the batch, rate and epochs.
#include "run/init_spec.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "hearth/kmeans.h"
#include "hearth/metrics.h"
#include "hearth/ops.h"
#include "run/job_data.h"

namespace hearth::run {
namespace {

// Below this many training rows, batches of 32; above, 256.
constexpr int64_t kLargeData = 20000;
// Enough optimizer steps for a linear model to settle on standardized inputs.
constexpr int64_t kTargetSteps = 2000;
constexpr double kImbalanced = 3;
// One-hot columns with more categories than this pool the rare ones.
constexpr int64_t kManyCategories = 20;

bool HasText(const ColumnProfile& c) {
  return c.count > c.numbers;
}

std::string Quoted(const std::string& name) {
  return absl::StrCat("`", name, "`");
}

std::string NameList(const std::vector<const ColumnProfile*>& columns) {
  std::vector<std::string> names;
  for (const auto* c : columns) names.push_back(Quoted(c->name));
  return absl::StrJoin(names, ", ");
}

std::string JobName(const InitOptions& options) {
  if (!options.name.empty()) return options.name;
  std::string stem = std::filesystem::path(options.data_path).filename().string();
  for (const char* suffix : {".gz", ".csv", ".tsv", ".txt"})
    if (stem.size() > std::strlen(suffix) && stem.ends_with(suffix))
      stem.resize(stem.size() - std::strlen(suffix));
  return stem.empty() ? "job" : stem;
}

// The features, and why each other column is left out.
struct Features {
  std::vector<const ColumnProfile*> kept;
  std::vector<std::string> left_out;
};

Features ChooseFeatures(const TableProfile& p) {
  Features f;
  for (const auto& c : p.column) {
    if (c.index == p.label) continue;
    switch (c.kind) {
      case ColumnKind::kIdLike:
        f.left_out.push_back(
            absl::StrCat(Quoted(c.name), " (a row id: every value different, nothing to learn)"));
        continue;
      case ColumnKind::kEmpty:
        f.left_out.push_back(absl::StrCat(Quoted(c.name), " (empty)"));
        continue;
      case ColumnKind::kConstant:
        f.left_out.push_back(absl::StrCat(Quoted(c.name), " (the same value in every row)"));
        continue;
      default:
        break;
    }
    if (c.kind == ColumnKind::kCategorical && c.numbers * 10 >= c.count * 9 && c.numbers > 0) {
      f.left_out.push_back(
          absl::StrFormat("%s (%d text cells among %d numbers: fix them, then add the column back)",
                          Quoted(c.name), c.count - c.numbers, c.numbers));
      continue;
    }
    const Association& a = c.association;
    if (a.value >= 0.98 && !a.statistic.empty()) {
      f.left_out.push_back(absl::StrFormat(
          "%s (it alone predicts the label, %s %.3f: probably computed from it; add it back if "
          "it is known before the label is)",
          Quoted(c.name), a.statistic, a.value));
      continue;
    }
    f.kept.push_back(&c);
  }
  return f;
}

v1::PreprocessStep Impute(v1::ImputeStrategy strategy, bool indicator,
                          const std::vector<int32_t>& columns) {
  v1::PreprocessStep step;
  v1::Impute* impute = step.mutable_impute();
  impute->set_strategy(strategy);
  impute->set_add_indicator(indicator);
  for (int32_t c : columns) impute->add_columns(c);
  return step;
}

// The steps for the kept features (feature j is kept[j]), appended to `data`. Returns the width
// the model sees.
int64_t AddPreprocessing(const std::vector<const ColumnProfile*>& kept, int64_t rows,
                         v1::DataSpec& data, std::vector<std::string>& reasons) {
  std::vector<int32_t> text, text_missing, number_missing, outliers;
  std::vector<const ColumnProfile*> text_cols, missing_cols, outlier_cols, skewed;
  int64_t width = 0, pooled_min = 0;
  for (size_t j = 0; j < kept.size(); ++j) {
    const ColumnProfile& c = *kept[j];
    const auto f = static_cast<int32_t>(j);
    if (HasText(c)) {
      text.push_back(f);
      text_cols.push_back(&c);
      if (c.missing > 0) text_missing.push_back(f);
      const bool many = c.distinct > kManyCategories;
      width += many ? kManyCategories : c.distinct;
      if (many) pooled_min = std::max<int64_t>(5, rows / 200);
    } else {
      ++width;
      if (c.missing > 0) {
        number_missing.push_back(f);
        ++width;  // the indicator
      }
      if (c.outliers > 0 && c.kind != ColumnKind::kBoolean) {
        outliers.push_back(f);
        outlier_cols.push_back(&c);
      }
      if (c.kind == ColumnKind::kNumeric && c.min >= 0 && c.skewness > 2) skewed.push_back(&c);
    }
    if (c.missing > 0) missing_cols.push_back(&c);
  }
  if (!text_missing.empty()) {
    *data.add_preprocessing() = Impute(v1::MOST_FREQUENT, false, text_missing);
  }
  if (!number_missing.empty()) {
    *data.add_preprocessing() = Impute(v1::MEDIAN, true, number_missing);
  }
  if (!missing_cols.empty()) {
    reasons.push_back(absl::StrFormat(
        "impute: %s have missing cells; numbers are filled with the training median and get a "
        "0/1 column saying the cell was missing (missingness can itself predict), text with the "
        "most frequent category",
        NameList(missing_cols)));
  }
  if (!outliers.empty()) {
    v1::PreprocessStep step;
    step.mutable_clip()->set_lower(0.01);
    step.mutable_clip()->set_upper(0.99);
    for (int32_t f : outliers) step.mutable_clip()->add_columns(f);
    *data.add_preprocessing() = step;
    reasons.push_back(absl::StrFormat(
        "clip: %s have outliers by the IQR rule; they are clipped to the 1st and 99th "
        "percentiles of the training rows, so one extreme row cannot pull a linear model",
        NameList(outlier_cols)));
  }
  if (!skewed.empty()) {
    reasons.push_back(absl::StrFormat(
        "note: %s are skewed (a long right tail); clipping tames the tail here, and a log1p step "
        "(which applies to every column) is the alternative when all columns are >= 0",
        NameList(skewed)));
  }
  if (!text.empty()) {
    v1::PreprocessStep step;
    for (int32_t f : text) step.mutable_one_hot()->add_columns(f);
    if (pooled_min > 0) step.mutable_one_hot()->set_min_frequency(static_cast<int32_t>(pooled_min));
    *data.add_preprocessing() = step;
    reasons.push_back(absl::StrFormat(
        "one_hot: %s hold text categories; each becomes one 0/1 column per category (a category "
        "unseen in training sets none)%s",
        NameList(text_cols),
        pooled_min > 0 ? absl::StrFormat("; categories in fewer than %d training rows share one "
                                         "column",
                                         pooled_min)
                       : ""));
  }
  v1::PreprocessStep standardize;
  standardize.mutable_standardize();
  *data.add_preprocessing() = standardize;
  reasons.push_back(
      "standardize: every input column to mean 0 and standard deviation 1 over the training "
      "rows, so one learning rate suits them all");
  return std::max<int64_t>(width, 1);
}

// The k in [k_min, k_max] whose k-means fit has the highest silhouette (ties: the smaller k).
StatusOr<int64_t> ChooseK(v1::JobSpec spec, const InitOptions& options, std::string* why) {
  spec.mutable_model()->mutable_kmeans()->set_k(options.k_min);
  HEARTH_ASSIGN_OR_RETURN(JobData data, LoadJobData(spec));
  Tensor x = reshape(data.train.features, Shape{data.train.size(), -1});
  const int64_t n = x.dim(0);
  // Every step-th row, so the fits stay quick on large files.
  const int64_t step = std::max<int64_t>(1, n / (10 * options.silhouette_rows));
  if (step > 1) {
    const int64_t m = n / step, d = x.dim(1);
    Tensor sample = Tensor::Empty(Shape{m, d});
    for (int64_t i = 0; i < m; ++i) std::copy_n(x.f32() + i * step * d, d, sample.f32() + i * d);
    x = sample;
  }
  int64_t best_k = 0;
  double best = -2;
  std::vector<std::string> scores;
  for (int64_t k = options.k_min; k <= options.k_max && k < x.dim(0); ++k) {
    KMeansOptions km;
    km.k = k;
    km.n_init = 4;
    km.seed = spec.seed();
    KMeans kmeans(km);
    HEARTH_RETURN_IF_ERROR(kmeans.Fit(x));
    HEARTH_ASSIGN_OR_RETURN(Tensor labels, kmeans.Predict(x));
    MetricOptions mo;
    mo.seed = spec.seed();
    mo.silhouette_max_points = options.silhouette_rows;
    HEARTH_ASSIGN_OR_RETURN(MetricSet metrics, MetricSet::Create({"silhouette"}, mo));
    HEARTH_RETURN_IF_ERROR(metrics.Update(labels, x));
    HEARTH_ASSIGN_OR_RETURN(MetricResults result, metrics.Compute());
    const double score = result.front().second;
    scores.push_back(absl::StrFormat("k=%d %.3f", k, score));
    if (score > best) {
      best = score;
      best_k = k;
    }
  }
  if (best_k == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: too few rows to choose k (at least %d needed)", options.data_path, options.k_min + 1));
  }
  *why = absl::StrFormat(
      "model: k-means with k = %d, the highest silhouette (how much closer each point is to its "
      "own cluster than to the next) of k-means fits for k = %d..%d: %s",
      best_k, options.k_min, options.k_max, absl::StrJoin(scores, ", "));
  return best_k;
}

}  // namespace

StatusOr<InitChoice> ChooseJobSpec(const TableProfile& p, const InitOptions& options) {
  InitChoice choice;
  v1::JobSpec& spec = choice.spec;
  std::vector<std::string>& reasons = choice.reasons;
  spec.set_name(JobName(options));
  spec.set_seed(1);
  const ColumnProfile* label = p.label >= 0 ? &p.column[static_cast<size_t>(p.label)] : nullptr;
  if (label != nullptr && label->count == 0)
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: the label column `%s` is empty", p.source, label->name));

  const bool classification = label != nullptr && IsCategoricalLabel(*label);
  if (label == nullptr) {
    spec.set_task(v1::CLUSTERING);
    reasons.push_back(
        "task: CLUSTERING, because no label was given (--label COL for a "
        "supervised task)");
  } else if (classification) {
    spec.set_task(v1::CLASSIFICATION);
    reasons.push_back(absl::StrFormat(
        "task: CLASSIFICATION, because the label %s holds %s with %d distinct values",
        Quoted(label->name), label->kind == ColumnKind::kInteger ? "whole numbers" : "categories",
        p.class_counts.size()));
  } else {
    spec.set_task(v1::REGRESSION);
    reasons.push_back(absl::StrFormat(
        "task: REGRESSION, because the label %s holds %s numbers (%d distinct values)",
        Quoted(label->name), label->kind == ColumnKind::kInteger ? "whole" : "continuous",
        label->distinct));
  }
  if (label != nullptr && label->missing > 0) {
    reasons.push_back(absl::StrFormat(
        "warning: %d rows have no label; training stops at the first of them, so fill them in or "
        "drop them from the file",
        label->missing));
  }

  Features features = ChooseFeatures(p);
  if (features.kept.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: no column can be a feature (left out: %s)", p.source,
        features.left_out.empty() ? "none" : absl::StrJoin(features.left_out, "; ")));
  }
  v1::DataSpec& data = *spec.mutable_data();
  v1::DataSource& train = *data.mutable_train();
  train.set_path(options.data_path);
  if (label != nullptr) train.set_label_column(label->name);
  if (!features.left_out.empty()) {
    for (const auto* c : features.kept) train.add_feature_columns(c->name);
    reasons.push_back(absl::StrCat("features: ", NameList(features.kept),
                                   "; left out: ", absl::StrJoin(features.left_out, "; ")));
  } else {
    reasons.push_back(absl::StrCat("features: every other column (", NameList(features.kept), ")"));
  }
  if (p.duplicate_rows > 0) {
    data.set_deduplicate(true);
    reasons.push_back(absl::StrFormat(
        "deduplicate: %d rows repeat an earlier one; they are dropped before the validation "
        "split, so a row cannot be both trained on and validated with",
        p.duplicate_rows));
  }
  const int64_t rows = p.rows - p.duplicate_rows;
  const int64_t width = AddPreprocessing(features.kept, rows, data, reasons);

  if (spec.task() == v1::CLUSTERING) {
    std::string why;
    HEARTH_ASSIGN_OR_RETURN(const int64_t k, ChooseK(spec, options, &why));
    v1::KMeansSpec& kmeans = *spec.mutable_model()->mutable_kmeans();
    kmeans.set_k(static_cast<int32_t>(k));
    kmeans.set_n_init(4);
    spec.add_metrics("inertia");
    spec.add_metrics("silhouette");
    reasons.push_back(why);
    choice.alternative = absl::StrFormat(
        "k-means finds round clusters of similar size. Look at the silhouettes above: if another "
        "k scores almost as well, try it (\"kmeans\": {\"k\": %d}), and compare them with `hearth "
        "eval`.",
        k + 1);
    return choice;
  }

  if (rows >= 50) {
    data.set_validation_fraction(0.2);
    if (classification) data.set_stratify(true);
    reasons.push_back(absl::StrFormat(
        "validation: 20%% of the rows held out%s, to watch for overfitting and stop early",
        classification ? ", in the same class proportions (stratified)" : ""));
  }
  const int64_t train_rows = rows >= 50 ? rows - rows / 5 : rows;
  const int classes = static_cast<int>(p.class_counts.size());
  const bool binary = classification && classes <= 2;
  v1::DenseLayer& dense = *spec.mutable_model()->add_layers()->mutable_dense();
  dense.set_units(binary || !classification ? 1 : classes);
  if (classification) {
    spec.mutable_loss()->set_type(binary ? v1::BINARY_CROSS_ENTROPY : v1::CROSS_ENTROPY);
    for (const char* m : {"accuracy", binary ? "f1" : "f1_macro", "roc_auc", "log_loss"})
      spec.add_metrics(m);
    reasons.push_back(absl::StrFormat(
        "model: logistic regression (one dense layer, %s), the baseline any classifier should "
        "beat; metrics accuracy, %s, roc_auc and log_loss",
        binary ? "one logit and binary cross-entropy"
               : absl::StrFormat("%d logits and softmax cross-entropy", classes),
        binary ? "f1 of class 1" : "f1_macro"));
    if (p.imbalance_ratio >= kImbalanced) {
      spec.mutable_loss()->set_class_weight("balanced");
      reasons.push_back(absl::StrFormat(
          "class weights: the classes are imbalanced %.1f:1, so each class's loss is weighted "
          "by n / (classes * its count) and the rare class counts as much; judge by f1 and "
          "roc_auc more than accuracy",
          p.imbalance_ratio));
    }
  } else {
    spec.mutable_loss()->set_type(v1::MSE);
    for (const char* m : {"mse", "mae", "r2"}) spec.add_metrics(m);
    reasons.push_back(
        "model: linear regression (one dense layer, mean squared error), the baseline any "
        "regressor should beat; metrics mse, mae and r2");
  }
  // Plain SGD is stable on standardized inputs while lr stays below about 2 / the largest
  // eigenvalue of the inputs' covariance, which is at most their width.
  const double lr =
      std::clamp((classification ? 2.0 : 0.5) / static_cast<double>(width), 0.005, 0.2);
  const int batch = train_rows > kLargeData ? 256 : 32;
  const int64_t steps_per_epoch = std::max<int64_t>(1, (train_rows + batch - 1) / batch);
  const int epochs = static_cast<int>(
      std::clamp<int64_t>((kTargetSteps + steps_per_epoch - 1) / steps_per_epoch, 3, 200));
  spec.mutable_optimizer()->set_name("sgd");
  spec.mutable_optimizer()->set_lr(std::round(lr * 1e4) / 1e4);
  spec.set_global_batch_size(batch);
  spec.set_epochs(epochs);
  if (rows >= 50) {
    v1::EarlyStoppingSpec& stop = *spec.mutable_early_stopping();
    stop.set_monitor("val_loss");
    stop.set_patience(10);
  }
  reasons.push_back(absl::StrFormat(
      "training: batches of %d, SGD with learning rate %g (about %s over the %d input columns, "
      "stable on standardized inputs), %d epochs (about %d steps)%s; `hearth find-lr` measures a "
      "better rate",
      batch, spec.optimizer().lr(), classification ? "2" : "0.5", width, epochs,
      epochs * steps_per_epoch,
      rows >= 50 ? ", stopping early once val_loss stops improving" : ""));

  const int out = binary || !classification ? 1 : classes;
  choice.alternative = absl::StrFormat(
      "An MLP learns curved boundaries and interactions the linear baseline cannot. Replace "
      "\"model\" and \"optimizer\" with:\n"
      "  \"model\": {\"layers\": [{\"dense\": {\"units\": 64, \"activation\": \"RELU\"}},\n"
      "                        {\"dense\": {\"units\": 64, \"activation\": \"RELU\"}},\n"
      "                        {\"dense\": {\"units\": %d}}]},\n"
      "  \"optimizer\": {\"name\": \"adam\", \"lr\": 0.001},\n"
      "and compare its val_loss with the baseline's.",
      out);
  return choice;
}

}  // namespace hearth::run
