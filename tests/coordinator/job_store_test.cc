// JobStore (SQLite): jobs, events, attempts, checkpoints and sweeps; durability across reopening
// and a killed process; concurrent use; and refusing files that are not (this version's) store.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/temp_dir.h"
#include "coordinator/job_store.h"
#include "job/job_test_util.h"

namespace hearth::coordinator {
namespace {

using google::protobuf::util::MessageDifferencer;
using hearth::testing::Contains;
using hearth::testing::TempDir;

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

v1::JobSpec Spec(const std::string& name) {
  v1::JobSpec spec;
  spec.set_name(name);
  spec.set_task(v1::CLASSIFICATION);
  spec.set_seed(7);
  return spec;
}

std::unique_ptr<JobStore> OpenOrDie(const std::string& path) {
  StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(path);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

v1::Job CreateOrDie(JobStore& store, const std::string& name, const std::string& sweep_id = "") {
  StatusOr<v1::Job> job = store.CreateJob(Spec(name), 2, sweep_id);
  EXPECT_TRUE(job.ok()) << job.status();
  return job.ok() ? *job : v1::Job();
}

v1::JobEvent StepEvent(int64_t step) {
  v1::JobEvent event;
  event.set_time(1000 + step);
  event.mutable_step()->set_step(step);
  return event;
}

StoredCheckpoint Checkpoint(const std::string& job_id, int64_t step,
                            std::optional<double> metric = std::nullopt) {
  StoredCheckpoint checkpoint;
  checkpoint.info.set_id(job_id + "/" + std::to_string(step));
  checkpoint.info.set_job_id(job_id);
  checkpoint.info.set_step(step);
  checkpoint.info.set_size_bytes(100 + step);
  checkpoint.info.set_sha256("ab");
  if (metric) {
    checkpoint.info.set_metric_name("val_loss");
    checkpoint.info.set_metric_value(*metric);
  }
  checkpoint.path = "checkpoints/" + job_id + "/" + std::to_string(step) + ".safetensors";
  return checkpoint;
}

// An unconditional update (tests only: the coordinator always names the states it expects).
Status Update(JobStore& store, const v1::Job& job) {
  return store
      .UpdateJobIf(job.id(), {},
                   [&](v1::Job& stored) {
                     v1::JobSpec spec = stored.spec();
                     stored = job;
                     *stored.mutable_spec() = spec;
                     return absl::OkStatus();
                   })
      .status();
}

Status Add(JobStore& store, const StoredCheckpoint& checkpoint, bool maximize = false) {
  return store.AddCheckpoint(checkpoint, maximize).status();
}

std::vector<std::string> Ids(const std::vector<v1::Job>& jobs) {
  std::vector<std::string> ids;
  for (const v1::Job& job : jobs) ids.push_back(job.id());
  return ids;
}

std::vector<int64_t> Sequences(const std::vector<v1::JobEvent>& events) {
  std::vector<int64_t> sequences;
  for (const v1::JobEvent& event : events) sequences.push_back(event.sequence());
  return sequences;
}

std::vector<int64_t> Steps(const std::vector<StoredCheckpoint>& checkpoints) {
  std::vector<int64_t> steps;
  for (const StoredCheckpoint& checkpoint : checkpoints) steps.push_back(checkpoint.info.step());
  return steps;
}

// The step of the checkpoint marked best, or -1 when none is.
int64_t BestStep(const std::vector<StoredCheckpoint>& checkpoints) {
  int64_t best = -1;
  for (const StoredCheckpoint& checkpoint : checkpoints) {
    if (!checkpoint.info.best()) continue;
    EXPECT_EQ(best, -1) << "two checkpoints are marked best";
    best = checkpoint.info.step();
  }
  return best;
}

// Runs SQL on the file directly, as another program (or a person with the sqlite3 shell) would.
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

std::string RawPragma(const std::string& path, const std::string& pragma) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string value;
  if (sqlite3_prepare_v2(db, ("PRAGMA " + pragma).c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW)
    value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(path_);
    ASSERT_NE(store_, nullptr);
  }

  TempDir dir_;
  std::string path_ = dir_.file("hearthd.db");
  std::unique_ptr<JobStore> store_;
};

// ---------------------------------------------------------------------------------------------
// Jobs

TEST_F(JobStoreTest, CreateAssignsSequentialIdsAndQueuedState) {
  const double before = Now();
  const v1::Job first = CreateOrDie(*store_, "first");
  const v1::Job second = CreateOrDie(*store_, "second", "s-000009");
  const double after = Now();

  EXPECT_EQ(first.id(), "j-000001");
  EXPECT_EQ(second.id(), "j-000002");
  EXPECT_EQ(first.state(), v1::QUEUED);
  EXPECT_GE(first.created_at(), before);
  EXPECT_LE(first.created_at(), after);
  EXPECT_TRUE(MessageDifferencer::Equals(first.spec(), Spec("first")));
  EXPECT_EQ(first.sweep_id(), "");
  EXPECT_EQ(second.sweep_id(), "s-000009");
  EXPECT_EQ(first.restarts(), 0);
  EXPECT_EQ(first.step(), 0);
}

TEST_F(JobStoreTest, GetReturnsWhatCreateReturned) {
  const v1::Job created = CreateOrDie(*store_, "mnist");
  StatusOr<v1::Job> got = store_->GetJob(created.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*got, created)) << got->DebugString();

