// What a checkpoint holds for a job, and how it is packed and restored: model weights under their
// parameter names, optimizer state ("optim.*"), preprocessing statistics ("preprocess.*"), k-means
// centroids, and metadata (position in the data, RNG states, the job spec, class names).
#pragma once

#include <string>
#include <vector>

#include "hearth/checkpoint.h"
#include "hearth/data.h"
#include "hearth/nn.h"
#include "hearth/optim.h"
#include "hearth/v1/job.pb.h"

namespace hearth::run {

inline constexpr char kCentroidsName[] = "kmeans.centroids";
inline constexpr char kExampleShapeKey[] = "example_shape";
inline constexpr char kNumOutputsKey[] = "num_outputs";
// What a client sends per example, before preprocessing: the records' shape ("784" or "28,28")
// and, for CSV data with a header, the feature columns' names (one per line, as class names).
inline constexpr char kRecordShapeKey[] = "record_shape";
inline constexpr char kFeatureNamesKey[] = "feature_names";
// "feature_categories.<j>": feature j's categories in code order (one per line, as class names),
// for each category column.
inline constexpr char kFeatureCategoriesPrefix[] = "feature_categories.";
inline constexpr char kPreprocessKey[] = "preprocess";
// Early stopping's best monitored value (%.17g) and epochs waited since, for an exact resume.
inline constexpr char kEarlyStoppingBestKey[] = "early_stopping.best";
inline constexpr char kEarlyStoppingWaitedKey[] = "early_stopping.waited";
// The number of data-parallel workers of the run that saved it, decimal.
inline constexpr char kWorkersKey[] = "workers";
// "class_weights": the loss's class weights as resolved from the training rows, comma-separated
// (absent: none), so evaluation computes the loss training minimized.
inline constexpr char kClassWeightsKey[] = "class_weights";

struct TrainingPosition {
  int64_t step = 0;            // optimizer updates done
  int64_t epoch = 0;           // the epoch in progress (0-based)
  int64_t batch_in_epoch = 0;  // batches of that epoch already consumed
};

struct ModelState {
  const v1::JobSpec* spec = nullptr;
  const std::vector<std::string>* class_names = nullptr;
  const Preprocessor* preprocess = nullptr;
  Shape example_shape;
  int64_t num_outputs = 0;
  int workers = 1;                                          // the world size that saved it
  Shape record_shape;                                       // empty: not recorded
  const std::vector<std::string>* feature_names = nullptr;  // null or empty: none
  // Dataset::feature_categories: null or empty when no feature is a category column.
  const std::vector<std::vector<std::string>>* feature_categories = nullptr;
  // The loss's class weights (ResolveClassWeights): null or empty for none.
  const std::vector<float>* class_weights = nullptr;
};

Checkpoint PackCheckpoint(const ModelState& model, const TrainingPosition& position,
                          ParameterSet* params, Optimizer* optimizer, Module* module,
                          const Tensor& centroids);

// Copies the checkpoint's weights into `params` by name; every parameter must be present with its
// shape.
Status RestoreParameters(const Checkpoint& checkpoint, const ParameterSet& params,
                         const std::string& source);
// Restores the dropout layers' random generators saved by PackCheckpoint.
Status RestoreGenerators(const Checkpoint& checkpoint, Module& module);
// The number of workers that saved the checkpoint (1 for checkpoints from before it was recorded).
StatusOr<int> ReadWorkers(const Checkpoint& checkpoint, const std::string& source);
// The class weights a checkpoint's loss was trained with (empty: none); DATA_LOSS when they are not
// one positive finite number per class.
StatusOr<std::vector<float>> ReadClassWeights(const Checkpoint& checkpoint, int64_t classes,
                                              const std::string& source);
StatusOr<TrainingPosition> ReadPosition(const Checkpoint& checkpoint, const std::string& source);

// Metadata readers for a checkpoint written by PackCheckpoint.
StatusOr<v1::JobSpec> ReadSpec(const Checkpoint& checkpoint, const std::string& source);
StatusOr<Shape> ReadExampleShape(const Checkpoint& checkpoint, const std::string& source);
StatusOr<std::vector<std::string>> ReadClassNames(const Checkpoint& checkpoint,
                                                  const std::string& source);
// The record shape a client sends: as saved, or for checkpoints from before it was saved the
// model's example shape when the preprocessing keeps the width. Empty (rank 0) when it cannot be
// known: an older checkpoint whose one-hot step changed the width. Such a model still evaluates
// and predicts from files; only callers that decode rows by shape need to refuse it.
StatusOr<Shape> ReadRecordShape(const Checkpoint& checkpoint, const Shape& example_shape,
                                const Preprocessor& preprocess, const std::string& source);
// The feature columns' names; empty when not recorded. DATA_LOSS when they disagree with the
// record shape.
StatusOr<std::vector<std::string>> ReadFeatureNames(const Checkpoint& checkpoint,
                                                    const Shape& record_shape,
                                                    const std::string& source);
StatusOr<Preprocessor> ReadPreprocessor(const Checkpoint& checkpoint, const std::string& source);
// Per feature of the records, its categories (empty for numeric ones; empty altogether when no
// feature is a category column). DATA_LOSS for a feature outside the record.
StatusOr<std::vector<std::vector<std::string>>> ReadFeatureCategories(const Checkpoint& checkpoint,
                                                                      const Shape& record_shape,
                                                                      const std::string& source);

// The dropout layers of a model, depth first.
std::vector<Dropout*> DropoutLayers(Module& module);

}  // namespace hearth::run
