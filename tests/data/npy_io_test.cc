// Tests for .npy reading (numpy-written fixtures) and writing (byte-exact against numpy.save).
#include <gtest/gtest.h>

#include <vector>

#include "data/data_test_util.h"
#include "hearth/data/npy.h"

namespace hearth {
namespace {

using data_testing::TestdataPath;

std::vector<int64_t> Ids(const Tensor& t) {
  return std::vector<int64_t>(t.i64(), t.i64() + t.numel());
}

TEST(DataNpyTest, Float64BecomesFloat32) {
  auto t = ReadNpy(TestdataPath("float64.npy"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->shape(), (Shape{2, 3}));
  EXPECT_EQ(t->ToVector(), (std::vector<float>{1.5f, -2.0f, 3.25f, 4.0f, 5.5f, -6.75f}));
}

TEST(DataNpyTest, IntegersAsLabelsOrFeatures) {
  auto labels = ReadNpy(TestdataPath("int32_labels.npy"), DType::kInt64);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->dtype(), DType::kInt64);
  EXPECT_EQ(Ids(*labels), (std::vector<int64_t>{2, 0, 1}));

  auto features = ReadNpy(TestdataPath("int32_labels.npy"), DType::kFloat32);
  ASSERT_TRUE(features.ok()) << features.status();
  EXPECT_EQ(features->ToVector(), (std::vector<float>{2, 0, 1}));

  auto floats_as_labels = ReadNpy(TestdataPath("float64.npy"), DType::kInt64);
  ASSERT_FALSE(floats_as_labels.ok());
  EXPECT_TRUE(data_testing::Contains(floats_as_labels.status().message(),
                                     "class labels must be integers, but the values are '<f8'"));
}

TEST(DataNpyTest, Uint8SliceOfFirstAxis) {
  auto all = ReadNpy(TestdataPath("uint8_3d.npy"));
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->shape(), (Shape{4, 3, 2}));
  auto slice = ReadNpy(TestdataPath("uint8_3d.npy"), DType::kFloat32, {.begin = 2, .count = 1});
  ASSERT_TRUE(slice.ok()) << slice.status();
  EXPECT_EQ(slice->shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(slice->ToVector(), (std::vector<float>{12, 13, 14, 15, 16, 17}));

  EXPECT_FALSE(ReadNpy(TestdataPath("uint8_3d.npy"), DType::kFloat32, {.begin = 5}).ok());
  EXPECT_FALSE(ReadNpy(TestdataPath("uint8_3d.npy"), DType::kFloat32, {.count = -2}).ok());
}

TEST(DataNpyTest, FormatVersions2And3) {
  auto v2 = ReadNpyInfo(TestdataPath("v2.npy"));
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->major_version, 2);
  EXPECT_EQ(v2->descr, "<i8");
  auto t = ReadNpy(TestdataPath("v2.npy"), DType::kInt64);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(Ids(*t), (std::vector<int64_t>{1, -2, 3, 4}));

  auto v3 = ReadNpy(TestdataPath("v3.npy"));
  ASSERT_TRUE(v3.ok()) << v3.status();
  EXPECT_EQ(v3->ToVector(), (std::vector<float>{0.25f, 0.5f}));
}

TEST(DataNpyTest, ScalarAndBigEndian) {
  auto scalar = ReadNpy(TestdataPath("scalar.npy"));
  ASSERT_TRUE(scalar.ok()) << scalar.status();
  EXPECT_EQ(scalar->rank(), 0);
  EXPECT_EQ(scalar->item(), 7.5f);

  auto big = ReadNpy(TestdataPath("bigendian.npy"));
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->ToVector(), (std::vector<float>{1.0f, 2.5f}));
}

TEST(DataNpyTest, FortranOrderIsRejected) {
  auto t = ReadNpy(TestdataPath("fortran.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(data_testing::Contains(t.status().message(),
                                     "fortran.npy: fortran_order is True: only C-order arrays are "
                                     "supported"));
}

