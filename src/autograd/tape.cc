// GradientTape: records ops in execution order and walks them backwards.
#include <algorithm>
#include <atomic>
#include <functional>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_format.h"
#include "autograd/tape.h"
#include "hearth/autograd.h"
#include "hearth/status.h"

namespace hearth {
namespace {

thread_local TapeImpl* active_tape = nullptr;
// Node buffers are recycled across tapes: a training loop creates one tape per step, and a fresh
// multi-kilobyte allocation each time would cost more than a small op.
thread_local std::vector<std::vector<Node>> spare_node_buffers;
thread_local bool grad_disabled = false;
std::atomic<uint64_t> next_tape_id{1};

TapeImpl* RecordingTape() {
  return grad_disabled ? nullptr : active_tape;
}

bool Tracked(const TensorImpl* t, const TapeImpl* tape) {
  return t->requires_grad || t->tape_id == tape->id;
}

// The node that produced `t` on `tape`, or -1 for a leaf.
int32_t ProducerOn(const TensorImpl* t, const TapeImpl* tape) {
  return t->tape_id == tape->id ? t->tape_node : -1;
}

}  // namespace

bool WouldRecord(std::initializer_list<const Tensor*> inputs) {
  TapeImpl* tape = RecordingTape();
  if (!tape) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && Tracked(t->impl(), tape)) return true;
  return false;
}

Node* Record(OpCode op, std::initializer_list<Tensor> inputs, const Tensor& output,
             const OpAttrs& attrs) {
  TapeImpl* tape = RecordingTape();
  if (!tape) return nullptr;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && Tracked(t.impl(), tape));
  if (!any) return nullptr;
  Node& node = tape->nodes.emplace_back();
  node.op = op;
  node.num_inputs = static_cast<uint8_t>(inputs.size());
  int i = 0;
  for (const Tensor& t : inputs) node.inputs[i++] = t;
  node.output = output;
  node.attrs = attrs;
  output.impl()->tape_id = tape->id;
  output.impl()->tape_node = static_cast<int32_t>(tape->nodes.size() - 1);
  return &node;
}

GradientTape::GradientTape(bool persistent) : impl_(std::make_unique<TapeImpl>()) {
  impl_->id = next_tape_id.fetch_add(1, std::memory_order_relaxed);
  impl_->persistent = persistent;
  if (!spare_node_buffers.empty()) {
    impl_->nodes = std::move(spare_node_buffers.back());
    spare_node_buffers.pop_back();
  }
  previous_ = active_tape;
  active_tape = impl_.get();
}

GradientTape::~GradientTape() {
  if (active_tape == impl_.get()) active_tape = previous_;
  impl_->nodes.clear();
  if (impl_->nodes.capacity() > 0 && spare_node_buffers.size() < 4)
    spare_node_buffers.push_back(std::move(impl_->nodes));
}

void GradientTape::watch(const Tensor& t) {
  HEARTH_CHECK_MSG(t.dtype() == DType::kFloat32, "GradientTape::watch needs a float32 tensor");
  TensorImpl* impl = t.impl();
  if (impl->tape_id != impl_->id) {
    impl->tape_id = impl_->id;
    impl->tape_node = -1;
  }
}

int64_t GradientTape::size() const {
  return static_cast<int64_t>(impl_->nodes.size());
}

std::vector<Tensor> GradientTape::gradient(const Tensor& target,
                                           const std::vector<Tensor>& sources) {
  std::vector<Tensor> grads(sources.size());
  Backward(target, sources, nullptr, false, nullptr, &grads);
  return grads;
}

void GradientTape::gradient_into(const Tensor& target, const std::vector<Tensor>& sources,
                                 const std::vector<Tensor>& grads, bool accumulate,
                                 const std::function<void(int)>& on_ready) {
  HEARTH_CHECK_MSG(grads.size() == sources.size(), "gradient_into: one gradient buffer per source");
  for (size_t i = 0; i < sources.size(); ++i)
    HEARTH_CHECK_MSG(grads[i].shape() == sources[i].shape(),
                     absl::StrFormat("gradient_into: buffer %d is %s, source is %s", i,
                                     grads[i].shape().ToString(), sources[i].shape().ToString()));
  Backward(target, sources, &grads, accumulate, &on_ready, nullptr);
}

