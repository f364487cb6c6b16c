// Each of hearthd's limits, exceeded end to end: a clean RESOURCE_EXHAUSTED that names the flag
// to raise, and hearthd serving on.
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <thread>

#include "coordinator_e2e/coordinator_fixture.h"

namespace hearth::testing {
namespace {

using dist_test::ScopedEnv;

class LimitsTest : public CoordinatorTest {
 protected:
  // Expects RESOURCE_EXHAUSTED naming `flag`.
  static void ExpectExhausted(const grpc::Status& status, const std::string& flag) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
    EXPECT_TRUE(Contains(status.error_message(), flag)) << status.error_message();
  }
};

TEST_F(LimitsTest, QueuedJobs) {
  ScopedEnv faults("HEARTH_FAULTS", "rank_pause:job=j-000001,step=2,mode=pause");
  ScopedEnv fault_dir("HEARTH_FAULT_DIR", dir_.path());
  auto hearthd = Start({"--slots", "1", "--max-queued-jobs", "1"});
  Submit(*hearthd, Job("running", 100000), 1);
  WaitForFile(dir_.file("rank_pause.paused"));  // j-000001 holds the only slot
  Submit(*hearthd, Job("queued", 1), 1);        // waits in the queue
  CommandResult refused = hearthd->Hearth({"submit", Job("third", 1)});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(Contains(refused.err, "RESOURCE_EXHAUSTED")) << refused.err;
  EXPECT_TRUE(Contains(refused.err, "--max-queued-jobs")) << refused.err;
  EXPECT_EQ(hearthd->Hearth({"list"}).exit_code, 0);
}

TEST_F(LimitsTest, ListPagesAndPageTokens) {
  auto hearthd = Start({"--max-list-page", "2", "--slots", "1"});
  for (int i = 0; i < 5; ++i) ASSERT_EQ(hearthd->Hearth({"submit", Job("j", 1)}).exit_code, 0);
  auto stub = v1::Coordinator::NewStub(Channel(*hearthd));
  v1::ListJobsRequest request;
  request.set_limit(3);
  v1::ListJobsResponse response;
  ExpectExhausted(stub->ListJobs(Context().get(), request, &response), "--max-list-page");
  // Pages of two, newest first, until no token comes back.
  request.set_limit(2);
  std::vector<std::string> ids;
  for (int page = 0; page < 10; ++page) {
    response.Clear();
    ASSERT_TRUE(stub->ListJobs(Context().get(), request, &response).ok());
    for (const v1::Job& job : response.jobs()) ids.push_back(job.id());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(ids,
            (std::vector<std::string>{"j-000005", "j-000004", "j-000003", "j-000002", "j-000001"}));
  request.set_page_token("not-a-token");
  EXPECT_EQ(stub->ListJobs(Context().get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(LimitsTest, ConcurrentStreams) {
  ScopedEnv faults("HEARTH_FAULTS", "rank_pause:job=j-000001,step=2,mode=pause");
  ScopedEnv fault_dir("HEARTH_FAULT_DIR", dir_.path());
  auto hearthd = Start({"--max-streams", "1"});
  const std::string job = Submit(*hearthd, Job("watched", 100000), 1);
  WaitForFile(dir_.file("rank_pause.paused"));
  auto stub = v1::Coordinator::NewStub(Channel(*hearthd));
  v1::WatchJobRequest request;
  request.set_id(job);
  auto first_context = Context();
  auto first = stub->WatchJob(first_context.get(), request);
  v1::JobEvent event;
  ASSERT_TRUE(first->Read(&event)) << "the first stream is served (and holds the only slot)";
  auto second_context = Context();
  auto second = stub->WatchJob(second_context.get(), request);
  EXPECT_FALSE(second->Read(&event));
  ExpectExhausted(second->Finish(), "--max-streams");
  first_context->TryCancel();
  first->Finish();
  // The slot is free again once hearthd has seen the first stream end (it notices within its
  // wait period; waited for, not assumed).
  CommandResult logs;
  for (int i = 0; i < 600; ++i) {
    logs = hearthd->Hearth({"logs", job});
    if (logs.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
}

TEST_F(LimitsTest, RowsDataSizeGzipRatioAndRequestSize) {
  auto hearthd = Start({"--max-rows", "100", "--max-data-mb", "4", "--max-gzip-ratio", "20",
                        "--max-request-mb", "1"});
  ASSERT_EQ(hearthd->Hearth({"submit", Job("model", 1), "--follow"}).exit_code, 0);
  auto stub = v1::Coordinator::NewStub(Channel(*hearthd));
  // Rows: the 300-row CSV is more than 100.
  v1::EvaluateRequest evaluate;
  evaluate.set_job_id("j-000001");
  evaluate.set_data_path(csv_);
  v1::EvaluateResponse evaluated;
  ExpectExhausted(stub->Evaluate(Context().get(), evaluate, &evaluated), "--max-rows");
  v1::PredictRequest predict;
  predict.set_job_id("j-000001");
  for (int i = 0; i < 101; ++i)
    for (int j = 0; j < 4; ++j) (i == 0 ? *predict.add_rows() : *predict.add_rows()).add_values(0);
  v1::PredictResponse predicted;
  ExpectExhausted(stub->Predict(Context().get(), predict, &predicted), "--max-rows");
  // A data file over --max-data-mb, plain and compressed.
  const std::string row = "0.12345,0.12345,0.12345,0.12345,1\n";
  const auto csv_of = [&](const std::string& name, size_t bytes) {
    std::string text = "a,b,c,d,label\n";
    while (text.size() < bytes) text += row;
    WriteFileOrFail(dir_.file(name), text);
    return dir_.file(name);
  };
  evaluate.set_data_path(csv_of("big.csv", 5u << 20));
  ExpectExhausted(stub->Evaluate(Context().get(), evaluate, &evaluated), "--max-data-mb");
  ASSERT_EQ(RunCommand({"/bin/gzip", "-k", dir_.file("big.csv")}).exit_code, 0);
  evaluate.set_data_path(dir_.file("big.csv.gz"));  // over both limits: either may speak
  ExpectExhausted(stub->Evaluate(Context().get(), evaluate, &evaluated), "--max-");
  // A gzip file within the size that inflates far more than real data does.
  ASSERT_EQ(RunCommand({"/bin/gzip", "-k", csv_of("bomb.csv", 3u << 20)}).exit_code, 0);
  evaluate.set_data_path(dir_.file("bomb.csv.gz"));
  ExpectExhausted(stub->Evaluate(Context().get(), evaluate, &evaluated), "--max-gzip-ratio");
  // A request over --max-request-mb is refused by gRPC itself.
  v1::PredictRequest huge;
  huge.set_job_id("j-000001");
  v1::Row* values = huge.add_rows();
  for (int i = 0; i < 400000; ++i) values->add_values(1);
  EXPECT_EQ(stub->Predict(Context().get(), huge, &predicted).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(hearthd->Hearth({"list"}).exit_code, 0);
}

TEST_F(LimitsTest, CheckpointsKeptPerJob) {
  auto hearthd = Start({"--max-checkpoints-per-job", "2"});
  ASSERT_EQ(hearthd->Hearth({"submit", Job("many", 4), "--follow"}).exit_code, 0);
  const std::optional<Json> listed =
      ParseJson(hearthd->Hearth({"checkpoints", "j-000001", "--json"}).out);
  ASSERT_TRUE(listed.has_value());
  const std::vector<Json>& checkpoints = (*listed)["checkpoints"].array;
  EXPECT_LE(checkpoints.size(), 3u) << "two, and the best if it is an older one";
  EXPECT_GE(checkpoints.size(), 2u);
  // The files on disk are exactly the listed ones: dropped checkpoints take their files along.
  size_t files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(dir_.file("data") + "/checkpoints/j-000001"))
    files += entry.path().extension() == ".safetensors";
  EXPECT_EQ(files, checkpoints.size());
}

}  // namespace
}  // namespace hearth::testing
