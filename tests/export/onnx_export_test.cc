// `hearth export --format onnx` checked twice: each example model (the MLP and the CNN of MNIST,
// logistic and linear regression, k-means, and a one-hot pipeline) is exported, must pass ONNX's
// own checker and strict shape inference (libonnx, always), and is run in a real runtime,
// onnxruntime-node (tests/export/run_onnx.js, installed by launch/setup.sh with npm), whose
// outputs on raw rows must match TrainedModel::Predict, what `hearth predict` prints, to 1e-5.
// Where npm cannot reach its registry (a chroot without this machine's CA, say) the runtime half
// is skipped, saying why: setup.sh reports it too.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "core/json.h"
#include "export/onnx_export.h"
#include "hearth/checkpoint.h"
#include "hearth/env.h"
#include "hearth/job.h"
#include "hearth/train.h"
#include "job/job_test_util.h"
#include "run/cli_runner.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;

constexpr double kTolerance = 1e-5;

std::string NodeModules() {
  return testing::SourceDir() + "/.cache/onnxruntime/node_modules";
}

class OnnxExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ =
        new std::string(fs::temp_directory_path() / ("hearth-onnx-" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(*dir_); }

  static bool RuntimeInstalled() {
    return fs::exists(NodeModules() + "/onnxruntime-node/package.json");
  }

  // Trains `spec` quietly; returns the best checkpoint.
  static std::string Train(v1::JobSpec spec, const std::string& name) {
    TrainOptions options;
    options.run_dir = *dir_ + "/" + name;
    options.progress.silent = true;
    StatusOr<TrainResult> result = hearth::Train(spec, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->best_checkpoint : "";
  }
  static v1::JobSpec Example(const std::string& job) {
    StatusOr<v1::JobSpec> spec = LoadJobSpec(testing::SourceDir() + "/examples/jobs/" + job);
    EXPECT_TRUE(spec.ok()) << spec.status();
    return spec.value_or(v1::JobSpec());
  }
  // An example MNIST job on `n` random 28x28 digits in IDX files, one epoch: the graph is what
  // is checked, not how well the weights learned.
  static v1::JobSpec MnistLike(const std::string& job, int n) {
    const std::string images = *dir_ + "/images-idx3-ubyte", labels = *dir_ + "/labels-idx1-ubyte";
    if (!fs::exists(images)) {
      std::ofstream img(images, std::ios::binary), lab(labels, std::ios::binary);
      auto be32 = [](std::ofstream& out, uint32_t v) {
        for (int shift = 24; shift >= 0; shift -= 8) out.put(static_cast<char>(v >> shift));
      };
      be32(img, 0x803);
      be32(img, n);
      be32(img, 28);
      be32(img, 28);
      be32(lab, 0x801);
      be32(lab, n);
      uint32_t state = 12345;
      for (int i = 0; i < n * 28 * 28; ++i) {
        state = state * 1664525u + 1013904223u;
        img.put(static_cast<char>(state >> 24));
      }
      for (int i = 0; i < n; ++i) lab.put(static_cast<char>(i % 10));
    }
    v1::JobSpec spec = Example(job);
    spec.mutable_data()->mutable_train()->set_path(images);
    spec.mutable_data()->mutable_train()->set_labels_path(labels);
    spec.mutable_data()->clear_test();
    spec.set_epochs(1);
    return spec;
  }

  // Exports `checkpoint`, runs it in onnxruntime-node on the first rows of `data` and compares
  // every output with TrainedModel::Predict.
  static void ExpectRuntimeMatchesPredict(const std::string& checkpoint, const std::string& data,
                                          int64_t max_rows = 32) {
    StatusOr<std::string> bytes = onnx_export::ExportOnnx(checkpoint);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    const std::string model_path = checkpoint + ".onnx";
    ASSERT_TRUE(Env::Default().WriteFileAtomically(model_path, *bytes).ok());
    ExpectValidOnnx(*bytes);
    if (!RuntimeInstalled()) {
      GTEST_SKIP() << "onnxruntime-node is not installed in " << NodeModules()
                   << " (launch/setup.sh installs it; see .cache/onnxruntime/npm.log for why it "
                      "could not): the graph passed ONNX's checker, the runtime half is skipped";
    }

    StatusOr<std::unique_ptr<TrainedModel>> model = TrainedModel::Load(checkpoint);
    ASSERT_TRUE(model.ok()) << model.status();
    StatusOr<Tensor> all = (*model)->ReadFeatures(data);
    ASSERT_TRUE(all.ok()) << all.status();
    const int64_t rows = std::min<int64_t>(all->dim(0), max_rows);
    const int64_t features = all->numel() / all->dim(0);
    Shape shape = all->shape();
    shape[0] = rows;
    const Tensor x =
        Tensor::FromVector(std::vector<float>(all->f32(), all->f32() + rows * features), shape);
    StatusOr<std::vector<TrainedModel::Prediction>> predicted = (*model)->Predict(x);
    ASSERT_TRUE(predicted.ok()) << predicted.status();

    const std::string input = checkpoint + ".input.json";
    {
      std::ofstream out(input);
      out << absl::StrFormat("{\"rows\": %d, \"features\": %d, \"data\": [", rows, features);
      for (int64_t i = 0; i < rows * features; ++i)
        out << (i ? "," : "")
            << (std::isnan(x.f32()[i]) ? std::string("null")  // JSON has no NaN: a missing value
                                       : absl::StrFormat("%.9g", x.f32()[i]));
      out << "]}\n";
    }
    const testing::CommandResult run = testing::RunCommand(
        {"/usr/bin/env", "node", testing::SourceDir() + "/tests/export/run_onnx.js", NodeModules(),
         model_path, input});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    StatusOr<json::Value> out = json::Parse(run.out);
    ASSERT_TRUE(out.ok()) << out.status() << run.out;

    auto values = [&](const char* name) {
      std::vector<double> v;
      const json::Value* o = out->Find(name);
      EXPECT_NE(o, nullptr) << "no output " << name << " in " << run.out.substr(0, 200);
      if (o == nullptr) return v;
      for (const json::Value& e : o->Find("data")->array) {
        double d = 0;
        e.AsDouble(&d);
        v.push_back(d);
      }
      return v;
    };
    const v1::Task task = (*model)->spec().task();
    const auto& p = *predicted;
    if (task == v1::CLASSIFICATION) {
      const std::vector<double> probabilities = values("probabilities"), ids = values("class_id");
      const size_t classes = p[0].probabilities.size();
      ASSERT_EQ(probabilities.size(), rows * classes);
      ASSERT_EQ(ids.size(), static_cast<size_t>(rows));
      for (int64_t r = 0; r < rows; ++r) {
        EXPECT_EQ(ids[r], p[r].class_id) << "row " << r;
        for (size_t k = 0; k < classes; ++k)
          EXPECT_NEAR(probabilities[r * classes + k], p[r].probabilities[k], kTolerance)
              << "row " << r << " class " << k;
      }
    } else if (task == v1::REGRESSION) {
      const std::vector<double> got = values("values");
      const size_t width = p[0].values.size();
      ASSERT_EQ(got.size(), rows * width);
      for (int64_t r = 0; r < rows; ++r)
        for (size_t k = 0; k < width; ++k)
          EXPECT_NEAR(got[r * width + k], p[r].values[k],
                      kTolerance * std::max(1.0, std::abs(static_cast<double>(p[r].values[k]))))
              << "row " << r;
    } else {
      const std::vector<double> ids = values("class_id"), distance = values("distance");
      ASSERT_EQ(ids.size(), static_cast<size_t>(rows));
      ASSERT_EQ(distance.size(), static_cast<size_t>(rows));
      for (int64_t r = 0; r < rows; ++r) {
        EXPECT_EQ(ids[r], p[r].class_id) << "row " << r;
        EXPECT_NEAR(distance[r], p[r].distance,
                    kTolerance * std::max(1.0, static_cast<double>(p[r].distance)))
            << "row " << r;
      }
    }
  }

  // ONNX's checker and strict shape inference (every node's inferred types and shapes merged with
  // the declared outputs; any disagreement throws).
  static void ExpectValidOnnx(const std::string& bytes) {
    onnx::ModelProto model;
    ASSERT_TRUE(model.ParseFromString(bytes));
    try {
      onnx::checker::check_model(model);
      onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                         onnx::ShapeInferenceOptions(true, 1, true));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "ONNX rejects the exported graph: " << e.what();
    }
  }

  static std::string* dir_;
};
std::string* OnnxExportTest::dir_;

