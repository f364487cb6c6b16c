// Deployments in process: versions written whole and served before Deploy answers, labels,
// retirement, refusals that change nothing, crash leftovers, and what a restart finds.
#include "coordinator/deployments.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "coordinator/data_dir.h"
#include "coordinator/sha256.h"
#include "core/json.h"
#include "hearth/env.h"
#include "serve/serve_test_util.h"

namespace hearth::coordinator {
namespace {

namespace fs = std::filesystem;

class DeploymentsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(serve::testing::FreshDir("deployments"));
    checkpoint_ = new std::string(serve::testing::TrainExample("logistic_regression", *dir_));
  }
  static void TearDownTestSuite() { fs::remove_all(*dir_); }
  void SetUp() override {
    data_dir_ = *dir_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(data_dir_);
    fs::create_directories(data_dir_);
  }

  // A stored checkpoint of job j-000001 at `step`, as the checkpoint store keeps one.
  StoredCheckpoint Stored(int64_t step, const std::string& from = *checkpoint_) {
    StoredCheckpoint c;
    c.path = data_dir_ + "/ckpt-" + std::to_string(step) + ".safetensors";
    fs::copy_file(from, c.path, fs::copy_options::overwrite_existing);
    c.info.set_id("j-000001/" + std::to_string(step));
    c.info.set_job_id("j-000001");
    c.info.set_step(step);
    c.info.set_sha256(Sha256OfFile(c.path).value());
    return c;
  }
  std::unique_ptr<serve::ModelRegistry> Registry() {
    serve::RegistryOptions options;
    options.max_versions = 1000;
    return std::make_unique<serve::ModelRegistry>(
        std::vector<serve::ModelSource>{{"", DeployedModelsDir(data_dir_)}}, options);
  }
  std::string ModelDir(const std::string& name) {
    return DeployedModelsDir(data_dir_) + "/" + name;
  }

  static std::string* dir_;
  static std::string* checkpoint_;
  std::string data_dir_;
};
std::string* DeploymentsTest::dir_;
std::string* DeploymentsTest::checkpoint_;

TEST_F(DeploymentsTest, ADeployIsServedWhenItAnswersAndARestartServesItAgain) {
  {
    auto registry = Registry();
    Deployments deployments(data_dir_, *registry, 3, "http://127.0.0.1:7412");
    ASSERT_TRUE(deployments.Recover().ok());
    ASSERT_TRUE(registry->Reload().ok());
    StatusOr<v1::DeployResponse> first = deployments.Deploy(Stored(10), "iris", "production");
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_EQ(first->version(), 1);
    EXPECT_TRUE(registry->Find("iris", 1).ok());
    EXPECT_TRUE(registry->Find("iris", {}, "production").ok());
    EXPECT_EQ(first->deployment().url(), "http://127.0.0.1:7412/v2/models/iris");
    StatusOr<v1::DeployResponse> second = deployments.Deploy(Stored(20), "iris", "");
    ASSERT_TRUE(second.ok()) << second.status();
    EXPECT_EQ(second->version(), 2);
    ASSERT_EQ(second->deployment().versions_size(), 2);
    EXPECT_EQ(second->deployment().versions(1).checkpoint_id(), "j-000001/20");
    EXPECT_TRUE(second->deployment().versions(1).loaded());
    EXPECT_EQ(second->deployment().aliases().at("production"), 1);
  }
  // A new hearthd: the files are the state.
  auto registry = Registry();
  Deployments deployments(data_dir_, *registry, 3, "");
  ASSERT_TRUE(deployments.Recover().ok());
  ASSERT_TRUE(registry->Reload().ok());
  EXPECT_EQ(registry->Find("iris").value()->version(), 2);
  EXPECT_EQ(registry->Find("iris", {}, "production").value()->version(), 1);
  const v1::ListDeploymentsResponse listed = deployments.List();
  ASSERT_EQ(listed.deployments_size(), 1);
  EXPECT_EQ(listed.deployments(0).versions(0).checkpoint_id(), "j-000001/10");
  EXPECT_GT(listed.deployments(0).versions(0).deployed_at(), 0);
}

// A label file edited by hand keeps its labels, escaped, when a deploy moves one of them.
TEST_F(DeploymentsTest, ALabelFileEditedByHandStaysValidJson) {
  auto registry = Registry();
  Deployments deployments(data_dir_, *registry, 3, "");
  ASSERT_TRUE(deployments.Recover().ok());
  ASSERT_TRUE(deployments.Deploy(Stored(1), "m", "").ok());
  std::ofstream(ModelDir("m") + "/aliases.json") << R"({"say \"hi\"": 1})";
  ASSERT_TRUE(deployments.Deploy(Stored(2), "m", "production").ok());
  StatusOr<std::string> text = Env::Default().ReadFile(ModelDir("m") + "/aliases.json");
  ASSERT_TRUE(text.ok());
  StatusOr<json::Value> doc = json::Parse(*text);
  ASSERT_TRUE(doc.ok()) << doc.status() << *text;
  ASSERT_NE(doc->Find("say \"hi\""), nullptr) << *text;
  ASSERT_NE(doc->Find("production"), nullptr) << *text;
  EXPECT_EQ(registry->Find("m", {}, "production").value()->version(), 2);
  EXPECT_EQ(registry->Find("m", {}, "say \"hi\"").value()->version(), 1);
}

