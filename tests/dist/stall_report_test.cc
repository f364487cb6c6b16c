// StallReport, the pure part of the stall watchdog: what rank 0 prints (or aborts with) given
// every rank's latest CollectiveSnapshot.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1  // stall_watchdog.h includes mpi.h; we use no C++ bindings
#endif

#include "dist/stall_watchdog.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hearth::dist {
namespace {

constexpr double kSilence = 5.0;

CollectiveSnapshot Snap(int rank, bool waiting, int64_t arrived, double wait_seconds,
                        const std::string& what) {
  CollectiveSnapshot s;
  s.rank = rank;
  s.waiting = waiting ? 1 : 0;
  s.arrived = arrived;
  s.wait_seconds = wait_seconds;
  std::strncpy(s.what, what.c_str(), sizeof(s.what) - 1);
  return s;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const char kBucket[] = "allreduce gradients (bucket 3 of 5)";

TEST(StallReportTest, EmptyBelowThreshold) {
  const std::vector<CollectiveSnapshot> ranks = {Snap(0, true, 7, 9.5, kBucket),
                                                 Snap(1, false, 6, 0, "broadcast weights"),
                                                 Snap(2, true, 7, 3, kBucket)};
  EXPECT_EQ(StallReport(ranks, {0, 0.2, 0.4}, 10, kSilence), "");
}

TEST(StallReportTest, EmptyWhenNobodyWaits) {
  // Long-finished waits do not count: wait_seconds only matters while waiting.
  const std::vector<CollectiveSnapshot> ranks = {Snap(0, false, 7, 100, kBucket),
                                                 Snap(1, false, 7, 100, kBucket)};
  EXPECT_EQ(StallReport(ranks, {0, 0.5}, 10, kSilence), "");
}

TEST(StallReportTest, NamesTheMissingRankAndTheCollective) {
  const std::vector<CollectiveSnapshot> ranks = {
      Snap(0, true, 7, 12, kBucket), Snap(1, true, 7, 11, kBucket),
      Snap(2, false, 6, 0, "broadcast weights"), Snap(3, true, 7, 10.5, kBucket)};
  const std::string report = StallReport(ranks, {0, 0.3, 0.8, 0.1}, 10, kSilence);
  SCOPED_TRACE(report);
  EXPECT_TRUE(Contains(report, "collective #7"));
  EXPECT_TRUE(Contains(report, std::string("'") + kBucket + "'"));
  EXPECT_TRUE(Contains(report, "waited 12 s"));
  EXPECT_TRUE(Contains(report, "ranks 0, 1, 3 "));
  EXPECT_TRUE(Contains(report, "missing: 2."));
  EXPECT_TRUE(
      Contains(report, "rank 2 last arrived at #6 'broadcast weights' and is still computing"));
  EXPECT_FALSE(Contains(report, "every rank has arrived"));
}

TEST(StallReportTest, OnlyRanksOverTheThresholdAreListedAsWaiting) {
  const std::vector<CollectiveSnapshot> ranks = {
      Snap(0, true, 4, 30, "barrier"), Snap(1, true, 4, 2, "barrier"), Snap(2, false, 0, 0, "")};
  const std::string report = StallReport(ranks, {0, 0.1, 0.1}, 20, kSilence);
  SCOPED_TRACE(report);
  EXPECT_TRUE(Contains(report, ": rank 0 "));
  EXPECT_FALSE(Contains(report, "ranks 0, 1"));
  EXPECT_TRUE(Contains(report, "missing: 2."));
  EXPECT_TRUE(Contains(report, "rank 2 has not started any collective"));
}

TEST(StallReportTest, TheOldestStalledCollectiveIsReported) {
  // Rank 0 finished its part of #8 and moved on to #9; rank 1 is still in #8, rank 2 behind it.
  const std::vector<CollectiveSnapshot> ranks = {Snap(0, true, 9, 15, "allgather model hashes"),
                                                 Snap(1, true, 8, 14, "barrier"),
                                                 Snap(2, false, 7, 0, "broadcast weights")};
  const std::string report = StallReport(ranks, {0, 0.1, 0.1}, 10, kSilence);
  SCOPED_TRACE(report);
  EXPECT_TRUE(Contains(report, "collective #8 'barrier'"));
  EXPECT_TRUE(Contains(report, "waited 15 s"));
  EXPECT_TRUE(Contains(report, "missing: 2."));
  EXPECT_TRUE(
      Contains(report, "rank 2 last arrived at #7 'broadcast weights' and is still computing"));
  // Without the laggard, everyone has reached #8.
  const std::string all_in = StallReport({ranks[0], ranks[1]}, {0, 0.1}, 10, kSilence);
  EXPECT_TRUE(Contains(all_in, "collective #8 'barrier'")) << all_in;
  EXPECT_TRUE(Contains(all_in, "every rank has arrived")) << all_in;
}

TEST(StallReportTest, ReportsASilentRank) {
  // Rank 1's last heartbeat says it reached the collective, but that was 42 s ago.
  const std::vector<CollectiveSnapshot> ranks = {
      Snap(0, true, 7, 50, kBucket), Snap(1, true, 7, 8, kBucket), Snap(2, true, 7, 49, kBucket)};
  const std::string report = StallReport(ranks, {0, 42, 0.5}, 10, kSilence);
  SCOPED_TRACE(report);
  EXPECT_TRUE(Contains(report, "missing: 1."));
  EXPECT_TRUE(Contains(report, "rank 1 last arrived at #7"));
  EXPECT_TRUE(Contains(report, "no heartbeat for 42 s"));
  EXPECT_FALSE(Contains(report, "every rank has arrived"));
}

TEST(StallReportTest, EveryRankArrivedMeansASlowTransfer) {
  const std::vector<CollectiveSnapshot> ranks = {
      Snap(0, true, 7, 61, kBucket), Snap(1, true, 7, 61, kBucket), Snap(2, false, 7, 0, kBucket)};
  const std::string report = StallReport(ranks, {0, 1, 1}, 60, kSilence);
  SCOPED_TRACE(report);
  EXPECT_TRUE(Contains(report, "collective #7"));
  EXPECT_TRUE(Contains(report, "every rank has arrived"));
  EXPECT_FALSE(Contains(report, "missing"));
}

}  // namespace
}  // namespace hearth::dist
