// IDX reader (the MNIST format), plain or gzip-compressed: a big-endian header
// `0x00 0x00 <type> <ndim>`, ndim uint32 dimensions, then the values in row-major order.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hearth/data/dataset.h"
#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth {

enum class IdxType : uint8_t {
  kUint8 = 0x08,
  kInt8 = 0x09,
  kInt16 = 0x0B,
  kInt32 = 0x0C,
  kFloat32 = 0x0D,
  kFloat64 = 0x0E,
};
const char* IdxTypeName(IdxType type);

struct IdxInfo {
  IdxType type = IdxType::kUint8;
  std::vector<int64_t> dims;  // dims[0] is the number of records
  int64_t header_bytes = 0;   // where the values start
  bool gzip = false;          // compressed: reading any record decompresses all before it
};

// Reads and checks the header only (cheap: a distributed job uses dims[0] to plan its shards).
StatusOr<IdxInfo> ReadIdxInfo(const std::string& path);

// Reads records `rows` of the file: a tensor [count, dims[1:]...] of the raw values (MNIST
// pixels stay 0..255; scaling is a preprocessing step). `dtype` kFloat32 converts any type;
// kInt64 (labels) requires an integer type. Plain files seek to the range instead of reading
// everything before it. A file shorter than its header promises is an error even when the range
// lies before the cut.
StatusOr<Tensor> ReadIdx(const std::string& path, DType dtype = DType::kFloat32,
                         RowRange rows = {});

// Records `rows` of the file, which must be ascending without repeats, in that order: a tensor
// [rows.size(), dims[1:]...] converted as ReadIdx does. A plain file is read around those records
// only: one positioned read per group of records at most 8 KiB apart, the gaps passing through a
// buffer (a rank of a distributed job holds only the records it uses); a gzip file cannot seek and
// is decompressed from its start to the last record wanted. Errors name the file and the record.
StatusOr<Tensor> ReadIdxRows(const std::string& path, DType dtype, std::span<const int64_t> rows);

// Images and labels as one Dataset (e.g. train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz).
// The two files must hold the same number of records. With label_kind kNone only the images are
// read.
StatusOr<Dataset> ReadIdxDataset(const std::string& images_path, const std::string& labels_path,
                                 const ArrayReadOptions& options = {});
// The same for records `rows` only (as ReadIdxRows reads them); options.rows must be left at its
// default, the whole file.
StatusOr<Dataset> ReadIdxDatasetRows(const std::string& images_path, const std::string& labels_path,
                                     std::span<const int64_t> rows,
                                     const ArrayReadOptions& options = {});

}  // namespace hearth
