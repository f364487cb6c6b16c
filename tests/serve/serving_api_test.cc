// The model server's endpoints in process (no sockets): KServe v2 and TF Serving requests on
// trained example models, the replies checked against TrainedModel's own predictions, and every
// kind of bad request answered with its status and a body that names the problem.
#include "serve/serving_api.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "absl/strings/match.h"
#include "serve/serve_test_util.h"

namespace hearth::serve {
namespace {

using testing::Body;
using testing::Call;

class ServingApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::FreshDir("api"));
    logistic_ = new std::string(testing::TrainExample("logistic_regression", *dir_));
    linear_ = new std::string(testing::TrainExample("linear_regression", *dir_));
    kmeans_ = new std::string(testing::TrainExample("kmeans", *dir_));
    houses_ = new std::string(testing::TrainExample("messy_houses", *dir_));
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(*dir_); }

  void SetUp() override {
    RegistryOptions registry_options;
    registry_options.on_batch = [this](const std::string& model, int64_t rows) {
      metrics_.RecordBatch(model, rows);
    };
    registry_ = std::make_unique<ModelRegistry>(
        std::vector<ModelSource>{
            {"logit", *logistic_}, {"linear", *linear_}, {"blobs", *kmeans_}, {"houses", *houses_}},
        registry_options);
    ASSERT_TRUE(registry_->Reload().ok());
    ApiOptions options;
    options.max_rows = 8;
    api_ = std::make_unique<ServingApi>(*registry_, metrics_, options);
  }

  static std::string* dir_;
  static std::string* logistic_;
  static std::string* linear_;
  static std::string* kmeans_;
  static std::string* houses_;
  ServingMetrics metrics_;
  std::unique_ptr<ModelRegistry> registry_;
  std::unique_ptr<ServingApi> api_;
};
std::string* ServingApiTest::dir_;
std::string* ServingApiTest::logistic_;
std::string* ServingApiTest::linear_;
std::string* ServingApiTest::kmeans_;
std::string* ServingApiTest::houses_;

const json::Value& Output(const json::Value& reply, const std::string& name) {
  static const json::Value none;
  const json::Value* outputs = reply.Find("outputs");
  if (outputs == nullptr) return none;
  for (const json::Value& o : outputs->array)
    if (o.Find("name") != nullptr && o.Find("name")->text == name) return *o.Find("data");
  return none;
}

double Num(const json::Value& v) {
  double d = std::nan("");
  EXPECT_TRUE(v.AsDouble(&d)) << v.text;
  return d;
}

TEST_F(ServingApiTest, KServeInferMatchesTheModelsOwnPredictions) {
  auto model = TrainedModel::Load(*logistic_);
  ASSERT_TRUE(model.ok());
  auto expected =
      (*model)->Predict(Tensor::FromVector({-0.47f, -2.73f, 1.19f, 0.56f}, Shape{2, 2}));
  ASSERT_TRUE(expected.ok());

  const HttpReply reply = Call(*api_, "POST", "/v2/models/logit/infer",
                               R"({"id": "r1", "inputs": [{"name": "input", "shape": [2, 2],
                                   "datatype": "FP32", "data": [[-0.47, -2.73], [1.19, 0.56]]}]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json::Value body = Body(reply);
  EXPECT_EQ(body.Find("model_name")->text, "logit");
  EXPECT_EQ(body.Find("id")->text, "r1");
  const json::Value& labels = Output(body, "label");
  const json::Value& probs = Output(body, "probabilities");
  ASSERT_EQ(labels.array.size(), 2u);
  ASSERT_EQ(probs.array.size(), 4u);  // flat [2, 2]
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(labels.array[r].text, (*expected)[r].label);
    for (int k = 0; k < 2; ++k)
      EXPECT_NEAR(Num(probs.array[r * 2 + k]), (*expected)[r].probabilities[k], 1e-6);
  }
  EXPECT_EQ(Output(body, "output").type, json::Value::Type::kNull) << "raw outputs only on request";

  // Asked for, the raw outputs are the model's own: one logit per row for this binary model.
  auto logits = (*model)->Outputs(Tensor::FromVector({-0.47f, -2.73f, 1.19f, 0.56f}, Shape{2, 2}));
  ASSERT_TRUE(logits.ok());
  const HttpReply raw = Call(*api_, "POST", "/v2/models/logit/infer",
                             R"({"inputs": [{"name": "input", "shape": [2, 2], "datatype": "FP32",
                                 "data": [-0.47, -2.73, 1.19, 0.56]}],
                                 "outputs": [{"name": "output"}]})");
  ASSERT_EQ(raw.status, 200) << raw.body;
  const json::Value raw_body = Body(raw);
  const json::Value& output = Output(raw_body, "output");
  ASSERT_EQ(output.array.size(), 2u) << raw.body;
  EXPECT_NEAR(Num(output.array[1]), logits->f32()[1], 1e-6);
  EXPECT_TRUE(absl::StrContains(raw.body, R"("shape":[2,1])")) << raw.body;
}

