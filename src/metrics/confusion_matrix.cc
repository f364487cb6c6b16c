// ConfusionMatrix counts and the per-class / averaged scores derived from them; PredictedClasses
// turns classifier outputs into class ids.
#include "hearth/metrics.h"

#include "absl/strings/str_format.h"

namespace hearth {

ConfusionMatrix::ConfusionMatrix(int64_t num_classes)
    : num_classes_(num_classes), counts_(static_cast<size_t>(num_classes * num_classes), 0.0) {
  HEARTH_CHECK(num_classes >= 0);
}

Status ConfusionMatrix::Add(std::span<const int64_t> labels, std::span<const int64_t> predicted) {
  if (labels.size() != predicted.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "expected as many predictions as labels, got %d and %d", predicted.size(), labels.size()));
  }
  // Check everything first so a bad batch leaves the counts untouched.
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes_) {
      return absl::InvalidArgumentError(
          absl::StrFormat("label %d of example %d is outside [0, %d)", labels[i], i, num_classes_));
    }
    if (predicted[i] < 0 || predicted[i] >= num_classes_) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "predicted class %d of example %d is outside [0, %d)", predicted[i], i, num_classes_));
    }
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    counts_[labels[i] * num_classes_ + predicted[i]] += 1.0;
  }
  return absl::OkStatus();
}

double ConfusionMatrix::total() const {
  double sum = 0;
  for (double c : counts_) sum += c;
  return sum;
}

double ConfusionMatrix::Accuracy() const {
  double correct = 0;
  for (int64_t c = 0; c < num_classes_; ++c) correct += count(c, c);
  const double n = total();
  return n > 0 ? correct / n : 0.0;
}

namespace {

double Ratio(double num, double den) {
  return den > 0 ? num / den : 0.0;
}

}  // namespace

double ConfusionMatrix::Precision(int64_t c) const {
  double predicted = 0;
  for (int64_t t = 0; t < num_classes_; ++t) predicted += count(t, c);
  return Ratio(count(c, c), predicted);
}

double ConfusionMatrix::Recall(int64_t c) const {
  double actual = 0;
  for (int64_t p = 0; p < num_classes_; ++p) actual += count(c, p);
  return Ratio(count(c, c), actual);
}

double ConfusionMatrix::F1(int64_t c) const {
  const double p = Precision(c);
  const double r = Recall(c);
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

bool ConfusionMatrix::Occurs(int64_t c) const {
  for (int64_t k = 0; k < num_classes_; ++k) {
    if (count(c, k) > 0 || count(k, c) > 0) return true;
  }
  return false;
}

double ConfusionMatrix::MacroMean(double (ConfusionMatrix::*score)(int64_t) const) const {
  double sum = 0;
  int64_t n = 0;
  for (int64_t c = 0; c < num_classes_; ++c) {
    if (!Occurs(c)) continue;
    sum += (this->*score)(c);
    ++n;
  }
  return n > 0 ? sum / static_cast<double>(n) : 0.0;
}

double ConfusionMatrix::Support(int64_t c) const {
  double n = 0;
  for (int64_t k = 0; k < num_classes_; ++k) n += count(c, k);
  return n;
}

double ConfusionMatrix::WeightedMean(double (ConfusionMatrix::*score)(int64_t) const) const {
  double sum = 0, support = 0;
  for (int64_t c = 0; c < num_classes_; ++c) {
    sum += Support(c) * (this->*score)(c);
    support += Support(c);
  }
  return support > 0 ? sum / support : 0.0;
}

double ConfusionMatrix::WeightedPrecision() const {
  return WeightedMean(&ConfusionMatrix::Precision);
}
double ConfusionMatrix::WeightedRecall() const {
  return WeightedMean(&ConfusionMatrix::Recall);
}
double ConfusionMatrix::WeightedF1() const {
  return WeightedMean(&ConfusionMatrix::F1);
}

double ConfusionMatrix::MacroPrecision() const {
  return MacroMean(&ConfusionMatrix::Precision);
}
double ConfusionMatrix::MacroRecall() const {
  return MacroMean(&ConfusionMatrix::Recall);
}
double ConfusionMatrix::MacroF1() const {
  return MacroMean(&ConfusionMatrix::F1);
}

StatusOr<std::vector<int64_t>> PredictedClasses(const Tensor& predictions, bool from_logits,
                                                int64_t num_classes) {
  if (!predictions.defined() || predictions.rank() < 1 || predictions.rank() > 2) {
    return absl::InvalidArgumentError(
        absl::StrFormat("expected classifier outputs [N, C], [N] or int64 class ids [N], got %s",
                        predictions.defined() ? predictions.shape().ToString() : "no tensor"));
  }
  const int64_t n = predictions.dim(0);
  const int64_t cols = predictions.rank() == 2 ? predictions.dim(1) : 1;
  std::vector<int64_t> out(static_cast<size_t>(n));
  if (predictions.dtype() == DType::kInt64) {
    if (cols != 1) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "expected int64 class ids of shape [N], got %s", predictions.shape().ToString()));
    }
    for (int64_t i = 0; i < n; ++i) {
      out[i] = predictions.i64()[i];
      if (num_classes > 0 && (out[i] < 0 || out[i] >= num_classes)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "predicted class %d of example %d is outside [0, %d)", out[i], i, num_classes));
      }
    }
    return out;
  }
  const float* p = predictions.f32();
  if (cols == 1) {
    // One score per example: the positive class. Ties go to class 0, as sklearn's `score > 0`.
    const float threshold = from_logits ? 0.0f : 0.5f;
    for (int64_t i = 0; i < n; ++i) out[i] = p[i] > threshold ? 1 : 0;
    return out;
  }
  for (int64_t i = 0; i < n; ++i) {
    const float* row = p + i * cols;
    int64_t best = 0;
    for (int64_t c = 1; c < cols; ++c) {
      if (row[c] > row[best]) best = c;
    }
    out[i] = best;
  }
  return out;
}

}  // namespace hearth