  StatusOr<int32_t> workers = store_->JobWorkers(created.id());
  ASSERT_TRUE(workers.ok()) << workers.status();
  EXPECT_EQ(*workers, 2);
}

TEST_F(JobStoreTest, UnknownJobIsNotFoundNamingTheId) {
  CreateOrDie(*store_, "only");
  // Unknown, malformed, and a near miss of a real id ("j-1" is not "j-000001").
  for (const std::string id : {"j-000042", "nonsense", "", "j-1", "j-0000001", "s-000001"}) {
    SCOPED_TRACE(id);
    const Status status = store_->GetJob(id).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
    EXPECT_TRUE(Contains(status.message(), "\"" + id + "\""));
    EXPECT_EQ(store_->JobWorkers(id).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(store_->Events(id, 0, 0).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(store_->AppendEvent(id, StepEvent(1)).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(store_->CurrentAttempt(id).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(store_->Checkpoints(id).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(Add(*store_, Checkpoint(id, 1)).code(), absl::StatusCode::kNotFound);
    v1::Job job;
    job.set_id(id);
    EXPECT_EQ(Update(*store_, job).code(), absl::StatusCode::kNotFound);
  }
}

TEST_F(JobStoreTest, ListIsNewestFirstWithLimitAndStateFilter) {
  for (int i = 1; i <= 5; ++i) CreateOrDie(*store_, "job" + std::to_string(i));
  for (const std::string id : {"j-000002", "j-000004"}) {
    v1::Job job = *store_->GetJob(id);
    job.set_state(v1::RUNNING);
    ASSERT_TRUE(Update(*store_, job).ok());
  }
  v1::Job failed = *store_->GetJob("j-000005");
  failed.set_state(v1::FAILED);
  ASSERT_TRUE(Update(*store_, failed).ok());

  const auto list = [&](const std::vector<v1::JobState>& states, int limit) {
    StatusOr<std::vector<v1::Job>> jobs = store_->ListJobs(states, limit);
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    return jobs.ok() ? Ids(*jobs) : std::vector<std::string>();
  };
  using Ids = std::vector<std::string>;
  EXPECT_EQ(list({}, 0), (Ids{"j-000005", "j-000004", "j-000003", "j-000002", "j-000001"}));
  EXPECT_EQ(list({}, -1).size(), 5u);
  EXPECT_EQ(list({}, 2), (Ids{"j-000005", "j-000004"}));
  EXPECT_EQ(list({v1::RUNNING}, 0), (Ids{"j-000004", "j-000002"}));
  EXPECT_EQ(list({v1::RUNNING}, 1), (Ids{"j-000004"}));
  EXPECT_EQ(list({v1::QUEUED, v1::FAILED}, 0), (Ids{"j-000005", "j-000003", "j-000001"}));
  // Repeats and order of the filter do not matter.
  EXPECT_EQ(list({v1::FAILED, v1::QUEUED, v1::FAILED}, 0),
            (Ids{"j-000005", "j-000003", "j-000001"}));
  EXPECT_EQ(list({v1::SUCCEEDED}, 0), Ids{});
  EXPECT_EQ(list({static_cast<v1::JobState>(99)}, 0), Ids{});

  // The listed jobs are complete, spec included.
  StatusOr<std::vector<v1::Job>> jobs = store_->ListJobs({v1::FAILED}, 0);
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals((*jobs)[0], failed));
}

TEST_F(JobStoreTest, ListDefaultsToAHundred) {
  for (int i = 0; i < 105; ++i) CreateOrDie(*store_, "job");
  StatusOr<std::vector<v1::Job>> jobs = store_->ListJobs({}, 0);
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 100u);
  EXPECT_EQ(jobs->front().id(), "j-000105");
  EXPECT_EQ(jobs->back().id(), "j-000006");
}

TEST_F(JobStoreTest, UpdateReplacesEverythingButIdAndSpec) {
  const v1::Job created = CreateOrDie(*store_, "keep-me");
  v1::Job job = created;
  job.set_state(v1::SUCCEEDED);
  job.set_started_at(10);
  job.set_finished_at(20);
  job.set_restarts(1);
  job.set_step(600);
  job.set_epoch(3);
  job.set_loss(0.25);
  job.set_total_steps(600);
  job.mutable_result()->set_steps(600);
  job.mutable_result()->add_validation_metrics()->set_name("val_accuracy");
  job.mutable_failure()->set_rank(-1);
  job.mutable_spec()->set_name("changed");  // ignored: the spec is as submitted
  ASSERT_TRUE(Update(*store_, job).ok());

  StatusOr<v1::Job> got = store_->GetJob(created.id());
  ASSERT_TRUE(got.ok()) << got.status();
  v1::Job expected = job;
  *expected.mutable_spec() = created.spec();
  EXPECT_TRUE(MessageDifferencer::Equals(*got, expected)) << got->DebugString();

  // Fields can be cleared again, too.
  v1::Job cleared = expected;
  cleared.clear_result();
  cleared.set_state(v1::RESTARTING);
  ASSERT_TRUE(Update(*store_, cleared).ok());
  got = store_->GetJob(created.id());
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_result());
  EXPECT_EQ(got->state(), v1::RESTARTING);
}

// ---------------------------------------------------------------------------------------------
// Events

TEST_F(JobStoreTest, EventsAreNumberedPerJobFromOne) {
  const std::string a = CreateOrDie(*store_, "a").id();
  const std::string b = CreateOrDie(*store_, "b").id();
  EXPECT_EQ(*store_->AppendEvent(a, StepEvent(10)), 1);
  EXPECT_EQ(*store_->AppendEvent(a, StepEvent(20)), 2);
  EXPECT_EQ(*store_->AppendEvent(b, StepEvent(5)), 1);
  EXPECT_EQ(*store_->AppendEvent(a, StepEvent(30)), 3);

  StatusOr<std::vector<v1::JobEvent>> events = store_->Events(a, 0, 0);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(Sequences(*events), (std::vector<int64_t>{1, 2, 3}));
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].step().step(), 10);
  EXPECT_EQ((*events)[2].step().step(), 30);
  EXPECT_EQ((*events)[1].time(), 1020);

  events = store_->Events(b, 0, 0);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(Sequences(*events), (std::vector<int64_t>{1}));
}

TEST_F(JobStoreTest, EventsAfterAndLimit) {
  const std::string id = CreateOrDie(*store_, "a").id();
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(store_->AppendEvent(id, StepEvent(i)).ok());

  const auto sequences = [&](int64_t after, int limit) {
    StatusOr<std::vector<v1::JobEvent>> events = store_->Events(id, after, limit);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? Sequences(*events) : std::vector<int64_t>();
  };
  using Seqs = std::vector<int64_t>;
  EXPECT_EQ(sequences(2, 0), (Seqs{3, 4, 5}));
  EXPECT_EQ(sequences(2, -1), (Seqs{3, 4, 5}));
  EXPECT_EQ(sequences(0, 2), (Seqs{1, 2}));
  EXPECT_EQ(sequences(3, 1), (Seqs{4}));
  EXPECT_EQ(sequences(5, 0), Seqs{});
  EXPECT_EQ(sequences(99, 0), Seqs{});
  EXPECT_EQ(sequences(-7, 0), (Seqs{1, 2, 3, 4, 5}));
}

TEST_F(JobStoreTest, EventKeepsItsPayloadAndGetsATime) {
  const std::string id = CreateOrDie(*store_, "a").id();
  v1::JobEvent state;
  state.mutable_state()->set_state(v1::RUNNING);
  state.mutable_state()->set_message("started");
  state.set_sequence(77);  // overwritten: the store numbers events
  const double before = Now();
  ASSERT_EQ(*store_->AppendEvent(id, state), 1);

  StatusOr<std::vector<v1::JobEvent>> events = store_->Events(id, 0, 0);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  const v1::JobEvent& got = (*events)[0];
  EXPECT_EQ(got.sequence(), 1);
  ASSERT_EQ(got.event_case(), v1::JobEvent::kState);
  EXPECT_EQ(got.state().message(), "started");
  EXPECT_GE(got.time(), before);  // 0 on input: the store stamps it
}

// ---------------------------------------------------------------------------------------------
// Attempts

TEST_F(JobStoreTest, AttemptCounterStartsAtZeroAndIsStoredWithTheJob) {
  const std::string a = CreateOrDie(*store_, "a").id();
  const std::string b = CreateOrDie(*store_, "b").id();
  EXPECT_EQ(*store_->CurrentAttempt(a), 0);
  EXPECT_EQ(store_->GetJob(a)->attempt(), 0);
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(store_
                    ->UpdateJobIf(a, {},
                                  [](v1::Job& j) {
                                    j.set_attempt(j.attempt() + 1);
                                    return absl::OkStatus();
                                  })
                    .ok());
  EXPECT_EQ(*store_->CurrentAttempt(a), 2);
  EXPECT_EQ(store_->GetJob(a)->attempt(), 2);
  EXPECT_EQ(*store_->CurrentAttempt(b), 0);
  EXPECT_EQ((*store_->ListJobs({}, 0))[1].attempt(), 2);
}

// ---------------------------------------------------------------------------------------------
// Compare-and-set

TEST_F(JobStoreTest, AnUpdateAppliesOnlyInTheExpectedStatesAndWritesItsEventWithIt) {
  const std::string id = CreateOrDie(*store_, "a").id();
  v1::JobEvent event;
  event.mutable_state()->set_state(v1::RUNNING);
  StatusOr<v1::Job> running = store_->UpdateJobIf(
      id, {v1::QUEUED, v1::RESTARTING},
      [](v1::Job& j) {
        j.set_state(v1::RUNNING);
        return absl::OkStatus();
      },
      event);
  ASSERT_TRUE(running.ok()) << running.status();
  EXPECT_EQ(running->state(), v1::RUNNING);
  EXPECT_EQ(store_->Events(id, 0, 0)->size(), 1u);
  // A second start from QUEUED is refused: the state is not what it expects. Nothing changes,
  // the event is not written, and the change function never runs.
  bool ran = false;
  StatusOr<v1::Job> again = store_->UpdateJobIf(
      id, {v1::QUEUED},
      [&](v1::Job& j) {
        ran = true;
        j.set_state(v1::CANCELLED);
        return absl::OkStatus();
      },
      event);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(again.status().message(), "is RUNNING")) << again.status();
  EXPECT_FALSE(ran);
  EXPECT_EQ(store_->GetJob(id)->state(), v1::RUNNING);
  EXPECT_EQ(store_->Events(id, 0, 0)->size(), 1u);
  // An error from the change function rolls everything back.
  StatusOr<v1::Job> refused = store_->UpdateJobIf(
      id, {v1::RUNNING},
      [](v1::Job& j) {
        j.set_state(v1::FAILED);
        return absl::InvalidArgumentError("no");
      },
      event);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->GetJob(id)->state(), v1::RUNNING);
  EXPECT_EQ(store_->Events(id, 0, 0)->size(), 1u);
}