TEST_F(ServingApiTest, MissingValuesAreFilledWhereTheModelImputesThem) {
  // The messy-houses model imputes bedrooms, age_years, distance_km and neighborhood (not sqft)
  // and one-hot encodes the neighborhood's text: null, a field left out and the text all give
  // the answer predict gives on the codes (Hillcrest is code 1).
  StatusOr<std::unique_ptr<TrainedModel>> model = TrainedModel::Load(*houses_);
  ASSERT_TRUE(model.ok()) << model.status();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  StatusOr<std::vector<TrainedModel::Prediction>> expected =
      (*model)->Predict(Tensor::FromVector({1500, nan, nan, 5, 1}, Shape{1, 5}));
  ASSERT_TRUE(expected.ok()) << expected.status();
  for (const char* body : {R"({"instances": [[1500, null, null, 5, "Hillcrest"]]})",
                           R"({"instances": [{"sqft": 1500, "distance_km": 5,
                                              "neighborhood": "Hillcrest"}]})",
                           R"({"instances": [{"sqft": 1500, "bedrooms": null, "age_years": null,
                                              "distance_km": 5, "neighborhood": "Hillcrest"}]})"}) {
    const HttpReply reply = Call(*api_, "POST", "/v1/models/houses:predict", body);
    ASSERT_EQ(reply.status, 200) << body << ": " << reply.body;
    const json::Value parsed = Body(reply);
    const json::Value& first = parsed.Find("predictions")->array[0];
    const double got = Num(first.is_array() ? first.array[0] : first);
    EXPECT_NEAR(got, (*expected)[0].values[0], 1e-4) << reply.body;
  }
  // An unknown neighborhood predicts as none of the known ones.
  StatusOr<std::vector<TrainedModel::Prediction>> unknown =
      (*model)->Predict(Tensor::FromVector({1500, 3, 40, 5, -1}, Shape{1, 5}));
  ASSERT_TRUE(unknown.ok());
  const HttpReply atlantis = Call(*api_, "POST", "/v1/models/houses:predict",
                                  R"({"instances": [[1500, 3, 40, 5, "Atlantis"]]})");
  ASSERT_EQ(atlantis.status, 200) << atlantis.body;
  const json::Value atlantis_body = Body(atlantis);
  const json::Value& a = atlantis_body.Find("predictions")->array[0];
  EXPECT_NEAR(Num(a.is_array() ? a.array[0] : a), (*unknown)[0].values[0], 1e-4);
  const HttpReply refused = Call(*api_, "POST", "/v1/models/houses:predict",
                                 R"({"instances": [[null, 3, 40, 5, "Docklands"]]})");
  EXPECT_EQ(refused.status, 400);
  EXPECT_TRUE(absl::StrContains(refused.body, "row 0, field `sqft`: missing value"))
      << refused.body;
}

