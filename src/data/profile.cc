// ProfileCsv: the file read in chunks, each record counted by every column's ColumnProfiler, and
// the table-level figures (duplicate rows, the label's classes).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "data/cells.h"
#include "data/column_profiler.h"
#include "data/csv_tokenizer.h"
#include "data/file_reader.h"
#include "hearth/data/csv.h"
#include "hearth/data/profile.h"

namespace hearth {
namespace {

using data_internal::ColumnProfiler;
using data_internal::CsvTokenizer;
using data_internal::LabelCell;

// A label with more distinct values than this is not a class label.
constexpr int64_t kMaxLabelClasses = 100;
// A record longer than this (a quoted field that never closes, say) is an error, not a reason to
// read the whole file into memory.
constexpr int64_t kMaxRecordBytes = 64 << 20;

class CsvProfiler {
 public:
  CsvProfiler(std::string_view source, const ProfileOptions& options)
      : source_(source), options_(options), rows_(options.max_row_hashes) {
    if (options_.missing_values.empty())
      options_.missing_values = CsvOptions::DefaultMissingValues();
  }

  // Reads the records in `text` (whole records only unless `at_end`), starting on line
  // `*line`. Returns how many bytes it consumed; with !at_end, a record it could not finish is
  // left for the next call (more text).
  StatusOr<size_t> Consume(std::string_view text, bool at_end, int64_t* line) {
    CsvTokenizer tokenizer(text, source_, options_.delimiter, *line);
    std::vector<std::string_view> fields;
    for (;;) {
      const size_t start = tokenizer.position();
      const int64_t start_line = tokenizer.line();
      StatusOr<bool> any = tokenizer.Next(&fields);
      // The text ends at a line break, so only a quoted field can run past it: that record is
      // retried with more text.
      if (!any.ok() && !at_end &&
          absl::StrContains(any.status().message(), "unterminated quoted field")) {
        *line = start_line;
        return start;
      }
      if (!any.ok()) return any.status();
      if (!*any) break;
      HEARTH_RETURN_IF_ERROR(Record(fields, tokenizer.record_line()));
    }
    *line = tokenizer.line();
    return text.size();
  }

  StatusOr<TableProfile> Finish(int64_t bytes) {
    if (names_.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_, ": the file is empty (expected a header line and rows)"));
    }
    if (pending_row_) rows_.Add(*pending_row_);
    pending_row_.reset();
    TableProfile table;
    table.source = source_;
    table.rows = rows_read_;
    table.columns = static_cast<int64_t>(names_.size());
    table.duplicate_rows = rows_.Repeats();
    table.duplicates_exact = rows_.exact();
    table.bytes = bytes;
    table.label = label_;
    auto sketches = std::make_shared<data_internal::TableSketches>();
    sketches->columns.resize(names_.size());
    table.column.resize(names_.size());
    bool label_categorical = false;
    if (label_ >= 0) {
      const auto l = static_cast<size_t>(label_);
      table.column[l] = columns_[l]->Finish(false, &sketches->columns[l]);
      label_categorical = IsCategoricalLabel(table.column[l]) && !too_many_classes_;
      if (label_categorical) {
        table.class_counts = classes_;
        std::sort(table.class_counts.begin(), table.class_counts.end(),
                  [](const CategoryCount& a, const CategoryCount& b) {
                    return a.count != b.count ? a.count > b.count : a.value < b.value;
                  });
        if (!table.class_counts.empty() && table.class_counts.back().count > 0) {
          table.imbalance_ratio = static_cast<double>(table.class_counts.front().count) /
                                  static_cast<double>(table.class_counts.back().count);
        }
      }
    }
    for (size_t j = 0; j < names_.size(); ++j) {
      if (static_cast<int64_t>(j) != label_)
        table.column[j] = columns_[j]->Finish(label_categorical, &sketches->columns[j]);
      table.column[j].name = names_[j];
      table.column[j].index = static_cast<int64_t>(j);
    }
    table.sketches = std::move(sketches);
    return table;
  }

 private:
  Status Start(const std::vector<std::string_view>& first) {
    for (size_t j = 0; j < first.size(); ++j) {
      names_.push_back(options_.has_header ? std::string(data_internal::TrimSpaces(first[j]))
                                           : absl::StrCat("column_", j + 1));
    }
    HEARTH_RETURN_IF_ERROR(ResolveLabel());
    for (size_t j = 0; j < names_.size(); ++j) {
      const bool feature_with_label = label_ >= 0 && static_cast<int64_t>(j) != label_;
      columns_.push_back(std::make_unique<ColumnProfiler>(options_, feature_with_label));
    }
    return absl::OkStatus();
  }

  Status ResolveLabel() {
    if (options_.label.empty()) return absl::OkStatus();
    int index = 0;
    const std::string& label = options_.label;
    if (label[0] == '#') {
      const auto [ptr, ec] = std::from_chars(label.data() + 1, label.data() + label.size(), index);
      if (ec == std::errc() && ptr == label.data() + label.size() && index >= 0 &&
          index < static_cast<int>(names_.size())) {
        label_ = index;
        return absl::OkStatus();
      }
    }
    const auto it = std::find(names_.begin(), names_.end(), label);
    if (it == names_.end()) {
      return absl::NotFoundError(absl::StrCat(source_, ": no column named \"", label,
                                              "\" for the label; the columns are ",
                                              absl::StrJoin(names_, ", ")));
    }
    label_ = it - names_.begin();
    return absl::OkStatus();
  }

