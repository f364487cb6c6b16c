// Tests for the IDX (MNIST) reader: types, slices, gzip, and malformed files.
#include <gtest/gtest.h>

#include <vector>

#include "data/data_test_util.h"
#include "hearth/data/idx.h"

namespace hearth {
namespace {

const std::string kImages = data_testing::TestdataPath("tiny-images-idx3-ubyte");
const std::string kLabels = data_testing::TestdataPath("tiny-labels-idx1-ubyte");

// Pixel (i, r, c) of the fixture (see make_testdata.py).
float Pixel(int i, int r, int c) {
  return (r == 1 && c == 2) ? 250.0f : 10.0f * i + 3 * r + c;
}

std::vector<float> ExpectedImages(int begin, int end) {
  std::vector<float> out;
  for (int i = begin; i < end; ++i) {
    for (int r = 0; r < 2; ++r) {
      for (int c = 0; c < 3; ++c) out.push_back(Pixel(i, r, c));
    }
  }
  return out;
}

std::vector<int64_t> Ids(const Tensor& t) {
  return std::vector<int64_t>(t.i64(), t.i64() + t.numel());
}

TEST(DataIdxTest, ReadsImagesAndLabels) {
  auto images = ReadIdx(kImages);
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_EQ(images->dtype(), DType::kFloat32);
  EXPECT_EQ(images->shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(images->ToVector(), ExpectedImages(0, 4));

  auto labels = ReadIdx(kLabels, DType::kInt64);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->shape(), (Shape{4}));
  EXPECT_EQ(Ids(*labels), (std::vector<int64_t>{3, 0, 9, 1}));
}

TEST(DataIdxTest, Info) {
  auto info = ReadIdxInfo(kImages);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->type, IdxType::kUint8);
  EXPECT_EQ(info->dims, (std::vector<int64_t>{4, 2, 3}));
  EXPECT_EQ(info->header_bytes, 16);
}

TEST(DataIdxTest, ReadsASlice) {
  auto images = ReadIdx(kImages, DType::kFloat32, {.begin = 1, .count = 2});
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_EQ(images->shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(images->ToVector(), ExpectedImages(1, 3));

  auto tail = ReadIdx(kImages, DType::kFloat32, {.begin = 3});
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_EQ(tail->ToVector(), ExpectedImages(3, 4));

  auto none = ReadIdx(kImages, DType::kFloat32, {.begin = 4, .count = 0});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->shape(), (Shape{0, 2, 3}));

  auto past = ReadIdx(kImages, DType::kFloat32, {.begin = 2, .count = 3});
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(data_testing::Contains(past.status().message(),
                                     "rows [2, 5) are out of range: the file has 4 records"));
}

TEST(DataIdxTest, ReadsGzipWholeAndSliced) {
  data_testing::TempDir dir;
  const std::string gz = dir.File("images-idx3-ubyte.gz");
  data_testing::WriteGzFile(gz, data_testing::ReadBytes(kImages));
  auto images = ReadIdx(gz);
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_EQ(images->ToVector(), ExpectedImages(0, 4));
  auto slice = ReadIdx(gz, DType::kFloat32, {.begin = 2, .count = 1});
  ASSERT_TRUE(slice.ok()) << slice.status();
  EXPECT_EQ(slice->ToVector(), ExpectedImages(2, 3));
}

TEST(DataIdxTest, OtherTypesAreBigEndian) {
  auto i16 = ReadIdx(data_testing::TestdataPath("int16-idx2"), DType::kInt64);
  ASSERT_TRUE(i16.ok()) << i16.status();
  EXPECT_EQ(i16->shape(), (Shape{2, 2}));
  EXPECT_EQ(Ids(*i16), (std::vector<int64_t>{-300, 2, 7, 1000}));

  auto f64 = ReadIdx(data_testing::TestdataPath("float64-idx1"));
  ASSERT_TRUE(f64.ok()) << f64.status();
  EXPECT_EQ(f64->ToVector(), (std::vector<float>{0.5f, -1.25f, 3e10f}));

  auto as_labels = ReadIdx(data_testing::TestdataPath("float64-idx1"), DType::kInt64);
  ASSERT_FALSE(as_labels.ok());
  EXPECT_TRUE(data_testing::Contains(as_labels.status().message(),
                                     "class labels must be integers, but the values are float64"));
}

TEST(DataIdxTest, Dataset) {
  auto ds = ReadIdxDataset(kImages, kLabels, {.rows = {.begin = 1, .count = 2}});
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->features.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(Ids(ds->labels), (std::vector<int64_t>{0, 9}));
}

TEST(DataIdxTest, LabelOutOfRange) {
  auto ds = ReadIdxDataset(kImages, kLabels, {.rows = {}, .num_classes = 5});
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(ds.status().message()),
            kLabels + ": record 2: label 9 is out of range [0, 5) (num_classes = 5)");
  // A slice that avoids record 2 is fine.
  EXPECT_TRUE(ReadIdxDataset(kImages, kLabels, {.rows = {.count = 2}, .num_classes = 5}).ok());
  // A slice reports the record's number in the file, not in the slice.
  ds = ReadIdxDataset(kImages, kLabels, {.rows = {.begin = 1}, .num_classes = 5});
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(data_testing::Contains(ds.status().message(), ": record 2: label 9"));
}

