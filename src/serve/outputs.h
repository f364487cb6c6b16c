// The named outputs a served model gives, the same for every protocol:
//   classification  label (BYTES [N], when the labels were strings), class_id (INT64 [N]),
//                   probabilities (FP32 [N, classes]);
//   regression      value (FP32 [N, targets]);
//   clustering      cluster (INT64 [N]), distance (FP32 [N], Euclidean, to its centroid).
// `output`, the raw model outputs (logits; squared distances to every centroid; for regression
// the values again) as `hearth predict --output x.npy` writes them, is given only when asked for.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "serve/served_model.h"

namespace hearth::serve {

struct OutputInfo {
  std::string name;
  std::string datatype;  // "FP32", "INT64" or "BYTES"
  int64_t width = 0;     // values per row; 0: one scalar per row (shape [N])
  bool by_default = true;
};

std::vector<OutputInfo> OutputsOf(const ServedModel& model);

// Appends output `info`'s values for every row as a flat JSON array ("[...]").
void AppendOutputData(const OutputInfo& info, const Inference& inference, std::string& out);
// Appends row `row`'s value of `info`: a number, a string, or an array for width > 0.
void AppendOutputRow(const OutputInfo& info, const Inference& inference, int64_t row,
                     std::string& out);

}  // namespace hearth::serve
