#include "coordinator/spec_fields.h"

#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace hearth::coordinator {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

struct Segment {
  std::string name;
  int index = -1;  // -1: not indexed
};

bool IsNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9');
}

// "name" or "name[index]": a bounded scanner, no regex and no exceptions.
StatusOr<Segment> ParseSegment(const std::string& path, absl::string_view part) {
  auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: \"%s\" is not a field name (expected e.g. optimizer.lr or "
                        "model.layers[0].dense.units)",
                        path, part));
  };
  size_t end = 0;
  if (part.empty() || !IsNameStart(part[0])) return invalid();
  while (end < part.size() && IsNameChar(part[end])) ++end;
  Segment segment{std::string(part.substr(0, end)), -1};
  if (end == part.size()) return segment;
  if (part[end] != '[' || part.back() != ']') return invalid();
  const absl::string_view digits = part.substr(end + 1, part.size() - end - 2);
  int index = 0;
  for (char c : digits)
    if (c < '0' || c > '9') return invalid();
  if (digits.empty() || !absl::SimpleAtoi(digits, &index) || index > (1 << 20))
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: the index in \"%s\" is not a list position (0 to %d)", path, part, 1 << 20));
  segment.index = index;
  return segment;
}

StatusOr<std::vector<Segment>> ParsePath(const std::string& path) {
  if (path.empty())
    return absl::InvalidArgumentError("empty path: name a field, e.g. optimizer.lr");
  if (path.size() > 256)
    return absl::InvalidArgumentError(
        absl::StrFormat("%s...: a field path of more than 256 characters", path.substr(0, 40)));
  std::vector<Segment> segments;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    HEARTH_ASSIGN_OR_RETURN(Segment segment, ParseSegment(path, part));
    segments.push_back(std::move(segment));
  }
  return segments;
}

const FieldDescriptor* FindField(const Message& message, const std::string& name) {
  const auto* descriptor = message.GetDescriptor();
  if (const FieldDescriptor* f = descriptor->FindFieldByName(name)) return f;
  for (int i = 0; i < descriptor->field_count(); ++i)
    if (descriptor->field(i)->json_name() == name) return descriptor->field(i);
  return nullptr;
}

// Walks to the message holding the last segment's field.
StatusOr<std::pair<Message*, const FieldDescriptor*>> Walk(Message& root, const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(std::vector<Segment> segments, ParsePath(path));
  Message* message = &root;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    const FieldDescriptor* field = FindField(*message, s.name);
    if (field == nullptr)
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: %s has no field \"%s\"", path, message->GetTypeName(), s.name));
    const bool last = i + 1 == segments.size();
    if (last) {
      if (s.index >= 0 || field->is_repeated() ||
          field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: \"%s\" is not a single number field", path, s.name));
      return std::make_pair(message, field);
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE)
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: \"%s\" is a value, not a message to go into", path, s.name));
    const auto* reflection = message->GetReflection();
    if (field->is_repeated()) {
      const int size = reflection->FieldSize(*message, field);
      if (s.index < 0 || s.index >= size)
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: \"%s\" needs an index from 0 to %d", path, s.name, size - 1));
      message = reflection->MutableRepeatedMessage(message, field, s.index);
    } else {
      if (s.index >= 0)
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: \"%s\" is not a list", path, s.name));
      message = reflection->MutableMessage(message, field);
    }
  }
  return absl::InvalidArgumentError(path + ": empty path");
}

bool IsInteger(const FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return true;
    default:
      return false;
  }
}

}  // namespace

StatusOr<bool> IsIntegerField(const Message& message, const std::string& path) {
  std::unique_ptr<Message> copy(message.New());
  copy->CopyFrom(message);
  HEARTH_ASSIGN_OR_RETURN(auto where, Walk(*copy, path));
  const FieldDescriptor* field = where.second;
  if (!IsInteger(field) && field->cpp_type() != FieldDescriptor::CPPTYPE_DOUBLE &&
      field->cpp_type() != FieldDescriptor::CPPTYPE_FLOAT)
    return absl::InvalidArgumentError(absl::StrFormat("%s: not a number field", path));
  return IsInteger(field);
}

Status SetNumericField(Message& message, const std::string& path, double value) {
  HEARTH_ASSIGN_OR_RETURN(auto where, Walk(message, path));
  auto [target, field] = where;
  const auto* reflection = target->GetReflection();
  const double rounded = std::round(value);
  auto fits = [&](double lo, double hi) {
    return std::isfinite(value) && rounded >= lo && rounded <= hi;
  };
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_DOUBLE:
      reflection->SetDouble(target, field, value);
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_FLOAT:
      reflection->SetFloat(target, field, static_cast<float>(value));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT32:
      if (!fits(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max())) break;
      reflection->SetInt32(target, field, static_cast<int32_t>(rounded));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT64:
      if (!fits(-9.0e18, 9.0e18)) break;
      reflection->SetInt64(target, field, static_cast<int64_t>(rounded));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_UINT32:
      if (!fits(0, std::numeric_limits<uint32_t>::max())) break;
      reflection->SetUInt32(target, field, static_cast<uint32_t>(rounded));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_UINT64:
      if (!fits(0, 1.8e19)) break;
      reflection->SetUInt64(target, field, static_cast<uint64_t>(rounded));
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(absl::StrFormat("%s: not a number field", path));
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: %g does not fit this integer field", path, value));
}

}  // namespace hearth::coordinator
