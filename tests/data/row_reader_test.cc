// Tests for reading a sorted set of records of IDX and .npy files (ReadIdxRows, ReadNpyRows and
// their dataset versions): the values, what is read from disk, gzip, and the errors.
#include <gtest/gtest.h>

#include <memory>
#include <numeric>
#include <vector>

#include "data/data_test_util.h"
#include "data/raw_array.h"
#include "hearth/data/idx.h"
#include "hearth/data/npy.h"
#include "hearth/sampler.h"

namespace hearth {
namespace {

using data_testing::Contains;
using data_testing::TempDir;

void AppendBigEndian32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

// An IDX file of `records` uint8 records of shape [rows, cols]; value k of record i is
// (7 * i + k) % 256.
std::string Uint8Idx(int records, int rows, int cols) {
  std::string bytes = {0, 0, 0x08, 3};
  AppendBigEndian32(&bytes, records);
  AppendBigEndian32(&bytes, rows);
  AppendBigEndian32(&bytes, cols);
  for (int i = 0; i < records; ++i)
    for (int k = 0; k < rows * cols; ++k) bytes.push_back(static_cast<char>((7 * i + k) % 256));
  return bytes;
}

// A 1-D big-endian int32 IDX file of labels: record i holds i % 3, except `odd_record` holding 7.
std::string Int32LabelsIdx(int records, int odd_record = -1) {
  std::string bytes = {0, 0, 0x0C, 1};
  AppendBigEndian32(&bytes, records);
  for (int i = 0; i < records; ++i) AppendBigEndian32(&bytes, i == odd_record ? 7 : i % 3);
  return bytes;
}

// The rows `rows` of a whole-file read: what a row read must return.
Tensor Expected(const Tensor& whole, const std::vector<int64_t>& rows) {
  StatusOr<Tensor> out = GatherRows(whole, rows);
  EXPECT_TRUE(out.ok()) << out.status();
  return *out;
}

void ExpectSameValues(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.dtype(), b.dtype());
  if (a.dtype() == DType::kInt64) {
    EXPECT_EQ(std::vector<int64_t>(a.i64(), a.i64() + a.numel()),
              std::vector<int64_t>(b.i64(), b.i64() + b.numel()));
  } else {
    EXPECT_EQ(a.ToVector(), b.ToVector());
  }
}

class RowReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    images_ = dir_.File("images-idx3-ubyte");
    labels_ = dir_.File("labels-idx1-ubyte");
    data_testing::WriteFile(images_, Uint8Idx(10, 2, 3));
    data_testing::WriteFile(labels_, Int32LabelsIdx(10));
  }

  TempDir dir_;
  std::string images_;
  std::string labels_;
};

TEST_F(RowReaderTest, IdxRowsAreTheListedRecordsInOrder) {
  const std::vector<int64_t> rows = {0, 2, 3, 7, 9};
  auto whole = ReadIdx(images_);
  auto some = ReadIdxRows(images_, DType::kFloat32, rows);
  ASSERT_TRUE(whole.ok() && some.ok()) << some.status();
  EXPECT_EQ(some->shape(), (Shape{5, 2, 3}));
  ExpectSameValues(*some, Expected(*whole, rows));

  // Big-endian int32 converted to int64 labels.
  auto labels = ReadIdxRows(labels_, DType::kInt64, rows);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(std::vector<int64_t>(labels->i64(), labels->i64() + 5),
            (std::vector<int64_t>{0, 2, 0, 1, 0}));

  auto none = ReadIdxRows(images_, DType::kFloat32, {});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->shape(), (Shape{0, 2, 3}));
}

data_internal::RawArray ImagesArray(const std::string& path) {
  auto info = ReadIdxInfo(path);
  EXPECT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->gzip);
  data_internal::RawArray array;
  array.path = path;
  array.type_name = "uint8";
  array.type = data_internal::ElemType::kUint8;
  array.big_endian = true;
  array.dims = info->dims;
  array.data_offset = info->header_bytes;
  return array;
}

