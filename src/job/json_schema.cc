// Type-checks a JSON document against a protobuf descriptor, collecting positioned errors.
#include "job/json_schema.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace hearth::job_internal {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using Kind = json::Value::Type;

// A spec with more mistakes than this is better fixed in rounds.
constexpr size_t kMaxErrors = 20;

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

class Checker {
 public:
  std::vector<std::string> errors;

  void Message(const json::Value& v, const Descriptor& type, const std::string& path) {
    if (v.type != Kind::kObject) {
      Add(v.pos, path, absl::StrFormat("expected an object, found %s", json::TypeName(v.type)));
      return;
    }
    std::map<std::string, json::Pos> seen;    // field name -> first key position
    std::map<int, std::string> oneof_member;  // oneof index -> the member already set
    for (const json::Value::Member& m : v.object) {
      const std::string field_path = Child(path, m.key);
      const FieldDescriptor* field = type.FindFieldByName(m.key);
      if (field == nullptr) field = type.FindFieldByCamelcaseName(m.key);
      if (field == nullptr) {
        Add(m.key_pos, field_path, UnknownField(type, m.key));
        continue;
      }
      if (auto [it, fresh] = seen.emplace(field->name(), m.key_pos); !fresh) {
        Add(m.key_pos, field_path,
            absl::StrFormat("repeated key (first at line %d, column %d): give each field once",
                            it->second.line, it->second.column));
        continue;
      }
      const auto* oneof = field->real_containing_oneof();
      if (oneof != nullptr && m.value.type != Kind::kNull) {
        auto [it, fresh] = oneof_member.emplace(oneof->index(), field->name());
        if (!fresh) {
          std::vector<std::string> names;
          for (int i = 0; i < oneof->field_count(); ++i) names.push_back(oneof->field(i)->name());
          Add(m.key_pos, path.empty() ? m.key : path,
              absl::StrFormat("\"%s\" and \"%s\" cannot both be set: choose one of %s", it->second,
                              field->name(), absl::StrJoin(names, ", ")));
          continue;
        }
      }
      Field(m.value, *field, field_path);
    }
  }

 private:
  void Add(json::Pos pos, const std::string& path, const std::string& problem) {
    if (errors.size() >= kMaxErrors) return;
    errors.push_back(absl::StrFormat("%d:%d: %s: %s", pos.line, pos.column,
                                     path.empty() ? "(top level)" : path, problem));
  }

  static std::string UnknownField(const Descriptor& type, std::string_view key) {
    std::string best;
    size_t best_distance = 3;  // suggest only near misses
    for (int i = 0; i < type.field_count(); ++i) {
      const std::string& name = type.field(i)->name();
      const size_t d = EditDistance(absl::AsciiStrToLower(std::string(key)), name);
      if (d < best_distance) best_distance = d, best = name;
    }
    if (type.field_count() == 0)
      return absl::StrFormat("unknown field: %s takes no fields ({})", type.name());
    if (!best.empty())
      return absl::StrFormat("unknown field, did you mean \"%s\"? (expected one of: %s)", best,
                             FieldList(type));
    return absl::StrFormat("unknown field (expected one of: %s)", FieldList(type));
  }

  void Field(const json::Value& v, const FieldDescriptor& field, const std::string& path) {
    if (v.type == Kind::kNull) return;  // protobuf reads null as "not set"
    if (field.is_repeated()) {
      if (v.type != Kind::kArray) {
        Add(v.pos, path, absl::StrFormat("expected a list, found %s", json::TypeName(v.type)));
        return;
      }
      for (size_t i = 0; i < v.array.size(); ++i) {
        const json::Value& e = v.array[i];
        const std::string element_path = absl::StrFormat("%s[%d]", path, i);
        if (e.type == Kind::kNull) {
          Add(e.pos, element_path, "null is not allowed in a list");
          continue;
        }
        Singular(e, field, element_path);
      }
      return;
    }
    Singular(v, field, path);
  }

