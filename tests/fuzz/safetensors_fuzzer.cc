// Checkpoint loading on arbitrary bytes: the safetensors parser (header JSON, offsets, checksums)
// and, for files that parse, everything TrainedModel checks before it builds and restores a model
// (what hearthd does to an uploaded checkpoint).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hearth/checkpoint.h"
#include "hearth/train.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  hearth::StatusOr<hearth::Checkpoint> parsed = hearth::ParseCheckpoint(bytes, "fuzz.safetensors");
  if (!parsed.ok()) return 0;
  (void)hearth::SerializeCheckpoint(*parsed);
  (void)hearth::TrainedModel::FromCheckpoint(*std::move(parsed), "fuzz.safetensors");
  return 0;
}
