#include "hearth/dist/model_check.h"

#include <cstring>
#include <vector>
#include "hearth/dist/collectives.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace hearth::dist {
namespace {

uint64_t Fnv1a(const std::string& text) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

// How `mine` first differs from `root`'s description, for the error.
std::string FirstDifference(const std::string& root, const std::string& mine) {
  std::vector<std::string> a = absl::StrSplit(root, ';', absl::SkipEmpty());
  std::vector<std::string> b = absl::StrSplit(mine, ';', absl::SkipEmpty());
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i >= a.size()) return absl::StrFormat("has an extra parameter %s", b[i]);
    if (i >= b.size()) return absl::StrFormat("lacks parameter %s", a[i]);
    if (a[i] != b[i])
      return absl::StrFormat("has parameter %d as %s where rank 0 has %s", i, b[i], a[i]);
  }
  return "differs from rank 0";
}

}  // namespace

std::string DescribeParameters(const ParameterSet& params) {
  std::string out;
  for (int i = 0; i < params.size(); ++i)
    out += absl::StrFormat("%s:%s;", params.name(i), params.param(i).shape().ToString());
  return out;
}

Status CheckSameModel(Communicator& comm, const ParameterSet& params) {
  const std::string mine = DescribeParameters(params);
  const uint64_t hash = Fnv1a(mine);
  std::vector<uint64_t> hashes(comm.size());
  HEARTH_RETURN_IF_ERROR(comm.AllGather(std::as_bytes(std::span(&hash, 1)),
                                        std::as_writable_bytes(std::span(hashes)),
                                        "model check (parameter hashes)"));
  bool same = true;
  for (uint64_t h : hashes) same = same && h == hashes[0];
  if (same) return absl::OkStatus();

  // Rare path: find out what differs, so the error is actionable.
  std::string root = mine;
  HEARTH_RETURN_IF_ERROR(BroadcastString(comm, &root, 0, "model check (rank 0's parameters)"));
  constexpr size_t kWidth = 240;
  char line[kWidth] = {};
  if (hashes[comm.rank()] != hashes[0]) {
    const std::string text = FirstDifference(root, mine);
    std::strncpy(line, text.c_str(), kWidth - 1);
  }
  std::vector<char> lines(kWidth * comm.size());
  HEARTH_RETURN_IF_ERROR(comm.AllGather(std::as_bytes(std::span(line)),
                                        std::as_writable_bytes(std::span(lines)),
                                        "model check (differences)"));
  std::vector<std::string> differences;
  for (int r = 1; r < comm.size(); ++r)
    if (hashes[r] != hashes[0])
      differences.push_back(absl::StrFormat("rank %d %s", r, &lines[kWidth * r]));
  return absl::FailedPreconditionError(absl::StrFormat(
      "the workers built different models: %s. Every worker must run the same job spec and the "
      "same Hearth version",
      absl::StrJoin(differences, "; ")));
}

}  // namespace hearth::dist
