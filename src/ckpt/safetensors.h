// The safetensors encoding of a Checkpoint, split so SaveCheckpoint can stream tensor bytes
// straight from the tensors and VerifyCheckpoint can validate without allocating tensors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hearth/checkpoint.h"

namespace hearth::safetensors {

// Larger headers are rejected as corrupt (the same limit as the reference implementation).
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct Encoded {
  std::string prefix;                  // 8-byte header length + JSON header padded to 8 bytes
  std::vector<std::string_view> data;  // each tensor's bytes, viewing the caller's tensors
};

// The returned views stay valid while `checkpoint`'s tensors are alive and unmodified.
StatusOr<Encoded> Encode(const Checkpoint& checkpoint);

// Validates `bytes` completely; fills `out` too unless it is nullptr.
Status Decode(std::string_view bytes, std::string_view source, Checkpoint* out);

}  // namespace hearth::safetensors
