// JSON <-> JobSpec: round trips, snake_case output, and parse errors that name the file, the
// position and the field path.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "google/protobuf/util/message_differencer.h"
#include "hearth/job.h"
#include "job_test_util.h"

namespace hearth {
namespace {

using testing::Contains;
using testing::Lacks;
using testing::ParseMessage;
using testing::SpecFromJson;

TEST(ParseJobSpec, RoundTripsThroughJson) {
  const v1::JobSpec spec = SpecFromJson(R"({
    "name": "full", "task": "CLASSIFICATION", "seed": 12345678901234, "deterministic": true,
    "workers": 2, "max_restarts": 3,
    "data": {
      "train": {"path": "t.csv", "delimiter": ";", "has_header": false, "label_index": -1,
                "feature_indices": [0, 1]},
      "test": {"path": "x.npy", "labels_path": "y.npy"},
      "validation_fraction": 0.2, "shuffle": false,
      "preprocessing": [{"one_hot": {"columns": [1]}}, {"standardize": {}}, {"min_max": {}},
                        {"scale": {"factor": 0.5}}]
    },
    "model": {"input_shape": [2], "layers": [{"dense": {"units": 4, "use_bias": false}},
                                             {"activation": "TANH"}, {"dense": {"units": 3}}]},
    "loss": {"type": "CROSS_ENTROPY"},
    "optimizer": {"name": "adam", "lr": 0.001, "beta2": 0.99, "weight_decay": 0},
    "schedule": {"name": "cosine", "total_steps": 100, "warmup_steps": 10},
    "clip_grad_norm": 1.5, "global_batch_size": 32, "epochs": 5,
    "metrics": ["accuracy", "f1_macro"],
    "checkpoint": {"every_steps": 50, "keep_last": 2, "monitor": "val_f1_macro", "mode": "MAX"},
    "early_stopping": {"patience": 3, "min_delta": 0.001},
    "log_every_steps": 10
  })");
  EXPECT_EQ(spec.seed(), 12345678901234u);
  EXPECT_TRUE(spec.optimizer().has_weight_decay());  // explicit zeros survive
  const std::string json = JobSpecToJson(spec);
  StatusOr<v1::JobSpec> again = ParseJobSpec(json, "saved.json");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << json;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(spec, *again)) << json;
  EXPECT_EQ(JobSpecToJson(*again), json);
}

TEST(JobSpecToJson, PrintsSnakeCaseFieldsAndEnumNames) {
  const std::string json = JobSpecToJson(SpecFromJson(testing::kCnnSpec));
  EXPECT_TRUE(Contains(json, "\"global_batch_size\": 64"));
  EXPECT_TRUE(Contains(json, "\"input_shape\""));
  EXPECT_TRUE(Contains(json, "\"task\": \"CLASSIFICATION\""));
  EXPECT_TRUE(Lacks(json, "globalBatchSize"));
  EXPECT_TRUE(Contains(json, "\n"));  // pretty
}

TEST(ParseJobSpec, AcceptsProtobufCamelCaseNames) {
  const v1::JobSpec spec = SpecFromJson(R"({"globalBatchSize": 8, "logEverySteps": 2})");
  EXPECT_EQ(spec.global_batch_size(), 8);
  EXPECT_EQ(spec.log_every_steps(), 2);
}

TEST(ParseJobSpec, UnknownFieldIsNamedWithPathPositionAndSuggestion) {
  const std::string m = ParseMessage(R"({
  "model": {
    "layers": [
      {"dense": {"units": 3}},
      {"conv2d": {"filterz": 3}}
    ]
  }
})");
  EXPECT_TRUE(Contains(m,
                       "job.json:5:19: model.layers[1].conv2d.filterz: unknown field, did "
                       "you mean \"filters\"?"));
  EXPECT_TRUE(Contains(m, "expected one of: filters, kernel_size, stride"));
}

TEST(ParseJobSpec, UnknownTopLevelField) {
  EXPECT_TRUE(Contains(ParseMessage(R"({"name": "x", "epoch": 3})"),
                       "job.json:1:15: epoch: unknown field, did you mean \"epochs\"?"));
  const std::string m = ParseMessage(R"({"colour": "red"})");
  EXPECT_TRUE(Contains(m, "colour: unknown field (expected one of: name, task"));
  EXPECT_TRUE(Lacks(m, "did you mean"));
}

TEST(ParseJobSpec, ReportsEveryMistakeAtOnce) {
  const std::string m = ParseMessage(R"({"nme": "x", "epochs": "three", "tsk": 1})");
  EXPECT_TRUE(Contains(m, "nme: unknown field"));
  EXPECT_TRUE(Contains(m, "epochs: expected an integer"));
  EXPECT_TRUE(Contains(m, "tsk: unknown field"));
}

TEST(ParseJobSpec, SyntaxErrorHasLineAndColumn) {
  EXPECT_TRUE(Contains(ParseMessage("{\n  \"name\": \"x\",,\n}"),
                       "job.json:2:15: expected a quoted key, found ','"));
  EXPECT_TRUE(Contains(ParseMessage("{\n  \"name\": \"x\"\n  \"task\": 1\n}"),
                       "job.json:3:3: expected ',' or '}' after the value of \"name\""));
  EXPECT_TRUE(Contains(ParseMessage("{\"name\": 'x'}"), "job.json:1:10: expected a value"));
  EXPECT_TRUE(Contains(ParseMessage("{\"layers\": [1, 2,]}"), "job.json:1:18:"));
  EXPECT_TRUE(Contains(ParseMessage("{\"name\": \"x\"} extra"),
                       "job.json:1:15: unexpected text after the end"));
  EXPECT_TRUE(Contains(ParseMessage(""), "job.json:1:1: empty document"));
  EXPECT_TRUE(Contains(ParseMessage("{\"name\": \"x"), "job.json:1:10: unterminated string"));
  EXPECT_TRUE(Contains(ParseMessage("[1]"), "expected the job spec as a JSON object"));
}

