// TrainedModel: a checkpoint restored for evaluation and prediction.
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "hearth/autograd.h"
#include "hearth/job.h"
#include "hearth/ops.h"
#include "hearth/train.h"
#include "run/evaluation.h"
#include "run/job_data.h"
#include "run/training_state.h"

namespace hearth {

StatusOr<std::unique_ptr<TrainedModel>> TrainedModel::Load(const std::string& path, Env& env) {
  HEARTH_ASSIGN_OR_RETURN(Checkpoint c, LoadCheckpoint(env, path));
  return FromCheckpoint(std::move(c), path);
}

StatusOr<std::unique_ptr<TrainedModel>> TrainedModel::FromCheckpoint(Checkpoint c,
                                                                     const std::string& path) {
  std::unique_ptr<TrainedModel> m(new TrainedModel());
  HEARTH_ASSIGN_OR_RETURN(m->spec_, run::ReadSpec(c, path));
  // The embedded spec is input like any other: a checkpoint may come from anywhere.
  if (Status valid = ValidateJobSpec(m->spec_); !valid.ok())
    return absl::DataLossError(
        absl::StrFormat("%s: its embedded job spec is not valid: %s", path, valid.message()));
  HEARTH_ASSIGN_OR_RETURN(m->example_shape_, run::ReadExampleShape(c, path));
  HEARTH_ASSIGN_OR_RETURN(m->class_names_, run::ReadClassNames(c, path));
  HEARTH_ASSIGN_OR_RETURN(Preprocessor pre, run::ReadPreprocessor(c, path));
  m->preprocess_ = std::make_unique<Preprocessor>(std::move(pre));
  HEARTH_ASSIGN_OR_RETURN(m->record_shape_,
                          run::ReadRecordShape(c, m->example_shape_, *m->preprocess_, path));
  HEARTH_ASSIGN_OR_RETURN(m->feature_names_, run::ReadFeatureNames(c, m->record_shape_, path));
  HEARTH_ASSIGN_OR_RETURN(m->feature_categories_,
                          run::ReadFeatureCategories(c, m->record_shape_, path));
  HEARTH_ASSIGN_OR_RETURN(run::TrainingPosition pos, run::ReadPosition(c, path));
  m->step_ = pos.step;
  if (m->spec_.task() == v1::CLUSTERING) {
    const Tensor* centroids = c.Find(run::kCentroidsName);
    if (centroids == nullptr || centroids->shape().rank() != 2 ||
        centroids->dtype() != DType::kFloat32)
      return absl::DataLossError(
          absl::StrFormat("%s: a clustering checkpoint without [k, features] centroids", path));
    m->centroids_ = *centroids;
    m->num_outputs_ = m->output_width_ = centroids->dim(0);
    return m;
  }
  const auto it = c.metadata.find(run::kNumOutputsKey);
  if (it == c.metadata.end() || !absl::SimpleAtoi(it->second, &m->num_outputs_) ||
      m->num_outputs_ < 1 || m->num_outputs_ > kMaxValuesPerExample)
    return absl::DataLossError(absl::StrFormat(
        "%s: metadata \"%s\" is missing or not a positive count", path, run::kNumOutputsKey));
  // Sizes before allocation: the model the spec describes may not be larger than the weights the
  // file holds (they are restored into it next).
  HEARTH_ASSIGN_OR_RETURN(const Shape input, ResolveInputShape(m->spec_, m->example_shape_));
  HEARTH_ASSIGN_OR_RETURN(const int64_t parameters, CountModelParameters(m->spec_, input));
  int64_t stored = 0;
  for (const NamedTensor& t : c.tensors)
    if (IsModelWeightName(t.name)) stored += t.tensor.numel();
  if (parameters > stored)
    return absl::DataLossError(
        absl::StrFormat("%s: its model needs %d parameters but the file holds %d weights", path,
                        parameters, stored));
  HEARTH_ASSIGN_OR_RETURN(
      m->model_, BuildModel(m->spec_, m->example_shape_, m->num_outputs_, m->spec_.seed()));
  HEARTH_ASSIGN_OR_RETURN(const Shape output, InferOutputShape(m->spec_, input));
  m->output_width_ = output.numel();
  ParameterSet params(*m->model_);
  HEARTH_RETURN_IF_ERROR(run::RestoreParameters(c, params, path));
  const bool binary = EffectiveLoss(m->spec_) == v1::BINARY_CROSS_ENTROPY;
  HEARTH_ASSIGN_OR_RETURN(m->class_weights_,
                          run::ReadClassWeights(c, binary ? 2 : m->num_outputs_, path));
  m->model_->Eval();
  return m;
}

std::string TrainedModel::Describe() const {
  return absl::StrFormat(
      "%s, step %d, input %s, %s", v1::Task_Name(spec_.task()), step_, example_shape_.ToString(),
      model_ ? model_->Describe() : absl::StrFormat("k-means with %d centroids", num_outputs_));
}

StatusOr<Dataset> TrainedModel::ReadData(const std::string& path,
                                         const std::string& labels_path) const {
  v1::DataSource source = spec_.data().train();
  source.set_path(path);
  source.set_labels_path(labels_path);
  if (source.format() != v1::DATA_FORMAT_UNSPECIFIED) {
    // Keep the job's format only when the new file has the same kind of extension.
    v1::DataSource inferred = source;
    inferred.clear_format();
    if (ResolveFormat(inferred) != v1::DATA_FORMAT_UNSPECIFIED) source.clear_format();
  }
  return ReadDataSource(spec_, source, class_names_, &feature_categories_);
}

StatusOr<Tensor> TrainedModel::ReadFeatures(const std::string& path) const {
  auto with_labels = ReadData(path);
  if (with_labels.ok()) return with_labels->features;
  // Input without a label column: read every column as a feature.
  TrainedModel unlabeled_reader;
  unlabeled_reader.spec_ = spec_;
  unlabeled_reader.spec_.set_task(v1::CLUSTERING);
  unlabeled_reader.feature_categories_ = feature_categories_;
  auto features = unlabeled_reader.ReadData(path);
  if (features.ok()) return features->features;
  // When the label column is what the first reading missed, the file is an unlabeled one and the
  // second reading's error is about its data.
  const bool no_label_column =
      absl::StrContains(with_labels.status().message(), "for the label; the columns are");
  return no_label_column ? features.status() : with_labels.status();
}

StatusOr<Tensor> TrainedModel::Prepare(const Tensor& features) const {
  return run::PrepareFeatures(features, *preprocess_, example_shape_, "input");
}

StatusOr<MetricResults> TrainedModel::Evaluate(const Dataset& data) {
  return EvaluateInto(data, nullptr);
}

StatusOr<v1::EvaluationReport> TrainedModel::Report(const Dataset& data,
                                                    MetricResults* job_metrics) {
  run::ReportCollector collector;
  HEARTH_ASSIGN_OR_RETURN(MetricResults metrics, EvaluateInto(data, &collector));
  if (job_metrics != nullptr) *job_metrics = metrics;
  if (spec_.task() == v1::CLUSTERING) {
    v1::EvaluationReport report;
    report.set_task(spec_.task());
    report.set_examples(data.size());
    for (const auto& [name, value] : metrics) {
      v1::Metric* m = report.add_metrics();
      m->set_name(name);
      m->set_value(value);
    }
    return report;
  }
  return collector.Build(spec_, num_outputs_, class_names_, metrics);
}

StatusOr<MetricResults> TrainedModel::EvaluateInto(const Dataset& data,
                                                   run::ReportCollector* collector) {
  Dataset prepared = data;
  HEARTH_ASSIGN_OR_RETURN(prepared.features, Prepare(data.features));
  if (spec_.task() == v1::CLUSTERING) {
    MetricOptions options;
    options.centroids = centroids_;
    options.seed = spec_.seed();
    HEARTH_ASSIGN_OR_RETURN(MetricSet metrics, MetricSet::Create(MetricNames(spec_), options));
    Tensor x = reshape(prepared.features, Shape{prepared.size(), -1});
    HEARTH_ASSIGN_OR_RETURN(Tensor clusters, NearestCentroids(x, centroids_, "evaluation data"));
    HEARTH_RETURN_IF_ERROR(metrics.Update(clusters, x));
    return metrics.Compute();
  }
  if (!data.labels.defined())
    return absl::InvalidArgumentError("evaluation needs labels: the data has no label column");
  HEARTH_ASSIGN_OR_RETURN(LossFn loss, MakeLossFn(spec_, class_weights_));
  return run::Evaluate(spec_, *model_, &loss, prepared, num_outputs_, 1024, nullptr, -1, collector);
}

StatusOr<Tensor> TrainedModel::Outputs(const Tensor& features) {
  HEARTH_ASSIGN_OR_RETURN(Tensor x, Prepare(features));
  NoGradGuard no_grad;
  if (spec_.task() != v1::CLUSTERING) return (*model_)(x);
  return SquaredCentroidDistances(reshape(x, Shape{x.dim(0), -1}), centroids_, "input");
}

StatusOr<std::vector<TrainedModel::Prediction>> TrainedModel::Predict(const Tensor& features) {
  HEARTH_ASSIGN_OR_RETURN(Tensor out, Outputs(features));
  return Interpret(out);
}

std::vector<TrainedModel::Prediction> TrainedModel::Interpret(const Tensor& out) const {
  std::vector<Prediction> predictions(out.dim(0));
  const int64_t width = out.numel() / std::max<int64_t>(out.dim(0), 1);
  const bool binary = spec_.task() == v1::CLASSIFICATION && width == 1;
  Tensor probs;
  if (spec_.task() == v1::CLASSIFICATION) {
    NoGradGuard no_grad;
    probs = binary ? sigmoid(out) : softmax(out);
  }
  for (int64_t i = 0; i < out.dim(0); ++i) {
    Prediction& p = predictions[i];
    const float* row = out.f32() + i * width;
    if (spec_.task() == v1::REGRESSION) {
      p.values.assign(row, row + width);
      continue;
    }
    if (spec_.task() == v1::CLUSTERING) {
      p.class_id = std::min_element(row, row + width) - row;
      p.distance = std::sqrt(std::max(row[p.class_id], 0.0f));  // the outputs are squared
      continue;
    }
    const float* pr = probs.f32() + i * width;
    if (binary) {
      p.probabilities = {1.0f - pr[0], pr[0]};
    } else {
      p.probabilities.assign(pr, pr + width);
    }
    p.class_id =
        std::max_element(p.probabilities.begin(), p.probabilities.end()) - p.probabilities.begin();
    if (p.class_id < static_cast<int64_t>(class_names_.size())) p.label = class_names_[p.class_id];
  }
  return predictions;
}

}  // namespace hearth
