// One spec layer at a time: its field ranges and its output shape, with errors that name the layer
// and say what to change. Shape rules match the nn modules' OutputShape (BuildModel cross-checks).
#include <algorithm>

#include "job/internal.h"

namespace hearth::job_internal {
namespace {

void Positive(ErrorList& errors, const std::string& path, int64_t value) {
  if (value <= 0) errors.Addf(path, "must be > 0, got %d", value);
}

void CheckActivation(ErrorList& errors, const std::string& path, v1::Activation a, bool required) {
  if (a == v1::ACTIVATION_UNSPECIFIED) {
    if (required) errors.Add(path, "required: RELU, SIGMOID, TANH or SOFTMAX");
  } else if (!v1::Activation_IsValid(a)) {
    errors.Addf(path, "invalid value %d (expected RELU, SIGMOID, TANH or SOFTMAX)",
                static_cast<int>(a));
  }
}

void CheckPool(const v1::Pool2dLayer& pool, const std::string& p, ErrorList& errors) {
  Positive(errors, FieldPath(p, "kernel_size"), pool.kernel_size());
  if (pool.has_stride()) Positive(errors, FieldPath(p, "stride"), pool.stride());
  // A window that could lie wholly in the padding has no input to pool (PyTorch's rule too).
  if (pool.padding() < 0 || (pool.kernel_size() > 0 && 2 * pool.padding() > pool.kernel_size()))
    errors.Addf(FieldPath(p, "padding"), "must be in [0, kernel_size / 2] = [0, %d], got %d",
                std::max(pool.kernel_size(), 0) / 2, pool.padding());
}

absl::Status Misfit(const std::string& layer, const Shape& in, const std::string& expected,
                    const std::string& hint) {
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: input shape %s does not fit: expected %s%s", layer, BatchShapeString(in),
                      expected, hint));
}

// Output size of a square window sliding over `size` (the formula of conv2d and the pools).
StatusOr<Shape> Window(const std::string& layer, const Shape& in, int64_t channels, int kernel,
                       int stride, int padding, const char* what) {
  if (in.rank() != 4) {
    std::string hint;
    if (in.rank() == 2) {
      hint =
          " (images need [C, H, W] examples: give model.input_shape such as [1, 28, 28], and "
          "put conv and pooling layers before flatten and dense)";
    } else if (in.rank() == 3) {
      hint = absl::StrFormat(" (add a channel axis: model.input_shape [1, %d, %d])", in[1], in[2]);
    }
    return Misfit(layer, in, "[N, C, H, W]", hint);
  }
  const int64_t h = in[2] + 2 * padding, w = in[3] + 2 * padding;
  if (h < kernel || w < kernel)
    return Misfit(
        layer, in,
        absl::StrFormat("a padded height and width of at least %d for the %dx%d %s", kernel, kernel,
                        kernel, what),
        absl::StrFormat(" (got %dx%d with padding %d: use a smaller kernel_size, more padding, or "
                        "fewer pooling layers before it)",
                        in[2], in[3], padding));
  return Shape{in[0], channels, (h - kernel) / stride + 1, (w - kernel) / stride + 1};
}

}  // namespace

std::string LayerPath(const v1::Layer& layer, int index) {
  const std::string p = IndexPath("model.layers", index);
  switch (layer.kind_case()) {
    case v1::Layer::kDense:
      return p + ".dense";
    case v1::Layer::kConv2D:
      return p + ".conv2d";
    case v1::Layer::kMaxPool2D:
      return p + ".max_pool2d";
    case v1::Layer::kAvgPool2D:
      return p + ".avg_pool2d";
    case v1::Layer::kFlatten:
      return p + ".flatten";
    case v1::Layer::kDropout:
      return p + ".dropout";
    case v1::Layer::kActivation:
      return p + ".activation";
    case v1::Layer::KIND_NOT_SET:
      break;
  }
  return p;
}

void CheckLayerFields(const v1::Layer& layer, int index, ErrorList& errors) {
  const std::string p = LayerPath(layer, index);
  switch (layer.kind_case()) {
    case v1::Layer::kDense:
      Positive(errors, FieldPath(p, "units"), layer.dense().units());
      CheckActivation(errors, FieldPath(p, "activation"), layer.dense().activation(), false);
      break;
    case v1::Layer::kConv2D: {
      const v1::Conv2dLayer& c = layer.conv2d();
      Positive(errors, FieldPath(p, "filters"), c.filters());
      Positive(errors, FieldPath(p, "kernel_size"), c.kernel_size());
      if (c.has_stride()) Positive(errors, FieldPath(p, "stride"), c.stride());
      if (c.padding() < 0)
        errors.Addf(FieldPath(p, "padding"), "must be >= 0, got %d", c.padding());
      CheckActivation(errors, FieldPath(p, "activation"), c.activation(), false);
      break;
    }
    case v1::Layer::kMaxPool2D:
      CheckPool(layer.max_pool2d(), p, errors);
      break;
    case v1::Layer::kAvgPool2D:
      CheckPool(layer.avg_pool2d(), p, errors);
      break;
    case v1::Layer::kFlatten:
      break;
    case v1::Layer::kDropout: {
      const double r = layer.dropout().rate();
      if (!(r >= 0 && r < 1)) errors.Addf(FieldPath(p, "rate"), "must be in [0, 1), got %g", r);
      break;
    }
    case v1::Layer::kActivation:
      CheckActivation(errors, p, layer.activation(), true);
      break;
    case v1::Layer::KIND_NOT_SET:
      errors.Add(p,
                 "empty layer: set one of dense, conv2d, max_pool2d, avg_pool2d, flatten, dropout, "
                 "activation");
      break;
  }
}

StatusOr<Shape> LayerOutputShape(const v1::Layer& layer, int index, const Shape& in) {
  const std::string p = LayerPath(layer, index);
  switch (layer.kind_case()) {
    case v1::Layer::kDense: {
      if (in.rank() != 2) {
        const int64_t flat = in.numel() / std::max<int64_t>(in[0], 1);
        const std::string hint = index == 0 ? absl::StrFormat(
                                                  " (add a flatten layer before it, or give a flat "
                                                  "model.input_shape: [%d])",
                                                  flat)
                                            : " (add a flatten layer before it)";
        return Misfit(p, in, absl::StrFormat("[N, %d]", flat), hint);
      }
      return Shape{in[0], layer.dense().units()};
    }
    case v1::Layer::kConv2D: {
      const v1::Conv2dLayer& c = layer.conv2d();
      return Window(p, in, c.filters(), c.kernel_size(), c.has_stride() ? c.stride() : 1,
                    c.padding(), "kernel");
    }
    case v1::Layer::kMaxPool2D:
    case v1::Layer::kAvgPool2D: {
      const v1::Pool2dLayer& pool =
          layer.has_max_pool2d() ? layer.max_pool2d() : layer.avg_pool2d();
      if (in.rank() != 4) return Window(p, in, 0, 0, 1, 0, "window");
      return Window(p, in, in[1], pool.kernel_size(),
                    pool.has_stride() ? pool.stride() : pool.kernel_size(), pool.padding(),
                    "window");
    }
    case v1::Layer::kFlatten:
      return Shape{in[0], in.numel() / std::max<int64_t>(in[0], 1)};
    case v1::Layer::kDropout:
    case v1::Layer::kActivation:
      return in;
    case v1::Layer::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(p + ": empty layer");
}

}  // namespace hearth::job_internal