// A cancel racing a finish: whichever writes first wins; the other sees the ended state and can
// neither resurrect the job nor overwrite its outcome. Many rounds from two threads.
TEST_F(JobStoreTest, RacingTransitionsNeverBothApply) {
  for (int round = 0; round < 50; ++round) {
    const std::string id = CreateOrDie(*store_, "race").id();
    ASSERT_TRUE(store_
                    ->UpdateJobIf(id, {},
                                  [](v1::Job& j) {
                                    j.set_state(v1::RUNNING);
                                    return absl::OkStatus();
                                  })
                    .ok());
    std::atomic<int> applied{0};
    auto end_as = [&](v1::JobState to) {
      StatusOr<v1::Job> done = store_->UpdateJobIf(id, {v1::RUNNING}, [&](v1::Job& j) {
        j.set_state(to);
        return absl::OkStatus();
      });
      if (done.ok()) ++applied;
    };
    std::thread finish(end_as, v1::SUCCEEDED);
    std::thread cancel(end_as, v1::CANCELLED);
    finish.join();
    cancel.join();
    EXPECT_EQ(applied.load(), 1);
    const v1::JobState state = store_->GetJob(id)->state();
    EXPECT_TRUE(state == v1::SUCCEEDED || state == v1::CANCELLED);
  }
}

