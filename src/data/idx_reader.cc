// IDX (MNIST) files: header parsing, then the records through ReadRawArray.
#include "hearth/data/idx.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/file_reader.h"
#include "data/raw_array.h"

namespace hearth {
namespace {

using data_internal::ElemType;

StatusOr<ElemType> ElemTypeOf(IdxType type) {
  switch (type) {
    case IdxType::kUint8:
      return ElemType::kUint8;
    case IdxType::kInt8:
      return ElemType::kInt8;
    case IdxType::kInt16:
      return ElemType::kInt16;
    case IdxType::kInt32:
      return ElemType::kInt32;
    case IdxType::kFloat32:
      return ElemType::kFloat32;
    case IdxType::kFloat64:
      return ElemType::kFloat64;
  }
  return absl::InvalidArgumentError("unknown IDX type");
}

uint32_t LoadBigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// The layout of an IDX file's values, from its header; `idx_type` (if not null) gets the type byte
// and `gzip` (if not null) whether the file is compressed.
StatusOr<data_internal::RawArray> ReadLayout(const std::string& path, IdxType* idx_type = nullptr,
                                             bool* gzip = nullptr) {
  HEARTH_ASSIGN_OR_RETURN(data_internal::GzReader reader, data_internal::GzReader::Open(path));
  if (gzip != nullptr) *gzip = reader.plain_size() < 0;
  unsigned char magic[4];
  HEARTH_ASSIGN_OR_RETURN(int64_t got, reader.Read(magic, 4));
  if (got < 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": truncated file: ", got, " bytes, too short for the 4-byte IDX magic number"));
  }
  const uint8_t type_code = magic[2];
  const bool known_type = type_code == 0x08 || type_code == 0x09 || type_code == 0x0B ||
                          type_code == 0x0C || type_code == 0x0D || type_code == 0x0E;
  if (magic[0] != 0 || magic[1] != 0 || !known_type || magic[3] == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: byte offset 0: wrong magic number 0x%02x%02x%02x%02x: an IDX file starts with "
        "0x00 0x00, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, "
        "0x0E float64) and the number of dimensions (not an IDX file, or still compressed "
        "some other way?)",
        path, magic[0], magic[1], magic[2], magic[3]));
  }
  const int ndim = magic[3];
  data_internal::RawArray array;
  array.path = path;
  const IdxType type = static_cast<IdxType>(type_code);
  if (idx_type != nullptr) *idx_type = type;
  array.type_name = IdxTypeName(type);
  HEARTH_ASSIGN_OR_RETURN(array.type, ElemTypeOf(type));
  array.big_endian = true;
  array.data_offset = 4 + 4 * int64_t{ndim};

  std::vector<unsigned char> dims(static_cast<size_t>(4 * ndim));
  HEARTH_ASSIGN_OR_RETURN(got, reader.Read(dims.data(), 4 * ndim));
  if (got < 4 * ndim) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": truncated file: the header declares ",
                                                   ndim, " dimensions but ends at byte offset ",
                                                   4 + got, " of ", array.data_offset));
  }
  for (int i = 0; i < ndim; ++i) array.dims.push_back(LoadBigEndian32(&dims[4 * i]));
  HEARTH_RETURN_IF_ERROR(
      data_internal::CheckDims(path, array.dims, data_internal::ElemSize(array.type)));
  return array;
}

}  // namespace

const char* IdxTypeName(IdxType type) {
  switch (type) {
    case IdxType::kUint8:
      return "uint8";
    case IdxType::kInt8:
      return "int8";
    case IdxType::kInt16:
      return "int16";
    case IdxType::kInt32:
      return "int32";
    case IdxType::kFloat32:
      return "float32";
    case IdxType::kFloat64:
      return "float64";
  }
  return "unknown";
}

StatusOr<IdxInfo> ReadIdxInfo(const std::string& path) {
  IdxInfo info;
  HEARTH_ASSIGN_OR_RETURN(data_internal::RawArray array, ReadLayout(path, &info.type, &info.gzip));
  info.dims = std::move(array.dims);
  info.header_bytes = array.data_offset;
  return info;
}

StatusOr<Tensor> ReadIdx(const std::string& path, DType dtype, RowRange rows) {
  HEARTH_ASSIGN_OR_RETURN(data_internal::RawArray array, ReadLayout(path));
  return data_internal::ReadRawArray(array, dtype, rows);
}

StatusOr<Tensor> ReadIdxRows(const std::string& path, DType dtype, std::span<const int64_t> rows) {
  HEARTH_ASSIGN_OR_RETURN(data_internal::RawArray array, ReadLayout(path));
  return data_internal::ReadRawArrayRows(array, dtype, rows);
}

namespace {

// ReadIdxDataset and ReadIdxDatasetRows: `read` reads the wanted records of an array (into the
// memory it is given, when it can), and `check_labels` checks class labels read that way against
// num_classes.
template <typename Read, typename CheckLabels>
StatusOr<Dataset> ReadImagesAndLabels(const std::string& images_path,
                                      const std::string& labels_path,
                                      const ArrayReadOptions& options, Read read,
                                      CheckLabels check_labels) {
  Dataset dataset;
  HEARTH_ASSIGN_OR_RETURN(data_internal::RawArray images, ReadLayout(images_path));
  if (options.label_kind != LabelKind::kNone) {
    HEARTH_ASSIGN_OR_RETURN(data_internal::RawArray labels, ReadLayout(labels_path));
    if (labels.dims[0] != images.dims[0]) {
      return absl::InvalidArgumentError(absl::StrCat(labels_path, ": ", labels.dims[0],
                                                     " label records, but ", images_path, " has ",
                                                     images.dims[0], " image records"));
    }
    const DType label_dtype =
        options.label_kind == LabelKind::kClassification ? DType::kInt64 : DType::kFloat32;
    HEARTH_ASSIGN_OR_RETURN(dataset.labels, read(labels, label_dtype, nullptr));
    if (options.label_kind == LabelKind::kClassification && options.num_classes > 0) {
      HEARTH_RETURN_IF_ERROR(check_labels(dataset.labels));
    }
  }
  HEARTH_ASSIGN_OR_RETURN(dataset.features, read(images, DType::kFloat32, options.reuse_features));
  return dataset;
}

}  // namespace

StatusOr<Dataset> ReadIdxDataset(const std::string& images_path, const std::string& labels_path,
                                 const ArrayReadOptions& options) {
  return ReadImagesAndLabels(
      images_path, labels_path, options,
      [&](const data_internal::RawArray& array, DType dtype, const std::shared_ptr<Storage>&) {
        return data_internal::ReadRawArray(array, dtype, options.rows);
      },
      [&](const Tensor& labels) {
        return CheckLabelRange(labels, options.num_classes, labels_path, options.rows.begin);
      });
}

StatusOr<Dataset> ReadIdxDatasetRows(const std::string& images_path, const std::string& labels_path,
                                     std::span<const int64_t> rows,
                                     const ArrayReadOptions& options) {
  if (options.rows.begin != 0 || options.rows.count != -1) {
    return absl::InvalidArgumentError(
        absl::StrCat(images_path, ": give either a row range or a list of records, not both"));
  }
  return ReadImagesAndLabels(
      images_path, labels_path, options,
      [&](const data_internal::RawArray& array, DType dtype, std::shared_ptr<Storage> into) {
        return data_internal::ReadRawArrayRows(array, dtype, rows, {.into = std::move(into)});
      },
      [&](const Tensor& labels) {
        return CheckLabelRange(labels, options.num_classes, labels_path, rows);
      });
}

}  // namespace hearth
