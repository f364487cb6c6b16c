// Small pieces shared by the trainer's parts.
#pragma once

#include <chrono>
#include <cmath>
#include <string>

#include "hearth/metrics.h"

namespace hearth::run {

inline double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline MetricResults Prefixed(const MetricResults& results, const std::string& prefix) {
  MetricResults out;
  for (const auto& [n, v] : results) out.push_back({prefix + n, v});
  return out;
}

inline double Find(const MetricResults& results, const std::string& name) {
  for (const auto& [n, v] : results)
    if (n == name) return v;
  return std::nan("");
}

}  // namespace hearth::run