TEST_F(OnnxExportTest, MnistMlpMatchesPredict) {
  const std::string checkpoint = Train(MnistLike("mnist_mlp.json", 128), "mlp");
  ExpectRuntimeMatchesPredict(checkpoint, *dir_ + "/images-idx3-ubyte");
}

TEST_F(OnnxExportTest, MnistCnnMatchesPredict) {
  const std::string checkpoint = Train(MnistLike("mnist_cnn.json", 128), "cnn");
  ExpectRuntimeMatchesPredict(checkpoint, *dir_ + "/images-idx3-ubyte");
}

TEST_F(OnnxExportTest, LogisticRegressionMatchesPredict) {
  const std::string checkpoint = Train(Example("logistic_regression.json"), "logistic");
  ExpectRuntimeMatchesPredict(checkpoint,
                              testing::SourceDir() + "/examples/data/logistic_regression.csv");

  // The command: -o, the default name beside the checkpoint, and a format it does not write.
  const std::string out = *dir_ + "/logistic.onnx";
  testing::CommandResult r = testing::RunHearth({"export", checkpoint, "-o", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "wrote " + out + " (ONNX opset 13")) << r.out;
  EXPECT_GT(fs::file_size(out), 0u);
  r = testing::RunHearth({"export", checkpoint});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(fs::path(checkpoint).replace_extension(".onnx")));
  r = testing::RunHearth({"export", checkpoint, "--format", "tflite"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "--format: \"tflite\" is not a format")) << r.err;
  r = testing::RunHearth({"export", checkpoint, "-o", *dir_ + "/no/such/dir/m.onnx"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "cannot write")) << r.err;
}

