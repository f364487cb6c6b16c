// Builds the network a job spec describes (and k-means options), after checking that every layer
// fits its input and the output suits the loss.
#include "hearth/sampler.h"
#include "job/internal.h"

namespace hearth {
namespace {

// A dense or conv2d layer followed by its activation, as one module, so that child i of the model
// is model.layers[i] and parameter names stay "<i>.weight" / "<i>.bias". The inner layer's
// parameters are registered as this module's own (the same tensor handles, so ParameterSet's
// rebinding reaches the inner layer too).
class WithActivation final : public Module {
 public:
  WithActivation(std::unique_ptr<Module> inner, Activation activation)
      : inner_(std::move(inner)), activation_(activation) {
    for (const NamedTensor& p : inner_->NamedParameters()) RegisterParameter(p.name, p.tensor);
  }
  Tensor Forward(const Tensor& x) override { return activation_.Forward(inner_->Forward(x)); }
  std::string Describe() const override {
    return inner_->Describe() + " + " + activation_.Describe();
  }
  absl::StatusOr<Shape> OutputShape(const Shape& input) const override {
    return inner_->OutputShape(input);
  }

 private:
  std::unique_ptr<Module> inner_;
  ActivationLayer activation_;
};

Activation ToActivation(v1::Activation a) {
  switch (a) {
    case v1::SIGMOID:
      return Activation::kSigmoid;
    case v1::TANH:
      return Activation::kTanh;
    case v1::SOFTMAX:
      return Activation::kSoftmax;
    default:
      return Activation::kReLU;
  }
}

std::unique_ptr<Module> MaybeActivated(std::unique_ptr<Module> layer, v1::Activation a) {
  if (a == v1::ACTIVATION_UNSPECIFIED) return layer;
  return std::make_unique<WithActivation>(std::move(layer), ToActivation(a));
}

Pool2dOptions PoolOptions(const v1::Pool2dLayer& p) {
  return Pool2dOptions{.kernel = p.kernel_size(),
                       .stride = p.has_stride() ? p.stride() : p.kernel_size(),
                       .padding = p.padding()};
}

// The module for layer `index`, whose input is `in` (batch axis included, already checked).
std::unique_ptr<Module> MakeLayer(const v1::Layer& layer, int index, const Shape& in,
                                  Generator& rng, uint64_t seed) {
  switch (layer.kind_case()) {
    case v1::Layer::kDense: {
      const v1::DenseLayer& d = layer.dense();
      const bool bias = !d.has_use_bias() || d.use_bias();
      return MaybeActivated(std::make_unique<Linear>(in[1], d.units(), rng, bias), d.activation());
    }
    case v1::Layer::kConv2D: {
      const v1::Conv2dLayer& c = layer.conv2d();
      const bool bias = !c.has_use_bias() || c.use_bias();
      const Conv2dOptions options{.stride = c.has_stride() ? c.stride() : 1,
                                  .padding = c.padding()};
      return MaybeActivated(
          std::make_unique<Conv2d>(in[1], c.filters(), c.kernel_size(), rng, options, bias),
          c.activation());
    }
    case v1::Layer::kMaxPool2D:
      return std::make_unique<MaxPool2d>(PoolOptions(layer.max_pool2d()));
    case v1::Layer::kAvgPool2D:
      return std::make_unique<AvgPool2d>(PoolOptions(layer.avg_pool2d()));
    case v1::Layer::kFlatten:
      return std::make_unique<Flatten>();
    case v1::Layer::kDropout:
      // Each dropout layer draws its own stream, independent of the weight initialisation.
      return std::make_unique<Dropout>(static_cast<float>(layer.dropout().rate()),
                                       MixSeed(seed, static_cast<uint64_t>(index)));
    case v1::Layer::kActivation:
      return std::make_unique<ActivationLayer>(ToActivation(layer.activation()));
    case v1::Layer::KIND_NOT_SET:
      break;
  }
  HEARTH_CHECK_MSG(false, "MakeLayer: layer kind not validated");
  return nullptr;
}

}  // namespace

StatusOr<Shape> ResolveInputShape(const v1::JobSpec& spec, const Shape& data_example_shape) {
  const auto& declared = spec.model().input_shape();
  if (declared.empty()) return data_example_shape;
  const Shape shape(std::vector<int64_t>(declared.begin(), declared.end()));
  if (shape.numel() != data_example_shape.numel())
    return absl::InvalidArgumentError(absl::StrFormat(
        "model.input_shape: %s holds %d values per example, but the data's examples are %s "
        "(%d values): give a shape with the same number of values, or leave input_shape out to "
        "use the data's",
        shape.ToString(), shape.numel(), data_example_shape.ToString(),
        data_example_shape.numel()));
  return shape;
}

StatusOr<std::unique_ptr<Sequential>> BuildModel(const v1::JobSpec& spec,
                                                 const Shape& example_shape, int64_t num_outputs,
                                                 uint64_t seed) {
  const v1::ModelSpec& model = spec.model();
  if (model.has_kmeans() || model.layers().empty())
    return absl::InvalidArgumentError(
        "model.layers: the job has no layers to build (a k-means job uses MakeKMeansOptions)");
  HEARTH_ASSIGN_OR_RETURN(const Shape input, ResolveInputShape(spec, example_shape));
  HEARTH_ASSIGN_OR_RETURN(const Shape output, InferOutputShape(spec, input));
  if (job_internal::IsSupervised(spec.task()))
    HEARTH_RETURN_IF_ERROR(job_internal::CheckOutputWidth(spec, output, num_outputs));

  Shape batch_input{1};
  for (int64_t d : input) batch_input.push_back(d);
  auto net = std::make_unique<Sequential>();
  Generator rng(seed);
  Shape shape = batch_input;
  for (int i = 0; i < model.layers_size(); ++i) {
    const v1::Layer& layer = model.layers(i);
    net->Add(MakeLayer(layer, i, shape, rng, seed));
    StatusOr<Shape> next = job_internal::LayerOutputShape(layer, i, shape);
    HEARTH_CHECK(next.ok());  // InferOutputShape succeeded on the same layers
    shape = *next;
  }
  // The spec's shape rules and the modules' must agree, or training would abort mid-run.
  const StatusOr<Shape> module_output = net->OutputShape(batch_input);
  HEARTH_CHECK_MSG(module_output.ok() && *module_output == output,
                   "BuildModel: the modules' shapes disagree with the spec's: " +
                       (module_output.ok() ? module_output->ToString()
                                           : std::string(module_output.status().message())) +
                       " vs " + output.ToString());
  return net;
}

KMeansOptions MakeKMeansOptions(const v1::JobSpec& spec) {
  const v1::KMeansSpec& k = spec.model().kmeans();
  KMeansOptions options;
  options.k = k.k();
  if (k.has_n_init()) options.n_init = k.n_init();
  if (k.has_max_iter()) options.max_iter = k.max_iter();
  if (k.has_tol()) options.tol = k.tol();
  options.seed = spec.seed();
  return options;
}

}  // namespace hearth
