// The in-memory dataset every reader returns, and the options the array readers share.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth {

// Examples along the first axis of `features` and, when present, of `labels`.
struct Dataset {
  // float32 [N, ...feature dims].
  Tensor features;
  // int64 [N] class ids (classification), float32 [N] or [N, k] targets (regression), or
  // undefined when the data has no labels (clustering, predict).
  Tensor labels;
  // class id -> the label text it came from, when the labels were strings; empty when they were
  // integers already. A model saves this so predictions can be reported as the original strings.
  std::vector<std::string> class_names;
  // The feature columns' header names, in feature order, for a CSV with a header; empty
  // otherwise. A model saves them so a client can send a row as named fields.
  std::vector<std::string> feature_names;
  // Per feature, for the columns read as categories (strings): the categories in code order, the
  // feature's values being those codes (-1 for a category the mapping does not know, NaN for a
  // missing cell). Empty for a numeric feature, and empty altogether when there is none. A model
  // saves these so eval, predict and the model server map the same strings to the same codes.
  std::vector<std::vector<std::string>> feature_categories;

  int64_t size() const { return features.defined() ? features.dim(0) : 0; }
};

enum class LabelKind : uint8_t {
  kNone,            // no labels
  kClassification,  // int64 class ids
  kRegression,      // float32 targets
};

// Records [begin, begin + count) of a file; count -1 means "to the end". A rank of a distributed
// job reads only its own range.
struct RowRange {
  int64_t begin = 0;
  int64_t count = -1;
};

// Options for the readers that take features and labels from two array files (IDX, .npy).
struct ArrayReadOptions {
  RowRange rows;
  // kClassification reads integer labels as int64; kRegression reads any labels as float32.
  LabelKind label_kind = LabelKind::kClassification;
  // When > 0, every classification label must lie in [0, num_classes).
  int64_t num_classes = 0;
  // Memory handed over to the readers of a list of records (ReadIdxDatasetRows,
  // ReadNpyDatasetRows), which write the features into it instead of a new allocation when it is
  // large enough. Nothing else may use it any more: a distributed job passes the last epoch's
  // rows, as DataLoader::ReleaseRows returns them, for the next epoch's.
  std::shared_ptr<Storage> reuse_features = nullptr;
};

// INVALID_ARGUMENT naming `source` and the first record whose int64 label is outside
// [0, num_classes). `first_record` is the file's record number of labels[0] (a slice's begin).
Status CheckLabelRange(const Tensor& labels, int64_t num_classes, std::string_view source,
                       int64_t first_record = 0);
// The same for labels read from records `records` of the file (labels[i] is record records[i]).
Status CheckLabelRange(const Tensor& labels, int64_t num_classes, std::string_view source,
                       std::span<const int64_t> records);

}  // namespace hearth
