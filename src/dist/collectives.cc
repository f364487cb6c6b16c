#include "hearth/dist/collectives.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_format.h"

namespace hearth::dist {
namespace {

// ClusterStats as a fixed-length row of doubles: sums, counts, inertia, the number of farthest
// candidates, then k slots of (distance, label, point). Counts and labels are far below 2^53.
size_t EncodedLength(const ClusterStats& s) {
  return static_cast<size_t>(s.k * s.dim + s.k + 2 + s.k * (2 + s.dim));
}

std::vector<double> Encode(const ClusterStats& s) {
  std::vector<double> out;
  out.reserve(EncodedLength(s));
  out.insert(out.end(), s.sums.begin(), s.sums.end());
  for (int64_t c : s.counts) out.push_back(static_cast<double>(c));
  out.push_back(s.inertia);
  out.push_back(static_cast<double>(s.farthest.size()));
  for (int64_t i = 0; i < s.k; ++i) {
    if (i < static_cast<int64_t>(s.farthest.size())) {
      const ClusterStats::FarPoint& p = s.farthest[i];
      out.push_back(p.distance);
      out.push_back(static_cast<double>(p.label));
      out.insert(out.end(), p.point.begin(), p.point.end());
    } else {
      out.insert(out.end(), 2 + s.dim, 0.0);
    }
  }
  return out;
}

ClusterStats Decode(const double* in, int64_t k, int64_t dim) {
  ClusterStats s;
  s.k = k;
  s.dim = dim;
  s.sums.assign(in, in + k * dim);
  in += k * dim;
  for (int64_t c = 0; c < k; ++c) s.counts.push_back(static_cast<int64_t>(*in++));
  s.inertia = *in++;
  const auto far = static_cast<int64_t>(*in++);
  for (int64_t i = 0; i < k; ++i, in += 2 + dim) {
    if (i >= far) continue;
    s.farthest.push_back(
        {in[0], static_cast<int64_t>(in[1]), std::vector<float>(in + 2, in + 2 + dim)});
  }
  return s;
}

}  // namespace

Status BroadcastString(Communicator& comm, std::string* text, int root, std::string_view what) {
  int64_t size = static_cast<int64_t>(text->size());
  HEARTH_RETURN_IF_ERROR(comm.Broadcast(std::as_writable_bytes(std::span(&size, 1)), root, what));
  text->resize(static_cast<size_t>(size));
  return comm.Broadcast(std::as_writable_bytes(std::span(text->data(), text->size())), root, what);
}

Status AgreeOnStatus(Communicator& comm, const Status& status) {
  if (comm.size() == 1) return status;
  const int64_t mine = static_cast<int64_t>(status.code());
  std::vector<int64_t> codes(comm.size());
  HEARTH_RETURN_IF_ERROR(comm.AllGather(std::as_bytes(std::span(&mine, 1)),
                                        std::as_writable_bytes(std::span(codes)),
                                        "agree on status"));
  int failed = -1;
  for (int r = 0; r < comm.size() && failed < 0; ++r)
    if (codes[r] != 0) failed = r;
  if (failed < 0) return absl::OkStatus();
  std::string message(status.message());
  HEARTH_RETURN_IF_ERROR(BroadcastString(comm, &message, failed, "error message"));
  return CollectiveError(absl::Status(static_cast<absl::StatusCode>(codes[failed]),
                                      absl::StrFormat("rank %d: %s", failed, message)));
}

Status AllReduceMetrics(Communicator& comm, MetricSet& metrics) {
  if (comm.size() == 1) return absl::OkStatus();
  std::vector<double> state = metrics.State();
  HEARTH_RETURN_IF_ERROR(comm.AllReduce(std::span(state), ReduceOp::kSum, "allreduce metrics"));
  HEARTH_RETURN_IF_ERROR(metrics.LoadState(state));
  // The others (ranking metrics, silhouette) keep examples: every rank merges every rank's, in
  // rank order, so all end with the same state.
  for (const auto& metric : metrics.metrics()) {
    if (metric->summable()) continue;
    HEARTH_ASSIGN_OR_RETURN(std::vector<std::vector<double>> states,
                            AllGatherVariable(comm, metric->State(), "gather metric states"));
    metric->Reset();
    for (const std::vector<double>& s : states) HEARTH_RETURN_IF_ERROR(metric->Merge(s));
  }
  return absl::OkStatus();
}

StatusOr<std::vector<std::vector<double>>> AllGatherVariable(Communicator& comm,
                                                             std::span<const double> mine,
                                                             std::string_view what) {
  std::vector<int64_t> sizes(comm.size(), 0);
  sizes[comm.rank()] = static_cast<int64_t>(mine.size());
  HEARTH_RETURN_IF_ERROR(comm.AllReduce(std::span(sizes), ReduceOp::kSum, what));
  const int64_t longest = *std::max_element(sizes.begin(), sizes.end());
  std::vector<double> padded(static_cast<size_t>(longest), 0.0);
  std::copy(mine.begin(), mine.end(), padded.begin());
  std::vector<double> all(static_cast<size_t>(longest) * comm.size());
  HEARTH_RETURN_IF_ERROR(comm.AllGather(std::as_bytes(std::span(padded)),
                                        std::as_writable_bytes(std::span(all)), what));
  std::vector<std::vector<double>> out(comm.size());
  for (int r = 0; r < comm.size(); ++r)
    out[r].assign(all.begin() + r * longest, all.begin() + r * longest + sizes[r]);
  return out;
}

Status AllReduceClusterStats(Communicator& comm, ClusterStats& stats) {
  if (comm.size() == 1) return absl::OkStatus();
  const std::vector<double> mine = Encode(stats);
  std::vector<double> all(mine.size() * comm.size());
  HEARTH_RETURN_IF_ERROR(comm.AllGather(std::as_bytes(std::span(mine)),
                                        std::as_writable_bytes(std::span(all)),
                                        "k-means cluster statistics"));
  ClusterStats total = Decode(all.data(), stats.k, stats.dim);
  for (int r = 1; r < comm.size(); ++r)
    total.Merge(Decode(all.data() + r * mine.size(), stats.k, stats.dim));
  stats = std::move(total);
  return absl::OkStatus();
}

}  // namespace hearth::dist