TEST_F(JobStoreTest, CountsAndPagesJobs) {
  for (int i = 0; i < 7; ++i) CreateOrDie(*store_, "job");
  ASSERT_TRUE(Update(*store_,
                     [&] {
                       v1::Job j = *store_->GetJob("j-000003");
                       j.set_state(v1::RUNNING);
                       return j;
                     }())
                  .ok());
  EXPECT_EQ(*store_->CountJobs({}), 7);
  EXPECT_EQ(*store_->CountJobs({v1::QUEUED}), 6);
  EXPECT_EQ(*store_->CountJobs({v1::RUNNING, v1::QUEUED}), 7);
  EXPECT_EQ(*store_->CountJobs({static_cast<v1::JobState>(99)}), 0);
  using Ids = std::vector<std::string>;
  EXPECT_EQ(::hearth::coordinator::Ids(*store_->ListJobs({}, 3, "j-000005")),
            (Ids{"j-000004", "j-000003", "j-000002"}));
  EXPECT_EQ(::hearth::coordinator::Ids(*store_->ListJobs({v1::QUEUED}, 2, "", true)),
            (Ids{"j-000001", "j-000002"}));
  EXPECT_EQ(::hearth::coordinator::Ids(*store_->ListJobs({}, 3, "j-000002", false)),
            (Ids{"j-000001"}));
  EXPECT_EQ(store_->ListJobs({}, 3, "bogus").status().code(), absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

TEST_F(JobStoreTest, CheckpointsComeOldestStepFirstAndAStepIsNeverReplaced) {
  const std::string id = CreateOrDie(*store_, "a").id();
  const std::string other = CreateOrDie(*store_, "b").id();
  for (const int64_t step : {300, 100, 200}) ASSERT_TRUE(Add(*store_, Checkpoint(id, step)).ok());
  ASSERT_TRUE(Add(*store_, Checkpoint(other, 100)).ok());

  // The same bytes again: accepted, nothing changes. Other bytes: ALREADY_EXISTS.
  StatusOr<JobStore::Added> same = store_->AddCheckpoint(Checkpoint(id, 200), false);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_TRUE(same->already_stored);
  StoredCheckpoint replacement = Checkpoint(id, 200, 0.5);
  replacement.path = "elsewhere.safetensors";
  replacement.info.set_sha256("cd");
  const Status refused = Add(*store_, replacement);
  EXPECT_EQ(refused.code(), absl::StatusCode::kAlreadyExists) << refused;
  EXPECT_TRUE(Contains(refused.message(), "never replaced")) << refused;

  StatusOr<std::vector<StoredCheckpoint>> checkpoints = store_->Checkpoints(id);
  ASSERT_TRUE(checkpoints.ok()) << checkpoints.status();
  EXPECT_EQ(Steps(*checkpoints), (std::vector<int64_t>{100, 200, 300}));
  const StoredCheckpoint& kept = (*checkpoints)[1];
  EXPECT_EQ(kept.path, Checkpoint(id, 200).path);
  EXPECT_EQ(kept.info.sha256(), "ab");
  EXPECT_EQ(kept.info.id(), id + "/200");
  EXPECT_EQ(kept.info.job_id(), id);
  EXPECT_EQ(kept.info.size_bytes(), 300);

  checkpoints = store_->Checkpoints(other);
  ASSERT_TRUE(checkpoints.ok());
  EXPECT_EQ(Steps(*checkpoints), (std::vector<int64_t>{100}));
  EXPECT_EQ(store_->AllCheckpoints()->size(), 4u);
  ASSERT_TRUE(store_->RemoveCheckpoint(id, 100).ok());
  EXPECT_EQ(Steps(*store_->Checkpoints(id)), (std::vector<int64_t>{200, 300}));
}

TEST_F(JobStoreTest, BestIsByMetricInTheRequestedDirection) {
  const std::string id = CreateOrDie(*store_, "a").id();
  ASSERT_TRUE(Add(*store_, Checkpoint(id, 100, 0.9)).ok());
  ASSERT_TRUE(Add(*store_, Checkpoint(id, 200, 0.2)).ok());
  ASSERT_TRUE(Add(*store_, Checkpoint(id, 300, 0.5)).ok());
  ASSERT_TRUE(Add(*store_, Checkpoint(id, 400)).ok());  // no metric: never best
  ASSERT_TRUE(Add(*store_, Checkpoint(id, 500, std::nan(""))).ok());

  StatusOr<std::vector<StoredCheckpoint>> min = store_->Checkpoints(id);
  ASSERT_TRUE(min.ok()) << min.status();
  EXPECT_EQ(BestStep(*min), 200);
  StatusOr<std::vector<StoredCheckpoint>> max = store_->Checkpoints(id, /*maximize=*/true);
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_EQ(BestStep(*max), 100);

  // A `best` passed in is not stored: it is computed on reading.
  StoredCheckpoint claims_best = Checkpoint(id, 600, 5.0);
  claims_best.info.set_best(true);
  ASSERT_TRUE(Add(*store_, claims_best).ok());
  EXPECT_EQ(BestStep(*store_->Checkpoints(id)), 200);
}

TEST_F(JobStoreTest, BestTiesGoToTheEarlierCheckpoint) {
  const std::string id = CreateOrDie(*store_, "a").id();
  ASSERT_TRUE(Add(*store_, Checkpoint(id, 100, 0.3)).ok());
  ASSERT_TRUE(Add(*store_, Checkpoint(id, 200, 0.3)).ok());
  EXPECT_EQ(BestStep(*store_->Checkpoints(id)), 100);
  EXPECT_EQ(BestStep(*store_->Checkpoints(id, true)), 100);
}

TEST_F(JobStoreTest, NoBestWithoutAMetric) {
  const std::string id = CreateOrDie(*store_, "a").id();
  StatusOr<std::vector<StoredCheckpoint>> none = store_->Checkpoints(id);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());

  ASSERT_TRUE(Add(*store_, Checkpoint(id, 100)).ok());
  ASSERT_TRUE(Add(*store_, Checkpoint(id, 200)).ok());
  EXPECT_EQ(BestStep(*store_->Checkpoints(id)), -1);
  EXPECT_EQ(BestStep(*store_->Checkpoints(id, true)), -1);
}

// ---------------------------------------------------------------------------------------------
// Sweeps

TEST_F(JobStoreTest, SweepsAreStoredWhole) {
  v1::SweepSpec spec;
  spec.set_name("lr-search");
  spec.set_method(v1::SweepSpec::GRID);
  spec.add_parameters()->set_path("optimizer.lr");
  spec.mutable_base()->set_name("base");

  const double before = Now();
  StatusOr<v1::Sweep> created = store_->CreateSweep(spec);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->id(), "s-000001");
  EXPECT_EQ(created->state(), v1::RUNNING);
  EXPECT_EQ(created->best_trial(), -1);
  EXPECT_GE(created->created_at(), before);
  EXPECT_TRUE(MessageDifferencer::Equals(created->spec(), spec));
  EXPECT_EQ(store_->CreateSweep(spec)->id(), "s-000002");

  StatusOr<v1::Sweep> got = store_->GetSweep("s-000001");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*got, *created));

  v1::Sweep updated = *created;
  v1::Trial* trial = updated.add_trials();
  trial->set_job_id(CreateOrDie(*store_, "trial", updated.id()).id());
  trial->set_metric_value(0.1);
  updated.set_best_trial(0);
  updated.set_state(v1::SUCCEEDED);
  ASSERT_TRUE(store_->UpdateSweep(updated).ok());
  got = store_->GetSweep("s-000001");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*got, updated)) << got->DebugString();
}

