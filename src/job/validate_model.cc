// Validation of the `model` section: layers or k-means, the input shape, the layer shapes (when the
// input shape is known) and whether the network's head suits the loss.
#include <cmath>

#include "job/internal.h"

namespace hearth {
namespace job_internal {
namespace {

bool IsLogitLoss(v1::LossType loss) {
  return loss == v1::CROSS_ENTROPY || loss == v1::BINARY_CROSS_ENTROPY;
}

// The last layer that sets the output width, skipping trailing dropout and activation layers;
// -1 when there is none.
int HeadIndex(const v1::ModelSpec& model) {
  for (int j = model.layers_size() - 1; j >= 0; --j) {
    const v1::Layer& l = model.layers(j);
    if (!l.has_dropout() && !l.has_activation()) return j;
  }
  return -1;
}

// What can be said about the head without knowing the data: the logit losses take raw scores,
// and their width is 1 (binary) or at least 2 (one per class).
void CheckHead(const v1::JobSpec& spec, ErrorList& errors) {
  const v1::LossType loss = EffectiveLoss(spec);
  if (!IsLogitLoss(loss)) return;
  const v1::ModelSpec& model = spec.model();
  const std::string why =
      absl::StrFormat("%s takes logits and applies the %s itself: remove this final activation",
                      LossName(loss), loss == v1::CROSS_ENTROPY ? "softmax" : "sigmoid");
  const int head = HeadIndex(model);
  for (int j = model.layers_size() - 1; j > head; --j) {
    const v1::Layer& l = model.layers(j);
    if (l.has_activation() && (l.activation() == v1::SOFTMAX || l.activation() == v1::SIGMOID))
      errors.Add(LayerPath(l, j), why);
  }
  if (head < 0 || !model.layers(head).has_dense()) return;
  const v1::DenseLayer& dense = model.layers(head).dense();
  const std::string p = LayerPath(model.layers(head), head);
  if (dense.activation() == v1::SOFTMAX || dense.activation() == v1::SIGMOID)
    errors.Add(FieldPath(p, "activation"), why);
  if (loss == v1::CROSS_ENTROPY && dense.units() == 1)
    errors.Add(FieldPath(p, "units"),
               "CROSS_ENTROPY needs one output per class (at least 2), got 1: set units to the "
               "number of classes, or use BINARY_CROSS_ENTROPY for a single logit");
  if (loss == v1::BINARY_CROSS_ENTROPY && dense.units() > 1)
    errors.Addf(FieldPath(p, "units"),
                "BINARY_CROSS_ENTROPY needs a single output (one logit), got %d: set units to 1, "
                "or use CROSS_ENTROPY",
                dense.units());
}

void CheckKMeans(const v1::KMeansSpec& k, ErrorList& errors) {
  if (k.k() <= 0) errors.Addf("model.kmeans.k", "must be > 0, got %d", k.k());
  if (k.has_n_init() && k.n_init() < 1)
    errors.Addf("model.kmeans.n_init", "must be >= 1, got %d", k.n_init());
  if (k.has_max_iter() && k.max_iter() < 1)
    errors.Addf("model.kmeans.max_iter", "must be >= 1, got %d", k.max_iter());
  if (k.has_tol() && (!(k.tol() >= 0) || !std::isfinite(k.tol())))
    errors.Addf("model.kmeans.tol", "must be >= 0 and finite, got %g", k.tol());
}

// True when model.input_shape is given and usable for shape inference.
bool CheckInputShape(const v1::ModelSpec& model, ErrorList& errors) {
  if (model.input_shape().empty()) return false;
  if (model.layers().empty()) {
    errors.Add("model.input_shape", "only used with model.layers: remove it");
    return false;
  }
  bool ok = true;
  if (model.input_shape_size() >= kMaxRank) {
    errors.Addf("model.input_shape", "at most %d dimensions, got %d", kMaxRank - 1,
                model.input_shape_size());
    ok = false;
  }
  for (int i = 0; i < model.input_shape_size(); ++i) {
    if (model.input_shape(i) <= 0) {
      errors.Addf(IndexPath("model.input_shape", i), "must be > 0, got %d", model.input_shape(i));
      ok = false;
    }
  }
  const std::vector<int64_t> dims(model.input_shape().begin(), model.input_shape().end());
  if (ok && !DimsWithin(dims.data(), static_cast<int>(dims.size()), 1, kMaxValuesPerExample)) {
    errors.Addf("model.input_shape", "examples of more than %d values are not supported",
                kMaxValuesPerExample);
    ok = false;
  }
  return ok;
}

}  // namespace

void CheckModel(const v1::JobSpec& spec, ErrorList& errors) {
  if (!spec.has_model()) {
    errors.Add("model", "required: set model.layers (a network) or model.kmeans");
    return;
  }
  const v1::ModelSpec& model = spec.model();
  const bool layers = !model.layers().empty();
  if (layers && model.has_kmeans()) {
    errors.Add("model", "set model.layers or model.kmeans, not both");
  } else if (!layers && !model.has_kmeans()) {
    errors.Add("model", "set model.layers (a network) or model.kmeans");
  }
  if (model.has_kmeans()) {
    CheckKMeans(model.kmeans(), errors);
    if (spec.task() != v1::CLUSTERING && v1::Task_IsValid(spec.task()) &&
        spec.task() != v1::TASK_UNSPECIFIED)
      errors.Addf("model.kmeans", "only for task CLUSTERING (task is %s): use model.layers",
                  TaskName(spec.task()));
  }
  if (spec.task() == v1::CLUSTERING && layers)
    errors.Add("model.layers", "task CLUSTERING is solved by model.kmeans, not by layers");
  const bool shape_given = CheckInputShape(model, errors);
  if (!layers) return;

  ErrorList layer_errors;
  for (int i = 0; i < model.layers_size(); ++i) CheckLayerFields(model.layers(i), i, layer_errors);
  const bool layers_ok = layer_errors.empty();
  errors.Append(layer_errors);
  if (IsSupervised(spec.task())) CheckHead(spec, errors);

  // With a declared input shape the whole stack can be checked now, before any data is read.
  if (!layers_ok || !shape_given) return;
  const Shape example(std::vector<int64_t>(model.input_shape().begin(), model.input_shape().end()));
  StatusOr<Shape> out = InferOutputShape(spec, example);
  if (!out.ok()) {
    errors.AddStatus(out.status());
  } else if (IsSupervised(spec.task()) && out->rank() != 2) {
    errors.Addf("model.layers",
                "the model outputs %s, but the loss needs one row of values per example ([N, k]): "
                "end the model with a flatten layer and a dense layer",
                BatchShapeString(*out));
  }
}

Status CheckOutputWidth(const v1::JobSpec& spec, const Shape& output, int64_t num_outputs) {
  const v1::LossType loss = EffectiveLoss(spec);
  if (output.rank() != 2)
    return absl::InvalidArgumentError(absl::StrFormat(
        "model.layers: the model outputs %s, but %s needs one row of values per example ([N, "
        "k]): end the model with a flatten layer and a dense layer",
        BatchShapeString(output), LossName(loss)));
  int64_t need = num_outputs;
  std::string why;
  if (loss == v1::CROSS_ENTROPY) {
    if (num_outputs < 2)
      return absl::InvalidArgumentError(absl::StrFormat(
          "data.train: CROSS_ENTROPY needs at least 2 classes, the training labels have %d",
          num_outputs));
    why = absl::StrFormat("the data has %d classes and CROSS_ENTROPY needs one logit per class",
                          num_outputs);
  } else if (loss == v1::BINARY_CROSS_ENTROPY) {
    if (num_outputs > 2)
      return absl::InvalidArgumentError(absl::StrFormat(
          "loss.type: BINARY_CROSS_ENTROPY handles two classes, but the training labels have %d: "
          "use CROSS_ENTROPY with a last dense layer of %d units",
          num_outputs, num_outputs));
    need = 1;
    why = "BINARY_CROSS_ENTROPY needs a single logit";
  } else {
    why = absl::StrFormat("the targets have %d column%s", num_outputs, num_outputs == 1 ? "" : "s");
  }
  if (output[1] == need) return absl::OkStatus();
  const v1::ModelSpec& model = spec.model();
  const int head = HeadIndex(model);
  if (head >= 0 && model.layers(head).has_dense())
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s.units: the model outputs %d value%s per example, but %s: set units to %d",
        LayerPath(model.layers(head), head), output[1], output[1] == 1 ? "" : "s", why, need));
  return absl::InvalidArgumentError(absl::StrFormat(
      "model.layers: the model outputs %d value%s per example, but %s: end the model with a "
      "dense layer of %d units",
      output[1], output[1] == 1 ? "" : "s", why, need));
}

}  // namespace job_internal

