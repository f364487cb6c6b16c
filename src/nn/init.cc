// Seeded weight initialisers.
#include <cmath>

#include "hearth/nn.h"

namespace hearth {

void GlorotUniform(Tensor& t, int64_t fan_in, int64_t fan_out, Generator& rng) {
  const float limit = std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
  float* p = t.f32();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = rng.Uniform(-limit, limit);
}

void HeNormal(Tensor& t, int64_t fan_in, Generator& rng) {
  const float stddev = std::sqrt(2.0f / static_cast<float>(fan_in));
  float* p = t.f32();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = rng.Normal() * stddev;
}

}  // namespace hearth