TEST_F(JobStoreTest, ActiveSweepsAreTheRunningOnes) {
  v1::SweepSpec spec;
  spec.set_name("s");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->CreateSweep(spec).ok());
  v1::Sweep done = *store_->GetSweep("s-000002");
  done.set_state(v1::FAILED);
  ASSERT_TRUE(store_->UpdateSweep(done).ok());

  StatusOr<std::vector<v1::Sweep>> active = store_->ActiveSweeps();
  ASSERT_TRUE(active.ok()) << active.status();
  ASSERT_EQ(active->size(), 2u);
  EXPECT_EQ((*active)[0].id(), "s-000001");
  EXPECT_EQ((*active)[1].id(), "s-000003");
}

TEST_F(JobStoreTest, UnknownSweepIsNotFoundNamingTheId) {
  for (const std::string id : {"s-000001", "j-000001", "bogus"}) {
    const Status status = store_->GetSweep(id).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
    EXPECT_TRUE(Contains(status.message(), id));
    v1::Sweep sweep;
    sweep.set_id(id);
    EXPECT_EQ(store_->UpdateSweep(sweep).code(), absl::StatusCode::kNotFound);
  }
}

// ---------------------------------------------------------------------------------------------
// Durability

TEST_F(JobStoreTest, ReopeningKeepsEverything) {
  const v1::Job a = CreateOrDie(*store_, "a");
  v1::Job b = CreateOrDie(*store_, "b", "s-000001");
  b.set_state(v1::RUNNING);
  b.set_step(42);
  b.set_attempt(1);
  ASSERT_TRUE(Update(*store_, b).ok());
  ASSERT_TRUE(store_->AppendEvent(b.id(), StepEvent(1)).ok());
  ASSERT_TRUE(store_->AppendEvent(b.id(), StepEvent(2)).ok());
  ASSERT_TRUE(Add(*store_, Checkpoint(b.id(), 100, 0.4)).ok());
  ASSERT_TRUE(Add(*store_, Checkpoint(b.id(), 200, 0.3)).ok());
  v1::SweepSpec spec;
  spec.set_name("sweep");
  const v1::Sweep sweep = *store_->CreateSweep(spec);

  store_.reset();
  store_ = OpenOrDie(path_);
  ASSERT_NE(store_, nullptr);

  EXPECT_TRUE(MessageDifferencer::Equals(*store_->GetJob(a.id()), a));
  EXPECT_TRUE(MessageDifferencer::Equals(*store_->GetJob(b.id()), b));
  EXPECT_EQ(*store_->JobWorkers(b.id()), 2);
  EXPECT_EQ(Ids(*store_->ListJobs({v1::RUNNING}, 0)), std::vector<std::string>{b.id()});
  EXPECT_EQ(Sequences(*store_->Events(b.id(), 0, 0)), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(*store_->CurrentAttempt(b.id()), 1);
  StatusOr<std::vector<StoredCheckpoint>> checkpoints = store_->Checkpoints(b.id());
  ASSERT_TRUE(checkpoints.ok());
  EXPECT_EQ(Steps(*checkpoints), (std::vector<int64_t>{100, 200}));
  EXPECT_EQ(BestStep(*checkpoints), 200);
  EXPECT_TRUE(MessageDifferencer::Equals(*store_->GetSweep(sweep.id()), sweep));
  EXPECT_EQ(store_->ActiveSweeps()->size(), 1u);

  // Counters carry on where they were.
  EXPECT_EQ(CreateOrDie(*store_, "c").id(), "j-000003");
  EXPECT_EQ(*store_->AppendEvent(b.id(), StepEvent(3)), 3);
  EXPECT_EQ(store_->CreateSweep(spec)->id(), "s-000002");

  EXPECT_EQ(RawPragma(path_, "journal_mode"), "wal");
  EXPECT_TRUE(store_->CheckIntegrity().ok());
}

// ---------------------------------------------------------------------------------------------
// Bounds

TEST(JobStoreLimitsTest, TheOldestStepEventsAreDroppedAndEverythingElseKept) {
  TempDir dir;
  StatusOr<std::unique_ptr<JobStore>> store =
      JobStore::Open(dir.file("hearthd.db"), StoreLimits{.max_events_per_job = 10});
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string id = CreateOrDie(**store, "long").id();
  v1::JobEvent state;
  state.mutable_state()->set_state(v1::RUNNING);
  ASSERT_EQ(*(*store)->AppendEvent(id, state), 1);
  for (int step = 1; step <= 100; ++step)
    ASSERT_TRUE((*store)->AppendEvent(id, StepEvent(step)).ok());
  std::vector<v1::JobEvent> events = *(*store)->Events(id, 0, 0);
  ASSERT_EQ(events.size(), 11u);
  EXPECT_TRUE(events[0].has_state()) << "state events are kept";
  EXPECT_EQ(events[1].step().step(), 91);
  EXPECT_EQ(events.back().step().step(), 100);
  // Sequences go on, with the gap the dropped events left.
  EXPECT_EQ(events[1].sequence(), 92);
  EXPECT_EQ(*(*store)->AppendEvent(id, StepEvent(101)), 102);
}

TEST(JobStoreLimitsTest, CheckpointsBeyondTheLimitLoseTheOldestButNeverTheBestOrLatest) {
  TempDir dir;
  StatusOr<std::unique_ptr<JobStore>> store =
      JobStore::Open(dir.file("hearthd.db"), StoreLimits{.max_checkpoints_per_job = 3});
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string id = CreateOrDie(**store, "many").id();
  std::vector<std::string> evicted;
  const double metrics[] = {0.9, 0.1, 0.8, 0.7, 0.6, 0.5};
  for (int i = 0; i < 6; ++i) {
    StatusOr<JobStore::Added> added =
        (*store)->AddCheckpoint(Checkpoint(id, 100 * (i + 1), metrics[i]), false);
    ASSERT_TRUE(added.ok()) << added.status();
    evicted.insert(evicted.end(), added->evicted_paths.begin(), added->evicted_paths.end());
  }
  std::vector<StoredCheckpoint> kept = *(*store)->Checkpoints(id);
  EXPECT_EQ(Steps(kept), (std::vector<int64_t>{200, 500, 600}));
  EXPECT_EQ(BestStep(kept), 200);
  EXPECT_EQ(evicted.size(), 3u);
  EXPECT_EQ(evicted[0], Checkpoint(id, 100).path);
}

// A process killed right after its writes returned (no destructor, no WAL checkpoint) loses none
// of them.
TEST_F(JobStoreTest, KilledWriterLosesNoCommittedWrite) {
  store_.reset();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(path_);
    if (!store.ok()) _exit(2);
    StatusOr<v1::Job> job = (*store)->CreateJob(Spec("survivor"), 1, "");
    if (!job.ok() || !(*store)->AppendEvent(job->id(), StepEvent(1)).ok()) _exit(3);
    raise(SIGKILL);
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;

  store_ = OpenOrDie(path_);
  ASSERT_NE(store_, nullptr);
  StatusOr<v1::Job> job = store_->GetJob("j-000001");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec().name(), "survivor");
  EXPECT_EQ(Sequences(*store_->Events("j-000001", 0, 0)), (std::vector<int64_t>{1}));
}

