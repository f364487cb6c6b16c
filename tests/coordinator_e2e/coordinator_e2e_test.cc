// The coordinator end to end: a real hearthd on a loopback port, real workers through
// launch/hearthrun and mpirun, and the `hearth` client.
#include <fstream>

#include "coordinator_e2e/coordinator_fixture.h"

namespace hearth::testing {
namespace {

TEST_F(CoordinatorTest, SubmittedJobSucceedsWithMetricsOnTwoWorkers) {
  auto hearthd = Start();
  CommandResult r = hearthd->Hearth({"submit", Job("quick", 3), "--workers", "2", "--follow"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << hearthd->log();
  EXPECT_TRUE(Contains(r.out + r.err, "val_accuracy")) << r.out << r.err;
  const Json s = Status(*hearthd, "j-000001");
  EXPECT_EQ(s["state"].string, "SUCCEEDED");
  EXPECT_FALSE(s["result"]["validation_metrics"].array.empty()) << r.out;
  EXPECT_GT(CheckpointCount(*hearthd, "j-000001"), 0);
  // The checkpoint downloads intact (the client checks its sha256).
  const std::string file = dir_.file("model.safetensors");
  ASSERT_EQ(hearthd->Hearth({"download", "j-000001", "-o", file}).exit_code, 0);
  EXPECT_TRUE(MustLoadCheckpoint(file).Find("0.weight") != nullptr);
}

TEST_F(CoordinatorTest, CancelStopsTheWholeJob) {
  auto hearthd = Start();
  const std::string job = Submit(*hearthd, Job("long", 100000), 2);
  WaitFor(*hearthd, job, [](const Json& s) { return NumberOf(s["step"]) > 0; });
  CommandResult r = hearthd->Hearth({"cancel", job});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const Json s = WaitFor(*hearthd, job, Ended, 30);
  EXPECT_EQ(s["state"].string, "CANCELLED");
  EXPECT_EQ(WorkerPid(dir_.file("data"), job, 0), -1) << "a worker survived the cancel";
  EXPECT_EQ(WorkerPid(dir_.file("data"), job, 1), -1) << "a worker survived the cancel";
  // Nothing saved is lost by a cancel: the job keeps its checkpoints.
  EXPECT_GT(CheckpointCount(*hearthd, job), 0) << hearthd->log();
  // Cancelling an ended job is refused.
  r = hearthd->Hearth({"cancel", job});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "FAILED_PRECONDITION")) << r.err;
}

TEST_F(CoordinatorTest, CancelKillsWorkersThatDoNotStopWithinTheGracePeriod) {
  auto hearthd = Start();
  const std::string job = Submit(*hearthd, Job("frozen", 100000), 2);
  WaitFor(*hearthd, job, [](const Json& s) { return NumberOf(s["step"]) > 0; });
  // Frozen workers neither read their progress acks nor act on SIGUSR1.
  const std::string data = dir_.file("data");
  for (int rank : {0, 1}) {
    const pid_t pid = WorkerPid(data, job, rank);
    ASSERT_GT(pid, 0) << "rank " << rank << " not found";  // kill(-1) would stop everything
    ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  }
  const auto start = Clock::now();
  ASSERT_EQ(hearthd->Hearth({"cancel", job}).exit_code, 0);
  const Json s = WaitFor(*hearthd, job, Ended, 40);
  EXPECT_EQ(s["state"].string, "CANCELLED");
  EXPECT_GE(std::chrono::duration<double>(Clock::now() - start).count(), 9.0)
      << "the workers were killed before their grace period";
  EXPECT_EQ(WorkerPid(data, job, 0), -1) << "a frozen worker survived the cancel";
  EXPECT_EQ(WorkerPid(data, job, 1), -1) << "a frozen worker survived the cancel";
}

// Faults by design, not by the clock: rank 1 of the first attempt dies right after step 25, but
// only once the test has seen a checkpoint stored (the fault waits for the test's go-ahead), so
// the restart always has a checkpoint to resume from, however fast or slow the machine is.
TEST_F(CoordinatorTest, AKilledWorkerRankRestartsFromItsCheckpointAndSucceeds) {
  dist_test::ScopedEnv faults("HEARTH_FAULTS", "rank_exit:rank=1,step=25,attempt=1,mode=pause");
  dist_test::ScopedEnv fault_dir("HEARTH_FAULT_DIR", dir_.path());
  auto hearthd = Start();
  const std::string job = Submit(*hearthd, Job("restart", 60, R"("max_restarts": 1,)"), 2);
  // A follower of the logs from the start sees both attempts, in order, each marked.
  ChildProcess follow(
      {HearthBinary(), "logs", job, "--follow", "--coordinator", hearthd->address()},
      dir_.file("follow.out"), dir_.file("follow.err"));
  WaitForFile(dir_.file("rank_exit.paused"));
  WaitFor(*hearthd, job, [&](const Json&) { return CheckpointCount(*hearthd, job) > 0; });
  WriteFileOrFail(dir_.file("rank_exit.release"), "go\n");
  const Json s = WaitFor(*hearthd, job, Ended, 120);
  EXPECT_EQ(s["state"].string, "SUCCEEDED") << hearthd->Hearth({"status", job}).out;
  EXPECT_EQ(s["restarts"].number, 1);
  EXPECT_EQ(s["attempt"].number, 2);
  CommandResult logs = hearthd->Hearth({"logs", job, "--rank", "0"});
  EXPECT_TRUE(Contains(logs.out, "resuming")) << logs.out;
  EXPECT_EQ(follow.Wait(), 0) << ReadFileOrEmpty(dir_.file("follow.err"));
  const std::string followed = ReadFileOrEmpty(dir_.file("follow.out"));
  const size_t second = followed.find("--- attempt 2 ---");
  ASSERT_NE(second, std::string::npos) << followed;
  EXPECT_NE(followed.substr(0, second).find("[rank 0]"), std::string::npos) << followed;
  EXPECT_NE(followed.find("resuming", second), std::string::npos) << followed;
  EXPECT_NE(followed.find("done:", second), std::string::npos) << followed;
}

// The job is surely running when hearthd dies: rank 0 of the first attempt waits after step 25
// (and is never let go); the next hearthd ends those workers and restarts the job.
TEST_F(CoordinatorTest, ASigkilledCoordinatorLosesNoHistory) {
  dist_test::ScopedEnv faults("HEARTH_FAULTS", "rank_pause:rank=0,step=25,attempt=1,mode=pause");
  dist_test::ScopedEnv fault_dir("HEARTH_FAULT_DIR", dir_.path());
  auto hearthd = Start();
  ASSERT_EQ(hearthd->Hearth({"submit", Job("first", 1), "--follow"}).exit_code, 0);
  const std::string job = Submit(*hearthd, Job("long", 40, R"("max_restarts": 1,)"), 2);
  WaitForFile(dir_.file("rank_pause.paused"));
  WaitFor(*hearthd, job, [&](const Json&) { return CheckpointCount(*hearthd, job) > 0; });
  hearthd->Kill();
  hearthd.reset();
  auto again = Start();
  EXPECT_EQ(Status(*again, "j-000001")["state"].string, "SUCCEEDED");
  const Json s = WaitFor(*again, job, Ended, 120);
  EXPECT_EQ(s["state"].string, "SUCCEEDED") << again->Hearth({"status", job}).out;
  EXPECT_EQ(s["restarts"].number, 1);
  EXPECT_EQ(WorkerPid(dir_.file("data"), job, 0), -1) << "a worker of the old hearthd survived";
}

TEST_F(CoordinatorTest, AWrongOrMissingTokenIsUnauthenticated) {
  const std::string token = dir_.file("token");
  WriteFileOrFail(token, "correct-horse-battery-staple\n");
  const std::string wrong = dir_.file("wrong");
  WriteFileOrFail(wrong, "not-the-right-token-at-all\n");
  auto hearthd = Start({"--token-file", token});
  CommandResult missing = hearthd->Hearth({"list"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(Contains(missing.err, "UNAUTHENTICATED")) << missing.err;
  CommandResult bad = hearthd->Hearth({"list", "--token-file", wrong});
  EXPECT_TRUE(Contains(bad.err, "UNAUTHENTICATED")) << bad.err;
  EXPECT_EQ(hearthd->Hearth({"list", "--token-file", token}).exit_code, 0);
}

TEST_F(CoordinatorTest, ListeningBeyondLoopbackWithoutATokenIsRefused) {
  CommandResult r =
      RunCommand({HearthdBinary(), "--listen", "0.0.0.0:0", "--data-dir", dir_.file("data")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "--token-file")) << r.err;
}

TEST_F(CoordinatorTest, ATokenBeyondLoopbackNeedsTls) {
  const std::string token = dir_.file("token");
  WriteFileOrFail(token, "correct-horse-battery-staple\n");
  CommandResult r = RunCommand({HearthdBinary(), "--listen", "0.0.0.0:0", "--data-dir",
                                dir_.file("data"), "--token-file", token});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "in clear text")) << r.err;
  EXPECT_TRUE(Contains(r.err, "--tls-cert")) << r.err;
}

// A job stopped by a cancel uploads the checkpoint it saves on the way out: the training it did
// since its last periodic checkpoint is not lost. (It is held at step 3, before any periodic
// checkpoint, until the cancel is in.)
TEST_F(CoordinatorTest, ACancelledJobUploadsTheCheckpointItSavesOnTheWayOut) {
  dist_test::ScopedEnv faults("HEARTH_FAULTS", "rank_pause:job=j-000001,step=3,mode=pause");
  dist_test::ScopedEnv fault_dir("HEARTH_FAULT_DIR", dir_.path());
  auto hearthd = Start();
  const std::string job = Submit(*hearthd, Job("stopped", 100000), 1);
  WaitForFile(dir_.file("rank_pause.paused"));
  EXPECT_EQ(CheckpointCount(*hearthd, job), 0);
  ASSERT_EQ(hearthd->Hearth({"cancel", job}).exit_code, 0);
  WriteFileOrFail(dir_.file("rank_pause.release"), "go\n");
  EXPECT_EQ(WaitFor(*hearthd, job, Ended)["state"].string, "CANCELLED");
  const std::optional<Json> listed = ParseJson(hearthd->Hearth({"checkpoints", job, "--json"}).out);
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ((*listed)["checkpoints"].array.size(), 1u) << hearthd->Hearth({"logs", job}).out;
  EXPECT_GE(NumberOf((*listed)["checkpoints"].array[0]["step"]), 3);
}

TEST_F(CoordinatorTest, ASweepOfFourTrialsPicksTheBest) {
  auto hearthd = Start();
  const std::string sweep = dir_.file("sweep.json");
  WriteFileOrFail(sweep, absl::StrFormat(R"({"name": "lr", "base": %s,
    "parameters": [{"path": "optimizer.lr", "values": [0.0001, 0.001, 0.01, 0.1]}],
    "method": "GRID", "metric": "val_loss"})",
                                         MlpJob(csv_, 3)));
  CommandResult r = hearthd->Hearth({"sweep", sweep, "--follow", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // The last JSON line is the final sweep.
  std::vector<std::string> lines = SplitLines(r.out);
  ASSERT_FALSE(lines.empty());
  std::optional<Json> final_sweep = ParseJson(lines.back());
  ASSERT_TRUE(final_sweep.has_value()) << r.out;
  const Json& trials = (*final_sweep)["trials"];
  ASSERT_EQ(trials.array.size(), 4u);
  int best = -1;
  double best_value = 1e300;
  for (size_t i = 0; i < trials.array.size(); ++i) {
    EXPECT_EQ(trials.array[i]["state"].string, "SUCCEEDED");
    if (trials.array[i]["metric_value"].number < best_value) {
      best_value = trials.array[i]["metric_value"].number;
      best = static_cast<int>(i);
    }
  }
  EXPECT_EQ((*final_sweep)["best_trial"].number, best);
  EXPECT_EQ(best, 3) << "the largest learning rate should win in 3 epochs";
}

// A cross-validated sweep: two rates, three folds each, run in parallel within the slots; each
// point's trials carry its folds' mean and std, and the best is the point with the best mean.
TEST_F(CoordinatorTest, ACrossValidatedSweepRanksPointsByTheirFoldsMean) {
  auto hearthd = Start();
  std::string base = MlpJob(csv_, 2);
  base.replace(base.find("\"validation_fraction\": 0.2"), 26, "\"folds\": 3");
  // hearthd runs folds as a sweep's trials, not as one job: SubmitJob says so, and `hearth
  // submit` makes the sweep itself (one trial per fold, ranked by the first metric).
  v1::SubmitJobRequest job_request;
  *job_request.mutable_spec() = MustParseSpec(base);
  v1::SubmitJobResponse job_response;
  auto stub = v1::Coordinator::NewStub(Channel(*hearthd));
  const grpc::Status refused = stub->SubmitJob(Context().get(), job_request, &job_response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(Contains(refused.error_message(), "spec.data.folds: hearthd runs the folds"))
      << refused.error_message();
  WriteFileOrFail(dir_.file("cv.json"), base);
  const CommandResult submitted =
      hearthd->Hearth({"submit", dir_.file("cv.json"), "--follow", "--json"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.out << submitted.err;
  EXPECT_TRUE(Contains(submitted.err, "data.folds: submitting the 3 folds as a cross-validation"))
      << submitted.err;
  std::optional<Json> cv = ParseJson(SplitLines(submitted.out).back());
  ASSERT_TRUE(cv.has_value()) << submitted.out;
  EXPECT_EQ((*cv)["spec"]["metric"].string, "val_accuracy");
  const std::vector<Json>& folds = (*cv)["trials"].array;
  ASSERT_EQ(folds.size(), 3u);
  double fold_sum = 0;
  for (const Json& t : folds) {
    EXPECT_EQ(t["state"].string, "SUCCEEDED");
    fold_sum += t["metric_value"].number;
  }
  EXPECT_NEAR(folds[2]["cv_mean"].number, fold_sum / 3, 1e-9);

  const std::string sweep = dir_.file("sweep.json");
  WriteFileOrFail(sweep, absl::StrFormat(R"({"name": "cv", "base": %s,
    "parameters": [{"path": "optimizer.lr", "values": [0.001, 0.1]}],
    "method": "GRID", "metric": "val_loss"})",
                                         base));
  CommandResult r = hearthd->Hearth({"sweep", sweep, "--follow", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::optional<Json> final_sweep = ParseJson(SplitLines(r.out).back());
  ASSERT_TRUE(final_sweep.has_value()) << r.out;
  const std::vector<Json>& trials = (*final_sweep)["trials"].array;
  ASSERT_EQ(trials.size(), 6u);
  for (int point = 0; point < 2; ++point) {
    double sum = 0;
    for (int fold = 0; fold < 3; ++fold) {
      const Json& t = trials[static_cast<size_t>(point * 3 + fold)];
      EXPECT_EQ(t["state"].string, "SUCCEEDED");
      bool has_fold = false;
      for (const Json& p : t["parameters"].array)
        if (p["name"].string == "data.fold") has_fold = p["value"].number == fold;
      EXPECT_TRUE(has_fold) << "trial " << point * 3 + fold;
      sum += t["metric_value"].number;
    }
    for (int fold = 0; fold < 3; ++fold)
      EXPECT_NEAR(trials[static_cast<size_t>(point * 3 + fold)]["cv_mean"].number, sum / 3, 1e-9);
  }
  // The larger rate learns more in 2 epochs: its point (trials 3 to 5) wins.
  EXPECT_LT(trials[3]["cv_mean"].number, trials[0]["cv_mean"].number);
  EXPECT_EQ((*final_sweep)["best_trial"].number, 3);
  const CommandResult shown = hearthd->Hearth({"status", (*final_sweep)["id"].string});
  EXPECT_TRUE(Contains(shown.out, "CV MEAN +- STD")) << shown.out;
  EXPECT_TRUE(Contains(shown.out,
                       "best: trial 4 (j-000007, optimizer.lr=0.1 data.fold=0) and its other "
                       "folds: cross-validated val_loss"))
      << shown.out;
}

}  // namespace
}  // namespace hearth::testing

namespace hearth::testing {
namespace {

// A client outside our own code (Debian's python3-grpcio) against the .proto contract: health
// service, INVALID_ARGUMENT with the field path, path escapes refused, NOT_FOUND.
TEST(ExternalClientTest, PythonGrpcClientSeesTheDocumentedContract) {
  if (RunCommand({"/usr/bin/python3", "-c", "import grpc, google.protobuf"}).exit_code != 0)
    GTEST_SKIP() << "python3-grpcio is not installed (launch/setup.sh installs it)";
  TempDir dir;
  Hearthd hearthd(dir.file("data"), dir.path(), {}, dir.file("hearthd.log"));
  const char* source = std::getenv("HEARTH_SOURCE_DIR");
  const std::string repo = source ? source : ".";
  CommandResult r =
      RunCommand({"/usr/bin/python3", repo + "/tests/coordinator_e2e/external_client.py",
                  hearthd.address(), repo, dir.path()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << hearthd.log();
  EXPECT_TRUE(Contains(r.out, "all checks passed")) << r.out << r.err;
}

}  // namespace
}  // namespace hearth::testing
