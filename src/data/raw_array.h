// Reading a range or a sorted set of fixed-size binary records (the data of IDX and .npy files)
// into a tensor, converting the stored element type and byte order.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
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

// The record geometry of an array that can be read as `dtype`: checked dims, the size of one
// record, and the tensor shape for `count` records.
struct RecordLayout {
  int64_t elem_size = 0;     // bytes per stored value
  int64_t num_records = 0;   // dims[0]
  int64_t record_elems = 1;  // values per record
  int64_t record_bytes = 0;
  Shape Of(int64_t count, const std::vector<int64_t>& dims) const;
};
// INVALID_ARGUMENT for labels (kInt64) stored as floats, or dims that CheckDims rejects.
StatusOr<RecordLayout> CheckedLayout(const RawArray& array, DType dtype);

// [begin, end) of `rows` within `num_records`, or INVALID_ARGUMENT naming `path`.
StatusOr<std::pair<int64_t, int64_t>> ResolveRows(RowRange rows, int64_t num_records,
                                                  const std::string& path);

// Records `rows` of `array` as a [count, dims[1:]...] tensor of `dtype` (kInt64 needs an integer
// type). A file shorter than its header promises is an error naming the first incomplete record.
StatusOr<Tensor> ReadRawArray(const RawArray& array, DType dtype, RowRange rows);

// What ReadRawArrayRows read from a plain file: tests use it to check what else was read.
struct RowReadStats {
  int64_t reads = 0;  // positioned reads (a run converted to another type: one per 1 MiB chunk)
  int64_t bytes = 0;  // bytes read, gaps between wanted records included
};

// How ReadRawArrayRows reads a plain file.
struct RowReadOptions {
  // Wanted records at most this many bytes apart are read with one positioned read, the gap
  // included, as Arrow coalesces small reads (its hole_size_limit is also 8 KiB): on these VMs a
  // read call costs about as much as copying 10 KiB from the page cache, and a rank of a 2-worker
  // job wants every other record on average. The gap's bytes are read into a reused buffer, never
  // kept. 0 reads the wanted records and nothing else.
  int64_t max_hole_bytes = 8 << 10;
  // Memory handed over for the result, which is written into it instead of a new allocation when
  // it is large enough; nothing else may use it any more. A distributed job reads every epoch's
  // rows into the last epoch's memory (DataLoader::ReleaseRows), sparing the page faults of fresh
  // memory (about 12 us per 4 KiB page on these VMs, 40 ms for half of MNIST as float32).
  std::shared_ptr<Storage> into = nullptr;
};

// Records `rows` (ascending, no repeats) of `array` as a [rows.size(), dims[1:]...] tensor of
// `dtype`, in that order. A plain file is read with one positioned read per group of records that
// lie within options.max_hole_bytes of each other; a gzip file cannot seek, so it is decompressed
// from its start up to the last record wanted. Errors name the file and the offending record.
StatusOr<Tensor> ReadRawArrayRows(const RawArray& array, DType dtype, std::span<const int64_t> rows,
                                  const RowReadOptions& options = {},
                                  RowReadStats* stats = nullptr);

// Shared by the two readers.
// The error for data that ends `available_bytes` after data_offset, short of what the header
// promises, naming the record it ends in.
Status TruncatedError(const RawArray& array, int64_t num_records, int64_t record_bytes,
                      int64_t available_bytes);
// `n` values stored as `type` at `src` converted to `dtype` (kFloat32 or kInt64) at `dst`.
void ConvertValues(ElemType type, const unsigned char* src, int64_t n, bool big_endian, DType dtype,
                   void* dst);
// Whether the stored values already are `dtype` in native byte order (copied without converting).
bool SameLayout(const RawArray& array, DType dtype);

}  // namespace hearth::data_internal
