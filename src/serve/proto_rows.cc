#include "serve/proto_rows.h"

#include <map>
#include <string>

#include "absl/strings/str_format.h"

namespace hearth::serve {
namespace {

json::Value CellValue(const v1::Cell& cell) {
  json::Value v;
  switch (cell.value_case()) {
    case v1::Cell::kNumber:
      v.type = json::Value::Type::kNumber;
      json::AppendDouble(v.text, cell.number());
      break;
    case v1::Cell::kText:
      v.type = json::Value::Type::kString;
      v.text = cell.text();
      break;
    default:  // missing, or nothing set
      v.type = json::Value::Type::kNull;
  }
  return v;
}

}  // namespace

Status AppendProtoRow(const FeatureRows& rows, const v1::Row& row, int64_t row_index,
                      std::vector<float>& out) {
  if (row.values_size() > 0 && row.fields_size() > 0)
    return absl::InvalidArgumentError(absl::StrFormat(
        "rows[%d]: give values (in feature order) or fields (by column name), not both",
        row_index));
  json::Value value;
  value.type = row.fields_size() > 0 ? json::Value::Type::kObject : json::Value::Type::kArray;
  if (row.fields_size() > 0) {
    // Map order is unspecified; sorted keys make errors the same on every call.
    std::map<std::string, const v1::Cell*> sorted;
    for (const auto& [name, cell] : row.fields()) sorted[name] = &cell;
    for (const auto& [name, cell] : sorted)
      value.object.push_back(json::Value::Member{name, {}, CellValue(*cell)});
  } else {
    value.packed = true;
    value.numbers.assign(row.values().begin(), row.values().end());
  }
  return rows.AppendRow(value, row_index, out);
}

}  // namespace hearth::serve
