// ParameterSet: rebinds parameters as views into one flat arena, with a parallel gradient arena.
#include <cstring>

#include "hearth/nn.h"

namespace hearth {

ParameterSet::ParameterSet(const Module& module) : params_(module.NamedParameters()) {
  Bind();
}

ParameterSet::ParameterSet(std::vector<NamedTensor> parameters) : params_(std::move(parameters)) {
  Bind();
}

void ParameterSet::Bind() {
  numel_ = 0;
  for (const NamedTensor& p : params_) {
    offsets_.push_back(numel_);
    // Keep every parameter 16-float (64-byte) aligned for vector loads.
    numel_ += (p.tensor.numel() + 15) / 16 * 16;
  }
  auto param_storage = std::make_shared<Storage>(numel_ * 4);
  auto grad_storage = std::make_shared<Storage>(numel_ * 4);
  std::memset(param_storage->data(), 0, numel_ * 4);
  std::memset(grad_storage->data(), 0, numel_ * 4);
  flat_params_ = Tensor::View(param_storage, 0, Shape{numel_});
  flat_grads_ = Tensor::View(grad_storage, 0, Shape{numel_});
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& t = params_[i].tensor;
    TensorImpl* impl = t.impl();
    Tensor view = Tensor::View(param_storage, offsets_[i], t.shape());
    view.CopyFrom(t);
    // Every existing handle to the parameter now sees the arena.
    impl->storage = param_storage;
    impl->offset = offsets_[i];
    param_list_.push_back(t);
    grads_.push_back(Tensor::View(grad_storage, offsets_[i], t.shape()));
  }
}

void ParameterSet::ZeroGrads() {
  flat_grads_.Fill(0.0f);
}

}  // namespace hearth