  Status Record(const std::vector<std::string_view>& fields, int64_t line) {
    if (names_.empty()) {
      HEARTH_RETURN_IF_ERROR(Start(fields));
      if (options_.has_header) return absl::OkStatus();
    }
    if (fields.size() != names_.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          source_, ":", line, ": expected ", names_.size(), " fields, got ", fields.size(),
          options_.has_header ? " (as many as the header has)"
                              : " (as many as the first row has)"));
    }
    ++rows_read_;
    const LabelCell label = label_ >= 0 ? Label(fields[static_cast<size_t>(label_)]) : LabelCell{};
    uint64_t row_hash = 0;
    for (size_t j = 0; j < fields.size(); ++j) columns_[j]->Add(fields[j], label, &row_hash);
    // Each row's hash is added one row late, its slot prefetched meanwhile.
    if (pending_row_) rows_.Add(*pending_row_);
    rows_.Prefetch(row_hash);
    pending_row_ = row_hash;
    return absl::OkStatus();
  }

  LabelCell Label(std::string_view cell) {
    LabelCell label;
    if (data_internal::IsMissingCell(cell, options_.missing_values)) return label;
    const std::string_view text = data_internal::TrimSpaces(cell);
    double number = 0;
    if (data_internal::ParseDouble(text, &number) && std::isfinite(number)) label.number = number;
    if (too_many_classes_) return label;
    auto it = class_index_.find(absl::string_view(text.data(), text.size()));
    if (it == class_index_.end()) {
      if (static_cast<int64_t>(classes_.size()) >= kMaxLabelClasses) {
        too_many_classes_ = true;
        return label;
      }
      it = class_index_.emplace(std::string(text), static_cast<int64_t>(classes_.size())).first;
      classes_.push_back({std::string(text), 0});
    }
    ++classes_[static_cast<size_t>(it->second)].count;
    label.class_index = it->second;
    return label;
  }

  std::string source_;
  ProfileOptions options_;
  std::vector<std::string> names_;
  int64_t label_ = -1;
  std::vector<std::unique_ptr<ColumnProfiler>> columns_;
  data_internal::HashSample rows_;
  std::optional<uint64_t> pending_row_;
  int64_t rows_read_ = 0;
  absl::flat_hash_map<std::string, int64_t> class_index_;
  std::vector<CategoryCount> classes_;
  bool too_many_classes_ = false;
};

}  // namespace

const char* ColumnKindName(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kEmpty:
      return "empty";
    case ColumnKind::kConstant:
      return "constant";
    case ColumnKind::kBoolean:
      return "boolean";
    case ColumnKind::kInteger:
      return "integer";
    case ColumnKind::kNumeric:
      return "numeric";
    case ColumnKind::kCategorical:
      return "categorical";
    case ColumnKind::kIdLike:
      return "id-like";
  }
  return "?";
}

bool IsCategoricalLabel(const ColumnProfile& label) {
  switch (label.kind) {
    case ColumnKind::kCategorical:
    case ColumnKind::kBoolean:
      return true;
    case ColumnKind::kInteger:
      return label.distinct <= kMaxIntegerClasses;
    default:
      return false;
  }
}

StatusOr<TableProfile> ProfileCsvText(std::string_view text, std::string_view source,
                                      const ProfileOptions& options) {
  CsvProfiler profiler(source, options);
  int64_t line = 1;
  HEARTH_RETURN_IF_ERROR(profiler.Consume(text, true, &line).status());
  return profiler.Finish(static_cast<int64_t>(text.size()));
}

StatusOr<TableProfile> ProfileCsv(const std::string& path, const ProfileOptions& options) {
  HEARTH_ASSIGN_OR_RETURN(data_internal::GzReader reader, data_internal::GzReader::Open(path));
  CsvProfiler profiler(path, options);
  std::string buffer;
  int64_t line = 1, bytes = 0, chunk = std::max<int64_t>(1, options.chunk_bytes);
  bool at_end = false;
  while (!at_end) {
    const size_t kept = buffer.size();
    buffer.resize(kept + static_cast<size_t>(chunk));
    HEARTH_ASSIGN_OR_RETURN(int64_t got, reader.Read(buffer.data() + kept, chunk));
    buffer.resize(kept + static_cast<size_t>(got));
    bytes += got;
    at_end = got < chunk;
    if (at_end && reader.gzip_truncated()) {
      return absl::DataLossError(
          absl::StrCat(path, ": the gzip data ends early (the file is cut off); copy it again"));
    }
    // Whole lines only, unless this is the end.
    const size_t last_newline = buffer.rfind('\n');
    const size_t usable =
        at_end ? buffer.size() : (last_newline == std::string::npos ? 0 : last_newline + 1);
    HEARTH_ASSIGN_OR_RETURN(
        size_t consumed, profiler.Consume(std::string_view(buffer.data(), usable), at_end, &line));
    buffer.erase(0, consumed);
    // A record longer than the chunk: read more at once next time, up to a limit.
    if (!at_end && static_cast<int64_t>(buffer.size()) >= chunk) {
      if (chunk >= kMaxRecordBytes) {
        return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": a record longer than ",
                                                       kMaxRecordBytes >> 20,
                                                       " MB (a quoted field that never closes?)"));
      }
      chunk *= 2;
    }
    if (options.on_progress) options.on_progress(bytes, reader.plain_size());
  }
  return profiler.Finish(bytes);
}

}  // namespace hearth
