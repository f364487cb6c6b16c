// `hearth init`: a complete job spec chosen from a data profile (hearth/data/profile.h): the task
// from the label, the preprocessing the profile calls for, a baseline model (linear or logistic
// regression, or k-means with k chosen by silhouette), loss, metrics, batch size and learning
// rate; and every choice explained in plain words.
#pragma once

#include <string>
#include <vector>

#include "hearth/data/profile.h"
#include "hearth/status.h"
#include "hearth/v1/job.pb.h"

namespace hearth::run {

struct InitChoice {
  v1::JobSpec spec;
  // One sentence per choice, in the order the spec makes them.
  std::vector<std::string> reasons;
  // The stronger model to try next, with the lines to change.
  std::string alternative;
};

struct InitOptions {
  std::string data_path;  // as the spec will name it
  std::string name;       // the job's name; empty: from the file name
  // Clustering: k is chosen from [k_min, k_max] by the silhouette of a k-means fit on at most
  // silhouette_rows rows.
  int k_min = 2;
  int k_max = 8;
  int64_t silhouette_rows = 2000;
};

// INVALID_ARGUMENT when no column is usable as a feature, or the label's column is all missing.
StatusOr<InitChoice> ChooseJobSpec(const TableProfile& profile, const InitOptions& options);

}  // namespace hearth::run