TEST_F(JobStoreTest, IdsAreNeverReused) {
  CreateOrDie(*store_, "a");
  CreateOrDie(*store_, "b");
  v1::SweepSpec spec;
  ASSERT_TRUE(store_->CreateSweep(spec).ok());
  ASSERT_TRUE(store_->CreateSweep(spec).ok());
  store_.reset();
  // Someone deletes the newest rows by hand; their numbers stay used.
  RawExec(path_, "DELETE FROM jobs WHERE num = 2; DELETE FROM sweeps WHERE num = 2;");
  store_ = OpenOrDie(path_);
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->GetJob("j-000002").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CreateOrDie(*store_, "c").id(), "j-000003");
  EXPECT_EQ(store_->CreateSweep(spec)->id(), "s-000003");
}

// ---------------------------------------------------------------------------------------------
// Concurrency

TEST_F(JobStoreTest, ConcurrentAppendsGetUniqueGapFreeSequences) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  const std::string shared = CreateOrDie(*store_, "shared").id();
  std::vector<std::string> own;
  for (int t = 0; t < kThreads; ++t) own.push_back(CreateOrDie(*store_, "own").id());

  std::vector<std::vector<int64_t>> shared_sequences(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        StatusOr<int64_t> mine = store_->AppendEvent(own[t], StepEvent(i));
        StatusOr<int64_t> theirs = store_->AppendEvent(shared, StepEvent(t * 1000 + i));
        ASSERT_TRUE(mine.ok()) << mine.status();
        ASSERT_TRUE(theirs.ok()) << theirs.status();
        EXPECT_EQ(*mine, i + 1);  // nobody else writes this job
        shared_sequences[t].push_back(*theirs);
        // Readers interleave with the writers.
        ASSERT_TRUE(store_->Events(shared, 0, 5).ok());
        ASSERT_TRUE(store_->ListJobs({}, 0).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::set<int64_t> all;
  for (const std::vector<int64_t>& sequences : shared_sequences) {
    // Each thread sees its own appends in increasing order.
    EXPECT_TRUE(std::is_sorted(sequences.begin(), sequences.end()));
    all.insert(sequences.begin(), sequences.end());
  }
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kThreads * kPerThread);

  StatusOr<std::vector<v1::JobEvent>> events = store_->Events(shared, 0, 0);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].sequence(), int64_t(i) + 1);
  for (const std::string& id : own) EXPECT_EQ(store_->Events(id, 0, 0)->size(), size_t{kPerThread});
}

