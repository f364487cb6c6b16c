// Packing and restoring a job's checkpoint.
#include "run/training_state.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "hearth/job.h"

namespace hearth::run {
namespace {

Status Corrupt(const std::string& source, const std::string& what) {
  return absl::DataLossError(absl::StrFormat(
      "%s: %s; the file was not written by this version of hearth train or is damaged", source,
      what));
}

const std::string* Meta(const Checkpoint& c, const std::string& key) {
  auto it = c.metadata.find(key);
  return it == c.metadata.end() ? nullptr : &it->second;
}

StatusOr<int64_t> MetaInt(const Checkpoint& c, const std::string& key, const std::string& source) {
  const std::string* text = Meta(c, key);
  int64_t v = 0;
  if (text == nullptr || !absl::SimpleAtoi(*text, &v))
    return Corrupt(source, absl::StrFormat("metadata \"%s\" is missing or not an integer", key));
  return v;
}

// Class names are stored one per line; names containing a newline are escaped.
std::string EncodeNames(const std::vector<std::string>& names) {
  std::vector<std::string> escaped;
  for (const std::string& n : names) {
    std::string e;
    for (char ch : n) {
      if (ch == '\\')
        e += "\\\\";
      else if (ch == '\n')
        e += "\\n";
      else
        e += ch;
    }
    escaped.push_back(e);
  }
  return absl::StrJoin(escaped, "\n");
}

std::vector<std::string> DecodeNames(const std::string& text) {
  std::vector<std::string> names;
  if (text.empty()) return names;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::string n;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        n += line[i + 1] == 'n' ? '\n' : line[i + 1];
        ++i;
      } else {
        n += line[i];
      }
    }
    names.push_back(n);
  }
  return names;
}

void CollectDropout(Module& m, std::vector<Dropout*>* out) {
  if (auto* d = dynamic_cast<Dropout*>(&m)) out->push_back(d);
  for (Module* child : m.Children()) CollectDropout(*child, out);
}

}  // namespace

std::vector<Dropout*> DropoutLayers(Module& module) {
  std::vector<Dropout*> out;
  CollectDropout(module, &out);
  return out;
}

Checkpoint PackCheckpoint(const ModelState& model, const TrainingPosition& position,
                          ParameterSet* params, Optimizer* optimizer, Module* module,
                          const Tensor& centroids) {
  Checkpoint c;
  if (params != nullptr) {
    for (int i = 0; i < params->size(); ++i)
      c.tensors.push_back({params->name(i), params->param(i)});
    if (optimizer != nullptr)
      for (NamedTensor& t : optimizer->State(*params)) c.tensors.push_back(std::move(t));
  }
  if (centroids.defined()) c.tensors.push_back({kCentroidsName, centroids});
  if (model.preprocess != nullptr && !model.preprocess->empty()) {
    for (NamedTensor& t : model.preprocess->State()) c.tensors.push_back(std::move(t));
    c.metadata[kPreprocessKey] = model.preprocess->Description();
  }
  c.metadata[ckpt_keys::kStep] = std::to_string(position.step);
  c.metadata[ckpt_keys::kEpoch] = std::to_string(position.epoch);
  c.metadata[ckpt_keys::kBatchInEpoch] = std::to_string(position.batch_in_epoch);
  c.metadata[kWorkersKey] = std::to_string(model.workers);
  if (module != nullptr) {
    std::vector<Dropout*> dropouts = DropoutLayers(*module);
    for (size_t i = 0; i < dropouts.size(); ++i)
      c.metadata[absl::StrFormat("%s.%d", ckpt_keys::kRngState, i)] =
          EncodeGeneratorState(dropouts[i]->rng().GetState());
  }
  c.metadata[ckpt_keys::kModelSpec] = JobSpecToJson(*model.spec);
  if (model.class_names != nullptr && !model.class_names->empty())
    c.metadata[ckpt_keys::kClassNames] = EncodeNames(*model.class_names);
  c.metadata[kExampleShapeKey] = absl::StrJoin(model.example_shape.ToVector(), ",");
  c.metadata[kNumOutputsKey] = std::to_string(model.num_outputs);
  if (model.record_shape.rank() > 0)
    c.metadata[kRecordShapeKey] = absl::StrJoin(model.record_shape.ToVector(), ",");
  if (model.feature_names != nullptr && !model.feature_names->empty())
    c.metadata[kFeatureNamesKey] = EncodeNames(*model.feature_names);
  if (model.feature_categories != nullptr)
    for (size_t j = 0; j < model.feature_categories->size(); ++j)
      if (!(*model.feature_categories)[j].empty())
        c.metadata[absl::StrCat(kFeatureCategoriesPrefix, j)] =
            EncodeNames((*model.feature_categories)[j]);
  if (model.class_weights != nullptr && !model.class_weights->empty()) {
    c.metadata[kClassWeightsKey] =
        absl::StrJoin(*model.class_weights, ",",
                      [](std::string* out, float w) { absl::StrAppendFormat(out, "%.9g", w); });
  }
  c.metadata[ckpt_keys::kHearthVersion] = "0.1.0";
  return c;
}

