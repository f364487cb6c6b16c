// hearthd against hostile input and faults, end to end: crafted data and requests, forged worker
// calls, escapes from the data roots, and races lined up with fault-injection points instead of
// the clock. Each test is a case of docs/reliability.md's fault matrix.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <grpcpp/generic/generic_stub.h>

#include "coordinator/sha256.h"
#include "coordinator_e2e/coordinator_fixture.h"

namespace hearth::testing {
namespace {

using dist_test::ScopedEnv;

class HardeningTest : public CoordinatorTest {
 protected:
  // `hearth args... --coordinator ADDR` as a process of its own (for calls that block in hearthd).
  std::unique_ptr<ChildProcess> Background(const Hearthd& d, std::vector<std::string> args,
                                           const std::string& name) {
    args.insert(args.begin(), HearthBinary());
    args.insert(args.end(), {"--coordinator", d.address()});
    return std::make_unique<ChildProcess>(args, dir_.file(name + ".out"), dir_.file(name + ".err"));
  }
  // A one-epoch job whose data file is read as CSV whatever its name.
  std::string ProbeJob(const std::string& data) {
    std::string json = MlpJob(data, 1);
    const std::string label = R"("label_column": "label")";
    json.replace(json.find(label), label.size(), std::string(label) + R"(, "format": "CSV")");
    const std::string path = dir_.file("probe.json");
    WriteFileOrFail(path, json);
    return path;
  }
  // The secret of rank 0 of a running job, from its environment.
  std::string SecretOf(const std::string& job) {
    pid_t pid = -1;
    for (int i = 0; i < 600 && pid < 0; ++i) {
      pid = WorkerPid(dir_.file("data"), job, 0);
      if (pid < 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_GT(pid, 0) << "no worker of " << job;
    return pid > 0 ? WorkerSecretOf(pid) : "";
  }
};

// hearthd crashed when a job's CSV held the cell "process rank 3000000000": the failure report's
// std::stoi threw in the reaper thread. Now the job fails with a clear report, and hearthd lives.
TEST_F(HardeningTest, AMpirunLookingCellInTheDataFailsTheJobNotTheCoordinator) {
  const std::string csv = dir_.file("evil.csv");
  std::string text = ThreeClassCsv();
  text.insert(text.find('\n') + 1, "process rank 3000000000,1,1,1,0\n");
  WriteFileOrFail(csv, text);
  const std::string job_file = dir_.file("evil.json");
  WriteFileOrFail(job_file, MlpJob(csv, 2));
  auto hearthd = Start();
  const std::string job = Submit(*hearthd, job_file, 2);
  const Json s = WaitFor(*hearthd, job, Ended);
  EXPECT_EQ(s["state"].string, "FAILED");
  EXPECT_TRUE(Contains(s["failure"]["error"].string, "process rank 3000000000"))
      << s["failure"]["error"].string;
  // Still serving.
  EXPECT_EQ(hearthd->Hearth({"list"}).exit_code, 0) << hearthd->log();
}

// A 24 KB SubmitSweep of 4 parameters x 200 values asked for 1.6e9 trials; the grid was built
// before its size was checked. Now it is refused at once, before anything is allocated.
TEST_F(HardeningTest, AHugeSweepGridIsRefusedBeforeItIsBuilt) {
  auto hearthd = Start();
  v1::SubmitSweepRequest request;
  v1::SweepSpec& spec = *request.mutable_spec();
  spec.set_name("huge");
  spec.set_metric("val_loss");
  spec.set_method(v1::SweepSpec::GRID);
  const v1::JobSpec base = MustParseSpec(MlpJob(csv_, 1));
  *spec.mutable_base() = base;
  for (const char* path : {"optimizer.lr", "optimizer.momentum", "global_batch_size", "seed"}) {
    v1::SweepParameter* p = spec.add_parameters();
    p->set_path(path);
    for (int i = 0; i < 200; ++i) p->add_values(1 + i);
  }
  auto stub = v1::Coordinator::NewStub(Channel(*hearthd));
  v1::Sweep sweep;
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status = stub->SubmitSweep(Context().get(), request, &sweep);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_TRUE(Contains(status.error_message(), "more than 1000 trials")) << status.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));

