// Internal tape state shared by the recorder (op_table.h's Record) and the backward pass.
#pragma once

#include <vector>

#include "autograd/grad_sink.h"
#include "autograd/op_table.h"

namespace hearth {

struct TapeImpl {
  uint64_t id;
  bool persistent;
  bool consumed = false;  // a non-persistent tape was used
  std::vector<Node> nodes;
};

// Computes the gradients of one node: the table of rules (gradient_rules.cc). sinks[i] is null
// when input i needs no gradient.
void ApplyGradientRule(const Node& node, const Tensor& grad, GradSink* sinks[3]);

}  // namespace hearth
