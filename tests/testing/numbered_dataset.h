// A dataset whose rows name themselves, for tests of batching and sharding.
#pragma once

#include <cstdint>
#include <vector>

#include "hearth/data/dataset.h"

namespace hearth::testing {

// Features [n, 2] = (i, -i) and labels i, so every row says which example it is.
inline Dataset NumberedDataset(int64_t n) {
  std::vector<float> features;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    features.push_back(static_cast<float>(i));
    features.push_back(static_cast<float>(-i));
    labels.push_back(i);
  }
  Dataset data;
  data.features = Tensor::FromVector(features, Shape{n, 2});
  data.labels = Tensor::FromInt64(labels, Shape{n});
  return data;
}

}  // namespace hearth::testing
