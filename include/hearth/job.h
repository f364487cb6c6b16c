// The job spec (hearth.v1.JobSpec, rpc/hearth/v1/job.proto): loading it from JSON, validating it
// completely before anything runs, and building what it describes (model, loss, optimizer,
// k-means options, data readers, preprocessing).
//
//   HEARTH_ASSIGN_OR_RETURN(v1::JobSpec spec, LoadJobSpec("job.json"));
//   HEARTH_RETURN_IF_ERROR(ValidateJobSpec(spec));          // every problem, with field paths
//   HEARTH_ASSIGN_OR_RETURN(Dataset train, ReadDataSource(spec, spec.data().train()));
//   HEARTH_ASSIGN_OR_RETURN(Shape example, ResolveInputShape(spec, ExampleShape(train)));
//   // (reshape train.features to [N, example...] when it differs from the data's own shape)
//   HEARTH_ASSIGN_OR_RETURN(auto model, BuildModel(spec, example, NumOutputs(spec, train), seed));
//   HEARTH_ASSIGN_OR_RETURN(LossFn loss, MakeLossFn(spec));
//   HEARTH_ASSIGN_OR_RETURN(auto optimizer, MakeOptimizerFromSpec(spec, steps_per_epoch));
//
// Every user error is an InvalidArgument whose message starts with the field path, in the form
// "model.layers[2].conv2d.kernel_size: must be > 0, got 0" (docs/job-spec.md).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/checkpoint.h"
#include "hearth/data.h"
#include "hearth/env.h"
#include "hearth/kmeans.h"
#include "hearth/nn.h"
#include "hearth/optim.h"
#include "hearth/schedule.h"
#include "hearth/status.h"
#include "hearth/tensor.h"
#include "hearth/v1/job.pb.h"

