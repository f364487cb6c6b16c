// Module: parameter registration and traversal, train/eval mode.
#include "hearth/nn.h"

namespace hearth {
namespace {

void Collect(const std::string& prefix, const std::vector<NamedTensor>& params,
             std::vector<NamedTensor>* out) {
  for (const NamedTensor& p : params) out->push_back({prefix + p.name, p.tensor});
}

}  // namespace

Tensor& Module::RegisterParameter(const std::string& name, Tensor value) {
  value.set_requires_grad(true);
  parameters_.push_back({name, std::move(value)});
  return parameters_.back().tensor;
}

Module* Module::RegisterModule(const std::string& name, std::unique_ptr<Module> child) {
  child->Train(training_);
  children_.emplace_back(name, std::move(child));
  return children_.back().second.get();
}

std::vector<NamedTensor> Module::NamedParameters() const {
  std::vector<NamedTensor> out;
  Collect("", parameters_, &out);
  for (const auto& [name, child] : children_) Collect(name + ".", child->NamedParameters(), &out);
  return out;
}

std::vector<Tensor> Module::Parameters() const {
  std::vector<Tensor> out;
  for (NamedTensor& p : NamedParameters()) out.push_back(std::move(p.tensor));
  return out;
}

int64_t Module::ParameterCount() const {
  int64_t n = 0;
  for (const NamedTensor& p : NamedParameters()) n += p.tensor.numel();
  return n;
}

std::vector<Module*> Module::Children() const {
  std::vector<Module*> out;
  for (const auto& [name, child] : children_) out.push_back(child.get());
  return out;
}

void Module::Train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->Train(on);
}

}  // namespace hearth