namespace {

// The parameters of one layer whose input is `in` (batch axis first), exactly (a layer without
// bias has none: a checkpoint's weights are checked against this count), or -1 past the bound.
int64_t LayerParameters(const v1::Layer& layer, const Shape& in) {
  switch (layer.kind_case()) {
    case v1::Layer::kDense: {
      const v1::DenseLayer& d = layer.dense();
      const bool bias = !d.has_use_bias() || d.use_bias();
      // (in + 1) * units bounds weights and bias without overflow; then the exact count.
      const int64_t dims[] = {in[1] + 1, d.units()};
      if (!DimsWithin(dims, 2, 1, kMaxModelParameters)) return -1;
      return in[1] * d.units() + (bias ? d.units() : 0);
    }
    case v1::Layer::kConv2D: {
      const v1::Conv2dLayer& c = layer.conv2d();
      const bool bias = !c.has_use_bias() || c.use_bias();
      const int64_t dims[] = {c.filters(), in[1] * c.kernel_size() + 1, c.kernel_size()};
      if (!DimsWithin(dims, 3, 1, kMaxModelParameters)) return -1;
      return c.filters() * in[1] * c.kernel_size() * c.kernel_size() + (bias ? c.filters() : 0);
    }
    default:
      return 0;
  }
}

// InferOutputShape's walk, counting parameters on the way.
StatusOr<Shape> WalkLayers(const v1::JobSpec& spec, const Shape& example_shape,
                           int64_t* parameters) {
  const v1::ModelSpec& model = spec.model();
  if (model.layers().empty())
    return absl::InvalidArgumentError(
        "model.layers: empty: shapes are inferred for layer models only");
  if (example_shape.rank() < 1 || example_shape.rank() >= kMaxRank)
    return absl::InvalidArgumentError(
        absl::StrFormat("model.input_shape: examples of shape %s: expected 1 to %d dimensions",
                        example_shape.ToString(), kMaxRank - 1));
  for (int64_t d : example_shape)
    if (d <= 0)
      return absl::InvalidArgumentError(
          absl::StrFormat("model.input_shape: examples of shape %s: every dimension must be > 0",
                          example_shape.ToString()));
  if (!DimsWithin(example_shape.begin(), example_shape.rank(), 1, kMaxValuesPerExample))
    return absl::InvalidArgumentError(
        absl::StrFormat("model.input_shape: examples of shape %s hold more than %d values",
                        example_shape.ToString(), kMaxValuesPerExample));
  job_internal::ErrorList errors;
  for (int i = 0; i < model.layers_size(); ++i)
    job_internal::CheckLayerFields(model.layers(i), i, errors);
  HEARTH_RETURN_IF_ERROR(errors.ToStatus());

  Shape shape{1};
  for (int64_t d : example_shape) shape.push_back(d);
  int64_t total = 0;
  for (int i = 0; i < model.layers_size(); ++i) {
    const v1::Layer& layer = model.layers(i);
    const int64_t own = shape.rank() >= 2 ? LayerParameters(layer, shape) : 0;
    if (own < 0 || own > kMaxModelParameters - total)
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: the model would have more than %d parameters; use fewer units or filters",
          job_internal::LayerPath(layer, i), kMaxModelParameters));
    total += own;
    HEARTH_ASSIGN_OR_RETURN(shape, job_internal::LayerOutputShape(layer, i, shape));
    if (!DimsWithin(shape.begin(), shape.rank(), 1, kMaxValuesPerExample))
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: its output %s holds more than %d values per example; use a smaller layer",
          job_internal::LayerPath(layer, i), shape.ToString(), kMaxValuesPerExample));
  }
  if (parameters != nullptr) *parameters = total;
  return shape;
}

}  // namespace

StatusOr<Shape> InferOutputShape(const v1::JobSpec& spec, const Shape& example_shape) {
  return WalkLayers(spec, example_shape, nullptr);
}

StatusOr<int64_t> CountModelParameters(const v1::JobSpec& spec, const Shape& example_shape) {
  int64_t parameters = 0;
  HEARTH_RETURN_IF_ERROR(WalkLayers(spec, example_shape, &parameters).status());
  return parameters;
}

}  // namespace hearth
