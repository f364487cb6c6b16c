// The CSV reader on arbitrary text, with the options a job can set (header or not, delimiter,
// label by name or index, string labels mapped through class names).
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "hearth/data/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const hearth::fuzz::Split input = hearth::fuzz::Choose(data, size);
  hearth::CsvOptions options;
  options.has_header = (input.choice & 1) == 0;
  options.delimiter = (input.choice & 2) ? ';' : ',';
  options.label_kind =
      (input.choice & 4) ? hearth::LabelKind::kRegression : hearth::LabelKind::kClassification;
  if (input.choice & 8) {
    options.label_columns.push_back(hearth::ColumnRef(-1));
  } else if (options.has_header) {
    options.label_columns.push_back(hearth::ColumnRef("label"));
  }
  if (input.choice & 16) options.class_names = std::vector<std::string>{"a", "b", "yes", "no"};
  if (input.choice & 32) options.num_classes = 3;
  if ((input.choice & 64) && options.has_header)
    options.feature_columns = {hearth::ColumnRef("x"), hearth::ColumnRef(0)};
  (void)hearth::ParseCsv(input.rest, "fuzz.csv", options);
  return 0;
}