TEST(DataIdxTest, RecordCountMismatch) {
  data_testing::TempDir dir;
  std::string labels = data_testing::ReadBytes(kLabels);
  labels[7] = 3;  // the header now declares 3 labels; the images file has 4 records
  data_testing::WriteFile(dir.File("labels"), labels);
  auto ds = ReadIdxDataset(kImages, dir.File("labels"));
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(data_testing::Contains(ds.status().message(), "3 label records, but"));
}

TEST(DataIdxTest, WrongMagic) {
  data_testing::TempDir dir;
  std::string bytes = data_testing::ReadBytes(kImages);
  bytes[0] = 0x1f;  // e.g. a compressed file of another format
  data_testing::WriteFile(dir.File("bad"), bytes);
  auto images = ReadIdx(dir.File("bad"));
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      data_testing::Contains(images.status().message(),
                             dir.File("bad") + ": byte offset 0: wrong magic number 0x1f000803"));

  bytes = data_testing::ReadBytes(kImages);
  bytes[2] = 0x07;  // no such type
  data_testing::WriteFile(dir.File("badtype"), bytes);
  EXPECT_FALSE(ReadIdx(dir.File("badtype")).ok());
}

TEST(DataIdxTest, TruncatedFile) {
  data_testing::TempDir dir;
  const std::string bytes = data_testing::ReadBytes(kImages);
  data_testing::WriteFile(dir.File("cut"), bytes.substr(0, bytes.size() - 4));
  auto images = ReadIdx(dir.File("cut"));
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      images.status().message(),
      dir.File("cut") +
          ": truncated file: the header promises 4 records of 6 bytes (40 bytes in all) but "
          "the data ends at byte offset 36, inside record 3 (which starts at byte offset 34)");
  // Detected from the size even when the wanted slice lies before the cut.
  EXPECT_FALSE(ReadIdx(dir.File("cut"), DType::kFloat32, {.count = 1}).ok());

  // In gzip data the cut shows when the read reaches it.
  data_testing::WriteGzFile(dir.File("cut.gz"), bytes.substr(0, bytes.size() - 4));
  images = ReadIdx(dir.File("cut.gz"));
  ASSERT_FALSE(images.ok());
  EXPECT_TRUE(data_testing::Contains(images.status().message(), "truncated file"));
  EXPECT_TRUE(data_testing::Contains(images.status().message(), "inside record 3"));

  // A cut inside the header.
  data_testing::WriteFile(dir.File("header"), bytes.substr(0, 10));
  images = ReadIdx(dir.File("header"));
  ASSERT_FALSE(images.ok());
  EXPECT_TRUE(
      data_testing::Contains(images.status().message(), "truncated file: the header declares 3"));
}

TEST(DataIdxTest, TruncatedGzipStream) {
  data_testing::TempDir dir;
  data_testing::WriteGzFile(dir.File("full.gz"), data_testing::ReadBytes(kImages));
  const std::string compressed = data_testing::ReadBytes(dir.File("full.gz"));
  data_testing::WriteFile(dir.File("cut.gz"), compressed.substr(0, compressed.size() - 12));
  auto images = ReadIdx(dir.File("cut.gz"));
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kInvalidArgument);
}

std::string IdxHeader(uint8_t type, const std::vector<uint32_t>& dims) {
  std::string header = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) header.push_back(static_cast<char>(d >> shift));
  }
  return header;
}

TEST(DataIdxTest, LargeGzipFileGrowsItsStorage) {
  // 82 MB of float32 output: more than the first allocation made for gzip data.
  const uint32_t n = 20000, side = 32;
  std::string bytes = IdxHeader(0x08, {n, side, side});
  const size_t header = bytes.size();
  bytes.resize(header + size_t{n} * side * side);
  for (size_t i = 0; i < size_t{n} * side * side; ++i)
    bytes[header + i] = static_cast<char>((i * 7) % 251);
  data_testing::TempDir dir;
  data_testing::WriteGzFile(dir.File("big.gz"), bytes);
  auto images = ReadIdx(dir.File("big.gz"));
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_EQ(images->shape(), (Shape{n, side, side}));
  for (int64_t i : {int64_t{0}, int64_t{1}, int64_t{16777215}, int64_t{16777216},
                    int64_t{n} * side * side - 1}) {
    EXPECT_EQ(images->f32()[i], static_cast<float>((i * 7) % 251)) << i;
  }
}

TEST(DataIdxTest, GzipHeaderClaimingHugeDimsIsTruncatedNotOutOfMemory) {
  // 2^31 records of 1 MiB: far more than any machine holds; the data ends after 10 bytes.
  data_testing::TempDir dir;
  data_testing::WriteGzFile(dir.File("huge.gz"),
                            IdxHeader(0x08, {1u << 31, 1024, 1024}) + std::string(10, '\1'));
  auto images = ReadIdx(dir.File("huge.gz"));
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(data_testing::Contains(images.status().message(), "truncated file"));
}

TEST(DataIdxTest, MissingFileIsNotFound) {
  auto images = ReadIdx("no/such/images-idx3-ubyte.gz");
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(data_testing::Contains(images.status().message(), "no/such/images-idx3-ubyte.gz"));
}

}  // namespace
}  // namespace hearth
