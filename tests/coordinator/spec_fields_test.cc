// Sweep parameter paths: set and typed, every malformed path an INVALID_ARGUMENT naming it.
#include "coordinator/spec_fields.h"

#include <gtest/gtest.h>

#include <cmath>

#include "hearth/v1/job.pb.h"

namespace hearth::coordinator {
namespace {

TEST(SpecFieldsTest, SetsNumbersByPath) {
  v1::JobSpec spec;
  spec.mutable_model()->add_layers()->mutable_dense()->set_units(4);
  ASSERT_TRUE(SetNumericField(spec, "optimizer.lr", 0.5).ok());
  EXPECT_EQ(spec.optimizer().lr(), 0.5);
  ASSERT_TRUE(SetNumericField(spec, "model.layers[0].dense.units", 7.4).ok());
  EXPECT_EQ(spec.model().layers(0).dense().units(), 7);
  ASSERT_TRUE(SetNumericField(spec, "globalBatchSize", 32).ok()) << "JSON names work too";
  EXPECT_EQ(spec.global_batch_size(), 32);
  EXPECT_TRUE(*IsIntegerField(spec, "global_batch_size"));
  EXPECT_FALSE(*IsIntegerField(spec, "optimizer.lr"));
}

TEST(SpecFieldsTest, MalformedPathsAreInvalidArgumentsNotExceptions) {
  v1::JobSpec spec;
  spec.mutable_model()->add_layers()->mutable_dense()->set_units(4);
  for (const std::string& path : std::vector<std::string>{
           "", "model.layers[99999999999].dense.units", "model.layers[1].dense.units",
           "model.layers[-1].dense.units", "model.layers[].dense.units", "model.layers[x].dense",
           "model.layers[0", "model..layers", "9lives", "model.layers[0].dense.units.extra",
           "model.layers", "optimizer", "no_such_field", "model.layers[00000000000000000000001]",
           std::string(300, 'a'), "model.layers[0]x.dense"}) {
    SCOPED_TRACE(path);
    const Status status = SetNumericField(spec, path, 1);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  }
  EXPECT_EQ(SetNumericField(spec, "model.layers[0].dense.units", 1e20).code(),
            absl::StatusCode::kInvalidArgument)
      << "does not fit an int32";
  EXPECT_EQ(SetNumericField(spec, "model.layers[0].dense.units", NAN).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hearth::coordinator
