// ReadRawArrayRows: a sorted set of records, one positioned read per group of nearby ones.
#include <algorithm>
#include <cstring>
#include <memory>

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

// The end of the group of wanted records from rows[first] that one positioned read covers: a run
// of consecutive records of any length, or records at most `max_hole_bytes` apart spanning at
// most kChunkBytes (read into the chunk buffer).
size_t EndOfGroup(std::span<const int64_t> rows, size_t first, int64_t record_bytes,
                  int64_t max_hole_bytes) {
  size_t last = first + 1;
  while (last < rows.size() && rows[last] == rows[last - 1] + 1) ++last;
  if ((rows[last - 1] - rows[first] + 1) * record_bytes > kChunkBytes) return last;
  while (last < rows.size()) {
    const int64_t hole = (rows[last] - rows[last - 1] - 1) * record_bytes;
    const int64_t span = (rows[last] - rows[first] + 1) * record_bytes;
    if (hole > max_hole_bytes || span > kChunkBytes) break;
    ++last;
  }
  return last;
}

}  // namespace

StatusOr<Tensor> ReadRawArrayRows(const RawArray& array, DType dtype, std::span<const int64_t> rows,
                                  const RowReadOptions& options, RowReadStats* stats) {
  HEARTH_ASSIGN_OR_RETURN(const RecordLayout layout, CheckedLayout(array, dtype));
  // Named copies, not a structured binding: lambdas below capture them (clang 14 cannot).
  const int64_t elem_size = layout.elem_size, num_records = layout.num_records;
  const int64_t record_elems = layout.record_elems, record_bytes = layout.record_bytes;
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
  const int64_t out_bytes = static_cast<int64_t>(rows.size()) * record_elems * out_size;
  const bool reuse = options.into != nullptr && options.into->bytes() >= out_bytes;
  std::shared_ptr<Storage> storage = reuse ? options.into : std::make_shared<Storage>(out_bytes);
  auto* out = static_cast<unsigned char*>(storage->data());
  const bool same_layout = SameLayout(array, dtype);
  const int64_t chunk_elems = std::max<int64_t>(1, kChunkBytes / elem_size);
  std::vector<unsigned char> buffer;  // sized when a conversion or a group with holes needs it
  auto read = [&](void* dst, int64_t n, int64_t offset) -> Status {
    HEARTH_ASSIGN_OR_RETURN(int64_t got, file.ReadAt(dst, n, offset));
    if (stats != nullptr) {
      ++stats->reads;
      stats->bytes += got;
    }
    if (got < n) {  // the file shrank since its size was checked
      return TruncatedError(array, num_records, record_bytes, offset - array.data_offset + got);
    }
    return absl::OkStatus();
  };
  for (size_t first = 0; first < rows.size();) {
    const size_t last = EndOfGroup(rows, first, record_bytes, options.max_hole_bytes);
    const int64_t spanned = rows[last - 1] - rows[first] + 1;
    const int64_t offset = array.data_offset + rows[first] * record_bytes;
    unsigned char* group_out = out + static_cast<int64_t>(first) * record_elems * out_size;
    if (spanned == static_cast<int64_t>(last - first)) {
      // Records back to back: read in one go, straight into the tensor when the stored type is
      // the tensor's, else converted chunk by chunk.
      const int64_t run_elems = spanned * record_elems;
      if (same_layout) {
        HEARTH_RETURN_IF_ERROR(read(group_out, run_elems * elem_size, offset));
      } else {
        buffer.resize(static_cast<size_t>(chunk_elems * elem_size));
        for (int64_t done = 0; done < run_elems;) {
          const int64_t n = std::min(chunk_elems, run_elems - done);
          HEARTH_RETURN_IF_ERROR(read(buffer.data(), n * elem_size, offset + done * elem_size));
          ConvertValues(array.type, buffer.data(), n, array.big_endian, dtype,
                        group_out + done * out_size);
          done += n;
        }
      }
    } else {
      // Records with small gaps between them (at most kChunkBytes in all): one read, then each
      // wanted record copied or converted out of the buffer.
      buffer.resize(std::max(buffer.size(), static_cast<size_t>(spanned * record_bytes)));
      HEARTH_RETURN_IF_ERROR(read(buffer.data(), spanned * record_bytes, offset));
      for (size_t i = first; i < last; ++i) {
        const unsigned char* src = buffer.data() + (rows[i] - rows[first]) * record_bytes;
        unsigned char* dst = out + static_cast<int64_t>(i) * record_elems * out_size;
        if (same_layout) {
          std::memcpy(dst, src, static_cast<size_t>(record_bytes));
        } else {
          ConvertValues(array.type, src, record_elems, array.big_endian, dtype, dst);
        }
      }
    }
    first = last;
  }
  return Tensor::View(std::move(storage), 0, shape, dtype);
}

}  // namespace hearth::data_internal