TEST_F(ServingApiTest, ColumnsByNameInAnyOrderGiveTheSameAnswerAsATensor) {
  const HttpReply tensor = Call(*api_, "POST", "/v2/models/logit/infer",
                                R"({"inputs": [{"name": "input", "shape": [1, 2],
                                    "datatype": "FP32", "data": [1.19, 0.56]}]})");
  const HttpReply columns = Call(*api_, "POST", "/v2/models/logit/infer",
                                 R"({"inputs": [{"name": "x2", "shape": [1], "datatype": "FP32",
                                                 "data": [0.56]},
                                                {"name": "x1", "shape": [1, 1], "datatype": "FP32",
                                                 "data": [[1.19]]}]})");
  ASSERT_EQ(tensor.status, 200) << tensor.body;
  ASSERT_EQ(columns.status, 200) << columns.body;
  EXPECT_EQ(Output(Body(tensor), "probabilities").array[1].text,
            Output(Body(columns), "probabilities").array[1].text);
}

TEST_F(ServingApiTest, TfServingRowsAsListsOrNamedObjects) {
  const HttpReply lists = Call(*api_, "POST", "/v1/models/logit:predict",
                               R"({"instances": [[1.19, 0.56], [-0.47, -2.73]]})");
  const HttpReply objects =
      Call(*api_, "POST", "/v1/models/logit/versions/1:predict",
           R"({"instances": [{"x2": 0.56, "x1": 1.19}, {"x1": -0.47, "x2": -2.73}]})");
  const HttpReply columnar = Call(*api_, "POST", "/v1/models/logit:predict",
                                  R"({"inputs": {"x1": [1.19, -0.47], "x2": [0.56, -2.73]}})");
  ASSERT_EQ(lists.status, 200) << lists.body;
  EXPECT_EQ(lists.body, objects.body);
  EXPECT_EQ(lists.body, columnar.body);
  const json::Value body = Body(lists);
  const json::Value& first = body.Find("predictions")->array[0];
  EXPECT_TRUE(first.Find("label")->text == "yes" || first.Find("label")->text == "no");
  EXPECT_EQ(first.Find("probabilities")->array.size(), 2u);
}

TEST_F(ServingApiTest, RegressionAndClusteringReplies) {
  auto linear = TrainedModel::Load(*linear_);
  ASSERT_TRUE(linear.ok());
  const int64_t width = (*linear)->record_shape().numel();
  std::string row = "[";
  std::vector<float> values;
  for (int64_t i = 0; i < width; ++i) {
    row += (i ? ",0.5" : "0.5");
    values.push_back(0.5f);
  }
  row += "]";
  auto expected = (*linear)->Predict(Tensor::FromVector(values, Shape{1, width}));
  ASSERT_TRUE(expected.ok());
  const HttpReply v1 =
      Call(*api_, "POST", "/v1/models/linear:predict", "{\"instances\": [" + row + "]}");
  ASSERT_EQ(v1.status, 200) << v1.body;
  const json::Value v1_body = Body(v1);
  EXPECT_NEAR(Num(v1_body.Find("predictions")->array[0]), (*expected)[0].values[0], 1e-5);

  const HttpReply blobs =
      Call(*api_, "POST", "/v1/models/blobs:predict", R"({"instances": [[0, 0], [5, 5]]})");
  ASSERT_EQ(blobs.status, 200) << blobs.body;
  const json::Value reply = Body(blobs);
  const json::Value& p = reply.Find("predictions")->array[0];
  ASSERT_NE(p.Find("cluster"), nullptr) << blobs.body;
  EXPECT_GE(Num(*p.Find("distance")), 0.0);
}

