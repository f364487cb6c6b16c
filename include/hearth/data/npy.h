// NumPy .npy files (format versions 1.0, 2.0 and 3.0): reading arrays of the common dtypes and
// writing float32 / int64 tensors that numpy.load reads back.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hearth/data/dataset.h"
#include "hearth/env.h"
#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth {

struct NpyInfo {
  int major_version = 1;
  int minor_version = 0;
  // NumPy's dtype string, e.g. "<f4".
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;  // empty for a 0-d array
  int64_t data_offset = 0;     // where the values start
  bool gzip = false;           // compressed: reading any row decompresses all before it
};

// Reads and checks the header only.
StatusOr<NpyInfo> ReadNpyInfo(const std::string& path);

// Reads rows `rows` of the first axis. Supported dtypes: float32, float64, int8, int16, int32,
// int64, uint8, uint16, uint32, bool (little-endian or byte-sized), C order. `dtype` kFloat32
// converts any of them (features); kInt64 requires an integer or bool dtype (class labels).
// Gzip-compressed files are read too.
StatusOr<Tensor> ReadNpy(const std::string& path, DType dtype = DType::kFloat32,
                         RowRange rows = {});

// Rows `rows` of the first axis, which must be ascending without repeats, in that order
// ([rows.size(), shape[1:]...], converted as ReadNpy does). A plain file is read around those rows
// only: one positioned read per group of rows at most 8 KiB apart, the gaps passing through a
// buffer (a rank of a distributed job holds only the rows it uses); a gzip file cannot seek and is
// decompressed from its start to the last row wanted. Errors name the file and the row.
StatusOr<Tensor> ReadNpyRows(const std::string& path, DType dtype, std::span<const int64_t> rows);

// Features and (unless `labels_path` is empty) labels from two .npy files with the same number
// of rows.
StatusOr<Dataset> ReadNpyDataset(const std::string& features_path, const std::string& labels_path,
                                 const ArrayReadOptions& options = {});
// The same for rows `rows` only (as ReadNpyRows reads them); options.rows must be left at its
// default, the whole file.
StatusOr<Dataset> ReadNpyDatasetRows(const std::string& features_path,
                                     const std::string& labels_path, std::span<const int64_t> rows,
                                     const ArrayReadOptions& options = {});

// Writes a float32 ("<f4") or int64 ("<i8") tensor as a version 1.0 .npy file (2.0 when the
// header needs it), byte for byte what numpy.save writes. The file appears atomically
// (Env::WriteFileAtomically): a crash leaves the old file or the new one, never a torn one.
Status WriteNpy(const std::string& path, const Tensor& tensor, Env& env = Env::Default());

}  // namespace hearth
