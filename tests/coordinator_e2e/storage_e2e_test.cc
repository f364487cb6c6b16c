// hearthd's stored checkpoints against bad uploads, crashes and a full disk, end to end: nothing
// stored before is ever lost, and the store never lists a checkpoint without its complete file.
#include <sqlite3.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "coordinator/sha256.h"
#include "coordinator_e2e/coordinator_fixture.h"

namespace hearth::testing {
namespace {

using dist_test::ScopedEnv;
namespace fs = std::filesystem;

class StorageTest : public CoordinatorTest {
 protected:
  // Finishes a quick job (j-000001) and starts a second one held at step 2 (j-000002); keeps
  // j-000001's latest checkpoint, downloaded, and the held job's worker secret.
  void SetUpJobs(const Hearthd& d) {
    ASSERT_EQ(d.Hearth({"submit", Job("quick", 1), "--follow"}).exit_code, 0);
    checkpoint_ = dir_.file("quick.safetensors");
    ASSERT_EQ(d.Hearth({"download", "j-000001", "-o", checkpoint_}).exit_code, 0);
    Submit(d, Job("held", 100000), 1);
    WaitForFile(dir_.file("rank_pause.paused"));
    const pid_t worker = WorkerPid(dir_.file("data"), "j-000002", 0);
    ASSERT_GT(worker, 0);
    secret_ = WorkerSecretOf(worker);
    ASSERT_FALSE(secret_.empty());
  }
  // Uploads `bytes` as step `step` of the held job, announcing `size` bytes (default: all).
  grpc::Status Upload(const Hearthd& d, const std::string& bytes, int64_t step, int64_t size = -1,
                      std::string sha = "") {
    auto stub = v1::WorkerService::NewStub(Channel(d));
    v1::CheckpointInfo info;
    auto context = Context(secret_);
    auto writer = stub->UploadCheckpoint(context.get(), &info);
    v1::UploadCheckpointRequest header;
    header.mutable_header()->set_job_id("j-000002");
    header.mutable_header()->set_attempt(1);
    header.mutable_header()->set_step(step);
    header.mutable_header()->set_size_bytes(size < 0 ? static_cast<int64_t>(bytes.size()) : size);
    header.mutable_header()->set_sha256(sha.empty() ? coordinator::Sha256Hex(bytes) : sha);
    writer->Write(header);
    v1::UploadCheckpointRequest data;
    data.set_data(bytes);
    writer->Write(data);
    writer->WritesDone();
    return writer->Finish();
  }
  int64_t StepOf(const std::string& path) {
    return std::stoll(MustLoadCheckpoint(path).metadata.at(ckpt_keys::kStep));
  }
  // The checkpoint with one metadata entry changed (and its checksums made anew).
  std::string Rewritten(const std::string& key, const std::string& value) {
    Checkpoint c = MustLoadCheckpoint(checkpoint_);
    c.metadata[key] = value;
    StatusOr<std::string> bytes = SerializeCheckpoint(c);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.value_or("");
  }

