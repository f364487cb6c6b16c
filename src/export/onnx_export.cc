#include "export/onnx_export.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <map>
#include <vector>

#include "absl/strings/str_format.h"
#include "data/preprocess_ops.h"
#include "export/onnx_graph.h"
#include "hearth/checkpoint.h"
#include "hearth/data/preprocess.h"
#include "hearth/env.h"
#include "hearth/job.h"
#include "hearth/train.h"
#include "run/training_state.h"

namespace hearth::onnx_export {
namespace {

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;
constexpr int32_t kInt64 = onnx::TensorProto::INT64;

// Where the graph is while it is being built: the current value's name and, while rows are
// flat, their width.
struct Flow {
  std::string value;
  int64_t width = 0;
};

StatusOr<const Tensor*> FloatTensor(const Checkpoint& c, const std::string& name,
                                    const std::string& path) {
  const Tensor* t = c.Find(name);
  if (t == nullptr || t->dtype() != DType::kFloat32)
    return absl::DataLossError(
        absl::StrFormat("%s: tensor \"%s\" is missing or not float32", path, name));
  return t;
}

std::vector<int64_t> Dims(const Tensor& t) {
  return t.shape().ToVector();
}

std::string Activate(GraphBuilder& g, const std::string& x, v1::Activation activation) {
  switch (activation) {
    case v1::RELU:
      return g.Node("Relu", {x});
    case v1::SIGMOID:
      return g.Node("Sigmoid", {x});
    case v1::TANH:
      return g.Node("Tanh", {x});
    case v1::SOFTMAX:
      return g.Node("Softmax", {x}, {Attribute::Int("axis", -1)});
    default:
      return x;
  }
}

// Replaces each one-hot column of the [N, width] rows by Equal(column, categories) as 0/1
// floats, at the column's position, as ApplyOneHot does (src/data/one_hot.cc).
Flow OneHot(GraphBuilder& g, const PreprocessStep& step, const Tensor& counts,
            const Tensor& categories, int step_index, const Flow& in) {
  std::map<int64_t, std::vector<int64_t>> by_column;
  const int64_t* next = categories.i64();
  for (size_t k = 0; k < step.columns.size(); ++k) {
    const int64_t count = counts.i64()[k];
    by_column[step.columns[k]].assign(next, next + count);
    next += count;
  }
  const std::string axis1 = g.Int64s(absl::StrFormat("onehot%d_axis", step_index), {1}, {1});
  auto slice = [&](int64_t begin, int64_t end) {
    const std::string tag = absl::StrFormat("onehot%d_%d_%d", step_index, begin, end);
    return g.Node("Slice", {in.value, g.Int64s(tag + "_begin", {1}, {begin}),
                            g.Int64s(tag + "_end", {1}, {end}), axis1});
  };
  std::vector<std::string> pieces;
  int64_t width = 0;
  int64_t kept_from = 0;  // the start of the run of columns copied as they are
  for (const auto& [column, values] : by_column) {
    if (kept_from < column) pieces.push_back(slice(kept_from, column));
    width += column - kept_from;
    // With min_frequency, the first column is the infrequent (and unknown) categories': 1 where
    // none of the others matched.
    const bool pooled = !values.empty() && values[0] == data_internal::kInfrequentCategory;
    std::vector<float> as_float(values.begin() + (pooled ? 1 : 0), values.end());
    const std::string known =
        g.Floats(absl::StrFormat("onehot%d_col%d_categories", step_index, column),
                 {static_cast<int64_t>(as_float.size())}, as_float);
    const std::string equal = g.Node("Equal", {slice(column, column + 1), known});
    const std::string hot = g.Node("Cast", {equal}, {Attribute::Int("to", kFloat)});
    if (pooled) {
      const std::string tag = absl::StrFormat("onehot%d_col%d", step_index, column);
      const float one = 1.0f;
      const std::string matched = g.Node("ReduceSum", {hot, g.Int64s(tag + "_axis", {1}, {1})},
                                         {Attribute::Int("keepdims", 1)});
      pieces.push_back(g.Node("Sub", {g.Floats(tag + "_one", {}, &one), matched}));
    }
    pieces.push_back(hot);
    width += static_cast<int64_t>(values.size());
    kept_from = column + 1;
  }
  if (kept_from < in.width) pieces.push_back(slice(kept_from, in.width));
  width += in.width - kept_from;
  return {g.Node("Concat", pieces, {Attribute::Int("axis", 1)}, "onehot"), width};
}

// Where(IsNaN(x), fill, x) (a NaN fill leaves the column as it is), then the "was missing" 0/1
// columns of the indicated features appended, as ApplyImpute does (src/data/clean_ops.cc).
Flow Impute(GraphBuilder& g, const std::string& fill_name, const Tensor& fill,
            const Tensor& indicator, int step_index, const Flow& in) {
  const std::string f = g.Floats(fill_name, {fill.numel()}, fill.f32());
  const std::string missing = g.Node("IsNaN", {in.value});
  const std::string filled = g.Node("Where", {missing, f, in.value}, {}, "imputed");
  std::vector<int64_t> indicated;
  for (int64_t j = 0; j < indicator.numel(); ++j)
    if (indicator.f32()[j] != 0.0f) indicated.push_back(j);
  if (indicated.empty()) return {filled, in.width};
  const std::string columns =
      g.Int64s(absl::StrFormat("preprocess.%d.impute.indicated", step_index),
               {static_cast<int64_t>(indicated.size())}, indicated);
  const std::string flags =
      g.Node("Cast", {g.Node("Gather", {missing, columns}, {Attribute::Int("axis", 1)})},
             {Attribute::Int("to", kFloat)});
  return {g.Node("Concat", {filled, flags}, {Attribute::Int("axis", 1)}, "imputed"),
          in.width + static_cast<int64_t>(indicated.size())};
}

// The saved preprocessing on flat rows, step by step, with its fitted statistics (State() lists
// them step by step, in the order each op names them).
Flow AddPreprocessing(GraphBuilder& g, const Preprocessor& pre, Flow flow) {
  const std::vector<NamedTensor> state = pre.State();
  size_t next_stat = 0;
  for (size_t i = 0; i < pre.steps().size(); ++i) {
    const PreprocessStep& step = pre.steps()[i];
    const int index = static_cast<int>(i);
    switch (step.kind) {
      case PreprocessKind::kStandardize:
      case PreprocessKind::kMinMax:
      case PreprocessKind::kRobustScale: {
        // (x - offset) / divisor, per feature.
        const NamedTensor& offset = state[next_stat++];
        const NamedTensor& divisor = state[next_stat++];
        const std::string o = g.Floats(offset.name, {offset.tensor.numel()}, offset.tensor.f32());
        const std::string d =
            g.Floats(divisor.name, {divisor.tensor.numel()}, divisor.tensor.f32());
        flow.value = g.Node("Div", {g.Node("Sub", {flow.value, o}), d}, {}, "scaled");
        break;
      }
      case PreprocessKind::kScale: {
        const std::string factor =
            g.Floats(absl::StrFormat("preprocess.%d.scale.factor", index), {}, &step.factor);
        flow.value = g.Node("Mul", {flow.value, factor}, {}, "scaled");
        break;
      }
      case PreprocessKind::kOneHot: {
        const Tensor& counts = state[next_stat++].tensor;
        const Tensor& categories = state[next_stat++].tensor;
        flow = OneHot(g, step, counts, categories, index, flow);
        break;
      }
      case PreprocessKind::kImpute:
        flow = Impute(g, state[next_stat].name, state[next_stat].tensor,
                      state[next_stat + 1].tensor, index, flow);
        next_stat += 2;
        break;
      case PreprocessKind::kClip: {
        // Max(Min(x, upper), lower), per feature.
        const NamedTensor& lower = state[next_stat++];
        const NamedTensor& upper = state[next_stat++];
        const std::string lo = g.Floats(lower.name, {lower.tensor.numel()}, lower.tensor.f32());
        const std::string hi = g.Floats(upper.name, {upper.tensor.numel()}, upper.tensor.f32());
        flow.value = g.Node("Max", {g.Node("Min", {flow.value, hi}), lo}, {}, "clipped");
        break;
      }
      case PreprocessKind::kOrdinal:
        break;  // the input is the codes already
      case PreprocessKind::kLog1p: {
        const float one = 1.0f;
        const std::string c = g.Floats(absl::StrFormat("preprocess.%d.log1p.one", index), {}, &one);
        flow.value = g.Node("Log", {g.Node("Add", {flow.value, c})}, {}, "log1p");
        break;
      }
      case PreprocessKind::kDropConstant: {
        const Tensor& keep = state[next_stat++].tensor;
        std::vector<int64_t> kept;
        for (int64_t j = 0; j < keep.numel(); ++j)
          if (keep.f32()[j] != 0.0f) kept.push_back(j);
        const std::string columns =
            g.Int64s(absl::StrFormat("preprocess.%d.drop_constant.kept", index),
                     {static_cast<int64_t>(kept.size())}, kept);
        flow = {g.Node("Gather", {flow.value, columns}, {Attribute::Int("axis", 1)}, "kept"),
                static_cast<int64_t>(kept.size())};
        break;
      }
    }
  }
  return flow;
}

// The network's layers, in order: child i of the model is model.layers[i], with parameters
// "<i>.weight" and "<i>.bias" (src/job/build_model.cc).
StatusOr<std::string> AddLayers(GraphBuilder& g, const v1::ModelSpec& model, const Checkpoint& c,
                                const std::string& path, std::string x) {
  for (int i = 0; i < model.layers_size(); ++i) {
    const v1::Layer& layer = model.layers(i);
    const std::string weight_name = absl::StrFormat("%d.weight", i);
    const std::string bias_name = absl::StrFormat("%d.bias", i);
    switch (layer.kind_case()) {
      case v1::Layer::kDense: {
        const v1::DenseLayer& d = layer.dense();
        HEARTH_ASSIGN_OR_RETURN(const Tensor* w, FloatTensor(c, weight_name, path));
        g.Floats(weight_name, Dims(*w), w->f32());
        if (!d.has_use_bias() || d.use_bias()) {
          HEARTH_ASSIGN_OR_RETURN(const Tensor* b, FloatTensor(c, bias_name, path));
          x = g.Node("Gemm", {x, weight_name, g.Floats(bias_name, Dims(*b), b->f32())}, {},
                     "dense");
        } else {
          x = g.Node("MatMul", {x, weight_name}, {}, "dense");
        }
        x = Activate(g, x, d.activation());
        break;
      }
      case v1::Layer::kConv2D: {
        const v1::Conv2dLayer& conv = layer.conv2d();
        HEARTH_ASSIGN_OR_RETURN(const Tensor* w, FloatTensor(c, weight_name, path));
        std::vector<std::string> inputs = {x, g.Floats(weight_name, Dims(*w), w->f32())};
        if (!conv.has_use_bias() || conv.use_bias()) {
          HEARTH_ASSIGN_OR_RETURN(const Tensor* b, FloatTensor(c, bias_name, path));
          inputs.push_back(g.Floats(bias_name, Dims(*b), b->f32()));
        }
        const int64_t k = conv.kernel_size(), s = conv.has_stride() ? conv.stride() : 1,
                      p = conv.padding();
        x = g.Node("Conv", inputs,
                   {Attribute::Ints("kernel_shape", {k, k}), Attribute::Ints("strides", {s, s}),
                    Attribute::Ints("pads", {p, p, p, p})},
                   "conv");
        x = Activate(g, x, conv.activation());
        break;
      }
      case v1::Layer::kMaxPool2D:
      case v1::Layer::kAvgPool2D: {
        const bool max = layer.kind_case() == v1::Layer::kMaxPool2D;
        const v1::Pool2dLayer& pool = max ? layer.max_pool2d() : layer.avg_pool2d();
        const int64_t k = pool.kernel_size(), s = pool.has_stride() ? pool.stride() : k,
                      p = pool.padding();
        std::vector<Attribute> attributes = {Attribute::Ints("kernel_shape", {k, k}),
                                             Attribute::Ints("strides", {s, s}),
                                             Attribute::Ints("pads", {p, p, p, p})};
        // Hearth's average counts the padding as zeros (kernels::AvgPool2d divides by k * k).
        if (!max) attributes.push_back(Attribute::Int("count_include_pad", 1));
        x = g.Node(max ? "MaxPool" : "AveragePool", {x}, attributes, "pool");
        break;
      }
      case v1::Layer::kFlatten:
        x = g.Node("Flatten", {x}, {Attribute::Int("axis", 1)});
        break;
      case v1::Layer::kDropout:
        break;  // does nothing at inference
      case v1::Layer::kActivation:
        x = Activate(g, x, layer.activation());
        break;
      case v1::Layer::KIND_NOT_SET:
        return absl::UnimplementedError(absl::StrFormat(
            "%s: model.layers[%d] is a kind of layer that has no ONNX export yet; serve the "
            "checkpoint with `hearth serve` instead",
            path, i));
    }
  }
  return x;
}

void AddClassification(GraphBuilder& g, const std::string& logits, int64_t classes) {
  std::string probabilities;
  if (classes == 1) {
    // One logit: p(class 1) = sigmoid, and [1 - p, p] as Hearth reports it.
    const std::string p = g.Node("Sigmoid", {logits});
    const float one = 1.0f;
    const std::string q = g.Node("Sub", {g.Floats("one", {}, &one), p});
    g.NodeInto("Concat", {q, p}, "probabilities", {Attribute::Int("axis", 1)});
    classes = 2;
  } else {
    g.NodeInto("Softmax", {logits}, "probabilities", {Attribute::Int("axis", 1)});
  }
  g.NodeInto("ArgMax", {"probabilities"}, "class_id",
             {Attribute::Int("axis", 1), Attribute::Int("keepdims", 0)});
  g.Output("probabilities", kFloat, {classes}, "the probability of each class");
  g.Output("class_id", kInt64, {}, "the most probable class (hearth.class_names names it)");
}

void AddClustering(GraphBuilder& g, const std::string& x, const Tensor& centroids) {
  const std::string c = g.Floats("kmeans.centroids", Dims(centroids), centroids.f32());
  // Row by centroid, directly (x - c)^2 summed, as SquaredCentroidDistances does.
  const std::string rows = g.Node("Unsqueeze", {x, g.Int64s("axis_1", {1}, {1})});
  const std::string diff = g.Node("Sub", {rows, c});
  const std::string squared =
      g.Node("ReduceSum", {g.Node("Mul", {diff, diff}), g.Int64s("axis_2", {1}, {2})},
             {Attribute::Int("keepdims", 0)});
  g.NodeInto("Sqrt", {squared}, "distances");
  g.NodeInto("ArgMin", {squared}, "class_id",
             {Attribute::Int("axis", 1), Attribute::Int("keepdims", 0)});
  g.NodeInto("ReduceMin", {"distances"}, "distance",
             {Attribute::Ints("axes", {1}), Attribute::Int("keepdims", 0)});
  g.Output("distances", kFloat, {centroids.dim(0)}, "Euclidean distance to each centroid");
  g.Output("class_id", kInt64, {}, "the nearest centroid");
  g.Output("distance", kFloat, {}, "the distance to it");
}

std::string JsonList(const std::vector<std::string>& items) {
  google::protobuf::ListValue list;
  for (const std::string& s : items) list.add_values()->set_string_value(s);
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(list, &json).ok()) return "[]";
  return json;
}

void AddMetadata(onnx::ModelProto& m, const TrainedModel& model, const Preprocessor& pre) {
  std::map<std::string, std::string> props = {
      {"hearth.task", v1::Task_Name(model.spec().task())},
      {"hearth.class_names", JsonList(model.class_names())},
      {"hearth.feature_names", JsonList(model.feature_names())},
      {"hearth.record_shape", model.record_shape().ToString()},
      {"hearth.preprocess", pre.Description()},
      {"hearth.step", std::to_string(model.step())}};
  // A category column's input is its code: the position of its text in this list (-1: unknown).
  const auto& categories = model.feature_categories();
  for (size_t j = 0; j < categories.size(); ++j)
    if (!categories[j].empty())
      props[absl::StrFormat("hearth.feature_categories.%d", j)] = JsonList(categories[j]);
  for (const auto& [key, value] : props) {
    onnx::StringStringEntryProto* entry = m.add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  }
}

}  // namespace