TEST(DataNpyTest, UnsupportedDtype) {
  auto t = ReadNpy(TestdataPath("float16.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(data_testing::Contains(t.status().message(), "unsupported dtype '<f2' (float16)"));

  data_testing::TempDir dir;
  std::string bytes = data_testing::ReadBytes(TestdataPath("v3.npy"));
  bytes.replace(bytes.find("<f4"), 3, "<c8");  // complex64
  data_testing::WriteFile(dir.File("complex.npy"), bytes);
  t = ReadNpy(dir.File("complex.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(data_testing::Contains(t.status().message(), "unsupported dtype '<c8'; supported: "));
}

TEST(DataNpyTest, WrongMagicAndVersion) {
  data_testing::TempDir dir;
  data_testing::WriteFile(dir.File("text.npy"), "not numpy at all");
  auto t = ReadNpy(dir.File("text.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(data_testing::Contains(t.status().message(), "byte offset 0: wrong magic number"));

  std::string bytes = data_testing::ReadBytes(TestdataPath("v3.npy"));
  bytes[6] = 9;
  data_testing::WriteFile(dir.File("v9.npy"), bytes);
  t = ReadNpy(dir.File("v9.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(data_testing::Contains(t.status().message(), "unsupported .npy format version 9.0"));
}

TEST(DataNpyTest, MalformedHeaderDict) {
  data_testing::TempDir dir;
  std::string bytes = data_testing::ReadBytes(TestdataPath("v3.npy"));
  bytes.replace(bytes.find("'shape'"), 7, "'shape!");
  data_testing::WriteFile(dir.File("bad.npy"), bytes);
  auto t = ReadNpy(dir.File("bad.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(
      data_testing::Contains(t.status().message(), "bad.npy: byte offset 12: malformed header"));
}

TEST(DataNpyTest, TruncatedFile) {
  data_testing::TempDir dir;
  const std::string bytes = data_testing::ReadBytes(TestdataPath("float64.npy"));
  data_testing::WriteFile(dir.File("cut.npy"), bytes.substr(0, bytes.size() - 9));
  auto t = ReadNpy(dir.File("cut.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(t.status().message()),
            dir.File("cut.npy") +
                ": truncated file: the header promises 2 records of 24 bytes (176 bytes in all) "
                "but the data ends at byte offset 167, inside record 1 (which starts at byte "
                "offset 152)");

  data_testing::WriteFile(dir.File("header.npy"), bytes.substr(0, 40));
  t = ReadNpy(dir.File("header.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(data_testing::Contains(t.status().message(), "truncated file: the header is"));
}

TEST(DataNpyTest, WriteMatchesNumpyByteForByte) {
  data_testing::TempDir dir;
  Tensor f = Tensor::FromVector({0, 0.5f, 1, 1.5f, 2, 2.5f}, Shape{2, 3});
  ASSERT_TRUE(WriteNpy(dir.File("f.npy"), f).ok());
  EXPECT_EQ(data_testing::ReadBytes(dir.File("f.npy")),
            data_testing::ReadBytes(TestdataPath("expected_write_f32.npy")));

  Tensor i = Tensor::FromInt64({-1, 0, 5, 7}, Shape{4});
  ASSERT_TRUE(WriteNpy(dir.File("i.npy"), i).ok());
  EXPECT_EQ(data_testing::ReadBytes(dir.File("i.npy")),
            data_testing::ReadBytes(TestdataPath("expected_write_i64.npy")));
}

TEST(DataNpyTest, RoundTrip) {
  data_testing::TempDir dir;
  Tensor f = Tensor::FromVector({1, -2, 3.5f, 4, 5, 6, 7, 8}, Shape{2, 2, 2});
  ASSERT_TRUE(WriteNpy(dir.File("f.npy"), f).ok());
  auto back = ReadNpy(dir.File("f.npy"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->shape(), f.shape());
  EXPECT_EQ(back->ToVector(), f.ToVector());
  auto rows = ReadNpy(dir.File("f.npy"), DType::kFloat32, {.begin = 1, .count = 1});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->ToVector(), (std::vector<float>{5, 6, 7, 8}));

  Tensor i = Tensor::FromInt64({9, -8, 1LL << 40}, Shape{3});
  ASSERT_TRUE(WriteNpy(dir.File("i.npy"), i).ok());
  auto ids = ReadNpy(dir.File("i.npy"), DType::kInt64);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(Ids(*ids), (std::vector<int64_t>{9, -8, 1LL << 40}));

  Tensor scalar = Tensor::Scalar(2.5f);
  ASSERT_TRUE(WriteNpy(dir.File("s.npy"), scalar).ok());
  auto s = ReadNpy(dir.File("s.npy"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->rank(), 0);
  EXPECT_EQ(s->item(), 2.5f);
}

TEST(DataNpyTest, WriteIntoMissingDirectoryFails) {
  auto status = WriteNpy("no/such/dir/out.npy", Tensor::FromVector({1.0f}));
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(data_testing::Contains(status.message(), "no/such/dir/out.npy"));
}

TEST(DataNpyTest, Dataset) {
  data_testing::TempDir dir;
  ASSERT_TRUE(
      WriteNpy(dir.File("x.npy"), Tensor::FromVector({1, 2, 3, 4, 5, 6}, Shape{3, 2})).ok());
  auto ds =
      ReadNpyDataset(dir.File("x.npy"), TestdataPath("int32_labels.npy"), {.rows = {.begin = 1}});
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->features.ToVector(), (std::vector<float>{3, 4, 5, 6}));
  EXPECT_EQ(Ids(ds->labels), (std::vector<int64_t>{0, 1}));

  ds = ReadNpyDataset(dir.File("x.npy"), TestdataPath("int32_labels.npy"),
                      {.rows = {}, .num_classes = 2});
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(data_testing::Contains(ds.status().message(),
                                     "int32_labels.npy: record 0: label 2 is out of range [0, 2)"));

  ds = ReadNpyDataset(dir.File("x.npy"), TestdataPath("int32_labels.npy"),
                      {.rows = {}, .label_kind = LabelKind::kRegression});
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->labels.dtype(), DType::kFloat32);

  ds = ReadNpyDataset(dir.File("x.npy"), "", {.rows = {}, .label_kind = LabelKind::kNone});
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_FALSE(ds->labels.defined());

  ds = ReadNpyDataset(TestdataPath("float64.npy"), TestdataPath("int32_labels.npy"));
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(data_testing::Contains(ds.status().message(), "3 label rows, but"));
}

TEST(DataNpyTest, MissingFileIsNotFound) {
  auto t = ReadNpy("no/such/x.npy");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(data_testing::Contains(t.status().message(), "no/such/x.npy"));
}

}  // namespace
}  // namespace hearth