TEST_F(RowReaderTest, WithoutHolesReadsOnlyTheWantedRecordsOnePositionedReadPerRun) {
  data_internal::RowReadStats stats;
  const std::vector<int64_t> rows = {1, 2, 5, 8, 9};
  auto some = data_internal::ReadRawArrayRows(ImagesArray(images_), DType::kFloat32, rows,
                                              {.max_hole_bytes = 0}, &stats);
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_EQ(stats.reads, 3);          // {1, 2}, {5}, {8, 9}
  EXPECT_EQ(stats.bytes, 5 * 2 * 3);  // five records of six bytes, nothing else
  ExpectSameValues(*some, Expected(*ReadIdx(images_), rows));
}

TEST_F(RowReaderTest, NearbyRecordsAreReadTogetherWithTheGapsUpToTheHoleLimit) {
  const std::vector<int64_t> rows = {1, 2, 5, 8, 9};  // gaps of two records (12 bytes) each
  const Tensor expected = Expected(*ReadIdx(images_), rows);

  data_internal::RowReadStats by_default;
  auto some =
      data_internal::ReadRawArrayRows(ImagesArray(images_), DType::kFloat32, rows, {}, &by_default);
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_EQ(by_default.reads, 1);          // records 1..9 in one read
  EXPECT_EQ(by_default.bytes, 9 * 2 * 3);  // the two gaps included
  ExpectSameValues(*some, expected);

  data_internal::RowReadStats at_limit;
  some = data_internal::ReadRawArrayRows(ImagesArray(images_), DType::kFloat32, rows,
                                         {.max_hole_bytes = 12}, &at_limit);
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_EQ(at_limit.reads, 1);
  ExpectSameValues(*some, expected);

  data_internal::RowReadStats below_limit;
  some = data_internal::ReadRawArrayRows(ImagesArray(images_), DType::kFloat32, rows,
                                         {.max_hole_bytes = 11}, &below_limit);
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_EQ(below_limit.reads, 3);
  EXPECT_EQ(below_limit.bytes, 5 * 2 * 3);
  ExpectSameValues(*some, expected);
}

TEST_F(RowReaderTest, ReadsWithHolesStayWithinTheOneMegabyteBuffer) {
  // Every other record of 3000 records of 1000 bytes: 3 MB spanned, so at least three reads,
  // none longer than 1 MiB, and the values of every record right across their boundaries.
  const std::string big = dir_.File("big-idx3-ubyte");
  data_testing::WriteFile(big, Uint8Idx(3000, 10, 100));
  std::vector<int64_t> rows;
  for (int64_t r = 0; r < 3000; r += 2) rows.push_back(r);
  data_internal::RowReadStats stats;
  auto some = data_internal::ReadRawArrayRows(ImagesArray(big), DType::kFloat32, rows, {}, &stats);
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_GE(stats.reads, 3);
  EXPECT_LE(stats.reads, 4);
  EXPECT_LE(stats.bytes, 2999 * 1000);  // the records from the first wanted to the last wanted
  ExpectSameValues(*some, Expected(*ReadIdx(big), rows));
}

TEST_F(RowReaderTest, ResultIsWrittenIntoHandedOverMemoryWhenLargeEnough) {
  const std::vector<int64_t> rows = {1, 2, 5};
  const Tensor expected = Expected(*ReadIdx(images_), rows);
  const auto array = ImagesArray(images_);

  auto memory = std::make_shared<Storage>(3 * 6 * 4 + 100);  // larger than needed
  const void* address = memory->data();
  auto into =
      data_internal::ReadRawArrayRows(array, DType::kFloat32, rows, {.into = std::move(memory)});
  ASSERT_TRUE(into.ok()) << into.status();
  EXPECT_EQ(into->storage()->data(), address);
  ExpectSameValues(*into, expected);

  auto small = std::make_shared<Storage>(3 * 6 * 4 - 4);
  auto fresh = data_internal::ReadRawArrayRows(array, DType::kFloat32, rows, {.into = small});
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_NE(fresh->storage(), small);
  ExpectSameValues(*fresh, expected);
}

