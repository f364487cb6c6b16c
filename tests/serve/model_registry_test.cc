// Model sources and hot reload: a repository's versions appear and switch atomically, a corrupt
// version is refused while the old one keeps serving, requests keep the version they started
// on, aliases name versions, and a source that cannot be read keeps what it served.
#include "serve/model_registry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "hearth/checkpoint.h"
#include "hearth/env.h"
#include "hearth/job.h"
#include "hearth/train.h"
#include "serve/serve_test_util.h"

namespace hearth::serve {
namespace {

namespace fs = std::filesystem;

class ModelRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::FreshDir("registry"));
    checkpoint_ = new std::string(testing::TrainExample("logistic_regression", *dir_));
  }
  static void TearDownTestSuite() { fs::remove_all(*dir_); }

  // repo/NAME/VERSION/model.safetensors, a copy of the trained checkpoint.
  static void AddVersion(const std::string& repo, const std::string& name, int version) {
    const fs::path d = fs::path(repo) / name / std::to_string(version);
    fs::create_directories(d);
    fs::copy_file(*checkpoint_, d / "model.safetensors", fs::copy_options::overwrite_existing);
  }

  RegistryOptions Logged() {
    RegistryOptions o;
    o.log = [this](const std::string& line) { log_ += line + "\n"; };
    return o;
  }

  static std::string* dir_;
  static std::string* checkpoint_;
  std::string log_;
};
std::string* ModelRegistryTest::dir_;
std::string* ModelRegistryTest::checkpoint_;

TEST_F(ModelRegistryTest, ACheckpointFileIsNamedByItsJobSpec) {
  ModelRegistry registry({ParseModelSource(*checkpoint_)}, Logged());
  ASSERT_TRUE(registry.Reload().ok()) << log_;
  auto model = registry.Find("logistic-regression");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->version(), 1);
  EXPECT_TRUE(registry.ready());
}

TEST_F(ModelRegistryTest, ARunDirectoryServesItsBestCheckpoint) {
  ModelRegistry registry({ParseModelSource("lr=" + *dir_ + "/logistic_regression")}, Logged());
  ASSERT_TRUE(registry.Reload().ok()) << log_;
  auto model = registry.Find("lr");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->path(), *checkpoint_);
}