TEST_F(ServingApiTest, BadRequestsGetTheirStatusAndANamedReason) {
  struct Case {
    const char* path;
    const char* body;
    int status;
    const char* says;
  };
  const Case cases[] = {
      {"/v2/models/logit/infer", "{not json", 400, "not JSON"},
      {"/v2/models/logit/infer", "[]", 400, "must be an object"},
      {"/v2/models/logit/infer", R"({"inputs": []})", 400, "`inputs` is required"},
      {"/v2/models/logit/infer",
       R"({"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1,2,3]}]})",
       400, "the model takes 2"},
      {"/v2/models/logit/infer",
       R"({"inputs": [{"name": "input", "shape": [2, 2], "datatype": "FP32", "data": [1,2,3]}]})",
       400, "holds 3 values"},
      {"/v2/models/logit/infer",
       R"({"inputs": [{"name": "x1", "shape": [1], "datatype": "FP32", "data": [1]}]})", 400,
       "no input for field x2"},
      {"/v2/models/logit/infer",
       R"({"inputs": [{"name": "input", "shape": [1, 2], "datatype": "BYTES", "data": ["a","b"]}]})",
       400, "datatype BYTES"},
      {"/v2/models/logit/infer",
       R"({"inputs": [{"name": "input", "shape": [9, 2], "datatype": "FP32", "data": []}]})", 413,
       "--max-rows"},
      {"/v2/models/logit/infer",
       R"({"inputs": [{"name":"input","shape":[1,2],"datatype":"FP32","data":[1,2]}],
           "outputs": [{"name": "logits"}]})",
       400, "this model gives label, class_id, probabilities, output"},
      {"/v1/models/logit:predict", R"({"instances": [{"x1": 1, "x2": "big"}]})", 400,
       "row 0, field `x2`: expected a number, got the string \"big\""},
      {"/v1/models/logit:predict", R"({"instances": [[1, 2], {"x1": 1}]})", 400,
       "row 1, field `x2`: missing"},
      {"/v1/models/logit:predict", R"({"instances": [[1, null]]})", 400,
       "row 0, field `x2`: missing value"},
      {"/v1/models/logit:predict", R"({"instances": [{"x1": 1, "x2": 2, "age": 3}]})", 400,
       "unknown field \"age\""},
      {"/v1/models/logit:predict", R"({"instances": [[1, 2, 3]]})", 400, "more values than"},
      {"/v1/models/logit:predict", R"({"instances": [[1e39, 2]]})", 400, "float32 range"},
      {"/v1/models/nope:predict", R"({"instances": [[1, 2]]})", 404, "no model named `nope`"},
      {"/v1/models/logit/versions/7:predict", R"({"instances": [[1, 2]]})", 404,
       "has no version 7; it has 1"},
      {"/v1/models/logit/labels/prod:predict", R"({"instances": [[1, 2]]})", 404,
       "no version labelled `prod`"},
      {"/v2/models/logit/versions/latest/infer", "{}", 400, "positive integers"},
      {"/v2/nothing", "", 404, "no endpoint"},
      // Sizes before allocation: a shape the body cannot back is refused before anything grows.
      {"/v2/models/logit/infer",
       R"({"inputs": [{"name": "input", "shape": [8, 1073741824], "datatype": "FP32", "data": []}]})",
       400, "gives 1073741824 values per row"},
      {"/v2/models/logit/infer",
       R"({"inputs": [{"name": "x1", "shape": [8], "datatype": "FP32", "data": [1]}]})", 400,
       "`data` holds 1 values for 8 rows"},
  };
  for (const Case& c : cases) {
    const HttpReply reply = Call(*api_, "POST", c.path, c.body);
    EXPECT_EQ(reply.status, c.status) << c.path << " " << c.body << " -> " << reply.body;
    const json::Value body = Body(reply);
    ASSERT_NE(body.Find("error"), nullptr) << reply.body;
    EXPECT_TRUE(absl::StrContains(body.Find("error")->text, c.says))
        << c.body << " -> " << body.Find("error")->text;
  }
}