namespace hearth {

// ---- Loading and saving -------------------------------------------------------------------------

// Parses JSON text (protobuf's JSON mapping; unknown fields are errors). Does not validate.
// InvalidArgument naming `source_name`, the line and column, and the field path when there is one:
//   job.json:3:14: expected ',' or '}' after the value of "name", found '"'
//   job.json:7:19: model.layers[1].conv2d.filterz: unknown field, did you mean "filters"? (...)
//   job.json:2:11: task: invalid value "classification": enum values are upper case, write ...
// Stricter than protobuf's parser alone: a repeated key, two members of a oneof, or a value of the
// wrong JSON type ("yes" for a bool, 3.0 for an int) is an error. Every such problem is reported,
// joined with "; ".
StatusOr<v1::JobSpec> ParseJobSpec(std::string_view json_text, std::string_view source_name);
// ParseJobSpec on a file's contents. NotFound when the file does not exist.
StatusOr<v1::JobSpec> LoadJobSpec(const std::string& path, Env& env = Env::Default());
// Pretty-printed JSON with snake_case field names that ParseJobSpec reads back to an equal
// message (for saving the spec with a checkpoint). Fields left unset stay unset.
std::string JobSpecToJson(const v1::JobSpec& spec);

// ---- Validation ---------------------------------------------------------------------------------

// Every problem found, each "<field path>: <what is wrong and what to do>", in field order. Checks
// required fields, enum values, ranges, settings the chosen variant does not use, the optimizer and
// schedule (through the optim module's own validation), metric names and their fit with the task,
// loss/task compatibility, monitor names, and — when model.input_shape is given — the layer
// shapes. Reads no files: data paths are checked when the data is read.
std::vector<std::string> JobSpecErrors(const v1::JobSpec& spec);
// OK, or InvalidArgument with all of JobSpecErrors() on one line, separated by "; " (one error:
// just that error; several: prefixed with their count).
Status ValidateJobSpec(const v1::JobSpec& spec);

// ---- Defaults as the spec resolves them -------------------------------------------------------

// spec.loss().type(), or the task's default (CROSS_ENTROPY for CLASSIFICATION, MSE for
// REGRESSION; LOSS_TYPE_UNSPECIFIED for CLUSTERING, which has no loss).
v1::LossType EffectiveLoss(const v1::JobSpec& spec);
// spec.metrics(), or the task's defaults (CLASSIFICATION: accuracy, log_loss; REGRESSION: mse, mae,
// r2; CLUSTERING: inertia, silhouette).
std::vector<std::string> MetricNames(const v1::JobSpec& spec);
// Which direction of a monitored value ("val_accuracy", "loss", ...) is better: `mode` when set,
// else max for accuracy, precision, recall, f1, roc_auc, pr_auc, r2 and silhouette and min for
// everything else.
MetricMode ResolveMonitorMode(std::string_view monitor, v1::MonitorMode mode);
// The value that ranks checkpoints: checkpoint.monitor, else "val_loss" when the job has
// validation data, else "loss" (the epoch's training loss).
std::string CheckpointMonitor(const v1::JobSpec& spec);
// The value early stopping watches: early_stopping.monitor, else "val_loss".
std::string EarlyStoppingMonitor(const v1::JobSpec& spec);
// The source's format, inferred from its path when not given; DATA_FORMAT_UNSPECIFIED when it
// cannot be inferred.
v1::DataFormat ResolveFormat(const v1::DataSource& source);
// Whether the job evaluates on validation data (a validation source or validation_fraction > 0).
bool HasValidationData(const v1::JobSpec& spec);
// spec.workers(), default 1.
int32_t Workers(const v1::JobSpec& spec);
// deterministic_shards, default 8.
int32_t DeterministicShards(const v1::JobSpec& spec);
// gradient_accumulation_steps, default 1.
int32_t AccumulationSteps(const v1::JobSpec& spec);

// ---- Data ---------------------------------------------------------------------------------------

// Reads one of the spec's sources (train, validation or test) with the labels its task needs
// (none for CLUSTERING). `class_names` is the train set's Dataset::class_names when reading a
// validation or test CSV with string labels, so the ids agree, and `feature_categories` its
// Dataset::feature_categories (nullptr when reading the training data itself, which sets them),
// so category texts get the training codes and the other columns stay numbers. Errors from the
// readers name the file (and line and column for CSV).
StatusOr<Dataset> ReadDataSource(
    const v1::JobSpec& spec, const v1::DataSource& source,
    const std::vector<std::string>& class_names = {},
    const std::vector<std::vector<std::string>>* feature_categories = nullptr);
// What the headers of an IDX or NPY source say, without reading its data.
struct ArraySourceInfo {
  int64_t records = 0;  // examples (its labels file, when the task reads one, holds as many)
  Shape record_shape;   // the features of one example: the file's dimensions after the first
  bool gzip = false;    // some file is compressed, so reading any row decompresses all before it
};
// InvalidArgument for a CSV source (or one whose format cannot be inferred).
StatusOr<ArraySourceInfo> InspectArraySource(const v1::JobSpec& spec, const v1::DataSource& source);
// Records `rows` (ascending, without repeats) of an IDX or NPY source, read as ReadIdxRows and
// ReadNpyRows do: a plain file is read only around those records. The features go into
// `reuse_features` when it can hold them and nothing else does (ArrayReadOptions).
// InvalidArgument for CSV.
StatusOr<Dataset> ReadDataSourceRows(const v1::JobSpec& spec, const v1::DataSource& source,
                                     std::span<const int64_t> rows,
                                     std::shared_ptr<Storage> reuse_features = nullptr);
// The preprocessing pipeline of data.preprocessing, unfitted.
StatusOr<Preprocessor> MakePreprocessor(const v1::JobSpec& spec);
// The per-example shape of a dataset: its features' shape without the first axis.
Shape ExampleShape(const Dataset& data);
// What the model's output must be as wide as: the number of classes for CLASSIFICATION (from
// class_names when the labels were strings, else the largest label + 1), the number of target
// columns for REGRESSION (1 for [N] labels), 0 without labels.
int64_t NumOutputs(const v1::JobSpec& spec, const Dataset& train);

// ---- Model --------------------------------------------------------------------------------------

// The per-example shape the model sees: model.input_shape when given, in which case the data must
// have as many values per example (it is then reshaped to it), else `data_example_shape`.
// InvalidArgument "model.input_shape: ..." when they differ in size.
StatusOr<Shape> ResolveInputShape(const v1::JobSpec& spec, const Shape& data_example_shape);

// The model's output shape for a batch of examples of `example_shape`, with the batch axis as 1,
// without allocating any weights. A layer that does not fit gives an error naming it:
//   model.layers[3].dense: input shape [N, 16, 5, 5] does not fit: expected [N, 400] (add a
//   flatten layer before it)
// Dense layers take flat input only ([N, F]): they never flatten implicitly, as Linear's
// OutputShape requires, so a conv-to-dense transition always shows in the spec as a flatten layer.
// Also bounded, so that no spec or checkpoint makes Hearth allocate without limit: examples and
// every layer's output hold at most kMaxValuesPerExample values, the model at most
// kMaxModelParameters parameters (INVALID_ARGUMENT naming the layer otherwise).
StatusOr<Shape> InferOutputShape(const v1::JobSpec& spec, const Shape& example_shape);
inline constexpr int64_t kMaxValuesPerExample = int64_t{1} << 31;
inline constexpr int64_t kMaxModelParameters = int64_t{1} << 31;
// The most folds data.folds may ask for (every fold is a whole training run).
inline constexpr int kMaxFolds = 100;

// How many parameters BuildModel's model has for examples of `example_shape` (InferOutputShape's
// checks included), without allocating them.
StatusOr<int64_t> CountModelParameters(const v1::JobSpec& spec, const Shape& example_shape);

// Builds model.layers for inputs [N, example_shape...]: dense -> Linear with its input width
// inferred, conv2d -> Conv2d with its input channels inferred, and so on. Child i of the result is
// model.layers[i] (a dense or conv2d layer with an activation is one child), so parameter names
// read "<layer index>.weight" / "<layer index>.bias". Weights are drawn from Generator(seed);
// dropout layer i uses MixSeed(seed, i). Besides InferOutputShape's errors, checks that the
// output is [N, num_outputs] as the loss needs (num_outputs from NumOutputs(): one logit per class
// for CROSS_ENTROPY, a single logit and at most two classes for BINARY_CROSS_ENTROPY, the target
// width for regression losses), with a message saying what to change. InvalidArgument for a
// k-means model.
StatusOr<std::unique_ptr<Sequential>> BuildModel(const v1::JobSpec& spec,
                                                 const Shape& example_shape, int64_t num_outputs,
                                                 uint64_t seed);

// model.kmeans as KMeansOptions, seeded with spec.seed().
KMeansOptions MakeKMeansOptions(const v1::JobSpec& spec);

// ---- Training -----------------------------------------------------------------------------------

// (model output, labels of the batch) -> scalar mean loss, differentiable in the output. Labels
// come as the readers produce them: int64 class ids [N] for classification (converted to 0/1
// floats for BINARY_CROSS_ENTROPY), float32 [N] or [N, k] targets for regression.
using LossFn = std::function<Tensor(const Tensor& prediction, const Tensor& labels)>;
// InvalidArgument for CLUSTERING (no loss) or an invalid loss section.
StatusOr<LossFn> MakeLossFn(const v1::JobSpec& spec);
// With the weights of each class (ResolveClassWeights; empty: none).
StatusOr<LossFn> MakeLossFn(const v1::JobSpec& spec, const std::vector<float>& class_weights);

// The class weights loss.class_weight / class_weights ask for, given the training rows' count of
// each class (class-id order; the model's outputs for CROSS_ENTROPY, [n0, n1] for
// BINARY_CROSS_ENTROPY). Empty when the spec asks for none. INVALID_ARGUMENT naming the field when
// explicit weights do not match the classes, or "balanced" meets a class with no training rows.
StatusOr<std::vector<float>> ResolveClassWeights(const v1::JobSpec& spec,
                                                 const std::vector<int64_t>& class_counts);

// The optim module's configs for the spec's sections (unset fields keep the configs' defaults).
OptimizerConfig ToOptimizerConfig(const v1::OptimizerSpec& spec);
ScheduleConfig ToScheduleConfig(const v1::ScheduleSpec& spec);
// The optimizer with its learning-rate schedule. A cosine schedule without total_steps spans the
// whole run after the warm-up, epochs * steps_per_epoch - warmup_steps updates, which needs
// steps_per_epoch > 0 (the number of updates per epoch on each worker).
StatusOr<std::unique_ptr<Optimizer>> MakeOptimizerFromSpec(const v1::JobSpec& spec,
                                                           int64_t steps_per_epoch = 0);

}  // namespace hearth
