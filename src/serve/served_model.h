// One version of a model being served: the restored checkpoint, the layout of its rows, and the
// dynamic batcher every request for it goes through. Protocols hand it rows of raw features and
// read back the model's outputs and what they mean (labels and probabilities, values, clusters).
//
// Thread-safety: immutable once built, apart from the batcher (thread-safe). Requests hold a
// shared_ptr, so a version replaced by a reload lives until its last request has finished.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hearth/status.h"
#include "hearth/train.h"
#include "serve/dynamic_batcher.h"
#include "serve/feature_rows.h"

namespace hearth::serve {

// What a model answered for a batch of rows.
struct Inference {
  Tensor outputs;  // raw [rows, num_outputs]: logits, values, squared centroid distances
  std::vector<TrainedModel::Prediction> predictions;
};

class ServedModel : public std::enable_shared_from_this<ServedModel> {
 public:
  // `on_batch` (may be empty) is told each batch's model name and row count.
  using OnBatch = std::function<void(const std::string& model, int64_t rows)>;
  // Serves `model` (restored from `path`: TrainedModel::Load checks it as user input) and
  // starts its batcher.
  static std::shared_ptr<ServedModel> Create(std::string name, int64_t version, std::string path,
                                             std::unique_ptr<TrainedModel> model,
                                             const BatchingOptions& options, OnBatch on_batch);

  const std::string& name() const { return name_; }
  int64_t version() const { return version_; }
  const std::string& path() const { return path_; }
  const TrainedModel& model() const { return *model_; }
  const FeatureRows& rows() const { return rows_; }
  v1::Task task() const { return model_->spec().task(); }
  const BatchingOptions& batching() const { return batcher_->options(); }
  int64_t queued_rows() const { return batcher_->queued_rows(); }

  // Runs `count` rows (rows().width() values each) through the model, batched with other
  // requests; `done` gets the result on the batcher's thread (or at once on a refusal). The
  // model stays alive until `done` has run.
  using Done = std::function<void(StatusOr<Inference> result)>;
  void InferAsync(std::vector<float> values, int64_t count, Done done) const;
  // The same, waiting for the result.
  StatusOr<Inference> Infer(std::vector<float> values, int64_t count) const;

 private:
  ServedModel(std::string name, int64_t version, std::string path,
              std::unique_ptr<TrainedModel> model);

  const std::string name_;
  const int64_t version_;
  const std::string path_;
  const std::unique_ptr<TrainedModel> model_;
  const FeatureRows rows_;
  std::unique_ptr<DynamicBatcher> batcher_;  // last: its thread uses model_
};

}  // namespace hearth::serve