TEST(RequestSizesTest, AClaimTheBodyCannotBackIsRefusedBeforeAllocating) {
  EXPECT_TRUE(CheckFitsInBody(8, 784, 7000).ok());
  const Status s = CheckFitsInBody(16000000, 784, 7000);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "cannot be in a body of 7000 bytes")) << s;
  EXPECT_FALSE(CheckFitsInBody(int64_t{1} << 31, int64_t{1} << 31, 1 << 20).ok()) << "no overflow";
  EXPECT_EQ(CheckRowCount(9, 8).code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(ServingApiTest, MetadataHealthAndMetrics) {
  EXPECT_EQ(Call(*api_, "GET", "/v2/health/live").status, 200);
  EXPECT_EQ(Call(*api_, "GET", "/v2/health/ready").status, 200);
  EXPECT_EQ(Call(*api_, "GET", "/v2/models/logit/ready").status, 200);
  EXPECT_EQ(Call(*api_, "GET", "/v2/models/nope/ready").status, 404);
  const json::Value meta = Body(Call(*api_, "GET", "/v2/models/logit"));
  EXPECT_EQ(meta.Find("name")->text, "logit");
  ASSERT_NE(meta.Find("inputs"), nullptr);
  EXPECT_EQ(meta.Find("inputs")->array[0].Find("shape")->array.size(), 2u);  // [-1, 2]
  EXPECT_EQ(meta.Find("inputs")->array[1].Find("name")->text, "x1");
  EXPECT_EQ(meta.Find("outputs")->array[0].Find("name")->text, "label");
  const json::Value status = Body(Call(*api_, "GET", "/v1/models/logit"));
  EXPECT_EQ(status.Find("model_version_status")->array[0].Find("state")->text, "AVAILABLE");

  Call(*api_, "POST", "/v1/models/logit:predict", R"({"instances": [[1, 2]]})");
  // Names a client makes up do not become labels (the counters would grow without bound).
  EXPECT_EQ(Call(*api_, "POST", "/v1/models/made-up-7:predict", "{}").status, 404);
  const HttpReply metrics = Call(*api_, "GET", "/metrics");
  EXPECT_FALSE(absl::StrContains(metrics.body, "made-up-7")) << metrics.body;
  EXPECT_TRUE(absl::StrContains(
      metrics.body, "hearth_serve_requests_total{model=\"\",protocol=\"v1\",code=\"404\"} 1"))
      << metrics.body;
  EXPECT_EQ(metrics.status, 200);
  for (const char* line :
       {// v1: the status call and the predict; all four logit calls are timed
        "hearth_serve_requests_total{model=\"logit\",protocol=\"v1\",code=\"200\"} 2",
        "hearth_serve_batch_rows_count{model=\"logit\"} 1",
        "hearth_serve_request_seconds_bucket{model=\"logit\",le=\"+Inf\"} 4",
        "hearth_serve_model_version_loaded{model=\"linear\",version=\"1\"} 1"})
    EXPECT_TRUE(absl::StrContains(metrics.body, line)) << line << "\n" << metrics.body;
  api_->set_draining();
  EXPECT_EQ(Call(*api_, "GET", "/v2/health/ready").status, 503);
}

TEST_F(ServingApiTest, ATokenGuardsEverythingButHealth) {
  ApiOptions options;
  options.token = BearerToken("correct-horse-battery-staple");
  ServingApi api(*registry_, metrics_, options);
  const std::string body = R"({"instances": [[1, 2]]})";
  EXPECT_EQ(Call(api, "GET", "/v2/health/ready").status, 200);
  HttpReply missing = Call(api, "POST", "/v1/models/logit:predict", body);
  EXPECT_EQ(missing.status, 401);
  EXPECT_TRUE(absl::StrContains(missing.body, "requires a token")) << missing.body;
  EXPECT_EQ(Call(api, "POST", "/v1/models/logit:predict", body, "Bearer wrong-token").status, 401);
  EXPECT_EQ(Call(api, "GET", "/metrics", "", "Basic abc").status, 401);
  EXPECT_EQ(
      Call(api, "POST", "/v1/models/logit:predict", body, "bearer correct-horse-battery-staple")
          .status,
      200);
}

}  // namespace
}  // namespace hearth::serve
