// The three forms of a data profile `hearth profile` writes: a terminal report with the alerts
// first, JSON for scripts, and a self-contained HTML page with SVG histograms that opens offline.
#pragma once

#include <string>
#include <vector>

#include "hearth/data/profile.h"

namespace hearth {

struct ProfileReport {
  TableProfile profile;
  std::vector<ProfileAlert> alerts;
  // With --against: the other file's name and the shift of each column.
  std::string against;
  std::vector<ColumnShift> shift;
};

std::string FormatProfile(const ProfileReport& report);
// One JSON object (documented in docs/data.md#profiling-a-dataset).
std::string ProfileJson(const ProfileReport& report);
std::string ProfileHtml(const ProfileReport& report);

}  // namespace hearth
