// Pieces shared by the job-spec validators and builders: the error collector, field-path helpers
// and the per-section checks. Private to src/job.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "hearth/job.h"

namespace hearth::job_internal {

// Collects "<path>: <problem>" messages; validation reports every problem, not just the first.
class ErrorList {
 public:
  explicit ErrorList(std::vector<std::string> errors = {}) : errors_(std::move(errors)) {}
  void Add(std::string_view path, std::string_view problem) {
    errors_.push_back(absl::StrFormat("%s: %s", path, problem));
  }
  template <typename... Args>
  void Addf(std::string_view path, const absl::FormatSpec<Args...>& format, const Args&... args) {
    Add(path, absl::StrFormat(format, args...));
  }
  // A Status whose message already starts with its path (e.g. from the optim module).
  void AddStatus(const Status& status) {
    if (!status.ok()) errors_.emplace_back(status.message());
  }

  void Append(const ErrorList& other) {
    errors_.insert(errors_.end(), other.errors_.begin(), other.errors_.end());
  }

  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }
  const std::vector<std::string>& errors() const { return errors_; }
  std::vector<std::string> Take() { return std::move(errors_); }
  // OK, or InvalidArgument with every error on one line ("; "-separated, prefixed with the count
  // when there are several).
  Status ToStatus() const;

 private:
  std::vector<std::string> errors_;
};

// "parent.field" (or "field" at the top level) and "parent[index]".
inline std::string FieldPath(std::string_view parent, std::string_view field) {
  return parent.empty() ? std::string(field) : absl::StrFormat("%s.%s", parent, field);
}
inline std::string IndexPath(std::string_view parent, int index) {
  return absl::StrFormat("%s[%d]", parent, index);
}

// Enum value names for messages ("CLASSIFICATION"), or "<number>" for a value the enum lacks.
std::string TaskName(v1::Task task);
std::string LossName(v1::LossType loss);
std::string FormatName(v1::DataFormat format);
bool IsSupervised(v1::Task task);

// A shape with its batch axis written as N: "[N, 16, 5, 5]".
std::string BatchShapeString(const Shape& shape);

// The sections of JobSpecErrors, each appending to `errors`.
void CheckData(const v1::JobSpec& spec, ErrorList& errors);
void CheckModel(const v1::JobSpec& spec, ErrorList& errors);
void CheckLoss(const v1::JobSpec& spec, ErrorList& errors);
void CheckOptimizer(const v1::JobSpec& spec, ErrorList& errors);
void CheckMetrics(const v1::JobSpec& spec, ErrorList& errors);
void CheckMonitoring(const v1::JobSpec& spec, ErrorList& errors);

// Range checks of one layer's fields ("model.layers[i].conv2d.kernel_size: must be > 0, got 0").
void CheckLayerFields(const v1::Layer& layer, int index, ErrorList& errors);
// "model.layers[i].<kind>" ("model.layers[i]" for an empty layer).
std::string LayerPath(const v1::Layer& layer, int index);
// The shape after layer `index` for input `in` (batch axis included), or an InvalidArgument naming
// the layer. The layer's fields must have passed CheckLayerFields.
StatusOr<Shape> LayerOutputShape(const v1::Layer& layer, int index, const Shape& in);

// Checks the model's output [N, width] against what the loss needs for `num_outputs` classes or
// target columns. `output` is the inferred output shape.
Status CheckOutputWidth(const v1::JobSpec& spec, const Shape& output, int64_t num_outputs);

}  // namespace hearth::job_internal