Status RestoreParameters(const Checkpoint& checkpoint, const ParameterSet& params,
                         const std::string& source) {
  for (int i = 0; i < params.size(); ++i) {
    const Tensor* t = checkpoint.Find(params.name(i));
    if (t == nullptr)
      return absl::NotFoundError(absl::StrFormat(
          "%s: no weights for parameter \"%s\"; the checkpoint belongs to a different model",
          source, params.name(i)));
    if (t->shape() != params.param(i).shape() || t->dtype() != DType::kFloat32)
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: parameter \"%s\" is %s in the checkpoint but %s in the model", source,
          params.name(i), t->shape().ToString(), params.param(i).shape().ToString()));
    params.param(i).CopyFrom(*t);
  }
  return absl::OkStatus();
}

Status RestoreGenerators(const Checkpoint& checkpoint, Module& module) {
  std::vector<Dropout*> dropouts = DropoutLayers(module);
  for (size_t i = 0; i < dropouts.size(); ++i) {
    const std::string* text = Meta(checkpoint, absl::StrFormat("%s.%d", ckpt_keys::kRngState, i));
    if (text == nullptr) continue;  // saved before the layer existed: keep the fresh seed
    HEARTH_ASSIGN_OR_RETURN(Generator::State state, DecodeGeneratorState(*text));
    dropouts[i]->rng().SetState(state);
  }
  return absl::OkStatus();
}

StatusOr<int> ReadWorkers(const Checkpoint& c, const std::string& source) {
  if (Meta(c, kWorkersKey) == nullptr) return 1;
  HEARTH_ASSIGN_OR_RETURN(int64_t workers, MetaInt(c, kWorkersKey, source));
  return static_cast<int>(workers);
}

StatusOr<TrainingPosition> ReadPosition(const Checkpoint& c, const std::string& source) {
  TrainingPosition p;
  HEARTH_ASSIGN_OR_RETURN(p.step, MetaInt(c, ckpt_keys::kStep, source));
  HEARTH_ASSIGN_OR_RETURN(p.epoch, MetaInt(c, ckpt_keys::kEpoch, source));
  HEARTH_ASSIGN_OR_RETURN(p.batch_in_epoch, MetaInt(c, ckpt_keys::kBatchInEpoch, source));
  return p;
}

StatusOr<v1::JobSpec> ReadSpec(const Checkpoint& c, const std::string& source) {
  const std::string* json = Meta(c, ckpt_keys::kModelSpec);
  if (json == nullptr) return Corrupt(source, "it holds no job spec (metadata \"model_spec\")");
  return ParseJobSpec(*json, source + " (model_spec)");
}

namespace {

// A per-example shape saved as "d0,d1,...".
StatusOr<Shape> ParseShapeMeta(const std::string& text, const char* key,
                               const std::string& source) {
  Shape shape;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int64_t d = 0;
    if (!absl::SimpleAtoi(part, &d) || d <= 0 || shape.rank() == kMaxRank)
      return Corrupt(source, absl::StrFormat("metadata \"%s\" is malformed", key));
    shape.push_back(d);
  }
  if (shape.rank() == 0 || !DimsWithin(shape.begin(), shape.rank(), 1, kMaxValuesPerExample))
    return Corrupt(source,
                   absl::StrFormat("metadata \"%s\" describes examples too large to be real", key));
  return shape;
}

}  // namespace

