// Collectives on Hearth's own types, built on the Communicator interface.
#pragma once

#include <string>
#include <string_view>

#include "hearth/dist/communicator.h"
#include "hearth/kmeans.h"
#include "hearth/metrics.h"
#include "hearth/status.h"

namespace hearth::dist {

// Rank `root`'s string on every rank (its length first, then its bytes).
Status BroadcastString(Communicator& comm, std::string* text, int root, std::string_view what);

// Makes a per-rank result collective: OK when `status` is OK on every rank; otherwise every rank
// returns the error of the lowest failing rank ("rank 2: ..." when there are several ranks),
// marked with CollectiveError, so all ranks stop together and it is reported once.
Status AgreeOnStatus(Communicator& comm, const Status& status);

// Combines every rank's metric state into every rank's `metrics` (they must hold the same
// metrics): summable metrics are allreduced, the others (which keep examples: roc_auc, pr_auc,
// silhouette) gather every rank's state and merge them in rank order.
Status AllReduceMetrics(Communicator& comm, MetricSet& metrics);

// Every rank's `mine` (of any length, possibly different on each rank), in rank order, on every
// rank.
StatusOr<std::vector<std::vector<double>>> AllGatherVariable(Communicator& comm,
                                                             std::span<const double> mine,
                                                             std::string_view what);

// What ClusterStats::Merge computes over all ranks, on every rank: sums, counts and inertia, and
// the farthest-point candidates merged in rank order (so every rank re-seeds empty clusters the
// same way).
Status AllReduceClusterStats(Communicator& comm, ClusterStats& stats);

}  // namespace hearth::dist
