// The .npy reader on arbitrary files: the header dict, whole reads and row slices.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "hearth/data/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static hearth::fuzz::MemoryFile file;
  const hearth::fuzz::Split input = hearth::fuzz::Choose(data, size);
  const std::string path = file.Hold(input.rest);
  if (path.empty()) return 0;
  (void)hearth::ReadNpyInfo(path);
  const hearth::DType dtype = (input.choice & 1) ? hearth::DType::kInt64 : hearth::DType::kFloat32;
  if (input.choice & 2) {
    const std::vector<int64_t> rows = {1, 0, static_cast<int64_t>(input.choice >> 3)};
    (void)hearth::ReadNpyRows(path, dtype, rows);
  } else {
    (void)hearth::ReadNpy(path, dtype);
  }
  return 0;
}