  // A path index beyond any list is INVALID_ARGUMENT, not an exception (UNKNOWN).
  spec.clear_parameters();
  v1::SweepParameter* p = spec.add_parameters();
  p->set_path("model.layers[99999999999].dense.units");
  p->add_values(4);
  status = stub->SubmitSweep(Context().get(), request, &sweep);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_TRUE(Contains(status.error_message(), "parameters[0].path")) << status.error_message();
  // A sweep name that makes invalid trial names is refused before any trial starts.
  spec.set_name(std::string(127, 'n'));
  p->set_path("optimizer.lr");
  status = stub->SubmitSweep(Context().get(), request, &sweep);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_TRUE(Contains(status.error_message(), "spec.name")) << status.error_message();
  EXPECT_EQ(hearthd->Hearth({"list", "--json"}).out.find("j-000001"), std::string::npos);
}

// An Evaluate of a FIFO inside a data root hung its handler forever, and hearthd then ignored
// SIGTERM. Now only regular files are read, and hearthd stops on SIGTERM.
TEST_F(HardeningTest, AFifoIsRefusedAndSigtermStillStopsHearthd) {
  auto hearthd = Start();
  ASSERT_EQ(hearthd->Hearth({"submit", Job("quick", 1), "--follow"}).exit_code, 0);
  const std::string fifo = dir_.file("pipe.csv");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  v1::EvaluateRequest request;
  request.set_job_id("j-000001");
  request.set_data_path(fifo);
  v1::EvaluateResponse response;
  auto stub = v1::Coordinator::NewStub(Channel(*hearthd));
  const grpc::Status status = stub->Evaluate(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_TRUE(Contains(status.error_message(), "not a regular file")) << status.error_message();
  // The same for a job's data, at submission.
  const std::string job_file = dir_.file("fifo-job.json");
  WriteFileOrFail(job_file, MlpJob(fifo, 1));
  CommandResult r = hearthd->Hearth({"submit", job_file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "not a regular file")) << r.err;
  hearthd->Stop();  // SIGTERM, then waits for the exit
  EXPECT_TRUE(Contains(hearthd->log(), "shutting down")) << hearthd->log();
}

// A client with only the user token called WorkerService.ReportProgress with a result on a
// SUCCEEDED job, and hearthd rewrote its final metrics. Now WorkerService takes only the secret of
// the job's running attempt.
TEST_F(HardeningTest, WorkerCallsNeedTheRunningAttemptsOwnSecret) {
  const std::string token = dir_.file("token");
  WriteFileOrFail(token, "correct-horse-battery-staple\n");
  ScopedEnv faults("HEARTH_FAULTS", "rank_pause:job=j-000002,step=2,mode=pause");
  ScopedEnv fault_dir("HEARTH_FAULT_DIR", dir_.path());
  auto hearthd = Start({"--token-file", token});
  const auto user = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--token-file", token});
    return hearthd->Hearth(args);
  };
  CommandResult done = user({"submit", Job("quick", 1), "--follow", "--json"});
  ASSERT_EQ(done.exit_code, 0) << done.err;
  CommandResult held = user({"submit", Job("held", 100000), "--json"});
  ASSERT_EQ(held.exit_code, 0) << held.err;
  const std::string running = "j-000002";
  WaitForFile(dir_.file("rank_pause.paused"));
  const std::string secret = SecretOf(running);
  ASSERT_EQ(secret.size(), 64u);
  // The secret reached the worker through its environment, never its command line.
  const pid_t worker = WorkerPid(dir_.file("data"), running, 0);
  EXPECT_EQ(ReadFileOrEmpty("/proc/" + std::to_string(worker) + "/cmdline").find(secret),
            std::string::npos);

  auto workers = v1::WorkerService::NewStub(Channel(*hearthd));
  v1::ProgressReport forged;
  forged.set_job_id("j-000001");
  forged.set_attempt(1);
  forged.mutable_result()->set_train_loss(-1);
  v1::ProgressAck ack;
  const std::string user_token = "correct-horse-battery-staple";
  // The user token is no worker credential, on any job.
  EXPECT_EQ(workers->ReportProgress(Context(user_token).get(), forged, &ack).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Another job's secret is refused, naming whose it is.
  grpc::Status other = workers->ReportProgress(Context(secret).get(), forged, &ack);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED) << other.error_message();
  // The right job with its secret but a stale attempt is told to stop.
  forged.set_job_id(running);
  forged.set_attempt(7);
  EXPECT_EQ(workers->ReportProgress(Context(secret).get(), forged, &ack).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // A worker secret cannot call the Coordinator service.
  auto coordinator = v1::Coordinator::NewStub(Channel(*hearthd));
  v1::ListJobsResponse jobs;
  EXPECT_EQ(coordinator->ListJobs(Context(secret).get(), {}, &jobs).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Nothing was rewritten.
  const Json finished = ParseJson(user({"status", "j-000001", "--json"}).out).value_or(Json());
  EXPECT_EQ(finished["state"].string, "SUCCEEDED");
  EXPECT_GT(finished["result"]["train_loss"].number, 0);

  // Once the attempt ends (cancelled here), its secret is worth nothing.
  ASSERT_EQ(user({"cancel", running}).exit_code, 0);
  WriteFileOrFail(dir_.file("rank_pause.release"), "go\n");
  const Json cancelled = [&] {
    for (int i = 0; i < 1200; ++i) {
      Json s = ParseJson(user({"status", running, "--json"}).out).value_or(Json());
      if (Ended(s)) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Json();
  }();
  EXPECT_EQ(cancelled["state"].string, "CANCELLED");
  forged.set_attempt(1);
  forged.clear_result();
  forged.mutable_step()->set_step(1);
  EXPECT_EQ(workers->ReportProgress(Context(secret).get(), forged, &ack).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

// Health stays open for probes; reflection needs the token when one is set.
TEST_F(HardeningTest, ReflectionNeedsTheTokenAndHealthDoesNot) {
  const std::string token = dir_.file("token");
  WriteFileOrFail(token, "correct-horse-battery-staple\n");
  auto hearthd = Start({"--token-file", token});
  auto channel = Channel(*hearthd);
  grpc::GenericStub generic(channel);
  auto health = [&](const std::string& credential) {
    grpc::Slice empty("", 0);
    grpc::ByteBuffer request(&empty, 1), response;
    grpc::ClientContext context;
    if (!credential.empty()) context.AddMetadata("authorization", "Bearer " + credential);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status status;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", {}, &request, &response,
                      [&](grpc::Status s) {
                        std::lock_guard lock(mu);
                        status = s;
                        done = true;
                        cv.notify_all();
                      });
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
    return status;
  };
  EXPECT_TRUE(health("").ok()) << "probes need no token";
  // ServerReflectionRequest{list_services: ""} (field 7).
  auto reflect = [&](const std::string& credential) {
    grpc::ClientContext context;
    if (!credential.empty()) context.AddMetadata("authorization", "bearer " + credential);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::CompletionQueue cq;
    auto call = generic.PrepareCall(
        &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
    void* tag = nullptr;
    bool ok = false;
    call->StartCall(reinterpret_cast<void*>(1));
    cq.Next(&tag, &ok);
    const char bytes[] = {0x3a, 0x00};
    grpc::Slice slice(bytes, sizeof(bytes));
    grpc::ByteBuffer request(&slice, 1);
    call->Write(request, reinterpret_cast<void*>(2));
    cq.Next(&tag, &ok);
    call->WritesDone(reinterpret_cast<void*>(3));
    cq.Next(&tag, &ok);
    std::string listed;
    grpc::ByteBuffer response;
    call->Read(&response, reinterpret_cast<void*>(4));
    cq.Next(&tag, &ok);
    if (ok) {
      std::vector<grpc::Slice> slices;
      response.Dump(&slices);
      for (const grpc::Slice& s : slices)
        listed.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(5));
    cq.Next(&tag, &ok);
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    return std::make_pair(status, listed);
  };
  const auto [refused, nothing] = reflect("");
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(nothing.find("hearth.v1.Coordinator"), std::string::npos);
  // The scheme name in any case (RFC 6750): "bearer" works.
  const auto [allowed, listed] = reflect("correct-horse-battery-staple");
  EXPECT_TRUE(allowed.ok()) << allowed.error_message();
  EXPECT_NE(listed.find("hearth.v1.Coordinator"), std::string::npos);
}

// hearthd's own data dir, and paths leading out of a root, are never data.
TEST_F(HardeningTest, TheDataRootsNeverExposeHearthdsOwnFilesOrTheOutside) {
  const std::string token = dir_.file("token");
  WriteFileOrFail(token, "correct-horse-battery-staple\n");
  auto hearthd = Start({"--token-file", token});  // the data dir lies inside the data root
  const auto submit_with = [&](const std::string& data) {
    return hearthd->Hearth({"submit", ProbeJob(data), "--token-file", token});
  };
  CommandResult db = submit_with(dir_.file("data") + "/hearthd.db");
  EXPECT_EQ(db.exit_code, 1);
  EXPECT_TRUE(Contains(db.err, "PERMISSION_DENIED")) << db.err;
  EXPECT_TRUE(Contains(db.err, "hearthd's own")) << db.err;
  // A hard link to the token, beneath the root, is the token all the same.
  const std::string link = dir_.file("innocent.csv");
  ASSERT_EQ(::link(token.c_str(), link.c_str()), 0);
  CommandResult linked = submit_with(link);
  EXPECT_TRUE(Contains(linked.err, "PERMISSION_DENIED")) << linked.err;
  // A symlink out of the root, and a directory symlink out of it.
  ASSERT_EQ(::symlink("/etc/passwd", dir_.file("passwd.csv").c_str()), 0);
  EXPECT_TRUE(Contains(submit_with(dir_.file("passwd.csv")).err, "PERMISSION_DENIED"));
  ASSERT_EQ(::symlink("/etc", dir_.file("etc").c_str()), 0);
  CommandResult through = submit_with(dir_.file("etc") + "/passwd");
  EXPECT_TRUE(Contains(through.err, "PERMISSION_DENIED")) << through.err;
  // A symlink that stays beneath the root is fine.
  ASSERT_EQ(::symlink(csv_.c_str(), dir_.file("alias.csv").c_str()), 0);
  EXPECT_EQ(submit_with(dir_.file("alias.csv")).exit_code, 0);
}

// A cancel racing the job's finish: hearthd is held just before it records SUCCEEDED, the cancel
// arrives, then hearthd goes on. The cancel must not resurrect or overwrite the job: it is told
// the job ended, and the job stays SUCCEEDED.
TEST_F(HardeningTest, ACancelRacingTheFinishIsReportedAndChangesNothing) {
  ScopedEnv faults("HEARTH_FAULTS", "state_write:state=SUCCEEDED,mode=pause;cancel_wait:mode=mark");
  ScopedEnv fault_dir("HEARTH_FAULT_DIR", dir_.path());
  auto hearthd = Start();
  const std::string job = Submit(*hearthd, Job("quick", 2), 1);
  WaitForFile(dir_.file("state_write.paused"));
  auto cancel = Background(*hearthd, {"cancel", job}, "cancel");
  // The cancel is in hearthd, waiting for the finish it raced, before hearthd is let go.
  WaitForFile(dir_.file("cancel_wait.paused"));
  WriteFileOrFail(dir_.file("state_write.release"), "go\n");
  EXPECT_EQ(cancel->Wait(), 1);
  const std::string err = ReadFileOrEmpty(dir_.file("cancel.err"));
  EXPECT_TRUE(Contains(err, "FAILED_PRECONDITION")) << err;
  EXPECT_TRUE(Contains(err, "already ended (SUCCEEDED)")) << err;
  EXPECT_EQ(WaitFor(*hearthd, job, Ended)["state"].string, "SUCCEEDED");
}

// A cancel racing the restart after a failure: the job ends CANCELLED, whichever comes first.
TEST_F(HardeningTest, ACancelRacingARestartEndsTheJob) {
  ScopedEnv faults("HEARTH_FAULTS",
                   "rank_exit:step=3,attempt=1;state_write:state=RESTARTING,mode=pause;"
                   "cancel_wait:mode=mark");
  ScopedEnv fault_dir("HEARTH_FAULT_DIR", dir_.path());
  auto hearthd = Start();
  const std::string job = Submit(*hearthd, Job("restarting", 100000, R"("max_restarts": 2,)"), 1);
  WaitForFile(dir_.file("state_write.paused"));
  auto cancel = Background(*hearthd, {"cancel", job}, "cancel");
  WaitForFile(dir_.file("cancel_wait.paused"));
  WriteFileOrFail(dir_.file("state_write.release"), "go\n");
  EXPECT_EQ(cancel->Wait(), 0) << ReadFileOrEmpty(dir_.file("cancel.err"));
  const Json s = WaitFor(*hearthd, job, Ended);
  EXPECT_EQ(s["state"].string, "CANCELLED");
  EXPECT_EQ(WorkerPid(dir_.file("data"), job, 0), -1);
}

// A launch whose bookkeeping fails after the fork (the session file cannot be written) leaves no
// worker running unwatched and frees its slots for the next job.
TEST_F(HardeningTest, ALaunchThatFailsAfterTheForkLeavesNoWorkersAndFreesItsSlots) {
  ScopedEnv faults("HEARTH_FAULTS", "write:path=/session,times=1");
  auto hearthd = Start({"--slots", "2"});
  const std::string first = Submit(*hearthd, Job("unlucky", 100000), 2);
  const Json s = WaitFor(*hearthd, first, Ended);
  EXPECT_EQ(s["state"].string, "FAILED");
  EXPECT_EQ(WorkerPid(dir_.file("data"), first, 0), -1);
  EXPECT_EQ(WorkerPid(dir_.file("data"), first, 1), -1);
  // Both slots are free again.
  const std::string second = Submit(*hearthd, Job("next", 1), 2);
  EXPECT_EQ(WaitFor(*hearthd, second, Ended)["state"].string, "SUCCEEDED");
}

}  // namespace
}  // namespace hearth::testing