  std::string checkpoint_, secret_;
};

// Every check an upload passes before hearthd stores (and later loads) it.
TEST_F(StorageTest, AnUploadIsValidatedLikeUserInputAndAStepIsNeverReplaced) {
  ScopedEnv faults("HEARTH_FAULTS", "rank_pause:job=j-000002,step=2,mode=pause");
  ScopedEnv fault_dir("HEARTH_FAULT_DIR", dir_.path());
  auto hearthd = Start();
  SetUpJobs(*hearthd);
  const std::string good = ReadFileOrEmpty(checkpoint_);
  const int64_t step = StepOf(checkpoint_);

  // Cut short: fewer bytes than announced.
  grpc::Status s = Upload(*hearthd, good.substr(0, good.size() / 2), step, good.size(),
                          coordinator::Sha256Hex(good));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
  // Damaged inside, with a checksum of the damaged bytes: the file itself does not check out.
  std::string flipped = good;
  flipped[flipped.size() - 3] ^= 0x5a;
  s = Upload(*hearthd, flipped, step);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  // Not a checkpoint of this step.
  s = Upload(*hearthd, good, step + 1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  // An embedded job spec that is not valid is refused before anything builds it.
  std::string spec = MustLoadCheckpoint(checkpoint_).metadata.at(ckpt_keys::kModelSpec);
  const std::string units = R"("units": 16)";
  ASSERT_NE(spec.find(units), std::string::npos) << spec;
  s = Upload(*hearthd,
             Rewritten(ckpt_keys::kModelSpec,
                       std::string(spec).replace(spec.find(units), units.size(), R"("units": 0)")),
             step);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_TRUE(Contains(s.error_message(), "embedded job spec")) << s.error_message();
  // Another model than the job's.
  s = Upload(*hearthd,
             Rewritten(ckpt_keys::kModelSpec,
                       std::string(spec).replace(spec.find(units), units.size(), R"("units": 17)")),
             step);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  // Announcing more than the limit.
  s = Upload(*hearthd, good, step, int64_t{1} << 40);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(CheckpointCount(*hearthd, "j-000002"), 0) << "nothing was stored so far";

  // A good one is stored; the same bytes again are fine; other bytes for that step are not.
  s = Upload(*hearthd, good, step);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(Upload(*hearthd, good, step).ok());
  s = Upload(*hearthd, Rewritten("note", "other bytes"), step);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_EQ(CheckpointCount(*hearthd, "j-000002"), 1);
  const std::string back = dir_.file("back.safetensors");
  ASSERT_EQ(hearthd->Hearth({"download", "j-000002", "-o", back}).exit_code, 0);
  EXPECT_EQ(ReadFileOrEmpty(back), good);
  // No temp files are left by the refused uploads.
  for (const auto& entry : fs::directory_iterator(dir_.file("data") + "/checkpoints/j-000002"))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

std::string IntegrityCheck(const std::string& db) {
  sqlite3* handle = nullptr;
  std::string result = "cannot open";
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(handle, "PRAGMA integrity_check", -1, &statement, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW)
      result = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    sqlite3_finalize(statement);
  }
  sqlite3_close(handle);
  return result;
}

// hearthd SIGKILLed in the middle of an upload: after a restart the database is sound, the half
// file is gone, and every listed checkpoint has its complete file.
TEST_F(StorageTest, AHearthdKilledMidUploadLosesNothingAndListsNoHalfFile) {
  std::unique_ptr<Hearthd> hearthd;
  {
    // mode=pause: the kill waits for the test, so it never lands before Submit has answered.
    ScopedEnv faults("HEARTH_FAULTS", "crash:point=upload,times=1,mode=pause");
    ScopedEnv fault_dir("HEARTH_FAULT_DIR", dir_.path());
    hearthd = Start();
  }
  const std::string job = Submit(*hearthd, Job("crashing", 3, R"("max_restarts": 1,)"), 1);
  WaitForFile(dir_.file("crash.paused"));
  WriteFileOrFail(dir_.file("crash.release"), "go\n");
  EXPECT_EQ(hearthd->WaitForExit(), 128 + SIGKILL) << hearthd->log();
  EXPECT_EQ(IntegrityCheck(dir_.file("data") + "/hearthd.db"), "ok");
  hearthd = Start();
  EXPECT_TRUE(Contains(hearthd->log(), "left by an interrupted upload")) << hearthd->log();
  const Json s = WaitFor(*hearthd, job, Ended, 120);
  EXPECT_EQ(s["state"].string, "SUCCEEDED");
  const std::optional<Json> listed = ParseJson(hearthd->Hearth({"checkpoints", job, "--json"}).out);
  ASSERT_TRUE(listed.has_value());
  ASSERT_FALSE((*listed)["checkpoints"].array.empty());
  for (const Json& c : (*listed)["checkpoints"].array) {
    const std::string file =
        dir_.file("data") + "/checkpoints/" + job + "/ckpt-" + c["step"].string + ".safetensors";
    ASSERT_TRUE(fs::exists(file)) << file;
    EXPECT_EQ(static_cast<double>(fs::file_size(file)), NumberOf(c["size_bytes"]));
  }
  for (const auto& entry : fs::directory_iterator(dir_.file("data") + "/checkpoints/" + job))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

// hearthd SIGKILLed inside a transaction (the one that starts the job): it is rolled back, the
// database is sound, and the job runs after the restart.
TEST_F(StorageTest, AHearthdKilledMidTransactionRollsItBack) {
  std::unique_ptr<Hearthd> hearthd;
  {
    // mode=pause: the scheduler may start the job before Submit has answered; the kill waits
    // for the test, so the client always gets its reply first.
    ScopedEnv faults("HEARTH_FAULTS", "crash:point=transaction,job=j-000001,mode=pause");
    ScopedEnv fault_dir("HEARTH_FAULT_DIR", dir_.path());
    hearthd = Start();
  }
  const std::string job = Submit(*hearthd, Job("quick", 1), 1);
  WaitForFile(dir_.file("crash.paused"));
  WriteFileOrFail(dir_.file("crash.release"), "go\n");
  EXPECT_EQ(hearthd->WaitForExit(), 128 + SIGKILL) << hearthd->log();
  EXPECT_EQ(IntegrityCheck(dir_.file("data") + "/hearthd.db"), "ok");
  hearthd = Start();
  const Json s = WaitFor(*hearthd, job, Ended);
  EXPECT_EQ(s["state"].string, "SUCCEEDED");
  EXPECT_EQ(s["attempt"].number, 1) << "the killed start was rolled back, not counted";
}

// A full disk: the upload fails cleanly (RESOURCE_EXHAUSTED), leaves nothing behind, and
// everything stored before is intact. First as the kernel does it, on a small tmpfs; then with
// the fault point, which needs no mount.
TEST_F(StorageTest, AFullDiskFailsTheUploadAndKeepsWhatWasStored) {
  const std::string data = dir_.file("data");
  fs::create_directories(data);
  if (::mount("tmpfs", data.c_str(), "tmpfs", 0, "size=16m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root); the injected ENOSPC test covers it";
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{data};
  ScopedEnv faults("HEARTH_FAULTS", "rank_pause:job=j-000002,step=2,mode=pause");
  ScopedEnv fault_dir("HEARTH_FAULT_DIR", dir_.path());
  auto hearthd = Start();
  SetUpJobs(*hearthd);
  const std::string good = ReadFileOrEmpty(checkpoint_);
  // Fill the disk to the last byte.
  {
    std::ofstream filler(data + "/filler", std::ios::binary);
    const std::string block(1 << 16, 'x');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  const grpc::Status full = Upload(*hearthd, good, StepOf(checkpoint_));
  EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << full.error_message();
  EXPECT_EQ(CheckpointCount(*hearthd, "j-000002"), 0);
  fs::remove(data + "/filler");
  // What was stored before is intact (the download verifies its sha256), and uploads work again.
  EXPECT_EQ(
      hearthd->Hearth({"download", "j-000001", "-o", dir_.file("again.safetensors")}).exit_code, 0);
  EXPECT_TRUE(Upload(*hearthd, good, StepOf(checkpoint_)).ok());
  EXPECT_EQ(IntegrityCheck(data + "/hearthd.db"), "ok");
  hearthd->Kill();
}

TEST_F(StorageTest, AnInjectedFullDiskFailsTheUploadAndKeepsWhatWasStored) {
  ScopedEnv faults("HEARTH_FAULTS",
                   "rank_pause:job=j-000002,step=2,mode=pause;write:path=/checkpoints/j-000002/");
  ScopedEnv fault_dir("HEARTH_FAULT_DIR", dir_.path());
  auto hearthd = Start();
  SetUpJobs(*hearthd);
  const grpc::Status full = Upload(*hearthd, ReadFileOrEmpty(checkpoint_), StepOf(checkpoint_));
  EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << full.error_message();
  EXPECT_TRUE(Contains(full.error_message(), "free space")) << full.error_message();
  EXPECT_EQ(CheckpointCount(*hearthd, "j-000002"), 0);
  EXPECT_EQ(
      hearthd->Hearth({"download", "j-000001", "-o", dir_.file("again.safetensors")}).exit_code, 0);
  for (const auto& entry : fs::directory_iterator(dir_.file("data") + "/checkpoints/j-000002"))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

}  // namespace
}  // namespace hearth::testing
