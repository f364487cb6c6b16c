// Rows of the gRPC Predict call (hearth.v1.Row) decoded by the same FeatureRows as the HTTP
// protocols, so a named field, a category string or a missing value means the same everywhere
// and errors name the row and field alike.
#pragma once

#include <cstdint>
#include <vector>

#include "hearth/status.h"
#include "hearth/v1/coordinator.pb.h"
#include "serve/feature_rows.h"

namespace hearth::serve {

// Appends row `row_index` (values in feature order, or fields by column name) to `out`.
Status AppendProtoRow(const FeatureRows& rows, const v1::Row& row, int64_t row_index,
                      std::vector<float>& out);

}  // namespace hearth::serve
