// ReadRawArray: seek to the first wanted record, read in bounded chunks, convert to float32/int64.
#include "data/raw_array.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "data/file_reader.h"

namespace hearth::data_internal {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the readers assume a little-endian host");

// Bytes converted per read: large enough to amortise calls, small enough to stay in cache.
constexpr int64_t kChunkBytes = 1 << 20;
// The first allocation for data decompressed from gzip; it doubles as data arrives.
constexpr int64_t kInitialGzipBytes = 64 << 20;
// Arrays larger than this are certainly a corrupt header, not data.
constexpr int64_t kMaxBytes = int64_t{1} << 52;

template <typename T>
T Load(const unsigned char* p, bool big_endian) {
  unsigned char bytes[sizeof(T)];
  if (big_endian) {
    for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = p[sizeof(T) - 1 - i];
  } else {
    std::memcpy(bytes, p, sizeof(T));
  }
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

template <typename Src, typename Dst>
void ConvertAs(const unsigned char* src, int64_t n, bool big_endian, Dst* dst) {
  for (int64_t i = 0; i < n; ++i) {
    dst[i] = static_cast<Dst>(Load<Src>(src + i * static_cast<int64_t>(sizeof(Src)), big_endian));
  }
}

template <typename Dst>
void Convert(ElemType type, const unsigned char* src, int64_t n, bool big_endian, Dst* dst) {
  switch (type) {
    case ElemType::kBool:
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<Dst>(src[i] != 0);
      return;
    case ElemType::kUint8:
      return ConvertAs<uint8_t>(src, n, big_endian, dst);
    case ElemType::kInt8:
      return ConvertAs<int8_t>(src, n, big_endian, dst);
    case ElemType::kUint16:
      return ConvertAs<uint16_t>(src, n, big_endian, dst);
    case ElemType::kInt16:
      return ConvertAs<int16_t>(src, n, big_endian, dst);
    case ElemType::kUint32:
      return ConvertAs<uint32_t>(src, n, big_endian, dst);
    case ElemType::kInt32:
      return ConvertAs<int32_t>(src, n, big_endian, dst);
    case ElemType::kInt64:
      return ConvertAs<int64_t>(src, n, big_endian, dst);
    case ElemType::kFloat32:
      return ConvertAs<float>(src, n, big_endian, dst);
    case ElemType::kFloat64:
      return ConvertAs<double>(src, n, big_endian, dst);
  }
}

}  // namespace

Status TruncatedError(const RawArray& array, int64_t num_records, int64_t record_bytes,
                      int64_t available_bytes) {
  const int64_t record = record_bytes > 0 ? available_bytes / record_bytes : 0;
  return absl::InvalidArgumentError(absl::StrCat(
      array.path, ": truncated file: the header promises ", num_records, " records of ",
      record_bytes, " bytes (", array.data_offset + num_records * record_bytes,
      " bytes in all) but the data ends at byte offset ", array.data_offset + available_bytes,
      ", inside record ", record, " (which starts at byte offset ",
      array.data_offset + record * record_bytes, ")"));
}

void ConvertValues(ElemType type, const unsigned char* src, int64_t n, bool big_endian, DType dtype,
                   void* dst) {
  if (dtype == DType::kFloat32) {
    Convert(type, src, n, big_endian, static_cast<float*>(dst));
  } else {
    Convert(type, src, n, big_endian, static_cast<int64_t*>(dst));
  }
}

bool SameLayout(const RawArray& array, DType dtype) {
  return (dtype == DType::kFloat32 && array.type == ElemType::kFloat32 && !array.big_endian) ||
         (dtype == DType::kInt64 && array.type == ElemType::kInt64 && !array.big_endian);
}

int64_t ElemSize(ElemType type) {
  switch (type) {
    case ElemType::kBool:
    case ElemType::kUint8:
    case ElemType::kInt8:
      return 1;
    case ElemType::kUint16:
    case ElemType::kInt16:
      return 2;
    case ElemType::kUint32:
    case ElemType::kInt32:
    case ElemType::kFloat32:
      return 4;
    case ElemType::kInt64:
    case ElemType::kFloat64:
      return 8;
  }
  return 1;
}

bool ElemIsInteger(ElemType type) {
  return type != ElemType::kFloat32 && type != ElemType::kFloat64;
}

Status CheckDims(const std::string& path, const std::vector<int64_t>& dims, int64_t elem_size) {
  if (static_cast<int>(dims.size()) > kMaxRank) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the array has ", dims.size(),
                                                   " dimensions; at most ", kMaxRank,
                                                   " are supported"));
  }
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": dimension ", i, " is negative (", dims[i], ")"));
    }
  }
  if (!DimsWithin(dims.data(), static_cast<int>(dims.size()), elem_size, kMaxBytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": the header's dimensions describe more than 2^52 bytes; the "
                     "header is probably corrupt"));
  }
  return absl::OkStatus();
}