TEST(ParseJobSpec, WrongJsonTypesAreErrorsNotCoerced) {
  // Protobuf's parser would read "yes" as true and a lone object as a one-element list.
  EXPECT_TRUE(Contains(ParseMessage(R"({"deterministic": "yes"})"),
                       "job.json:1:19: deterministic: expected true or false, found a string"));
  EXPECT_TRUE(Contains(ParseMessage(R"({"model": {"layers": {"flatten": {}}}})"),
                       "model.layers: expected a list, found an object"));
  EXPECT_TRUE(Contains(ParseMessage(R"({"metrics": "accuracy"})"),
                       "metrics: expected a list, found a string"));
  EXPECT_TRUE(Contains(ParseMessage(R"({"name": 5})"), "name: expected a string, found a number"));
  EXPECT_TRUE(Contains(ParseMessage(R"({"model": {"layers": [{"dense": {"units": 3.5}}]}})"),
                       "model.layers[0].dense.units: expected an integer, found 3.5"));
  EXPECT_TRUE(Contains(ParseMessage(R"({"epochs": 10000000000})"),
                       "epochs: 10000000000 is out of range (-2147483648 to 2147483647)"));
  EXPECT_TRUE(
      Contains(ParseMessage(R"({"epochs": 3.0})"), "epochs: expected an integer, found 3.0"));
  EXPECT_TRUE(
      Contains(ParseMessage(R"({"epochs": "3"})"),
               "epochs: expected an integer, found a string (write numbers without quotes)"));
  EXPECT_TRUE(Contains(ParseMessage(R"({"seed": -1})"),
                       "seed: -1 is out of range (0 to 18446744073709551615)"));
  EXPECT_EQ(SpecFromJson(R"({"seed": "18446744073709551615"})").seed(), 18446744073709551615u);
  EXPECT_TRUE(Contains(ParseMessage(R"({"model": {"input_shape": [1, null]}})"),
                       "model.input_shape[1]: null is not allowed in a list"));
}

TEST(ParseJobSpec, EnumValuesAreCheckedWithAHint) {
  EXPECT_TRUE(Contains(ParseMessage(R"({"task": "classification"})"),
                       "task: invalid value \"classification\": enum values are upper case, "
                       "write \"CLASSIFICATION\""));
  EXPECT_TRUE(Contains(ParseMessage(R"({"model": {"layers": [{"activation": "GELU"}]}})"),
                       "model.layers[0].activation: invalid value \"GELU\" (expected one of: "
                       "RELU, SIGMOID, TANH, SOFTMAX)"));
  EXPECT_TRUE(Contains(ParseMessage(R"({"task": 9})"), "task: expected one of: REGRESSION"));
  EXPECT_EQ(SpecFromJson(R"({"task": 2})").task(), v1::CLASSIFICATION);
}

TEST(ParseJobSpec, RepeatedKeyIsAnError) {
  EXPECT_TRUE(Contains(ParseMessage("{\"name\": \"a\",\n \"name\": \"b\"}"),
                       "job.json:2:2: name: repeated key (first at line 1, column 2)"));
}

TEST(ParseJobSpec, TwoMembersOfAOneofAreAnError) {
  EXPECT_TRUE(
      Contains(ParseMessage(R"({"model": {"layers": [{"dense": {"units": 1}, "flatten": {}}]}})"),
               "model.layers[0]: \"dense\" and \"flatten\" cannot both be set: choose one of "
               "dense, conv2d, max_pool2d, avg_pool2d, flatten, dropout, activation"));
  EXPECT_TRUE(
      Contains(ParseMessage(R"({"data": {"train": {"label_column": "y", "label_index": 2}}})"),
               "data.train: \"label_column\" and \"label_index\" cannot both be set"));
}

TEST(ParseJobSpec, EmptyMessagesTakeNoFields) {
  EXPECT_TRUE(Contains(ParseMessage(R"({"model": {"layers": [{"flatten": {"axis": 1}}]}})"),
                       "model.layers[0].flatten.axis: unknown field: FlattenLayer takes no "
                       "fields ({})"));
}

TEST(LoadJobSpec, MissingFileIsNotFound) {
  StatusOr<v1::JobSpec> spec = LoadJobSpec("/nonexistent/job.json");
  EXPECT_TRUE(absl::IsNotFound(spec.status())) << spec.status();
  EXPECT_TRUE(Contains(spec.status().message(), "/nonexistent/job.json"));
}

TEST(LoadJobSpec, ErrorsNameTheFile) {
  const std::string path = ::testing::TempDir() + "/hearth_job_parse_test.json";
  {
    std::ofstream out(path);
    out << "{\n  \"name\": \"x\",\n  \"workerz\": 2\n}\n";
  }
  StatusOr<v1::JobSpec> spec = LoadJobSpec(path);
  std::remove(path.c_str());
  ASSERT_FALSE(spec.ok());
  EXPECT_TRUE(Contains(spec.status().message(),
                       path + ":3:3: workerz: unknown field, did you mean \"workers\"?"));
}

}  // namespace
}  // namespace hearth