StatusOr<std::string> ExportOnnx(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(Checkpoint c, LoadCheckpoint(Env::Default(), path));
  // Loading it as a model checks everything about it first (spec, shapes, weights).
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<TrainedModel> model,
                          TrainedModel::FromCheckpoint(c, path));
  if (model->record_shape().rank() == 0)
    return absl::UnimplementedError(absl::StrFormat(
        "%s: saved before checkpoints recorded their input width, and its one-hot step changes "
        "the width, so the graph's input cannot be sized; train it again to export it",
        path));
  const Preprocessor& pre = model->preprocessor();
  const v1::JobSpec& spec = model->spec();

  onnx::ModelProto m;
  m.set_ir_version(onnx::IR_VERSION);
  m.set_producer_name("hearth");
  m.set_model_version(model->step());
  m.set_doc_string(model->Describe());
  onnx::OperatorSetIdProto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  onnx::GraphProto& graph = *m.mutable_graph();
  graph.set_name(spec.name().empty() ? "hearth" : spec.name());
  GraphBuilder g(graph);

  const int64_t features = model->record_shape().numel();
  g.Input("input", kFloat, {features},
          absl::StrFormat("raw features, %d per row, before preprocessing", features));
  const Flow flow = AddPreprocessing(g, pre, Flow{"input", features});

  if (spec.task() == v1::CLUSTERING) {
    HEARTH_ASSIGN_OR_RETURN(const Tensor* centroids, FloatTensor(c, run::kCentroidsName, path));
    AddClustering(g, flow.value, *centroids);
  } else {
    const Shape& example = model->example_shape();
    HEARTH_ASSIGN_OR_RETURN(const Shape input, ResolveInputShape(spec, example));
    std::string x = flow.value;
    if (input.rank() != 1) {
      std::vector<int64_t> target = {-1};
      for (int64_t d : input) target.push_back(d);
      x = g.Node("Reshape",
                 {x, g.Int64s("input_shape", {static_cast<int64_t>(target.size())}, target)});
    }
    HEARTH_ASSIGN_OR_RETURN(x, AddLayers(g, spec.model(), c, path, x));
    if (spec.task() == v1::CLASSIFICATION) {
      AddClassification(g, x, model->output_width());
    } else {
      g.NodeInto("Identity", {x}, "values");
      g.Output("values", kFloat, {model->output_width()}, "the predicted values");
    }
  }
  AddMetadata(m, *model, pre);
  std::string bytes;
  if (!m.SerializeToString(&bytes))
    return absl::InternalError(absl::StrFormat("%s: the ONNX model did not serialize", path));
  return bytes;
}

}  // namespace hearth::onnx_export