TEST_F(RowReaderTest, LongRunsAreConvertedChunkByChunk) {
  // 3000 records of 1000 bytes: runs of several MB cross the reader's 1 MB conversion chunks.
  const std::string big = dir_.File("big-idx3-ubyte");
  data_testing::WriteFile(big, Uint8Idx(3000, 10, 100));
  std::vector<int64_t> rows(3000);
  std::iota(rows.begin(), rows.end(), 0);
  rows.erase(rows.begin() + 1500);  // two long runs
  rows.erase(rows.begin());
  auto some = ReadIdxRows(big, DType::kFloat32, rows);
  ASSERT_TRUE(some.ok()) << some.status();
  ExpectSameValues(*some, Expected(*ReadIdx(big), rows));
}

TEST_F(RowReaderTest, GzipIsDecompressedUpToTheLastWantedRecord) {
  const std::string gz = dir_.File("images-idx3-ubyte.gz");
  data_testing::WriteGzFile(gz, Uint8Idx(10, 2, 3));
  auto info = ReadIdxInfo(gz);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->gzip);
  const std::vector<int64_t> rows = {3, 4, 8};
  auto some = ReadIdxRows(gz, DType::kFloat32, rows);
  ASSERT_TRUE(some.ok()) << some.status();
  ExpectSameValues(*some, Expected(*ReadIdx(images_), rows));
}

TEST_F(RowReaderTest, IdxDatasetRowsMatchTheWholeDataset) {
  const std::vector<int64_t> rows = {1, 4, 6};
  auto whole = ReadIdxDataset(images_, labels_);
  auto some = ReadIdxDatasetRows(images_, labels_, rows);
  ASSERT_TRUE(whole.ok() && some.ok()) << some.status();
  ExpectSameValues(some->features, Expected(whole->features, rows));
  ExpectSameValues(some->labels, Expected(whole->labels, rows));

  ArrayReadOptions both;
  both.rows = {.begin = 2, .count = 3};
  auto conflicting = ReadIdxDatasetRows(images_, labels_, rows, both);
  ASSERT_FALSE(conflicting.ok());
  EXPECT_TRUE(Contains(conflicting.status().message(), "not both"));
}

TEST_F(RowReaderTest, LabelOutOfRangeNamesTheFileRecord) {
  data_testing::WriteFile(labels_, Int32LabelsIdx(10, /*odd_record=*/6));
  ArrayReadOptions options;
  options.num_classes = 3;
  auto ds = ReadIdxDatasetRows(images_, labels_, std::vector<int64_t>{2, 6, 8}, options);
  ASSERT_FALSE(ds.ok());
  EXPECT_TRUE(Contains(ds.status().message(), labels_ + ": record 6: label 7 is out of range"))
      << ds.status();
}

TEST_F(RowReaderTest, BadRowListsAndShortFilesAreErrorsNamingFileAndRecord) {
  auto unsorted = ReadIdxRows(images_, DType::kFloat32, std::vector<int64_t>{5, 2});
  ASSERT_FALSE(unsorted.ok());
  EXPECT_TRUE(Contains(unsorted.status().message(),
                       images_ + ": records must be listed in ascending order without repeats, "
                                 "but 2 follows 5"));
  EXPECT_FALSE(ReadIdxRows(images_, DType::kFloat32, std::vector<int64_t>{3, 3}).ok());
  auto past = ReadIdxRows(images_, DType::kFloat32, std::vector<int64_t>{4, 10});
  ASSERT_FALSE(past.ok());
  EXPECT_TRUE(Contains(past.status().message(),
                       images_ + ": record 10 is out of range: the file has 10 records"));

  // Cut inside record 8: even reading records before the cut fails, as ReadIdx does.
  const std::string bytes = Uint8Idx(10, 2, 3);
  data_testing::WriteFile(dir_.File("cut"), bytes.substr(0, 16 + 8 * 6 + 2));
  auto cut = ReadIdxRows(dir_.File("cut"), DType::kFloat32, std::vector<int64_t>{1});
  ASSERT_FALSE(cut.ok());
  EXPECT_TRUE(Contains(cut.status().message(), "truncated file")) << cut.status();
  EXPECT_TRUE(Contains(cut.status().message(), "inside record 8")) << cut.status();

  data_testing::WriteFile(labels_, Int32LabelsIdx(9));
  auto mismatch = ReadIdxDatasetRows(images_, labels_, std::vector<int64_t>{1});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_TRUE(Contains(mismatch.status().message(), "9 label records, but"));
}

