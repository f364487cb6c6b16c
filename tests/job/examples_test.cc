// Every example spec in examples/jobs/ loads, validates, survives a JSON round trip, and builds its
// model (or k-means options) for the input shape its data gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "google/protobuf/util/message_differencer.h"
#include "hearth/job.h"
#include "job_test_util.h"

namespace hearth {
namespace {

using testing::SourceDir;

std::vector<std::string> ExampleSpecs() {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(SourceDir() + "/examples/jobs"))
    if (entry.path().extension() == ".json") paths.push_back(entry.path().string());
  std::sort(paths.begin(), paths.end());
  return paths;
}

TEST(ExampleSpecs, TheDocumentedExamplesExist) {
  std::vector<std::string> names;
  for (const std::string& p : ExampleSpecs())
    names.push_back(std::filesystem::path(p).filename().string());
  for (const char* name : {"kmeans.json", "linear_regression.json", "logistic_regression.json",
                           "mnist_cnn.json", "mnist_mlp.json"})
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
}

// The example shape and output width the spec's training data gives: read from the file when it
// is in the repository (the CSV examples), else MNIST's [28, 28] images of 10 classes (the IDX
// files are fetched by launch/fetch-mnist.sh and are not in the tree).
struct DataFacts {
  Shape example;
  int64_t num_outputs = 0;
};

DataFacts Facts(const v1::JobSpec& spec) {
  v1::DataSource train = spec.data().train();
  if (ResolveFormat(train) == v1::IDX) return {Shape{28, 28}, 10};
  train.set_path(SourceDir() + "/" + train.path());
  StatusOr<Dataset> data = ReadDataSource(spec, train);
  EXPECT_TRUE(data.ok()) << data.status();
  if (!data.ok()) return {};
  return {ExampleShape(*data), NumOutputs(spec, *data)};
}

TEST(ExampleSpecs, LoadValidateRoundTripAndBuild) {
  const std::vector<std::string> paths = ExampleSpecs();
  ASSERT_FALSE(paths.empty());
  for (const std::string& path : paths) {
    SCOPED_TRACE(path);
    StatusOr<v1::JobSpec> spec = LoadJobSpec(path);
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_TRUE(ValidateJobSpec(*spec).ok()) << ValidateJobSpec(*spec);

    StatusOr<v1::JobSpec> again = ParseJobSpec(JobSpecToJson(*spec), "round trip");
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*spec, *again));

    const DataFacts facts = Facts(*spec);
    if (spec->model().has_kmeans()) {
      EXPECT_EQ(facts.example, (Shape{2}));
      EXPECT_GT(MakeKMeansOptions(*spec).k, 0);
      continue;
    }
    StatusOr<Shape> input = ResolveInputShape(*spec, facts.example);
    ASSERT_TRUE(input.ok()) << input.status();
    StatusOr<std::unique_ptr<Sequential>> model =
        BuildModel(*spec, *input, facts.num_outputs, spec->seed());
    ASSERT_TRUE(model.ok()) << model.status();
    Shape batch{3};
    for (int64_t d : *input) batch.push_back(d);
    (*model)->Eval();
    const Tensor out = (*model)->Forward(Tensor::Zeros(batch));
    const int64_t width = EffectiveLoss(*spec) == v1::BINARY_CROSS_ENTROPY ? 1 : facts.num_outputs;
    EXPECT_EQ(out.shape(), (Shape{3, width}));
    EXPECT_TRUE(MakeLossFn(*spec).ok());
    EXPECT_TRUE(MakeOptimizerFromSpec(*spec, 10).ok());
  }
}

TEST(ExampleSpecs, TheCompleteExampleInTheDocsIsValid) {
  StatusOr<std::string> doc = Env::Default().ReadFile(SourceDir() + "/docs/job-spec.md");
  ASSERT_TRUE(doc.ok()) << doc.status();
  const size_t begin = doc->find("```json\n");
  ASSERT_NE(begin, std::string::npos);
  const size_t end = doc->find("```", begin + 8);
  StatusOr<v1::JobSpec> spec = ParseJobSpec(doc->substr(begin + 8, end - begin - 8), "job-spec.md");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(ValidateJobSpec(*spec).ok()) << ValidateJobSpec(*spec);
  EXPECT_TRUE(BuildModel(*spec, Shape{1, 28, 28}, 10, 0).ok());
}

TEST(ExampleSpecs, MnistModelsHaveTheDocumentedShapes) {
  StatusOr<v1::JobSpec> cnn = LoadJobSpec(SourceDir() + "/examples/jobs/mnist_cnn.json");
  ASSERT_TRUE(cnn.ok()) << cnn.status();
  auto model = BuildModel(*cnn, Shape{1, 28, 28}, 10, 0);
  ASSERT_TRUE(model.ok()) << model.status();
  // LeNet-5: 6 * 25 + 6, 16 * 6 * 25 + 16, 400 * 120 + 120, 120 * 84 + 84, 84 * 10 + 10.
  EXPECT_EQ((*model)->ParameterCount(), 156 + 2416 + 48120 + 10164 + 850);

  StatusOr<v1::JobSpec> mlp = LoadJobSpec(SourceDir() + "/examples/jobs/mnist_mlp.json");
  ASSERT_TRUE(mlp.ok()) << mlp.status();
  model = BuildModel(*mlp, Shape{784}, 10, 0);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->ParameterCount(), 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
}

}  // namespace
}  // namespace hearth
