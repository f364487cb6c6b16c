// .npy reading (header, dtype mapping, slices through ReadRawArray) and atomic writing.
#include "hearth/data/npy.h"

#include "absl/strings/str_cat.h"
#include "data/file_reader.h"
#include "data/npy_header.h"
#include "data/raw_array.h"

namespace hearth {
namespace {

using data_internal::ElemType;

constexpr char kMagic[] = "\x93NUMPY";
constexpr int64_t kMagicSize = 6;
// numpy itself refuses headers over 10 kB by default; anything this large is not a header.
constexpr int64_t kMaxHeaderBytes = 1 << 20;

constexpr char kSupportedDtypes[] =
    "float32 (<f4), float64 (<f8), int8 (|i1), int16 (<i2), int32 (<i4), int64 (<i8), "
    "uint8 (|u1), uint16 (<u2), uint32 (<u4), bool (|b1)";

// The element type of a numpy dtype string; big-endian ('>') data is converted on reading.
StatusOr<data_internal::RawArray> LayoutOf(const std::string& path, const NpyInfo& info) {
  data_internal::RawArray array;
  array.path = path;
  array.type_name = absl::StrCat("'", info.descr, "'");
  array.data_offset = info.data_offset;
  const std::string& d = info.descr;
  const auto unsupported = [&](const char* why) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": unsupported dtype '", d, "'", why,
                                                   "; supported: ", kSupportedDtypes));
  };
  if (d.size() < 3 || (d[0] != '<' && d[0] != '>' && d[0] != '|' && d[0] != '=')) {
    return unsupported("");
  }
  const std::string_view code = std::string_view(d).substr(1);
  if (code == "f4") {
    array.type = ElemType::kFloat32;
  } else if (code == "f8") {
    array.type = ElemType::kFloat64;
  } else if (code == "i1") {
    array.type = ElemType::kInt8;
  } else if (code == "i2") {
    array.type = ElemType::kInt16;
  } else if (code == "i4") {
    array.type = ElemType::kInt32;
  } else if (code == "i8") {
    array.type = ElemType::kInt64;
  } else if (code == "u1") {
    array.type = ElemType::kUint8;
  } else if (code == "u2") {
    array.type = ElemType::kUint16;
  } else if (code == "u4") {
    array.type = ElemType::kUint32;
  } else if (code == "b1") {
    array.type = ElemType::kBool;
  } else if (code == "f2") {
    return unsupported(" (float16)");
  } else if (code == "u8") {
    return unsupported(" (uint64 does not fit int64)");
  } else {
    return unsupported("");
  }
  array.big_endian = d[0] == '>' && data_internal::ElemSize(array.type) > 1;
  array.dims = info.shape;
  if (array.dims.empty()) array.dims.push_back(1);  // a 0-d array is one record of one value
  HEARTH_RETURN_IF_ERROR(
      data_internal::CheckDims(path, array.dims, data_internal::ElemSize(array.type)));
  return array;
}

uint32_t LoadLittleEndian(const unsigned char* p, int bytes) {
  uint32_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

}  // namespace

StatusOr<NpyInfo> ReadNpyInfo(const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(data_internal::GzReader reader, data_internal::GzReader::Open(path));
  unsigned char prefix[12];
  HEARTH_ASSIGN_OR_RETURN(int64_t got, reader.Read(prefix, 8));
  if (got < kMagicSize || std::string_view(reinterpret_cast<char*>(prefix), kMagicSize) !=
                              std::string_view(kMagic, kMagicSize)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": byte offset 0: wrong magic number: a .npy file starts with \\x93NUMPY"));
  }
  if (got < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": truncated file: it ends at byte offset ", got, " inside the header"));
  }
  NpyInfo info;
  info.gzip = reader.plain_size() < 0;
  info.major_version = prefix[6];
  info.minor_version = prefix[7];
  if (info.major_version < 1 || info.major_version > 3) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": byte offset 6: unsupported .npy format version ", info.major_version,
                     ".", info.minor_version, " (1.0, 2.0 and 3.0 are supported)"));
  }
  // Version 1.0 stores the header length in 2 bytes; 2.0 and 3.0 (UTF-8 header) in 4.
  const int len_bytes = info.major_version == 1 ? 2 : 4;
  HEARTH_ASSIGN_OR_RETURN(got, reader.Read(prefix + 8, len_bytes));
  if (got < len_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": truncated file: it ends at byte offset ", 8 + got, " inside the header"));
  }
  const int64_t header_len = LoadLittleEndian(prefix + 8, len_bytes);
  if (header_len > kMaxHeaderBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": byte offset 8: header length ", header_len, " is implausibly large"));
  }
  std::string dict(static_cast<size_t>(header_len), '\0');
  HEARTH_ASSIGN_OR_RETURN(got, reader.Read(dict.data(), header_len));
  const int64_t dict_offset = 8 + len_bytes;
  if (got < header_len) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": truncated file: the header is ", header_len,
                     " bytes but the file ends at byte offset ", dict_offset + got));
  }
  auto parsed = data_internal::ParseNpyHeaderDict(dict);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": byte offset ", dict_offset, ": ", parsed.status().message()));
  }
  info.descr = std::move(parsed->descr);
  info.fortran_order = parsed->fortran_order;
  info.shape = std::move(parsed->shape);
  info.data_offset = dict_offset + header_len;
  return info;
}

namespace {

// The header of a C-order array, checked for reading rows of it (a 0-d array has none).
StatusOr<NpyInfo> ReadRowArrayInfo(const std::string& path, bool whole) {
  HEARTH_ASSIGN_OR_RETURN(NpyInfo info, ReadNpyInfo(path));
  if (info.fortran_order) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": fortran_order is True: only C-order arrays are supported (save "
                     "numpy.ascontiguousarray(a) instead)"));
  }
  if (info.shape.empty() && !whole) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": a 0-d array has no rows to take a range of"));
  }
  return info;
}