StatusOr<Shape> ReadExampleShape(const Checkpoint& c, const std::string& source) {
  const std::string* text = Meta(c, kExampleShapeKey);
  if (text == nullptr) return Corrupt(source, "metadata \"example_shape\" is missing");
  return ParseShapeMeta(*text, kExampleShapeKey, source);
}

StatusOr<Shape> ReadRecordShape(const Checkpoint& c, const Shape& example_shape,
                                const Preprocessor& preprocess, const std::string& source) {
  if (const std::string* text = Meta(c, kRecordShapeKey))
    return ParseShapeMeta(*text, kRecordShapeKey, source);
  for (const PreprocessStep& step : preprocess.steps())
    if (step.kind == PreprocessKind::kOneHot) return Shape();  // unknown: see the header
  return example_shape;
}

StatusOr<std::vector<std::string>> ReadFeatureNames(const Checkpoint& c, const Shape& record_shape,
                                                    const std::string& source) {
  const std::string* text = Meta(c, kFeatureNamesKey);
  if (text == nullptr) return std::vector<std::string>{};
  std::vector<std::string> names = DecodeNames(*text);
  if (static_cast<int64_t>(names.size()) != record_shape.numel())
    return Corrupt(source, absl::StrFormat("metadata \"%s\" names %d features, but the records "
                                           "have %d values",
                                           kFeatureNamesKey, names.size(), record_shape.numel()));
  return names;
}

StatusOr<std::vector<float>> ReadClassWeights(const Checkpoint& c, int64_t classes,
                                              const std::string& source) {
  const std::string* text = Meta(c, kClassWeightsKey);
  if (text == nullptr) return std::vector<float>{};
  std::vector<float> weights;
  for (absl::string_view part : absl::StrSplit(*text, ',')) {
    float w = 0;
    if (!absl::SimpleAtof(part, &w) || !(w > 0) || !std::isfinite(w))
      return Corrupt(source, absl::StrFormat("metadata \"%s\" holds \"%s\", not a positive "
                                             "weight",
                                             kClassWeightsKey, std::string(part)));
    weights.push_back(w);
  }
  if (static_cast<int64_t>(weights.size()) != classes)
    return Corrupt(source, absl::StrFormat("metadata \"%s\" has %d weights for %d classes",
                                           kClassWeightsKey, weights.size(), classes));
  return weights;
}

StatusOr<std::vector<std::string>> ReadClassNames(const Checkpoint& c, const std::string&) {
  const std::string* text = Meta(c, ckpt_keys::kClassNames);
  return text == nullptr ? std::vector<std::string>{} : DecodeNames(*text);
}

StatusOr<std::vector<std::vector<std::string>>> ReadFeatureCategories(const Checkpoint& c,
                                                                      const Shape& record_shape,
                                                                      const std::string& source) {
  std::vector<std::vector<std::string>> categories;
  for (const auto& [key, value] : c.metadata) {
    if (key.rfind(kFeatureCategoriesPrefix, 0) != 0) continue;
    int64_t j = -1;
    if (!absl::SimpleAtoi(key.substr(std::strlen(kFeatureCategoriesPrefix)), &j) || j < 0 ||
        record_shape.rank() == 0 || j >= record_shape.numel())
      return Corrupt(source, absl::StrFormat("metadata \"%s\" names no feature of the %d-value "
                                             "records",
                                             key, record_shape.numel()));
    categories.resize(static_cast<size_t>(record_shape.numel()));
    categories[j] = DecodeNames(value);
  }
  return categories;
}

StatusOr<Preprocessor> ReadPreprocessor(const Checkpoint& c, const std::string& source) {
  const std::string* description = Meta(c, kPreprocessKey);
  if (description == nullptr) return Preprocessor();
  std::vector<NamedTensor> state;
  for (const NamedTensor& t : c.tensors)
    if (t.name.rfind(kPreprocessStatePrefix, 0) == 0) state.push_back(t);
  auto p = Preprocessor::FromState(*description, state);
  if (!p.ok()) return Corrupt(source, std::string(p.status().message()));
  return p;
}

}  // namespace hearth::run