// ---------------------------------------------------------------------------------------------
// Files that are not this version's store

TEST(JobStoreOpenTest, GarbageFileIsDataLossAndLeftAlone) {
  TempDir dir;
  const std::string path = dir.file("hearthd.db");
  const std::string garbage(4096, 'x');
  std::ofstream(path, std::ios::binary) << garbage;

  StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
  EXPECT_TRUE(Contains(store.status().message(), path));
  EXPECT_TRUE(Contains(store.status().message(), "move it aside"));
  EXPECT_EQ(ReadFile(path), garbage);
}

TEST(JobStoreOpenTest, AnotherProgramsDatabaseIsDataLossAndLeftAlone) {
  TempDir dir;
  const std::string path = dir.file("other.db");
  RawExec(path, "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine');");
  const std::string before = ReadFile(path);

  StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
  EXPECT_TRUE(Contains(store.status().message(), path));
  EXPECT_EQ(ReadFile(path), before);
  EXPECT_EQ(RawPragma(path, "journal_mode"), "delete");
}

TEST(JobStoreOpenTest, NewerSchemaIsFailedPreconditionNamingTheFile) {
  TempDir dir;
  const std::string path = dir.file("hearthd.db");
  {
    std::unique_ptr<JobStore> store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    CreateOrDie(*store, "a");
  }
  RawExec(path, "PRAGMA user_version = 3");

  StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_TRUE(Contains(store.status().message(), path));
  EXPECT_TRUE(Contains(store.status().message(), "schema version 3"));
}