StatusOr<std::pair<int64_t, int64_t>> ResolveRows(RowRange rows, int64_t num_records,
                                                  const std::string& path) {
  if (rows.begin < 0 || rows.begin > num_records) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": row range begins at ", rows.begin,
                                                   " but the file has ", num_records, " records"));
  }
  if (rows.count < -1) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": row count ", rows.count, " is negative (use -1 for all)"));
  }
  const int64_t end = rows.count == -1 ? num_records : rows.begin + rows.count;
  if (end > num_records) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": rows [", rows.begin, ", ", end,
                                                   ") are out of range: the file has ", num_records,
                                                   " records"));
  }
  return std::make_pair(rows.begin, end);
}

Shape RecordLayout::Of(int64_t count, const std::vector<int64_t>& dims) const {
  Shape shape;
  shape.push_back(count);
  for (size_t i = 1; i < dims.size(); ++i) shape.push_back(dims[i]);
  return shape;
}

StatusOr<RecordLayout> CheckedLayout(const RawArray& array, DType dtype) {
  if (dtype == DType::kInt64 && !ElemIsInteger(array.type)) {
    return absl::InvalidArgumentError(absl::StrCat(
        array.path, ": class labels must be integers, but the values are ", array.type_name));
  }
  HEARTH_CHECK(!array.dims.empty());
  RecordLayout layout;
  layout.elem_size = ElemSize(array.type);
  HEARTH_RETURN_IF_ERROR(CheckDims(array.path, array.dims, layout.elem_size));
  layout.num_records = array.dims[0];
  for (size_t i = 1; i < array.dims.size(); ++i) layout.record_elems *= array.dims[i];
  layout.record_bytes = layout.record_elems * layout.elem_size;
  return layout;
}

StatusOr<Tensor> ReadRawArray(const RawArray& array, DType dtype, RowRange rows) {
  HEARTH_ASSIGN_OR_RETURN(const RecordLayout layout, CheckedLayout(array, dtype));
  // Named copies, not a structured binding: lambdas below capture them (clang 14 cannot).
  const int64_t elem_size = layout.elem_size, num_records = layout.num_records;
  const int64_t record_elems = layout.record_elems, record_bytes = layout.record_bytes;
  HEARTH_ASSIGN_OR_RETURN(auto range, ResolveRows(rows, num_records, array.path));
  const auto [begin, end] = range;
  Shape shape = layout.Of(end - begin, array.dims);

  HEARTH_ASSIGN_OR_RETURN(GzReader reader, GzReader::Open(array.path));
  // Plain files reveal truncation from their size, even outside the wanted range.
  if (reader.plain_size() >= 0 &&
      reader.plain_size() < array.data_offset + num_records * record_bytes) {
    return TruncatedError(array, num_records, record_bytes,
                          reader.plain_size() - array.data_offset);
  }
  HEARTH_RETURN_IF_ERROR(reader.Seek(array.data_offset + begin * record_bytes));

  const int64_t total_elems = (end - begin) * record_elems;
  const int64_t out_size = DTypeSize(dtype);
  // A plain file's size vouches for the data, so its tensor is allocated whole. A gzip header
  // vouches for nothing: a corrupt one could claim terabytes, so that storage grows only as
  // decompressed data actually arrives.
  int64_t capacity =
      reader.plain_size() >= 0 ? total_elems : std::min(total_elems, kInitialGzipBytes / out_size);
  auto storage = std::make_shared<Storage>(capacity * out_size);
  const bool same_layout = SameLayout(array, dtype);
  const int64_t chunk_elems = std::max<int64_t>(1, kChunkBytes / elem_size);
  std::vector<unsigned char> buffer(static_cast<size_t>(same_layout ? 0 : chunk_elems * elem_size));
  for (int64_t done = 0; done < total_elems;) {
    const int64_t n = std::min(chunk_elems, total_elems - done);
    if (done + n > capacity) {
      capacity = std::min(total_elems, std::max(2 * capacity, done + n));
      auto grown = std::make_shared<Storage>(capacity * out_size);
      std::memcpy(grown->data(), storage->data(), static_cast<size_t>(done * out_size));
      storage = std::move(grown);
    }
    char* out = static_cast<char*>(storage->data()) + done * out_size;
    void* dst = same_layout ? static_cast<void*>(out) : static_cast<void*>(buffer.data());
    HEARTH_ASSIGN_OR_RETURN(int64_t got, reader.Read(dst, n * elem_size));
    if (got < n * elem_size) {
      return TruncatedError(array, num_records, record_bytes,
                            begin * record_bytes + done * elem_size + got);
    }
    if (!same_layout) ConvertValues(array.type, buffer.data(), n, array.big_endian, dtype, out);
    done += n;
  }
  return Tensor::View(std::move(storage), 0, shape, dtype);
}

}  // namespace hearth::data_internal
