// Running a job spec: training (with checkpoints, resume, validation and early stopping),
// evaluation and prediction from a checkpoint. This is what `hearth train`, `hearth eval` and
// `hearth predict` call; the coordinator will call the same functions.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hearth/checkpoint.h"
#include "hearth/data.h"
#include "hearth/dist/communicator.h"
#include "hearth/dist/reducer.h"
#include "hearth/env.h"
#include "hearth/kmeans.h"
#include "hearth/metrics.h"
#include "hearth/nn.h"
#include "hearth/report.h"
#include "hearth/status.h"
#include "hearth/v1/job.pb.h"
#include "hearth/v1/report.pb.h"

namespace hearth {

namespace run {
class ReportCollector;
}

struct TrainOptions {
  // Where checkpoints, metrics.jsonl and curves.svg go (created if missing).
  std::string run_dir;
  // Continue the run in run_dir from its latest checkpoint instead of starting over.
  bool resume = false;
  ProgressOptions progress;
  // Polled between steps: when it returns true, a checkpoint is saved and training stops cleanly
  // (SIGINT/SIGTERM in the CLI).
  // In a multi-worker run, a stop requested on any rank stops every rank after the same step.
  std::function<bool()> stop_requested;
  // The job's ranks (not owned). nullptr: this process alone.
  dist::Communicator* comm = nullptr;
  // Gradient bucketing and overlap (data-parallel runs).
  dist::ReducerOptions reducer;
};

struct TrainResult {
  int64_t steps = 0;        // optimizer updates done in total (including before a resume)
  int64_t epochs = 0;       // epochs completed
  double wall_seconds = 0;  // this process's training time
  // Before training: this process's seconds reading, splitting and preprocessing the data, and
  // of those the seconds fitting data.preprocessing and applying it (once per load, never per
  // step; a sharded job applies it to each epoch's rows as read, not counted here).
  double data_seconds = 0;
  double preprocess_seconds = 0;
  double examples_per_second = 0;
  double train_loss = 0;  // mean loss over the last epoch trained
  MetricResults validation_metrics;
  MetricResults test_metrics;
  std::string checkpoint;       // the latest checkpoint's path
  std::string best_checkpoint;  // the best by the monitored value (may equal `checkpoint`)
  bool interrupted = false;     // stopped early by stop_requested
  bool early_stopped = false;   // stopped by early_stopping
  bool resumed = false;
  bool already_finished = false;  // resumed a run with nothing left to train: trained nothing
  int64_t resumed_from_step = 0;
  int workers = 1;               // data-parallel ranks that trained
  int resumed_from_workers = 1;  // ranks of the run that saved the checkpoint resumed from
};

// Validates the spec completely, reads the data, and trains. Errors name the file, field or step.
StatusOr<TrainResult> Train(const v1::JobSpec& spec, const TrainOptions& options);

// k-fold cross-validation (data.folds, docs/data.md). Fold i trains as its own run in
// FoldRunDir(run_dir, i), validating on part i of the training examples; after each fold the
// report so far is written to <run_dir>/cross_validation.json (kCrossValidationFileName), so
// `resume` skips the folds done and resumes the one that was stopped.
inline constexpr char kCrossValidationFileName[] = "cross_validation.json";
std::string FoldRunDir(const std::string& run_dir, int fold);

struct CrossValidationResult {
  v1::CrossValidationReport report;  // every fold's scores and the summary
  double wall_seconds = 0;           // training time, summed over the folds trained now
  bool interrupted = false;          // a fold was stopped by stop_requested: the report is partial
  int workers = 1;
};

// Trains every fold of a spec with data.folds (and without data.fold) in turn, with `options`
// for each. Errors as Train's; a fold's error names its run directory.
StatusOr<CrossValidationResult> CrossValidate(const v1::JobSpec& spec, const TrainOptions& options);

// A trained model restored from a checkpoint, ready to evaluate or predict.
class TrainedModel {
 public:
  // Everything in the file is checked before it is used, as user input: the embedded job spec
  // (ValidateJobSpec), every count and shape, and the model's size against the weights stored,
  // so a crafted checkpoint gets DATA_LOSS, never a crash or an unbounded allocation.
  static StatusOr<std::unique_ptr<TrainedModel>> Load(const std::string& checkpoint_path,
                                                      Env& env = Env::Default());
  // The same for checkpoint contents already read; `path` names them in errors.
  static StatusOr<std::unique_ptr<TrainedModel>> FromCheckpoint(Checkpoint checkpoint,
                                                                const std::string& path);

