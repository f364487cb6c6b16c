// The gRPC Predict call decodes rows as `hearth serve` does (src/serve/feature_rows.h): values
// in feature order or fields by the training CSV's column names, in any order, with errors that
// name the row and the field.
#include <gtest/gtest.h>

#include "coordinator_e2e/coordinator_fixture.h"

namespace hearth::testing {
namespace {

v1::Cell Number(double v) {
  v1::Cell c;
  c.set_number(v);
  return c;
}

TEST_F(CoordinatorTest, PredictTakesNamedFieldsAsTheModelServerDoes) {
  auto hearthd = Start();
  ASSERT_EQ(hearthd->Hearth({"submit", Job("named", 1), "--follow"}).exit_code, 0);
  auto stub = v1::Coordinator::NewStub(Channel(*hearthd));

  v1::PredictRequest by_value;
  by_value.set_job_id("j-000001");
  v1::Row* row = by_value.add_rows();
  for (float v : {0.1f, 0.2f, 0.3f, 0.4f}) row->add_values(v);
  v1::PredictResponse valued;
  ASSERT_TRUE(stub->Predict(Context().get(), by_value, &valued).ok());

  v1::PredictRequest by_name;
  by_name.set_job_id("j-000001");
  auto& fields = *by_name.add_rows()->mutable_fields();
  fields["d"] = Number(0.4f);
  fields["b"] = Number(0.2f);
  fields["a"] = Number(0.1f);
  fields["c"] = Number(0.3f);
  v1::PredictResponse named;
  const grpc::Status ok = stub->Predict(Context().get(), by_name, &named);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  ASSERT_EQ(named.predictions_size(), 1);
  EXPECT_EQ(named.predictions(0).class_id(), valued.predictions(0).class_id());
  for (int k = 0; k < named.predictions(0).probabilities_size(); ++k)
    EXPECT_FLOAT_EQ(named.predictions(0).probabilities(k), valued.predictions(0).probabilities(k));

  struct Case {
    const char* field;
    v1::Cell cell;
    const char* says;
  };
  v1::Cell text;
  text.set_text("high");
  v1::Cell missing;
  missing.set_missing(true);
  for (const Case& c : {Case{"b", text, "row 0, field `b`: expected a number, got the string"},
                        Case{"b", missing, "row 0, field `b`: missing value"},
                        Case{"e", Number(1), "unknown field \"e\""}}) {
    v1::PredictRequest bad = by_name;
    (*bad.mutable_rows(0)->mutable_fields())[c.field] = c.cell;
    v1::PredictResponse refused;
    const grpc::Status s = stub->Predict(Context().get(), bad, &refused);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.says;
    EXPECT_TRUE(Contains(s.error_message(), c.says)) << s.error_message();
  }
  v1::PredictRequest both = by_name;
  both.mutable_rows(0)->add_values(1);
  v1::PredictResponse refused;
  EXPECT_TRUE(Contains(stub->Predict(Context().get(), both, &refused).error_message(), "not both"));
  v1::PredictRequest short_row = by_value;
  short_row.mutable_rows(0)->mutable_values()->RemoveLast();
  EXPECT_TRUE(Contains(stub->Predict(Context().get(), short_row, &refused).error_message(),
                       "row 0: 3 values, but the model takes 4 per row"));
}

}  // namespace
}  // namespace hearth::testing
