// Seeded, platform-independent random numbers: the same seed gives the same values on every machine
// (unlike std::normal_distribution, whose algorithm is implementation-defined).
#pragma once

#include <cstdint>

namespace hearth {

// xoshiro256** seeded through splitmix64.
class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { Seed(seed); }
  void Seed(uint64_t seed);

  uint64_t NextU64();
  // Uniform in [0, 1), 24 random bits.
  float Uniform();
  float Uniform(float lo, float hi) { return lo + (hi - lo) * Uniform(); }
  // Standard normal (Box-Muller on doubles, computed identically everywhere).
  float Normal();
  // Uniform integer in [0, n).
  uint64_t Below(uint64_t n);

  // The full generator state, for checkpoints.
  struct State {
    uint64_t s[4];
    bool has_spare;
    double spare;
  };
  State GetState() const { return {{s_[0], s_[1], s_[2], s_[3]}, has_spare_, spare_}; }
  void SetState(const State& state);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace hearth
