#include "export/onnx_graph.h"

#include "absl/strings/str_cat.h"

namespace hearth::onnx_export {

std::string GraphBuilder::Floats(const std::string& name, const std::vector<int64_t>& dims,
                                 const float* values) {
  onnx::TensorProto* t = graph_.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  int64_t count = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    count *= d;
  }
  // raw_data is little-endian float32, as this machine's floats are.
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values), count * sizeof(float)));
  return name;
}

std::string GraphBuilder::Int64s(const std::string& name, const std::vector<int64_t>& dims,
                                 const std::vector<int64_t>& values) {
  onnx::TensorProto* t = graph_.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t->add_dims(d);
  for (int64_t v : values) t->add_int64_data(v);
  return name;
}

std::string GraphBuilder::Node(const std::string& op, const std::vector<std::string>& inputs,
                               const std::vector<Attribute>& attributes, const std::string& hint) {
  const std::string output = absl::StrCat(hint.empty() ? op : hint, "_", next_++);
  NodeInto(op, inputs, output, attributes);
  return output;
}

void GraphBuilder::NodeInto(const std::string& op, const std::vector<std::string>& inputs,
                            const std::string& output, const std::vector<Attribute>& attributes) {
  onnx::NodeProto* node = graph_.add_node();
  node->set_op_type(op);
  node->set_name(output);
  for (const std::string& in : inputs) node->add_input(in);
  node->add_output(output);
  for (const Attribute& a : attributes) {
    onnx::AttributeProto* attr = node->add_attribute();
    attr->set_name(a.name);
    switch (a.kind) {
      case Attribute::Kind::kInt:
        attr->set_type(onnx::AttributeProto::INT);
        attr->set_i(a.i);
        break;
      case Attribute::Kind::kInts:
        attr->set_type(onnx::AttributeProto::INTS);
        for (int64_t v : a.ints) attr->add_ints(v);
        break;
      case Attribute::Kind::kFloat:
        attr->set_type(onnx::AttributeProto::FLOAT);
        attr->set_f(a.f);
        break;
    }
  }
}

void GraphBuilder::SetShape(onnx::TypeProto& type, int32_t elem_type,
                            const std::vector<int64_t>& dims) {
  onnx::TypeProto::Tensor* tensor = type.mutable_tensor_type();
  tensor->set_elem_type(elem_type);
  onnx::TensorShapeProto* shape = tensor->mutable_shape();
  shape->add_dim()->set_dim_param("N");
  for (int64_t d : dims) {
    if (d < 0)
      shape->add_dim()->set_dim_param(absl::StrCat("d", shape->dim_size()));
    else
      shape->add_dim()->set_dim_value(d);
  }
}

void GraphBuilder::Input(const std::string& name, int32_t elem_type,
                         const std::vector<int64_t>& dims, const std::string& doc) {
  onnx::ValueInfoProto* v = graph_.add_input();
  v->set_name(name);
  v->set_doc_string(doc);
  SetShape(*v->mutable_type(), elem_type, dims);
}

void GraphBuilder::Output(const std::string& name, int32_t elem_type,
                          const std::vector<int64_t>& dims, const std::string& doc) {
  onnx::ValueInfoProto* v = graph_.add_output();
  v->set_name(name);
  v->set_doc_string(doc);
  SetShape(*v->mutable_type(), elem_type, dims);
}

}  // namespace hearth::onnx_export