TEST_F(ModelRegistryTest, NewVersionsSwitchInAndACorruptOneIsRefused) {
  const std::string repo = *dir_ + "/repo";
  fs::remove_all(repo);
  AddVersion(repo, "clf", 1);
  ModelRegistry registry({ParseModelSource(repo)}, Logged());
  ASSERT_TRUE(registry.Reload().ok()) << log_;
  auto v1 = registry.Find("clf");
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ((*v1)->version(), 1);

  AddVersion(repo, "clf", 2);
  ASSERT_TRUE(registry.Reload().ok());
  auto v2 = registry.Find("clf");
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ((*v2)->version(), 2);
  EXPECT_EQ((*registry.Find("clf", 1))->version(), 1) << "older versions stay addressable";
  // A request that started on version 1 still holds it, and it still answers.
  EXPECT_TRUE((*v1)->Infer({1, 2}, 1).ok());

  // Version 3 arrives truncated (a copy still in progress, or a bad file).
  const fs::path bad = fs::path(repo) / "clf" / "3";
  fs::create_directories(bad);
  {
    std::ifstream in(*checkpoint_, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(bad / "model.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  ASSERT_TRUE(registry.Reload().ok());
  EXPECT_TRUE(absl::StrContains(log_, "refused")) << log_;
  EXPECT_EQ((*registry.Find("clf"))->version(), 2) << "the old version keeps serving";
  EXPECT_FALSE(registry.Find("clf", 3).ok());
  EXPECT_FALSE(registry.List()[0].error.empty());

  // Fixed in place: it loads on the next look.
  fs::copy_file(*checkpoint_, bad / "model.safetensors", fs::copy_options::overwrite_existing);
  ASSERT_TRUE(registry.Reload().ok());
  EXPECT_EQ((*registry.Find("clf"))->version(), 3);
}

TEST_F(ModelRegistryTest, AliasesNameVersions) {
  const std::string repo = *dir_ + "/aliased";
  fs::remove_all(repo);
  AddVersion(repo, "clf", 1);
  AddVersion(repo, "clf", 2);
  std::ofstream(repo + "/clf/aliases.json") << R"({"production": 1, "canary": 2, "gone": 9})";
  ModelRegistry registry({ParseModelSource(repo)}, Logged());
  ASSERT_TRUE(registry.Reload().ok());
  EXPECT_EQ((*registry.Find("clf", std::nullopt, "production"))->version(), 1);
  EXPECT_EQ((*registry.Find("clf", std::nullopt, "canary"))->version(), 2);
  EXPECT_FALSE(registry.Find("clf", std::nullopt, "gone").ok());
  EXPECT_TRUE(absl::StrContains(log_, "alias `gone` ignored")) << log_;
}

// NAME/config.json sets that model's batching; a change reloads its versions with the new one;
// what it gets wrong is logged once and the server's settings apply to it.
TEST_F(ModelRegistryTest, AModelsConfigSetsItsOwnBatching) {
  const std::string repo = *dir_ + "/configured";
  fs::remove_all(repo);
  AddVersion(repo, "a", 1);
  AddVersion(repo, "b", 1);
  std::ofstream(repo + "/a/config.json") << R"({"max_batch_size": 8, "max_queue_delay_us": 250})";
  RegistryOptions options = Logged();
  options.batching.max_batch_size = 64;
  ModelRegistry registry({ParseModelSource(repo)}, options);
  ASSERT_TRUE(registry.Reload().ok());
  EXPECT_EQ((*registry.Find("a"))->batching().max_batch_size, 8);
  EXPECT_EQ((*registry.Find("a"))->batching().max_queue_delay_us, 250);
  EXPECT_EQ((*registry.Find("a"))->batching().max_queued_rows, 4096);  // the server's
  EXPECT_EQ((*registry.Find("b"))->batching().max_batch_size, 64);

  const std::shared_ptr<const ServedModel> before = *registry.Find("a");
  ASSERT_TRUE(registry.Reload().ok());
  EXPECT_EQ(*registry.Find("a"), before) << "nothing changed: the same version serves on";
  std::ofstream(repo + "/a/config.json")
      << R"({"max_batch_size": 0, "max_queued_rows": 100, "batch": 3})";
  ASSERT_TRUE(registry.Reload().ok());
  EXPECT_NE(*registry.Find("a"), before);
  EXPECT_EQ((*registry.Find("a"))->batching().max_batch_size, 64);
  EXPECT_EQ((*registry.Find("a"))->batching().max_queued_rows, 100);
  EXPECT_TRUE(absl::StrContains(log_, "`max_batch_size` ignored: expected an integer from 1"))
      << log_;
  EXPECT_TRUE(absl::StrContains(log_, "field `batch` ignored")) << log_;
  const std::string logged = log_;
  ASSERT_TRUE(registry.Reload().ok());
  EXPECT_EQ(log_, logged) << "each problem is logged once";
  std::ofstream(repo + "/a/config.json") << "[1, 2]";
  ASSERT_TRUE(registry.Reload().ok());
  EXPECT_TRUE(absl::StrContains(log_, "config.json: ignored: expected an object")) << log_;
}

TEST_F(ModelRegistryTest, OnlyTheNewestVersionsAreServed) {
  const std::string repo = *dir_ + "/many";
  fs::remove_all(repo);
  for (int v = 1; v <= 4; ++v) AddVersion(repo, "clf", v);
  RegistryOptions options = Logged();
  options.max_versions = 2;
  ModelRegistry registry({ParseModelSource(repo)}, options);
  ASSERT_TRUE(registry.Reload().ok());
  EXPECT_EQ(registry.List()[0].versions, (std::vector<int64_t>{3, 4}));
}

TEST_F(ModelRegistryTest, SourcesThatCannotServeSaySo) {
  ModelRegistry missing({ParseModelSource(*dir_ + "/nothing-here")}, Logged());
  Status s = missing.Reload();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(missing.ready());
  const std::string junk = *dir_ + "/junk.safetensors";
  std::ofstream(junk) << "not a checkpoint";
  ModelRegistry corrupt({ParseModelSource(junk)}, Logged());
  s = corrupt.Reload();
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "refused")) << s;
  ModelRegistry twice(
      {ParseModelSource("a=" + *checkpoint_), ParseModelSource("a=" + *checkpoint_)}, Logged());
  s = twice.Reload();
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(twice.ready()) << "the first still serves";
}

TEST_F(ModelRegistryTest, ASourceThatCannotBeReadKeepsServingWhatItGaveAndSaysSoOnce) {
  const std::string file = *dir_ + "/replaced.safetensors";
  fs::copy_file(*checkpoint_, file, fs::copy_options::overwrite_existing);
  ModelRegistry registry({ParseModelSource("m=" + file)}, Logged());
  ASSERT_TRUE(registry.Reload().ok()) << log_;
  // Gone for a moment (a copy by hand, a mount away): the model goes on serving.
  fs::remove(file);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(registry.Reload().code(), absl::StatusCode::kNotFound);
  auto model = registry.Find("m");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE((*model)->Infer({1, 2}, 1).ok());
  size_t logged = 0;
  for (size_t at = log_.find("no such file"); at != std::string::npos;
       at = log_.find("no such file", at + 1))
    ++logged;
  EXPECT_EQ(logged, 1u) << "once, not on every poll:\n" << log_;
  // Back: served again without a new version (the same file), and the error is cleared.
  fs::copy_file(*checkpoint_, file, fs::copy_options::overwrite_existing);
  EXPECT_TRUE(registry.Reload().ok());
  EXPECT_TRUE(registry.Find("m").ok());
}

TEST_F(ModelRegistryTest, ACheckpointTooOldToKnowItsRowsIsRefusedButStillEvaluates) {
  // A one-hot model saved before checkpoints recorded their record shape: its rows cannot be
  // decoded (the one-hot step widened them), so serving refuses it; evaluating from files works.
  const std::string csv = *dir_ + "/onehot.csv";
  {
    std::ofstream out(csv);
    out << "colour,size,label\n";
    for (int i = 0; i < 60; ++i) out << i % 3 << "," << (i % 7) * 0.5 << "," << (i % 2) << "\n";
  }
  const std::string job = *dir_ + "/onehot.json";
  std::ofstream(job) << R"({"name": "onehot", "task": "CLASSIFICATION", "seed": 1,
    "data": {"train": {"path": ")"
                     << csv << R"(", "label_column": "label"},
             "preprocessing": [{"one_hot": {"columns": [0]}}]},
    "model": {"layers": [{"dense": {"units": 2}}]}, "loss": {"type": "CROSS_ENTROPY"},
    "optimizer": {"name": "sgd", "lr": 0.1}, "global_batch_size": 8, "epochs": 1})";
  StatusOr<v1::JobSpec> spec = LoadJobSpec(job);
  ASSERT_TRUE(spec.ok()) << spec.status();
  TrainOptions options;
  options.run_dir = *dir_ + "/onehot-run";
  options.progress.silent = true;
  StatusOr<TrainResult> trained = Train(*spec, options);
  ASSERT_TRUE(trained.ok()) << trained.status();
  StatusOr<Checkpoint> c = LoadCheckpoint(Env::Default(), trained->checkpoint);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->metadata.erase("record_shape"), 1u);
  c->metadata.erase("feature_names");
  const std::string old = *dir_ + "/onehot-old.safetensors";
  ASSERT_TRUE(SaveCheckpoint(Env::Default(), old, *c).ok());

  auto model = TrainedModel::Load(old);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->record_shape().rank(), 0);
  auto data = (*model)->ReadData(csv);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_TRUE((*model)->Evaluate(*data).ok());
  ModelRegistry registry({ParseModelSource("old=" + old)}, Logged());
  const Status s = registry.Reload();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(absl::StrContains(s.message(), "train it again to serve it")) << s;
}

}  // namespace
}  // namespace hearth::serve