TEST_F(OnnxExportTest, LinearRegressionMatchesPredict) {
  const std::string checkpoint = Train(Example("linear_regression.json"), "linear");
  ExpectRuntimeMatchesPredict(checkpoint,
                              testing::SourceDir() + "/examples/data/linear_regression.csv");
}

TEST_F(OnnxExportTest, ImputeClipRobustScalePipelineMatchesPredict) {
  // Every row of the messy table, missing values (NaN inputs) included.
  const std::string checkpoint = Train(Example("messy_houses.json"), "houses");
  ExpectRuntimeMatchesPredict(checkpoint, testing::SourceDir() + "/examples/data/messy_houses.csv",
                              305);
}

TEST_F(OnnxExportTest, KMeansMatchesPredict) {
  const std::string checkpoint = Train(Example("kmeans.json"), "kmeans");
  ExpectRuntimeMatchesPredict(checkpoint, testing::SourceDir() + "/examples/data/blobs.csv");
}

// A CSV with category columns: "a,color,b,size,label" (color and size are integer categories;
// size 9 is rare, in 10 rows of 120).
std::string MixedCsv(const std::string& dir) {
  const std::string csv = dir + "/mixed.csv";
  std::ofstream out(csv);
  out << "a,color,b,size,label\n";
  for (int i = 0; i < 120; ++i)
    out << (i % 7) * 0.5 << "," << (i % 3) * 2 << "," << (i % 11) - 5.0 << ","
        << (i % 13 == 0 ? 9 : (i % 4) + 1) << ","
        << (i % 3 == 0   ? "red"
            : i % 3 == 1 ? "green"
                         : "blue")
        << "\n";
  return csv;
}

// One-hot columns between pass-through ones (size 9 pooled as infrequent), then standardize and
// scale, and a hidden layer with
// tanh, a standalone sigmoid, dropout and a layer without bias: every preprocessing step and
// activation in one graph.
v1::JobSpec MixedSpec(const std::string& csv) {
  StatusOr<v1::JobSpec> spec = ParseJobSpec(absl::StrFormat(R"({
    "name": "mixed", "task": "CLASSIFICATION", "seed": 3,
    "data": {"train": {"path": "%s", "label_column": "label"},
             "preprocessing": [{"one_hot": {"columns": [3, 1], "min_frequency": 15}},
                               {"standardize": {}},
                               {"scale": {"factor": 0.5}}]},
    "model": {"layers": [{"dense": {"units": 8, "activation": "TANH"}},
                         {"activation": "SIGMOID"}, {"dropout": {"rate": 0.1}},
                         {"dense": {"units": 3, "use_bias": false}}]},
    "loss": {"type": "CROSS_ENTROPY"}, "optimizer": {"name": "sgd", "lr": 0.1},
    "global_batch_size": 16, "epochs": 2})",
                                                            csv),
                                            "mixed.json");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.value_or(v1::JobSpec());
}

TEST_F(OnnxExportTest, OneHotPipelineMatchesPredict) {
  const std::string csv = MixedCsv(*dir_);
  ExpectRuntimeMatchesPredict(Train(MixedSpec(csv), "mixed"), csv, 120);
}

TEST_F(OnnxExportTest, RefusesWhatCannotBeExportedWithTheReason) {
  const std::string junk = *dir_ + "/junk.safetensors";
  std::ofstream(junk) << "not a checkpoint";
  EXPECT_FALSE(onnx_export::ExportOnnx(junk).ok());
  const StatusOr<std::string> missing = onnx_export::ExportOnnx(*dir_ + "/missing.safetensors");
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "missing.safetensors"))
      << missing.status();

  // A checkpoint from before checkpoints recorded their input width, with a one-hot step that
  // changes it: the graph's input cannot be sized.
  StatusOr<Checkpoint> c = LoadCheckpoint(Env::Default(), Train(MixedSpec(MixedCsv(*dir_)), "old"));
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->metadata.erase("record_shape"), 1u);
  c->metadata.erase("feature_names");
  const std::string old = *dir_ + "/old.safetensors";
  ASSERT_TRUE(SaveCheckpoint(Env::Default(), old, *c).ok());
  const StatusOr<std::string> refused = onnx_export::ExportOnnx(old);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnimplemented) << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "train it again to export it"))
      << refused.status();
}

}  // namespace
}  // namespace hearth
