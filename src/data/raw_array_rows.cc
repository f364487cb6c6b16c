// ReadRawArrayRows: a sorted set of records, one positioned read per run of consecutive ones.
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "data/file_reader.h"
#include "data/raw_array.h"
#include "hearth/sampler.h"

namespace hearth::data_internal {
namespace {

// Bytes converted per read: large enough to amortise calls, small enough to stay in cache.
constexpr int64_t kChunkBytes = 1 << 20;

Status CheckRows(std::span<const int64_t> rows, int64_t num_records, const std::string& path) {
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= num_records) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": record ", rows[i], " is out of range: the file has ", num_records, " records"));
    }
    if (i > 0 && rows[i] <= rows[i - 1]) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": records must be listed in ascending order without repeats, but ",
                       rows[i], " follows ", rows[i - 1]));
    }
  }
  return absl::OkStatus();
}

// Gzip cannot seek: the records up to the last one wanted, then the wanted ones among them.
StatusOr<Tensor> ReadGzipRows(const RawArray& array, DType dtype, std::span<const int64_t> rows) {
  const int64_t count = rows.empty() ? 0 : rows.back() + 1;
  HEARTH_ASSIGN_OR_RETURN(Tensor prefix, ReadRawArray(array, dtype, {0, count}));
  return GatherRows(prefix, rows);
}

}  // namespace

StatusOr<Tensor> ReadRawArrayRows(const RawArray& array, DType dtype, std::span<const int64_t> rows,
                                  RowReadStats* stats) {
  HEARTH_ASSIGN_OR_RETURN(const RecordLayout layout, CheckedLayout(array, dtype));
  const auto [elem_size, num_records, record_elems, record_bytes] = layout;
  HEARTH_RETURN_IF_ERROR(CheckRows(rows, num_records, array.path));
  {
    HEARTH_ASSIGN_OR_RETURN(GzReader probe, GzReader::Open(array.path));
    if (probe.plain_size() < 0) return ReadGzipRows(array, dtype, rows);
  }

  const Shape shape = layout.Of(static_cast<int64_t>(rows.size()), array.dims);
  HEARTH_ASSIGN_OR_RETURN(PlainFile file, PlainFile::Open(array.path));
  // As in ReadRawArray: the file's size vouches for the header before anything is allocated.
  if (file.size() < array.data_offset + num_records * record_bytes) {
    return TruncatedError(array, num_records, record_bytes, file.size() - array.data_offset);
  }
  const int64_t out_size = DTypeSize(dtype);
  auto storage =
      std::make_shared<Storage>(static_cast<int64_t>(rows.size()) * record_elems * out_size);
  auto* out = static_cast<unsigned char*>(storage->data());
  const bool same_layout = SameLayout(array, dtype);
  const int64_t chunk_elems = std::max<int64_t>(1, kChunkBytes / elem_size);
  std::vector<unsigned char> buffer(static_cast<size_t>(same_layout ? 0 : chunk_elems * elem_size));
  for (size_t first = 0; first < rows.size();) {
    size_t last = first + 1;
    while (last < rows.size() && rows[last] == rows[last - 1] + 1) ++last;
    // Records rows[first] .. rows[last - 1] lie back to back: read them in one go (converting
    // chunk by chunk when the stored type differs).
    const int64_t run_elems = static_cast<int64_t>(last - first) * record_elems;
    const int64_t run_offset = array.data_offset + rows[first] * record_bytes;
    unsigned char* run_out = out + static_cast<int64_t>(first) * record_elems * out_size;
    for (int64_t done = 0; done < run_elems;) {
      const int64_t n = same_layout ? run_elems : std::min(chunk_elems, run_elems - done);
      void* dst = same_layout ? static_cast<void*>(run_out) : static_cast<void*>(buffer.data());
      HEARTH_ASSIGN_OR_RETURN(int64_t got,
                              file.ReadAt(dst, n * elem_size, run_offset + done * elem_size));
      if (stats != nullptr) stats->bytes += got;
      if (got < n * elem_size) {  // the file shrank since its size was checked
        return TruncatedError(array, num_records, record_bytes,
                              run_offset - array.data_offset + done * elem_size + got);
      }
      if (!same_layout) {
        ConvertValues(array.type, buffer.data(), n, array.big_endian, dtype,
                      run_out + done * out_size);
      }
      done += n;
    }
    if (stats != nullptr) ++stats->runs;
    first = last;
  }
  return Tensor::View(std::move(storage), 0, shape, dtype);
}

}  // namespace hearth::data_internal
