// The IDX reader (plain or gzip: the reader decides from the bytes) on arbitrary files: the
// header, whole reads, row slices, and images with labels.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "hearth/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static hearth::fuzz::MemoryFile images, labels;
  const hearth::fuzz::Split input = hearth::fuzz::Choose(data, size);
  const std::string path = images.Hold(input.rest);
  if (path.empty()) return 0;
  (void)hearth::ReadIdxInfo(path);
  const hearth::DType dtype = (input.choice & 1) ? hearth::DType::kInt64 : hearth::DType::kFloat32;
  if (input.choice & 2) {
    const std::vector<int64_t> rows = {0, 2, 1, static_cast<int64_t>(input.choice >> 4)};
    (void)hearth::ReadIdxRows(path, dtype, rows);
  } else {
    (void)hearth::ReadIdx(path, dtype);
  }
  if (input.choice & 4) {
    // A labels file of 3 records, which the images must match.
    const std::string labels_path =
        labels.Hold(std::string("\0\0\x08\x01\0\0\0\x03\x01\x00\x02", 11));
    hearth::ArrayReadOptions options;
    options.num_classes = 3;
    (void)hearth::ReadIdxDataset(path, labels_path, options);
    const std::vector<int64_t> rows = {0, 2};
    (void)hearth::ReadIdxDatasetRows(path, labels_path, rows, {});
  }
  return 0;
}
