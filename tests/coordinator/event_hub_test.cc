// EventHub: a waiter wakes on a change, or after its timeout; many notifiers and waiters at once
// (run under ThreadSanitizer by tests/run.sh --tsan).
#include "coordinator/event_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace hearth::coordinator {
namespace {

TEST(EventHubTest, AWaiterSeesEveryChangeFromAnyThread) {
  EventHub hub;
  std::atomic<bool> done{false};
  std::vector<std::thread> notifiers;
  for (int t = 0; t < 4; ++t)
    notifiers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) hub.Notify();
    });
  std::vector<std::thread> waiters;
  std::atomic<int> woke{0};
  for (int t = 0; t < 4; ++t)
    waiters.emplace_back([&] {
      uint64_t seen = 0;
      while (!done) {
        hub.WaitChange(seen, std::chrono::milliseconds(50));
        seen = hub.version();
        ++woke;
      }
    });
  for (std::thread& t : notifiers) t.join();
  EXPECT_EQ(hub.version(), 800u);
  done = true;
  hub.Notify();
  for (std::thread& t : waiters) t.join();
  EXPECT_GT(woke.load(), 0);
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
