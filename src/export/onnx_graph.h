// Building an ONNX graph one node at a time: constants become initializers, every node's output
// gets a fresh name, and attributes are set by kind. A thin layer over the libonnx-dev messages
// so that the exporter reads as the computation it writes.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hearth::onnx_export {

struct Attribute {
  enum class Kind { kInt, kInts, kFloat };
  std::string name;
  Kind kind = Kind::kInt;
  int64_t i = 0;
  std::vector<int64_t> ints;
  float f = 0;

  static Attribute Int(std::string name, int64_t v) {
    Attribute a;
    a.name = std::move(name);
    a.i = v;
    return a;
  }
  static Attribute Ints(std::string name, std::vector<int64_t> v) {
    Attribute a;
    a.name = std::move(name);
    a.kind = Kind::kInts;
    a.ints = std::move(v);
    return a;
  }
  static Attribute Float(std::string name, float v) {
    Attribute a;
    a.name = std::move(name);
    a.kind = Kind::kFloat;
    a.f = v;
    return a;
  }
};

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  // A float32 or int64 constant; returns its name.
  std::string Floats(const std::string& name, const std::vector<int64_t>& dims,
                     const float* values);
  std::string Floats(const std::string& name, const std::vector<int64_t>& dims,
                     const std::vector<float>& values) {
    return Floats(name, dims, values.data());
  }
  std::string Int64s(const std::string& name, const std::vector<int64_t>& dims,
                     const std::vector<int64_t>& values);

  // Adds node `op` and returns its (first) output's name, `<hint>_<n>`.
  std::string Node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<Attribute>& attributes = {}, const std::string& hint = "");
  // The same, writing into `output` (a graph output's name).
  void NodeInto(const std::string& op, const std::vector<std::string>& inputs,
                const std::string& output, const std::vector<Attribute>& attributes = {});

  // Graph inputs and outputs with a symbolic batch axis "N" first; dims < 0 are symbolic too.
  void Input(const std::string& name, int32_t elem_type, const std::vector<int64_t>& dims,
             const std::string& doc);
  void Output(const std::string& name, int32_t elem_type, const std::vector<int64_t>& dims,
              const std::string& doc);

 private:
  static void SetShape(onnx::TypeProto& type, int32_t elem_type, const std::vector<int64_t>& dims);

  onnx::GraphProto& graph_;
  int next_ = 0;
};

}  // namespace hearth::onnx_export