// ReadNpyDataset and ReadNpyDatasetRows: `read(path, dtype, into)` reads the wanted rows of a file
// (into `into` when it can), and `check_labels` checks class labels read that way against
// num_classes.
template <typename Read, typename CheckLabels>
StatusOr<Dataset> ReadFeaturesAndLabels(const std::string& features_path,
                                        const std::string& labels_path,
                                        const ArrayReadOptions& options, Read read,
                                        CheckLabels check_labels) {
  Dataset dataset;
  HEARTH_ASSIGN_OR_RETURN(NpyInfo features_info, ReadNpyInfo(features_path));
  if (features_info.shape.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(features_path, ": features must have a first (row) axis, got a 0-d array"));
  }
  const bool has_labels = options.label_kind != LabelKind::kNone && !labels_path.empty();
  if (has_labels) {
    HEARTH_ASSIGN_OR_RETURN(NpyInfo labels_info, ReadNpyInfo(labels_path));
    if (labels_info.shape.empty() || labels_info.shape[0] != features_info.shape[0]) {
      return absl::InvalidArgumentError(absl::StrCat(
          labels_path, ": ", labels_info.shape.empty() ? 0 : labels_info.shape[0],
          " label rows, but ", features_path, " has ", features_info.shape[0], " rows"));
    }
    const DType label_dtype =
        options.label_kind == LabelKind::kClassification ? DType::kInt64 : DType::kFloat32;
    HEARTH_ASSIGN_OR_RETURN(dataset.labels, read(labels_path, label_dtype, nullptr));
    if (options.label_kind == LabelKind::kClassification) {
      if (dataset.labels.rank() != 1) {
        return absl::InvalidArgumentError(absl::StrCat(labels_path,
                                                       ": class labels must be 1-D [N], got shape ",
                                                       dataset.labels.shape().ToString()));
      }
      if (options.num_classes > 0) HEARTH_RETURN_IF_ERROR(check_labels(dataset.labels));
    }
  }
  HEARTH_ASSIGN_OR_RETURN(dataset.features,
                          read(features_path, DType::kFloat32, options.reuse_features));
  return dataset;
}

}  // namespace

StatusOr<Tensor> ReadNpy(const std::string& path, DType dtype, RowRange rows) {
  HEARTH_ASSIGN_OR_RETURN(NpyInfo info,
                          ReadRowArrayInfo(path, rows.begin == 0 && rows.count == -1));
  HEARTH_ASSIGN_OR_RETURN(data_internal::RawArray array, LayoutOf(path, info));
  HEARTH_ASSIGN_OR_RETURN(Tensor out, data_internal::ReadRawArray(array, dtype, rows));
  if (info.shape.empty()) return Tensor::View(out.storage(), 0, Shape{}, dtype);
  return out;
}

namespace {

// ReadNpyRows, writing into `into` when ReadRawArrayRows can.
StatusOr<Tensor> ReadNpyRowsInto(const std::string& path, DType dtype,
                                 std::span<const int64_t> rows, std::shared_ptr<Storage> into) {
  HEARTH_ASSIGN_OR_RETURN(NpyInfo info, ReadRowArrayInfo(path, /*whole=*/false));
  HEARTH_ASSIGN_OR_RETURN(data_internal::RawArray array, LayoutOf(path, info));
  return data_internal::ReadRawArrayRows(array, dtype, rows, {.into = std::move(into)});
}

}  // namespace

StatusOr<Tensor> ReadNpyRows(const std::string& path, DType dtype, std::span<const int64_t> rows) {
  return ReadNpyRowsInto(path, dtype, rows, nullptr);
}

StatusOr<Dataset> ReadNpyDataset(const std::string& features_path, const std::string& labels_path,
                                 const ArrayReadOptions& options) {
  return ReadFeaturesAndLabels(
      features_path, labels_path, options,
      [&](const std::string& path, DType dtype, const std::shared_ptr<Storage>&) {
        return ReadNpy(path, dtype, options.rows);
      },
      [&](const Tensor& labels) {
        return CheckLabelRange(labels, options.num_classes, labels_path, options.rows.begin);
      });
}

StatusOr<Dataset> ReadNpyDatasetRows(const std::string& features_path,
                                     const std::string& labels_path, std::span<const int64_t> rows,
                                     const ArrayReadOptions& options) {
  if (options.rows.begin != 0 || options.rows.count != -1) {
    return absl::InvalidArgumentError(
        absl::StrCat(features_path, ": give either a row range or a list of rows, not both"));
  }
  return ReadFeaturesAndLabels(
      features_path, labels_path, options,
      [&](const std::string& path, DType dtype, std::shared_ptr<Storage> into) {
        return ReadNpyRowsInto(path, dtype, rows, std::move(into));
      },
      [&](const Tensor& labels) {
        return CheckLabelRange(labels, options.num_classes, labels_path, rows);
      });
}

Status WriteNpy(const std::string& path, const Tensor& tensor, Env& env) {
  HEARTH_CHECK_MSG(tensor.defined(), "WriteNpy: undefined tensor");
  const std::string header = data_internal::FormatNpyHeader(
      tensor.dtype() == DType::kFloat32 ? "<f4" : "<i8", tensor.shape().ToVector());
  const std::string_view pieces[] = {
      header, std::string_view(static_cast<const char*>(tensor.raw()),
                               static_cast<size_t>(tensor.numel() * DTypeSize(tensor.dtype())))};
  return env.WriteFileAtomically(path, pieces);
}

}  // namespace hearth
