// The built-in layers and their shape inference.
#include "absl/strings/str_format.h"
#include "hearth/nn.h"

namespace hearth {
namespace {

absl::Status ShapeError(const std::string& layer, const Shape& input, const std::string& expected) {
  return absl::InvalidArgumentError(absl::StrFormat("%s: input shape %s does not fit: expected %s",
                                                    layer, input.ToString(), expected));
}

absl::StatusOr<Shape> PoolOutputShape(const std::string& layer, const Shape& in,
                                      const Pool2dOptions& o) {
  if (in.rank() != 4) return ShapeError(layer, in, "[N, C, H, W]");
  const int stride = o.stride == 0 ? o.kernel : o.stride;
  if (in[2] + 2 * o.padding < o.kernel || in[3] + 2 * o.padding < o.kernel)
    return ShapeError(layer, in, absl::StrFormat("height and width of at least %d", o.kernel));
  return Shape{in[0], in[1], (in[2] + 2 * o.padding - o.kernel) / stride + 1,
               (in[3] + 2 * o.padding - o.kernel) / stride + 1};
}

std::string PoolDescription(const char* kind, const Pool2dOptions& o) {
  return absl::StrFormat("%s(kernel=%d, stride=%d, padding=%d)", kind, o.kernel,
                         o.stride == 0 ? o.kernel : o.stride, o.padding);
}

}  // namespace

Linear::Linear(int64_t in_features, int64_t out_features, Generator& rng, bool bias)
    : in_(in_features), out_(out_features) {
  Tensor w = Tensor::Empty(Shape{in_features, out_features});
  GlorotUniform(w, in_features, out_features, rng);
  weight_ = RegisterParameter("weight", w);
  if (bias) bias_ = RegisterParameter("bias", Tensor::Zeros(Shape{out_features}));
}

Tensor Linear::Forward(const Tensor& x) {
  return linear(x.rank() == 2 ? x : flatten(x), weight_, bias_);
}

std::string Linear::Describe() const {
  return absl::StrFormat("Linear(%d -> %d)", in_, out_);
}

absl::StatusOr<Shape> Linear::OutputShape(const Shape& input) const {
  if (input.rank() != 2 || input[1] != in_)
    return ShapeError(Describe(), input, absl::StrFormat("[N, %d]", in_));
  return Shape{input[0], out_};
}

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int kernel_size, Generator& rng,
               Conv2dOptions options, bool bias)
    : in_(in_channels), out_(out_channels), kernel_(kernel_size), options_(options) {
  Tensor w = Tensor::Empty(Shape{out_channels, in_channels, kernel_size, kernel_size});
  HeNormal(w, in_channels * kernel_size * kernel_size, rng);
  weight_ = RegisterParameter("weight", w);
  if (bias) bias_ = RegisterParameter("bias", Tensor::Zeros(Shape{out_channels}));
}

Tensor Conv2d::Forward(const Tensor& x) {
  return conv2d(x, weight_, bias_, options_);
}

std::string Conv2d::Describe() const {
  return absl::StrFormat("Conv2d(%d -> %d, kernel=%d, stride=%d, padding=%d)", in_, out_, kernel_,
                         options_.stride, options_.padding);
}

absl::StatusOr<Shape> Conv2d::OutputShape(const Shape& in) const {
  if (in.rank() != 4 || in[1] != in_)
    return ShapeError(Describe(), in, absl::StrFormat("[N, %d, H, W]", in_));
  const int64_t h = in[2] + 2 * options_.padding, w = in[3] + 2 * options_.padding;
  if (h < kernel_ || w < kernel_)
    return ShapeError(Describe(), in,
                      absl::StrFormat("padded height and width of at least %d", kernel_));
  return Shape{in[0], out_, (h - kernel_) / options_.stride + 1,
               (w - kernel_) / options_.stride + 1};
}

std::string MaxPool2d::Describe() const {
  return PoolDescription("MaxPool2d", options_);
}
absl::StatusOr<Shape> MaxPool2d::OutputShape(const Shape& input) const {
  return PoolOutputShape(Describe(), input, options_);
}

std::string AvgPool2d::Describe() const {
  return PoolDescription("AvgPool2d", options_);
}
absl::StatusOr<Shape> AvgPool2d::OutputShape(const Shape& input) const {
  return PoolOutputShape(Describe(), input, options_);
}

absl::StatusOr<Shape> Flatten::OutputShape(const Shape& input) const {
  if (input.rank() < 1) return ShapeError("Flatten", input, "[N, ...]");
  return Shape{input[0], input.numel() / std::max<int64_t>(input[0], 1)};
}

Tensor ActivationLayer::Forward(const Tensor& x) {
  switch (kind_) {
    case Activation::kReLU:
      return relu(x);
    case Activation::kSigmoid:
      return sigmoid(x);
    case Activation::kTanh:
      return tanh(x);
    case Activation::kSoftmax:
      return softmax(x);
  }
  return x;
}

std::string ActivationLayer::Describe() const {
  switch (kind_) {
    case Activation::kReLU:
      return "ReLU";
    case Activation::kSigmoid:
      return "Sigmoid";
    case Activation::kTanh:
      return "Tanh";
    case Activation::kSoftmax:
      return "Softmax";
  }
  return "Activation";
}

std::string Dropout::Describe() const {
  return absl::StrFormat("Dropout(p=%g)", p_);
}

Sequential& Sequential::Add(std::unique_ptr<Module> layer) {
  layers_.push_back(RegisterModule(std::to_string(layers_.size()), std::move(layer)));
  return *this;
}

Tensor Sequential::Forward(const Tensor& x) {
  Tensor h = x;
  for (Module* layer : layers_) h = layer->Forward(h);
  return h;
}

std::string Sequential::Describe() const {
  std::string s = "Sequential(";
  for (size_t i = 0; i < layers_.size(); ++i) s += (i ? ", " : "") + layers_[i]->Describe();
  return s + ")";
}

absl::StatusOr<Shape> Sequential::OutputShape(const Shape& input) const {
  Shape s = input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    auto next = layers_[i]->OutputShape(s);
    if (!next.ok())
      return absl::Status(next.status().code(),
                          absl::StrFormat("layer %d: %s", i, next.status().message()));
    s = *next;
  }
  return s;
}

}  // namespace hearth
