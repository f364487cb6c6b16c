// EventHub: a waiter wakes on a change, or after its timeout; many notifiers and waiters at once
// (run under ThreadSanitizer by tests/run.sh --tsan).
#include "coordinator/event_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace hearth::coordinator {
namespace {

TEST(EventHubTest, WaitersSeeEveryChangeFromAnyThread) {
  EventHub hub;
  constexpr uint64_t kChanges = 800;
  std::vector<std::thread> threads;
  std::atomic<int> saw_all{0};
  // Waiters wait for news until they have seen the last change, however the threads interleave.
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (uint64_t seen = hub.version(); seen < kChanges; seen = hub.version())
        hub.WaitChange(seen, std::chrono::milliseconds(100));
      ++saw_all;
    });
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (uint64_t i = 0; i < kChanges / 4; ++i) hub.Notify();
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(hub.version(), kChanges);
  EXPECT_EQ(saw_all.load(), 4);
}

TEST(EventHubTest, WaitReturnsAtOnceWhenTheVersionAlreadyMoved) {
  EventHub hub;
  hub.Notify();
  // Seen 0, now 1: no wait at all (the bound below is never reached).
  hub.WaitChange(0, std::chrono::hours(1));
  EXPECT_EQ(hub.version(), 1u);
}

}  // namespace
}  // namespace hearth::coordinator