  void Singular(const json::Value& v, const FieldDescriptor& field, const std::string& path) {
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        Message(v, *field.message_type(), path);
        return;
      case FieldDescriptor::CPPTYPE_ENUM:
        Enum(v, *field.enum_type(), path);
        return;
      case FieldDescriptor::CPPTYPE_BOOL:
        if (v.type != Kind::kBool)
          Add(v.pos, path,
              absl::StrFormat("expected true or false, found %s", json::TypeName(v.type)));
        return;
      case FieldDescriptor::CPPTYPE_STRING:
        if (v.type != Kind::kString)
          Add(v.pos, path, absl::StrFormat("expected a string, found %s", json::TypeName(v.type)));
        return;
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        Float(v, path);
        return;
      case FieldDescriptor::CPPTYPE_INT32:
        Integer(v, path, -2147483648.0, 2147483647.0, "-2147483648 to 2147483647");
        return;
      case FieldDescriptor::CPPTYPE_UINT32:
        Integer(v, path, 0.0, 4294967295.0, "0 to 4294967295");
        return;
      case FieldDescriptor::CPPTYPE_INT64:
        Integer(v, path, -9223372036854775808.0, 9223372036854775807.0,
                "-9223372036854775808 to 9223372036854775807", true);
        return;
      case FieldDescriptor::CPPTYPE_UINT64:
        Integer(v, path, 0.0, 18446744073709551615.0, "0 to 18446744073709551615", true);
        return;
    }
  }

  void Enum(const json::Value& v, const EnumDescriptor& type, const std::string& path) {
    if (v.type == Kind::kString) {
      if (type.FindValueByName(v.text) != nullptr) return;
      const std::string upper = absl::AsciiStrToUpper(v.text);
      if (type.FindValueByName(upper) != nullptr) {
        Add(v.pos, path,
            absl::StrFormat("invalid value \"%s\": enum values are upper case, write \"%s\"",
                            v.text, upper));
        return;
      }
      Add(v.pos, path,
          absl::StrFormat("invalid value \"%s\" (expected one of: %s)", v.text,
                          EnumValueList(type)));
      return;
    }
    int number = 0;
    if (v.type == Kind::kNumber && absl::SimpleAtoi(v.text, &number) &&
        type.FindValueByNumber(number) != nullptr)
      return;
    Add(v.pos, path,
        absl::StrFormat("expected one of: %s; found %s%s", EnumValueList(type),
                        json::TypeName(v.type), v.type == Kind::kNumber ? " " + v.text : ""));
  }

  void Float(const json::Value& v, const std::string& path) {
    double d = 0;
    if (v.type == Kind::kNumber) {
      // Out-of-range literals such as 1e999 parse to infinity; protobuf rejects them.
      if (!absl::SimpleAtod(v.text, &d) || !std::isfinite(d))
        Add(v.pos, path, absl::StrFormat("number %s is out of range", v.text));
      return;
    }
    // The JSON mapping spells non-finite values as strings; numbers may be quoted too.
    if (v.type == Kind::kString && (v.text == "NaN" || v.text == "Infinity" ||
                                    v.text == "-Infinity" || absl::SimpleAtod(v.text, &d)))
      return;
    Add(v.pos, path, absl::StrFormat("expected a number, found %s", json::TypeName(v.type)));
  }

  // Integers are written as integers: "3", not "3.0", "3e0" or (except for 64-bit fields, which
  // the JSON mapping prints as strings) "\"3\"". [lo, hi] is checked in double, which is close
  // enough: protobuf checks the last digits.
  void Integer(const json::Value& v, const std::string& path, double lo, double hi,
               const char* range, bool allow_string = false) {
    const bool string_ok = allow_string && v.type == Kind::kString;
    if (v.type != Kind::kNumber && !string_ok) {
      Add(v.pos, path,
          absl::StrFormat("expected an integer, found %s%s", json::TypeName(v.type),
                          v.type == Kind::kString ? " (write numbers without quotes)" : ""));
      return;
    }
    double d = 0;
    if (v.text.find_first_of(".eE") != std::string::npos || !absl::SimpleAtod(v.text, &d) ||
        v.text.empty()) {
      Add(v.pos, path, absl::StrFormat("expected an integer, found %s", v.text));
      return;
    }
    if (d < lo || d > hi)
      Add(v.pos, path, absl::StrFormat("%s is out of range (%s)", v.text, range));
  }
};

}  // namespace

std::vector<std::string> CheckJsonAgainstSchema(const json::Value& root, const Descriptor& type) {
  Checker checker;
  checker.Message(root, type, "");
  return std::move(checker.errors);
}

std::string EnumValueList(const EnumDescriptor& type) {
  std::vector<std::string> names;
  for (int i = 0; i < type.value_count(); ++i)
    if (type.value(i)->number() != 0) names.push_back(type.value(i)->name());
  return absl::StrJoin(names, ", ");
}

std::string FieldList(const Descriptor& type) {
  std::vector<std::string> names;
  for (int i = 0; i < type.field_count(); ++i) names.push_back(type.field(i)->name());
  return absl::StrJoin(names, ", ");
}

std::optional<json::Pos> LocatePath(const json::Value& root, std::string_view path) {
  const json::Value* v = &root;
  json::Pos pos = root.pos;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') ++i;
    if (path[i] == '[') {
      const size_t close = path.find(']', i);
      int64_t index = 0;
      if (close == std::string_view::npos ||
          !absl::SimpleAtoi(std::string(path.substr(i + 1, close - i - 1)), &index))
        return std::nullopt;
      if (v->type != json::Value::Type::kArray || index < 0 ||
          index >= static_cast<int64_t>(v->array.size()))
        return std::nullopt;
      v = &v->array[index];
      pos = v->pos;
      i = close + 1;
      continue;
    }
    size_t end = path.find_first_of(".[", i);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view key = path.substr(i, end - i);
    if (v->type != json::Value::Type::kObject) return std::nullopt;
    const json::Value::Member* found = nullptr;
    // The last occurrence, as protobuf keeps the last of repeated keys.
    for (const json::Value::Member& m : v->object)
      if (m.key == key) found = &m;
    if (found == nullptr) return std::nullopt;
    v = &found->value;
    pos = found->key_pos;
    i = end;
  }
  return pos;
}

}  // namespace hearth::job_internal