void GradientTape::Backward(const Tensor& target, const std::vector<Tensor>& sources,
                            const std::vector<Tensor>* bound, bool accumulate,
                            const std::function<void(int)>* on_ready, std::vector<Tensor>* out) {
  TapeImpl& tape = *impl_;
  HEARTH_CHECK_MSG(!tape.consumed,
                   "a non-persistent GradientTape can compute gradients only once; construct it "
                   "with GradientTape(/*persistent=*/true) to call gradient() again");
  // Ops run by the backward pass itself are never recorded.
  const bool was_disabled = grad_disabled;
  grad_disabled = true;

  const int num_sources = static_cast<int>(sources.size());
  absl::InlinedVector<GradSink, 8> sinks(num_sources);
  for (int i = 0; i < num_sources; ++i) {
    TensorImpl* s = sources[i].impl();
    HEARTH_CHECK_MSG(s->grad_slot < 0, absl::StrFormat("gradient: source %d is listed twice", i));
    s->grad_slot = i;
    if (bound) sinks[i] = GradSink::Bound((*bound)[i], accumulate);
  }

  const int num_nodes = static_cast<int>(tape.nodes.size());
  // needed[k]: node k depends on a source, so its inputs may need gradients.
  absl::InlinedVector<uint8_t, 32> needed(num_nodes, 0);
  // The earliest node that reads each source: once the backward walk has passed it, the source's
  // gradient is final.
  absl::InlinedVector<int32_t, 8> first_use(num_sources, num_nodes);
  for (int k = 0; k < num_nodes; ++k) {
    const Node& node = tape.nodes[k];
    for (int j = 0; j < node.num_inputs; ++j) {
      const TensorImpl* in = node.inputs[j].impl();
      if (!in) continue;
      if (in->grad_slot >= 0) {
        needed[k] = 1;
        first_use[in->grad_slot] = std::min(first_use[in->grad_slot], k);
      }
      const int32_t p = ProducerOn(in, &tape);
      if (p >= 0 && needed[p]) needed[k] = 1;
    }
  }
  // Sources ordered by the node after which they become final, latest first.
  absl::InlinedVector<std::pair<int32_t, int>, 8> ready_order(num_sources);
  for (int i = 0; i < num_sources; ++i) ready_order[i] = {first_use[i], i};
  std::sort(ready_order.begin(), ready_order.end(), std::greater<>());
  size_t next_ready = 0;

  absl::InlinedVector<GradSink, 16> node_grads(num_nodes);
  const TensorImpl* t = target.impl();
  const int32_t target_node = ProducerOn(t, &tape);
  if (t->grad_slot >= 0) {
    sinks[t->grad_slot].Add(Tensor::Ones(target.shape()));
  } else if (target_node >= 0) {
    node_grads[target_node].Add(Tensor::Ones(target.shape()));
  }

  const bool has_hook = on_ready && *on_ready;
  auto report_ready = [&](int k) {
    for (; next_ready < ready_order.size() && ready_order[next_ready].first == k; ++next_ready) {
      const int i = ready_order[next_ready].second;
      sinks[i].FinishUnwritten();
      if (has_hook) (*on_ready)(i);
    }
  };
  report_ready(num_nodes);  // sources no op reads are final (zero) from the start
  for (int k = num_nodes - 1; k >= 0; --k) {
    const Node& node = tape.nodes[k];
    // An output that is itself a source carries the gradient accumulated in its sink.
    const TensorImpl* o = node.output.impl();
    GradSink& grad_sink = o->grad_slot >= 0 ? sinks[o->grad_slot] : node_grads[k];
    if (needed[k] && grad_sink.written()) {
      GradSink* in_sinks[3] = {nullptr, nullptr, nullptr};
      for (int j = 0; j < node.num_inputs; ++j) {
        const TensorImpl* in = node.inputs[j].impl();
        if (!in) continue;
        if (in->grad_slot >= 0) {
          in_sinks[j] = &sinks[in->grad_slot];
        } else {
          const int32_t p = ProducerOn(in, &tape);
          if (p >= 0 && needed[p]) in_sinks[j] = &node_grads[p];
        }
      }
      ApplyGradientRule(node, grad_sink.value(), in_sinks);
    }
    node_grads[k] = GradSink();  // free this gradient as soon as it has been propagated
    report_ready(k);
  }

  for (int i = 0; i < num_sources; ++i) {
    sources[i].impl()->grad_slot = -1;
    if (out) {
      (*out)[i] = sinks[i].written() ? sinks[i].value() : Tensor::Zeros(sources[i].shape());
    }
  }
  grad_disabled = was_disabled;
  if (!tape.persistent) {
    tape.consumed = true;
    tape.nodes.clear();  // frees the intermediates; the buffer itself is recycled
  }
}

NoGradGuard::NoGradGuard() : previous_(grad_disabled) {
  grad_disabled = true;
}
NoGradGuard::~NoGradGuard() {
  grad_disabled = previous_;
}

}  // namespace hearth