  const v1::JobSpec& spec() const { return spec_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  const Shape& example_shape() const { return example_shape_; }
  // What a client sends per example, before preprocessing (the records' shape in the files).
  // Empty (rank 0) for a checkpoint from before it was recorded whose one-hot step changed the
  // width: such a model evaluates and predicts from files, but cannot be served row by row.
  const Shape& record_shape() const { return record_shape_; }
  // The feature columns' names in order, for a model trained on CSV with a header; else empty.
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  // Per feature, the categories a category column's texts map to (their codes are the
  // positions); empty for numeric features, and empty altogether when there are none.
  const std::vector<std::vector<std::string>>& feature_categories() const {
    return feature_categories_;
  }
  // The fitted preprocessing the model applies to its rows (ONNX export writes it out).
  const Preprocessor& preprocessor() const { return *preprocess_; }
  // Classes, regression targets or centroids.
  int64_t num_outputs() const { return num_outputs_; }
  // Values per example of Outputs: num_outputs, except 1 for a binary model with one logit.
  int64_t output_width() const { return output_width_; }
  int64_t step() const { return step_; }
  std::string Describe() const;

  // Reads a data file the way the job's data section describes (format inferred from the
  // extension unless it matches the job's own source), with labels.
  StatusOr<Dataset> ReadData(const std::string& path, const std::string& labels_path = "") const;
  // Features only, for prediction: a CSV may have the label column or not.
  StatusOr<Tensor> ReadFeatures(const std::string& path) const;
  // Applies the saved preprocessing and computes the job's metrics (plus "loss").
  StatusOr<MetricResults> Evaluate(const Dataset& data);
  // Evaluate, and the whole evaluation report: every metric of the task, the per-class table,
  // confusion matrix, ROC, precision-recall and reliability curves, or the residuals
  // (run/report_files.h renders it). `job_metrics`, when given, gets what Evaluate returns.
  StatusOr<v1::EvaluationReport> Report(const Dataset& data, MetricResults* job_metrics = nullptr);
  // Raw model outputs for examples [N, ...]: logits for classification, values for regression,
  // for clustering the distance to each centroid.
  StatusOr<Tensor> Outputs(const Tensor& features);

  struct Prediction {
    int64_t class_id = -1;             // classification and clustering
    std::string label;                 // the class name when the labels were strings
    std::vector<float> probabilities;  // classification
    std::vector<float> values;         // regression
    float distance = 0;                // clustering: Euclidean, to its centroid
  };
  StatusOr<std::vector<Prediction>> Predict(const Tensor& features);
  // The predictions that Outputs `outputs` [N, num_outputs] stand for (row i of `outputs` is
  // prediction i): a pure function of the outputs, safe to call from any thread.
  std::vector<Prediction> Interpret(const Tensor& outputs) const;

 private:
  TrainedModel() = default;
  StatusOr<Tensor> Prepare(const Tensor& features) const;
  // Evaluate, keeping the outputs in `collector` when given.
  StatusOr<MetricResults> EvaluateInto(const Dataset& data, run::ReportCollector* collector);

  v1::JobSpec spec_;
  std::unique_ptr<Sequential> model_;
  std::unique_ptr<Preprocessor> preprocess_;
  std::vector<std::string> class_names_;
  Shape example_shape_;
  Shape record_shape_;
  std::vector<std::string> feature_names_;
  std::vector<std::vector<std::string>> feature_categories_;
  std::vector<float> class_weights_;  // the loss's, as trained (empty: none)
  int64_t num_outputs_ = 0;
  int64_t output_width_ = 0;
  int64_t step_ = 0;
  Tensor centroids_;  // clustering
};

}  // namespace hearth
