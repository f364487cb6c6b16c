// The model cache: keyed by content (sha256), safe under concurrent requests (run under
// ThreadSanitizer by tests/run.sh --tsan), and never serving bytes that changed on disk.
#include "coordinator/model_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "ckpt/temp_dir.h"
#include "coordinator/sha256.h"
#include "hearth/job.h"

namespace hearth::coordinator {
namespace {

class ModelCacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const char* root = std::getenv("HEARTH_SOURCE_DIR");
    StatusOr<v1::JobSpec> spec = LoadJobSpec(std::string(root != nullptr ? root : ".") +
                                             "/examples/jobs/linear_regression.json");
    ASSERT_TRUE(spec.ok()) << spec.status();
    spec->mutable_data()->mutable_train()->set_path(std::string(root != nullptr ? root : ".") +
                                                    "/examples/data/linear_regression.csv");
    spec->set_epochs(2);
    TrainOptions options;
    options.run_dir = dir_->file("run");
    options.progress.silent = true;
    StatusOr<TrainResult> result = Train(*spec, options);
    ASSERT_TRUE(result.ok()) << result.status();
    checkpoint_ = result->checkpoint;
  }
  static void TearDownTestSuite() { delete dir_; }

  static StoredCheckpoint Stored(const std::string& path) {
    StoredCheckpoint c;
    c.path = path;
    c.info.set_id("j-000001/1");
    c.info.set_sha256(*Sha256OfFile(path));
    return c;
  }

  static testing::TempDir* dir_;
  static std::string checkpoint_;
};

testing::TempDir* ModelCacheTest::dir_ = nullptr;
std::string ModelCacheTest::checkpoint_;

TEST_F(ModelCacheTest, ConcurrentRequestsShareOneModelAndGetTheSameAnswers) {
  ModelCache cache(2);
  const StoredCheckpoint stored = Stored(checkpoint_);
  const Tensor input = Tensor::FromVector({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}, Shape{3, 2});
  std::vector<std::vector<float>> answers(8);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        StatusOr<ModelCache::Lease> lease = cache.Acquire(stored);
        if (!lease.ok()) {
          ++failures;
          return;
        }
        StatusOr<std::vector<TrainedModel::Prediction>> p = lease->model->Predict(input);
        if (!p.ok()) {
          ++failures;
          return;
        }
        answers[t] = (*p)[2].values;
      }
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (const std::vector<float>& a : answers) EXPECT_EQ(a, answers[0]);
}

TEST_F(ModelCacheTest, BytesThatChangedOnDiskAreNotServed) {
  ModelCache cache(2);
  const std::string copy = dir_->file("copy.safetensors");
  std::filesystem::copy_file(checkpoint_, copy, std::filesystem::copy_options::overwrite_existing);
  const StoredCheckpoint stored = Stored(copy);
  {
    std::fstream f(copy, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-2, std::ios::end);
    f.put('\x7f');
  }
  StatusOr<ModelCache::Lease> lease = cache.Acquire(stored);
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kDataLoss) << lease.status();
  EXPECT_TRUE(lease.status().message().find("damaged") != absl::string_view::npos);
}

}  // namespace
}  // namespace hearth::coordinator
