// InspectArraySource and ReadDataSourceRows: an IDX or .npy source's size from its headers, and
// some of its records with the labels the task needs.
#include <gtest/gtest.h>

#include <vector>

#include "ckpt/temp_dir.h"
#include "hearth/job.h"
#include "job_test_util.h"

namespace hearth {
namespace {

using testing::Contains;
using testing::kRegressionSpec;
using testing::SpecFromJson;

class ArraySourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<float> x(6 * 2 * 2), y(6);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
    for (size_t i = 0; i < y.size(); ++i) y[i] = 0.5f * static_cast<float>(i);
    ASSERT_TRUE(WriteNpy(dir_.file("x.npy"), Tensor::FromVector(x, Shape{6, 2, 2})).ok());
    ASSERT_TRUE(WriteNpy(dir_.file("y.npy"), Tensor::FromVector(y, Shape{6})).ok());
    ASSERT_TRUE(WriteNpy(dir_.file("short_y.npy"), Tensor::FromVector({1, 2}, Shape{2})).ok());
    source_.set_path(dir_.file("x.npy"));
    source_.set_labels_path(dir_.file("y.npy"));
  }

  testing::TempDir dir_;
  v1::JobSpec spec_ = SpecFromJson(kRegressionSpec);
  v1::DataSource source_;
};

TEST_F(ArraySourceTest, InspectReadsOnlyTheHeaders) {
  StatusOr<ArraySourceInfo> info = InspectArraySource(spec_, source_);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->records, 6);
  EXPECT_EQ(info->record_shape, (Shape{2, 2}));
  EXPECT_FALSE(info->gzip);

  source_.set_labels_path(dir_.file("short_y.npy"));
  const Status mismatch = InspectArraySource(spec_, source_).status();
  EXPECT_TRUE(Contains(mismatch.message(), "short_y.npy: 2 label records, but")) << mismatch;

  source_.set_path("train.csv");
  EXPECT_TRUE(Contains(InspectArraySource(spec_, source_).status().message(),
                       "only IDX and NPY files can be read by row"));
}

TEST_F(ArraySourceTest, ReadsTheListedRecordsWithTheirLabels) {
  StatusOr<Dataset> some = ReadDataSourceRows(spec_, source_, std::vector<int64_t>{1, 4});
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_EQ(some->features.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(some->features.ToVector(), (std::vector<float>{4, 5, 6, 7, 16, 17, 18, 19}));
  EXPECT_EQ(some->labels.ToVector(), (std::vector<float>{0.5f, 2.0f}));
  const Status unsorted = ReadDataSourceRows(spec_, source_, std::vector<int64_t>{4, 1}).status();
  EXPECT_TRUE(Contains(unsorted.message(), "y.npy: records must be listed in ascending order"))
      << unsorted;
}

}  // namespace
}  // namespace hearth
