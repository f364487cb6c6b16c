// Checkpoint save/load/verify through an Env, and the generator-state metadata encoding.
#include "hearth/checkpoint.h"

#include <charconv>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "ckpt/safetensors.h"

namespace hearth {

const Tensor* Checkpoint::Find(std::string_view name) const {
  for (const NamedTensor& nt : tensors)
    if (nt.name == name) return &nt.tensor;
  return nullptr;
}

bool IsModelWeightName(std::string_view name) {
  return !name.starts_with(kOptimizerStatePrefix) && !name.starts_with(kPreprocessStatePrefix);
}

StatusOr<std::string> SerializeCheckpoint(const Checkpoint& checkpoint) {
  HEARTH_ASSIGN_OR_RETURN(safetensors::Encoded encoded, safetensors::Encode(checkpoint));
  std::string out = std::move(encoded.prefix);
  for (std::string_view piece : encoded.data) out.append(piece);
  return out;
}

StatusOr<Checkpoint> ParseCheckpoint(std::string_view bytes, std::string_view source) {
  Checkpoint checkpoint;
  HEARTH_RETURN_IF_ERROR(safetensors::Decode(bytes, source, &checkpoint));
  return checkpoint;
}

Status SaveCheckpoint(Env& env, const std::string& path, const Checkpoint& checkpoint) {
  HEARTH_ASSIGN_OR_RETURN(safetensors::Encoded encoded, safetensors::Encode(checkpoint));
  std::vector<std::string_view> pieces;
  pieces.reserve(encoded.data.size() + 1);
  pieces.push_back(encoded.prefix);
  pieces.insert(pieces.end(), encoded.data.begin(), encoded.data.end());
  return env.WriteFileAtomically(path, pieces);
}

StatusOr<Checkpoint> LoadCheckpoint(Env& env, const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(std::string bytes, env.ReadFile(path));
  return ParseCheckpoint(bytes, path);
}

Status VerifyCheckpoint(Env& env, const std::string& path) {
  HEARTH_ASSIGN_OR_RETURN(std::string bytes, env.ReadFile(path));
  return safetensors::Decode(bytes, path, nullptr);
}

namespace {

constexpr char kRngPrefix[] = "xoshiro256ss:";

bool ParseHex(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 16) return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

std::string EncodeGeneratorState(const Generator::State& state) {
  uint64_t spare_bits;
  std::memcpy(&spare_bits, &state.spare, sizeof(spare_bits));
  return absl::StrFormat("%s%x,%x,%x,%x,%d,%x", kRngPrefix, state.s[0], state.s[1], state.s[2],
                         state.s[3], state.has_spare ? 1 : 0, spare_bits);
}

StatusOr<Generator::State> DecodeGeneratorState(std::string_view text) {
  const auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrFormat(
        "checkpoint metadata \"%s\" is \"%s\", expected \"%s<6 comma-separated hex numbers>\" "
        "as written by EncodeGeneratorState; the checkpoint is damaged or from an incompatible "
        "Hearth version",
        ckpt_keys::kRngState, text.substr(0, 200), kRngPrefix));
  };
  if (!text.starts_with(kRngPrefix)) return bad();
  const std::vector<absl::string_view> parts = absl::StrSplit(
      absl::string_view(text.data(), text.size()).substr(std::strlen(kRngPrefix)), ',');
  if (parts.size() != 6) return bad();
  Generator::State state;
  uint64_t v[6];
  for (int i = 0; i < 6; ++i)
    if (!ParseHex(std::string_view(parts[i].data(), parts[i].size()), &v[i])) return bad();
  // An all-zero xoshiro state only ever produces zeros: it cannot come from a real generator.
  if (v[4] > 1 || (v[0] | v[1] | v[2] | v[3]) == 0) return bad();
  for (int i = 0; i < 4; ++i) state.s[i] = v[i];
  state.has_spare = v[4] == 1;
  std::memcpy(&state.spare, &v[5], sizeof(state.spare));
  return state;
}

}  // namespace hearth