TEST_F(DeploymentsTest, OlderVersionsRetireUnlessALabelNamesThem) {
  auto registry = Registry();
  Deployments deployments(data_dir_, *registry, 2, "");
  ASSERT_TRUE(deployments.Recover().ok());
  ASSERT_TRUE(deployments.Deploy(Stored(1), "m", "stable").ok());
  ASSERT_TRUE(deployments.Deploy(Stored(2), "m", "").ok());
  ASSERT_TRUE(deployments.Deploy(Stored(3), "m", "").ok());
  StatusOr<v1::DeployResponse> fourth = deployments.Deploy(Stored(4), "m", "");
  ASSERT_TRUE(fourth.ok()) << fourth.status();
  // Kept: the newest two (3, 4) and the labelled one (1).
  ASSERT_EQ(fourth->retired_versions_size(), 1);
  EXPECT_EQ(fourth->retired_versions(0), 2);
  EXPECT_EQ(registry->List().at(0).versions, (std::vector<int64_t>{1, 3, 4}));
  EXPECT_FALSE(fs::exists(ModelDir("m") + "/2"));
  EXPECT_TRUE(fs::exists(data_dir_ + "/ckpt-2.safetensors")) << "the job's checkpoint stays";
}

TEST_F(DeploymentsTest, RefusalsChangeNothing) {
  auto registry = Registry();
  Deployments deployments(data_dir_, *registry, 3, "");
  ASSERT_TRUE(deployments.Recover().ok());
  ASSERT_TRUE(deployments.Deploy(Stored(1), "m", "").ok());

  for (const std::string& name :
       std::vector<std::string>{"", "../m", ".hidden", std::string(65, 'a'), "a b"}) {
    StatusOr<v1::DeployResponse> r = deployments.Deploy(Stored(2), name, "");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_TRUE(absl::StrContains(r.status().message(), "name:")) << r.status();
  }
  EXPECT_EQ(deployments.Deploy(Stored(2), "m", "no/slash").status().code(),
            absl::StatusCode::kInvalidArgument);

  StoredCheckpoint changed = Stored(2);
  std::ofstream(changed.path, std::ios::app) << "x";
  StatusOr<v1::DeployResponse> r = deployments.Deploy(changed, "m", "");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();

  const std::string junk = data_dir_ + "/junk.safetensors";
  std::ofstream(junk) << "not a checkpoint";
  StoredCheckpoint corrupt = Stored(3, junk);
  r = deployments.Deploy(corrupt, "m", "");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "j-000001/3 cannot be served")) << r.status();

  EXPECT_EQ(registry->List().at(0).versions, std::vector<int64_t>{1});
  EXPECT_EQ(deployments.List().deployments(0).versions_size(), 1);
}

TEST_F(DeploymentsTest, UndeployRemovesAVersionItsLabelsOrTheModel) {
  auto registry = Registry();
  Deployments deployments(data_dir_, *registry, 3, "");
  ASSERT_TRUE(deployments.Recover().ok());
  ASSERT_TRUE(deployments.Deploy(Stored(1), "m", "production").ok());
  ASSERT_TRUE(deployments.Deploy(Stored(2), "m", "").ok());

  EXPECT_EQ(deployments.Undeploy("m", 7).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(deployments.Undeploy("other", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(deployments.Undeploy("../etc", 0).status().code(), absl::StatusCode::kNotFound);
  StatusOr<v1::UndeployResponse> one = deployments.Undeploy("m", 1);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_FALSE(registry->Find("m", {}, "production").ok()) << "its label went with it";
  EXPECT_EQ(registry->Find("m").value()->version(), 2);

  StatusOr<v1::UndeployResponse> all = deployments.Undeploy("m", 0);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->removed_versions_size(), 1);
  EXPECT_FALSE(registry->Find("m").ok());
  EXPECT_FALSE(fs::exists(ModelDir("m")));
  EXPECT_TRUE(fs::exists(data_dir_ + "/ckpt-1.safetensors"));
}

TEST_F(DeploymentsTest, RecoverRemovesWhatACrashLeftHalfWritten) {
  auto registry = Registry();
  Deployments deployments(data_dir_, *registry, 3, "");
  ASSERT_TRUE(deployments.Recover().ok());
  ASSERT_TRUE(deployments.Deploy(Stored(1), "m", "").ok());
  // A crash between writing the copy and renaming it into place, and one while removing.
  fs::create_directories(ModelDir("m") + "/.incoming-2");
  std::ofstream(ModelDir("m") + "/.incoming-2/model.safetensors") << "half";
  fs::create_directories(ModelDir("m") + "/.removing-5");
  ASSERT_TRUE(deployments.Recover().ok());
  EXPECT_FALSE(fs::exists(ModelDir("m") + "/.incoming-2"));
  EXPECT_FALSE(fs::exists(ModelDir("m") + "/.removing-5"));
  StatusOr<v1::DeployResponse> next = deployments.Deploy(Stored(2), "m", "");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->version(), 2);
}

}  // namespace
}  // namespace hearth::coordinator