// A file from the first schema (before events had a kind) is migrated in place and keeps its
// events; they are of unknown kind and never dropped.
TEST(JobStoreOpenTest, AVersionOneFileIsMigrated) {
  TempDir dir;
  const std::string path = dir.file("hearthd.db");
  RawExec(path,
          "CREATE TABLE jobs (num INTEGER PRIMARY KEY AUTOINCREMENT, state INTEGER NOT NULL, "
          "created_at REAL NOT NULL, sweep_id TEXT NOT NULL, workers INTEGER NOT NULL, attempt "
          "INTEGER NOT NULL, last_event INTEGER NOT NULL, spec BLOB NOT NULL, job BLOB NOT NULL);"
          "CREATE TABLE events (job INTEGER NOT NULL REFERENCES jobs (num), sequence INTEGER NOT "
          "NULL, event BLOB NOT NULL, PRIMARY KEY (job, sequence)) WITHOUT ROWID;"
          "CREATE TABLE checkpoints (job INTEGER NOT NULL REFERENCES jobs (num), step INTEGER NOT "
          "NULL, path TEXT NOT NULL, info BLOB NOT NULL, PRIMARY KEY (job, step)) WITHOUT ROWID;"
          "CREATE TABLE sweeps (num INTEGER PRIMARY KEY AUTOINCREMENT, state INTEGER NOT NULL, "
          "created_at REAL NOT NULL, sweep BLOB NOT NULL);"
          "INSERT INTO jobs VALUES (1, 1, 0, '', 1, 0, 1, x'', x'');"
          "INSERT INTO events VALUES (1, 1, x'');"
          "PRAGMA application_id = 1213355080; PRAGMA user_version = 1;");
  StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(path, {.max_events_per_job = 10});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(RawPragma(path, "user_version"), "2");
  for (int step = 1; step <= 20; ++step)
    ASSERT_TRUE((*store)->AppendEvent("j-000001", StepEvent(step)).ok());
  const std::vector<v1::JobEvent> events = *(*store)->Events("j-000001", 0, 0);
  ASSERT_EQ(events.size(), 11u);
  EXPECT_FALSE(events[0].has_step()) << "the old event is kept";
}

TEST(JobStoreOpenTest, EmptyFileBecomesAStore) {
  TempDir dir;
  const std::string path = dir.file("hearthd.db");
  std::ofstream(path, std::ios::binary).flush();
  std::unique_ptr<JobStore> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(CreateOrDie(*store, "a").id(), "j-000001");
}

TEST(JobStoreOpenTest, MissingDirectoryIsAnErrorNamingTheFile) {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/hearthd.db");
  StatusOr<std::unique_ptr<JobStore>> store = JobStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_TRUE(Contains(store.status().message(), path));
}

}  // namespace
}  // namespace hearth::coordinator
