#include "serve/served_model.h"

#include <future>

#include "absl/strings/str_format.h"

namespace hearth::serve {

ServedModel::ServedModel(std::string name, int64_t version, std::string path,
                         std::unique_ptr<TrainedModel> model)
    : name_(std::move(name)),
      version_(version),
      path_(std::move(path)),
      model_(std::move(model)),
      rows_(*model_) {}

std::shared_ptr<ServedModel> ServedModel::Create(std::string name, int64_t version,
                                                 std::string path,
                                                 std::unique_ptr<TrainedModel> model,
                                                 const BatchingOptions& options, OnBatch on_batch) {
  std::shared_ptr<ServedModel> served(
      new ServedModel(std::move(name), version, std::move(path), std::move(model)));
  TrainedModel* forward_model = served->model_.get();
  std::function<void(int64_t)> count;
  if (on_batch) count = [on_batch, name = served->name_](int64_t rows) { on_batch(name, rows); };
  served->batcher_ = std::make_unique<DynamicBatcher>(
      served->rows_.width(),
      [forward_model](const Tensor& rows) { return forward_model->Outputs(rows); }, options,
      std::move(count));
  return served;
}

void ServedModel::InferAsync(std::vector<float> values, int64_t count, Done done) const {
  if (count < 1) return done(absl::InvalidArgumentError("the request holds no rows"));
  if (static_cast<int64_t>(values.size()) != count * rows_.width())
    return done(absl::InvalidArgumentError(
        absl::StrFormat("%d values for %d rows of %d", values.size(), count, rows_.width())));
  batcher_->Submit(std::move(values), count,
                   [self = shared_from_this(), done = std::move(done)](StatusOr<Tensor> outputs) {
                     if (!outputs.ok()) return done(outputs.status());
                     Inference result;
                     result.predictions = self->model_->Interpret(*outputs);
                     result.outputs = *std::move(outputs);
                     done(std::move(result));
                   });
}

StatusOr<Inference> ServedModel::Infer(std::vector<float> values, int64_t count) const {
  std::promise<StatusOr<Inference>> result;
  std::future<StatusOr<Inference>> ready = result.get_future();
  InferAsync(std::move(values), count,
             [&result](StatusOr<Inference> r) { result.set_value(std::move(r)); });
  return ready.get();
}

}  // namespace hearth::serve
