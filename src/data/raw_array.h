// Reading a range of fixed-size binary records (the data of IDX and .npy files) into a tensor,
// converting the stored element type and byte order.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hearth/data/dataset.h"
#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth::data_internal {

enum class ElemType : uint8_t {
  kBool,
  kUint8,
  kInt8,
  kUint16,
  kInt16,
  kUint32,
  kInt32,
  kInt64,
  kFloat32,
  kFloat64,
};
int64_t ElemSize(ElemType type);
// Integer types (and bool) can become int64 class labels.
bool ElemIsInteger(ElemType type);

// Where an array's values are in a file and how they are stored.
struct RawArray {
  std::string path;
  std::string type_name;  // as the format spells it ("uint8", "<f4"), for messages
  ElemType type = ElemType::kUint8;
  bool big_endian = false;
  std::vector<int64_t> dims;  // dims[0] is the number of records
  int64_t data_offset = 0;    // byte offset of the first value
};

// Checks the dims a header declared: a rank the tensors support, no negative dimension, and a
// byte size that fits in int64.
Status CheckDims(const std::string& path, const std::vector<int64_t>& dims, int64_t elem_size);

// [begin, end) of `rows` within `num_records`, or INVALID_ARGUMENT naming `path`.
StatusOr<std::pair<int64_t, int64_t>> ResolveRows(RowRange rows, int64_t num_records,
                                                  const std::string& path);

// Records `rows` of `array` as a [count, dims[1:]...] tensor of `dtype` (kInt64 needs an integer
// type). A file shorter than its header promises is an error naming the first incomplete record.
StatusOr<Tensor> ReadRawArray(const RawArray& array, DType dtype, RowRange rows);

}  // namespace hearth::data_internal