TEST(NpyRowReaderTest, RowsOfFeaturesAndLabels) {
  TempDir dir;
  std::vector<float> values(12 * 3);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.5f * static_cast<float>(i);
  std::vector<int64_t> ids(12);
  for (int i = 0; i < 12; ++i) ids[i] = i % 4;
  const std::string x = dir.File("x.npy"), y = dir.File("y.npy");
  ASSERT_TRUE(WriteNpy(x, Tensor::FromVector(values, Shape{12, 3})).ok());
  ASSERT_TRUE(WriteNpy(y, Tensor::FromInt64(ids, Shape{12})).ok());

  const std::vector<int64_t> rows = {0, 1, 2, 6, 11};
  auto whole = ReadNpyDataset(x, y);
  auto some = ReadNpyDatasetRows(x, y, rows);
  ASSERT_TRUE(whole.ok() && some.ok()) << some.status();
  ExpectSameValues(some->features, Expected(whole->features, rows));
  ExpectSameValues(some->labels, Expected(whole->labels, rows));

  // float32 is read straight into the tensor: still only the wanted bytes.
  auto info = ReadNpyInfo(x);
  ASSERT_TRUE(info.ok()) << info.status();
  data_internal::RawArray array;
  array.path = x;
  array.type_name = "'<f4'";
  array.type = data_internal::ElemType::kFloat32;
  array.dims = info->shape;
  array.data_offset = info->data_offset;
  data_internal::RowReadStats stats;
  auto direct =
      data_internal::ReadRawArrayRows(array, DType::kFloat32, rows, {.max_hole_bytes = 0}, &stats);
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_EQ(stats.reads, 3);
  EXPECT_EQ(stats.bytes, 5 * 3 * 4);
  ExpectSameValues(*direct, some->features);

  // With the default hole limit, rows 2 and 6 (three rows, 36 bytes apart) are read together.
  data_internal::RowReadStats coalesced;
  direct = data_internal::ReadRawArrayRows(array, DType::kFloat32, rows, {}, &coalesced);
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_EQ(coalesced.reads, 1);
  EXPECT_EQ(coalesced.bytes, 12 * 3 * 4);
  ExpectSameValues(*direct, some->features);

  auto labels = ReadNpyRows(y, DType::kInt64, std::vector<int64_t>{3, 7});
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(std::vector<int64_t>(labels->i64(), labels->i64() + 2), (std::vector<int64_t>{3, 3}));

  auto unsorted = ReadNpyRows(x, DType::kFloat32, std::vector<int64_t>{3, 1});
  ASSERT_FALSE(unsorted.ok());
  EXPECT_TRUE(Contains(unsorted.status().message(), x + ": records must be listed in ascending"));

  ArrayReadOptions classes;
  classes.num_classes = 3;
  auto out_of_range = ReadNpyDatasetRows(x, y, std::vector<int64_t>{2, 7}, classes);
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_TRUE(Contains(out_of_range.status().message(), y + ": record 7: label 3 is out of range"));
}

}  // namespace
}  // namespace hearth
