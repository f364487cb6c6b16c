// xoshiro256** (Blackman and Vigna), seeded with splitmix64.
#include "hearth/random.h"

#include <cmath>

namespace hearth {
namespace {

uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

}  // namespace

void Generator::Seed(uint64_t seed) {
  uint64_t x = seed;
  for (auto& word : s_) word = SplitMix64(x);
  has_spare_ = false;
  spare_ = 0.0;
}

uint64_t Generator::NextU64() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

float Generator::Uniform() {
  return static_cast<float>(NextU64() >> 40) * 0x1.0p-24f;
}

float Generator::Normal() {
  if (has_spare_) {
    has_spare_ = false;
    return static_cast<float>(spare_);
  }
  // Doubles with 53 random bits; u1 in (0, 1] so the log is finite.
  const double u1 = (static_cast<double>(NextU64() >> 11) + 1.0) * 0x1.0p-53;
  const double u2 = static_cast<double>(NextU64() >> 11) * 0x1.0p-53;
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 6.283185307179586 * u2;
  spare_ = r * std::sin(theta);
  has_spare_ = true;
  return static_cast<float>(r * std::cos(theta));
}

uint64_t Generator::Below(uint64_t n) {
  // Rejection sampling removes modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = NextU64();
  while (x >= limit);
  return x % n;
}

void Generator::SetState(const State& state) {
  for (int i = 0; i < 4; ++i) s_[i] = state.s[i];
  has_spare_ = state.has_spare;
  spare_ = state.spare;
}

}  // namespace hearth
