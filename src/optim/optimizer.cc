// The Optimizer base: the two ways of applying an update (flat arena, per variable), the state
// each keeps, the learning rate, and checkpointing of the arena state.
#include "hearth/optim.h"

#include <cmath>
#include <cstring>
#include <string_view>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "hearth/nn.h"

namespace hearth {
namespace {

// Plain C strings: this abseil's string_view is not std::string_view.
constexpr char kStatePrefix[] = "optim.";
constexpr char kStepName[] = "optim.step";

// An empty ParameterSet may have no arena at all.
std::shared_ptr<Storage> ArenaStorage(const ParameterSet& params) {
  const Tensor& flat = params.flat_params();
  return flat.defined() ? flat.storage() : nullptr;
}

bool SameOwner(const std::weak_ptr<Storage>& a, const std::shared_ptr<Storage>& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

std::string StateName(const std::string& param, const std::string& slot) {
  return absl::StrCat(kStatePrefix, param, ".", slot);
}

}  // namespace

Optimizer::Optimizer(double lr, std::vector<std::string> slot_names)
    : slot_names_(std::move(slot_names)), lr_(lr) {
  HEARTH_CHECK(slot_names_.size() <= static_cast<size_t>(kMaxSlots));
}

Optimizer::~Optimizer() = default;

void Optimizer::SetLearningRate(double lr) {
  HEARTH_CHECK_MSG(std::isfinite(lr) && lr >= 0.0,
                   absl::StrFormat("learning rate must be finite and >= 0, got %g", lr));
  lr_ = lr;
  schedule_.reset();
}

void Optimizer::SetSchedule(std::unique_ptr<LearningRateSchedule> schedule) {
  HEARTH_CHECK(schedule != nullptr);
  schedule_ = std::move(schedule);
}

double Optimizer::learning_rate() const {
  return schedule_ ? schedule_->LearningRate(iterations_) : lr_;
}

Optimizer::SlotBlock Optimizer::NewBlock(int64_t n) const {
  SlotBlock block;
  block.n = n;
  block.stride = (n + 15) / 16 * 16;
  const int64_t bytes = block.stride * static_cast<int64_t>(slot_names_.size() * sizeof(float));
  block.storage = std::make_shared<Storage>(bytes);
  if (bytes > 0) std::memset(block.storage->data(), 0, static_cast<size_t>(bytes));
  return block;
}

void Optimizer::ApplyBlock(SlotBlock& block, float* param, const float* grad, double lr) const {
  float* slots[kMaxSlots] = {};
  float* base = static_cast<float*>(block.storage->data());
  for (size_t k = 0; k < slot_names_.size(); ++k) slots[k] = base + k * block.stride;
  ++block.step;
  Update(Span{param, grad, slots, block.n, block.step, lr});
}

void Optimizer::BindArena(const ParameterSet& params) {
  const std::shared_ptr<Storage> storage = ArenaStorage(params);
  if (arena_.storage != nullptr && SameOwner(arena_params_, storage)) return;
  arena_ = NewBlock(params.numel());
  arena_params_ = storage;
}

void Optimizer::Step(ParameterSet& params) {
  const double lr = learning_rate();
  if (arena_.storage == nullptr) BindArena(params);
  HEARTH_CHECK_MSG(SameOwner(arena_params_, ArenaStorage(params)),
                   "Optimizer::Step: the optimizer's state belongs to another ParameterSet");
  if (params.numel() > 0)
    ApplyBlock(arena_, params.flat_params().f32(), params.flat_grads().f32(), lr);
  ++iterations_;
}

void Optimizer::ApplyGradients(const std::vector<Tensor>& grads, const std::vector<Tensor>& vars) {
  HEARTH_CHECK_MSG(
      grads.size() == vars.size(),
      absl::StrFormat("ApplyGradients: %d gradients for %d variables", grads.size(), vars.size()));
  const double lr = learning_rate();
  for (size_t i = 0; i < vars.size(); ++i) {
    const Tensor& var = vars[i];
    const Tensor& grad = grads[i];
    HEARTH_CHECK_MSG(var.defined(), absl::StrFormat("ApplyGradients: variable %d is undefined", i));
    if (!grad.defined()) continue;
    HEARTH_CHECK_MSG(grad.shape() == var.shape(),
                     absl::StrFormat("ApplyGradients: gradient %d has shape %s but its variable "
                                     "has shape %s",
                                     i, grad.shape().ToString(), var.shape().ToString()));
    HEARTH_CHECK_MSG(
        var.dtype() == DType::kFloat32 && grad.dtype() == DType::kFloat32,
        absl::StrFormat("ApplyGradients: variable %d and its gradient must be float32", i));
    auto [it, inserted] = variables_.try_emplace(var.impl());
    if (inserted) it->second = VariableState{var, NewBlock(var.numel())};
    ApplyBlock(it->second.block, var.f32(), grad.f32(), lr);
  }
  ++iterations_;
}

std::vector<NamedTensor> Optimizer::State(const ParameterSet& params) {
  if (arena_.storage == nullptr) BindArena(params);
  HEARTH_CHECK_MSG(SameOwner(arena_params_, ArenaStorage(params)),
                   "Optimizer::State: the optimizer's state belongs to another ParameterSet");
  std::vector<NamedTensor> state;
  state.reserve(1 + params.size() * slot_names_.size());
  state.push_back({std::string(kStepName), Tensor::FromInt64({iterations_}, Shape{})});
  for (int i = 0; i < params.size(); ++i) {
    for (size_t k = 0; k < slot_names_.size(); ++k) {
      state.push_back(
          {StateName(params.name(i), slot_names_[k]),
           Tensor::View(arena_.storage, static_cast<int64_t>(k) * arena_.stride + params.offset(i),
                        params.param(i).shape())});
    }
  }
  return state;
}

absl::Status Optimizer::LoadState(const ParameterSet& params,
                                  const std::vector<NamedTensor>& state) {
  std::unordered_map<std::string_view, const Tensor*> by_name;
  for (const NamedTensor& entry : state) {
    if (!std::string_view(entry.name).starts_with(kStatePrefix)) continue;
    if (!by_name.emplace(std::string_view(entry.name), &entry.tensor).second)
      return absl::InvalidArgumentError(
          absl::StrFormat("optimizer state tensor '%s' appears twice", entry.name));
  }

  const auto step_it = by_name.find(std::string_view(kStepName));
  if (step_it == by_name.end())
    return absl::NotFoundError(
        absl::StrFormat("optimizer state tensor '%s' is missing", kStepName));
  const Tensor& step = *step_it->second;
  if (!step.defined() || step.dtype() != DType::kInt64 || step.numel() != 1)
    return absl::InvalidArgumentError(absl::StrFormat(
        "optimizer state tensor '%s' must hold one int64 value, got %s", kStepName,
        step.defined() ? absl::StrCat(step.shape().ToString(), " ", DTypeName(step.dtype()))
                       : "an undefined tensor"));
  const int64_t steps = *step.i64();
  if (steps < 0)
    return absl::InvalidArgumentError(
        absl::StrFormat("optimizer state tensor '%s' is negative (%d)", kStepName, steps));

  // Check every tensor before touching the live state, so a failed load changes nothing.
  std::unordered_set<std::string> expected = {std::string(kStepName)};
  std::vector<const Tensor*> sources;
  sources.reserve(params.size() * slot_names_.size());
  for (int i = 0; i < params.size(); ++i) {
    const Tensor& param = params.param(i);
    for (const std::string& slot : slot_names_) {
      std::string name = StateName(params.name(i), slot);
      const auto it = by_name.find(std::string_view(name));
      if (it == by_name.end())
        return absl::NotFoundError(absl::StrFormat(
            "optimizer state tensor '%s' is missing (the checkpoint may come from a different "
            "optimizer or configuration than %s)",
            name, Describe()));
      const Tensor& t = *it->second;
      if (!t.defined() || t.dtype() != DType::kFloat32 || t.shape() != param.shape())
        return absl::InvalidArgumentError(absl::StrFormat(
            "optimizer state tensor '%s' is %s, expected float32 %s like parameter '%s'", name,
            t.defined() ? absl::StrCat(DTypeName(t.dtype()), " ", t.shape().ToString())
                        : "undefined",
            param.shape().ToString(), params.name(i)));
      sources.push_back(&t);
      expected.insert(std::move(name));
    }
  }
  for (const NamedTensor& entry : state) {
    if (std::string_view(entry.name).starts_with(kStatePrefix) && !expected.contains(entry.name))
      return absl::InvalidArgumentError(absl::StrFormat(
          "unexpected optimizer state tensor '%s' (the checkpoint may come from a different "
          "optimizer or configuration than %s)",
          entry.name, Describe()));
  }

  BindArena(params);
  float* base = static_cast<float*>(arena_.storage->data());
  size_t next = 0;
  for (int i = 0; i < params.size(); ++i) {
    for (size_t k = 0; k < slot_names_.size(); ++k) {
      const Tensor& src = *sources[next++];
      // memmove: `state` may be this optimizer's own State() views.
      std::memmove(base + static_cast<int64_t>(k) * arena_.stride + params.offset(i), src.f32(),
                   static_cast<size_t>(src.numel()) * sizeof(float));
    }
  }
  arena_.step = steps;
  iterations_ = steps;
  return absl::OkStatus();
}

}  // namespace hearth
