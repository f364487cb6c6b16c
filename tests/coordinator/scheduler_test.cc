// The scheduler in-process with a fake launcher (fake_hearthrun.sh): outcomes, restarts, slots,
// the log pump, and cancels from many threads at once (run under ThreadSanitizer by
// tests/run.sh --tsan).
#include "coordinator/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "ckpt/temp_dir.h"
#include "coordinator/data_dir.h"
#include "coordinator/rotating_log.h"

namespace hearth::coordinator {
namespace {

std::string Source() {
  const char* root = std::getenv("HEARTH_SOURCE_DIR");
  return root != nullptr ? root : ".";
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("FAKE_HEARTHRUN_DIR", dir_.path().c_str(), 1);
    StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(dir_.file("hearthd.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override {
    scheduler_.reset();
    ::unsetenv("FAKE_HEARTHRUN_DIR");
  }
  void StartScheduler(int slots) {
    SchedulerOptions options;
    options.data_dir = dir_.file("data");
    options.slots = slots;
    options.hearthrun = Source() + "/tests/coordinator/fake_hearthrun.sh";
    options.hearth_binary = "/bin/true";
    options.worker_address = "127.0.0.1:1";
    options.cancel_grace = std::chrono::seconds(30);
    scheduler_ = std::make_unique<Scheduler>(*store_, hub_, log_hub_, credentials_, options);
    ASSERT_TRUE(scheduler_->Recover().ok());
    scheduler_->Start();
  }
  std::string Submit(int max_restarts = 0, int workers = 1) {
    v1::JobSpec spec;
    spec.set_name("fake");
    spec.set_max_restarts(max_restarts);
    StatusOr<v1::Job> job = store_->CreateJob(spec, workers, "");
    EXPECT_TRUE(job.ok()) << job.status();
    scheduler_->Wake();
    return job.ok() ? job->id() : "";
  }
  // Waits (bounded, generously) until the job's state satisfies `done`.
  v1::Job WaitFor(const std::string& id, const std::function<bool(const v1::Job&)>& done) {
    v1::Job job;
    for (int i = 0; i < 3000; ++i) {
      job = *store_->GetJob(id);
      if (done(job)) return job;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << id << " stayed " << v1::JobState_Name(job.state());
    return job;
  }
  static bool Ended(const v1::Job& j) {
    return j.state() == v1::SUCCEEDED || j.state() == v1::FAILED || j.state() == v1::CANCELLED;
  }
  void Release(const std::string& id, int code) {
    std::ofstream(dir_.file(id + ".exit")) << code << "\n";
    std::ofstream(dir_.file(id + ".go")) << "go\n";
  }
  std::vector<std::string> RankLines(const std::string& id, int attempt, int rank) {
    LogCursor cursor;
    return ReadLogLines(AttemptLogDir(AttemptDir(dir_.file("data"), id, attempt)),
                        RankLogName(rank), cursor, 1 << 20);
  }

  testing::TempDir dir_;
  std::unique_ptr<JobStore> store_;
  EventHub hub_, log_hub_;
  WorkerCredentials credentials_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerTest, AResultAndACleanExitSucceedAndThePumpWritesTheLogs) {
  StartScheduler(1);
  const std::string id = Submit();
  WaitFor(id, [](const v1::Job& j) { return j.state() == v1::RUNNING; });
  scheduler_->ResultReported(id);
  Release(id, 0);
  const v1::Job job = WaitFor(id, Ended);
  EXPECT_EQ(job.state(), v1::SUCCEEDED);
  EXPECT_EQ(job.attempt(), 1);
  EXPECT_EQ(RankLines(id, 1, 0), (std::vector<std::string>{"hello from " + id, "warming up"}));
}

TEST_F(SchedulerTest, AFailureRestartsFromTheNextAttemptAndThenFails) {
  StartScheduler(1);
  const std::string id = Submit(/*max_restarts=*/1);
  WaitFor(id, [](const v1::Job& j) { return j.state() == v1::RUNNING; });
  Release(id, 3);
  // The restart starts attempt 2 (its .go file is still there: it ends at once, failing again).
  const v1::Job job = WaitFor(id, Ended);
  EXPECT_EQ(job.state(), v1::FAILED);
  EXPECT_EQ(job.restarts(), 1);
  EXPECT_EQ(job.attempt(), 2);
  EXPECT_EQ(job.failure().rank(), 1);
  EXPECT_EQ(job.failure().error(), "hearth worker: rank 1: failed on purpose");
  EXPECT_EQ(job.failure().exit_code(), 3);
  EXPECT_FALSE(RankLines(id, 1, 1).empty()) << "the first attempt's logs are kept";
}

TEST_F(SchedulerTest, NeverMoreWorkersThanSlots) {
  StartScheduler(2);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Submit());
  for (const std::string& id : ids) {
    scheduler_->Wake();
    WaitFor(id, [](const v1::Job& j) { return j.state() == v1::RUNNING; });
    // Two at most: the others are still queued while these run.
    int running = 0;
    for (const std::string& other : ids) running += store_->GetJob(other)->state() == v1::RUNNING;
    EXPECT_LE(running, 2);
    scheduler_->ResultReported(id);
    Release(id, 0);
    WaitFor(id, Ended);
  }
  for (const std::string& id : ids) EXPECT_EQ(store_->GetJob(id)->state(), v1::SUCCEEDED);
}

// Many cancels at once, and one arriving while the job is queued: each job is cancelled exactly
// once, nothing races (ThreadSanitizer), and every cancel either applies or says it had ended.
TEST_F(SchedulerTest, ConcurrentCancelsApplyOnce) {
  StartScheduler(1);
  const std::string running = Submit();
  const std::string queued = Submit();
  WaitFor(running, [](const v1::Job& j) { return j.state() == v1::RUNNING; });
  std::atomic<int> ok{0}, ended{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      StatusOr<v1::Job> r = scheduler_->Cancel(t % 2 ? running : queued);
      if (r.ok()) {
        ++ok;
      } else if (absl::IsFailedPrecondition(r.status())) {
        ++ended;
      }
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok + ended, 8);
  EXPECT_EQ(WaitFor(running, Ended).state(), v1::CANCELLED);
  EXPECT_EQ(WaitFor(queued, Ended).state(), v1::CANCELLED);
  EXPECT_EQ(store_->GetJob(queued)->attempt(), 0) << "a cancelled queued job never starts";
  EXPECT_TRUE(scheduler_->Cancel(running).status().code() == absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace hearth::coordinator
