// Safetensors writer and validating reader (https://github.com/huggingface/safetensors, "Format").
#include "ckpt/safetensors.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/json.h"

namespace hearth::safetensors {

// Tensor bytes are written straight from memory; the format is little-endian.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little-endian");

namespace {

constexpr char kHint[] =
    "the file is truncated or not a Hearth checkpoint; use an earlier checkpoint";
constexpr char kFormatVersion[] = "1";

const char* DTypeCode(DType dtype) {
  return dtype == DType::kFloat32 ? "F32" : "I64";
}

uint32_t Crc32(const std::vector<std::string_view>& pieces) {
  uLong crc = crc32_z(0L, Z_NULL, 0);
  for (std::string_view p : pieces)
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(p.data()), p.size());
  return static_cast<uint32_t>(crc);
}

Status BadName(std::string_view what, std::string_view name, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrFormat("cannot save checkpoint: %s \"%s\" %s", what, name, why));
}

std::string Hex(uint32_t crc) {
  return absl::StrFormat("%08x", crc);
}

// One tensor's header entry.
struct EntryView {
  std::string_view name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

// The header JSON without padding: metadata first (as the reference writer does), then the tensors
// in data order. Also the canonical form the header checksum covers, so the reader rebuilds it
// from what it parsed and any changed byte that still parses is caught.
std::string HeaderJson(const std::vector<EntryView>& entries,
                       const std::map<std::string, std::string>& metadata) {
  std::string out = "{\"__metadata__\":{";
  bool first = true;
  for (const auto& [key, value] : metadata) {
    if (!first) out += ',';
    first = false;
    json::AppendString(out, key);
    out += ':';
    json::AppendString(out, value);
  }
  out += '}';
  for (const EntryView& e : entries) {
    out += ',';
    json::AppendString(out, e.name);
    absl::StrAppend(&out, ":{\"dtype\":\"", DTypeCode(e.dtype), "\",\"shape\":[");
    for (int i = 0; i < e.shape.rank(); ++i) absl::StrAppend(&out, i ? "," : "", e.shape[i]);
    absl::StrAppend(&out, "],\"data_offsets\":[", e.begin, ",", e.end, "]}");
  }
  out += '}';
  return out;
}

// One tensor's header entry, as read from the file.
struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  Status Corrupt(std::string_view what) const {
    return absl::DataLossError(absl::StrFormat("%s: %s; %s", source_, what, kHint));
  }

  Status Unsupported(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrFormat("%s: %s", source_, what));
  }

  Status ReadEntry(const std::string& name, const json::Value& v, Entry* e) const {
    const std::string where = absl::StrCat("tensor \"", name, "\"");
    if (!v.is_object()) return Corrupt(where + " is not a JSON object");
    const json::Value* dtype = v.Find("dtype");
    const json::Value* shape = v.Find("shape");
    const json::Value* offsets = v.Find("data_offsets");
    if (!dtype || !dtype->is_string()) return Corrupt(where + " has no string \"dtype\"");
    if (!shape || !shape->is_array()) return Corrupt(where + " has no array \"shape\"");
    if (!offsets || !offsets->is_array() || offsets->array.size() != 2)
      return Corrupt(where + " has no \"data_offsets\" [begin, end]");
    e->name = name;
    if (dtype->text == "F32") {
      e->dtype = DType::kFloat32;
    } else if (dtype->text == "I64") {
      e->dtype = DType::kInt64;
    } else {
      return Unsupported(absl::StrCat(where, " has dtype \"", dtype->text,
                                      "\"; Hearth reads only F32 and I64, so convert it (e.g. to "
                                      "float32 with numpy or torch) and save the file again"));
    }
    if (shape->array.size() > static_cast<size_t>(kMaxRank))
      return Unsupported(absl::StrCat(where, " has rank ", shape->array.size(),
                                      "; Hearth tensors have at most ", kMaxRank, " dimensions"));
    // numel * element size must not overflow before it is compared with the byte range.
    for (const json::Value& d : shape->array) {
      uint64_t dim;
      if (!d.AsUint64(&dim) || dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return Corrupt(where + " has a shape entry that is not a non-negative integer");
      e->shape.push_back(static_cast<int64_t>(dim));
    }
    // Every dimension counts, also past a zero one: shapes are multiplied out elsewhere.
    if (!DimsWithin(e->shape.data(), static_cast<int>(e->shape.size()), DTypeSize(e->dtype),
                    std::numeric_limits<int64_t>::max()))
      return Corrupt(where + " has a shape too large to be real");
    uint64_t bytes = static_cast<uint64_t>(DTypeSize(e->dtype));
    for (int64_t dim : e->shape) bytes *= static_cast<uint64_t>(dim);
    if (!offsets->array[0].AsUint64(&e->begin) || !offsets->array[1].AsUint64(&e->end))
      return Corrupt(where + " has data_offsets that are not non-negative integers");
    if (e->end < e->begin)
      return Corrupt(absl::StrFormat("%s has data_offsets [%d, %d] that end before they begin",
                                     where, e->begin, e->end));
    if (e->end - e->begin != bytes)
      return Corrupt(absl::StrFormat(
          "%s has data_offsets [%d, %d] (%d bytes) but its shape %s of %s needs %d bytes", where,
          e->begin, e->end, e->end - e->begin, Shape(e->shape).ToString(), dtype->text, bytes));
    return absl::OkStatus();
  }

  // The data section must be exactly covered by the tensors, in order, without gaps or overlap
  // (the spec forbids holes so a file cannot hide other content).
  Status CheckLayout(std::vector<Entry>& entries, uint64_t data_size) const {
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t max_end = 0;
    for (const Entry& e : entries) max_end = std::max(max_end, e.end);
    if (max_end > data_size)
      return Corrupt(
          absl::StrFormat("the data section has %d bytes but the header says the tensors need %d",
                          data_size, max_end));
    uint64_t pos = 0;
    const Entry* prev = nullptr;
    for (const Entry& e : entries) {
      if (e.begin < pos)
        return Corrupt(absl::StrFormat("tensors \"%s\" and \"%s\" overlap at byte %d", prev->name,
                                       e.name, e.begin));
      if (e.begin > pos)
        return Corrupt(absl::StrFormat("bytes %d to %d of the data section belong to no tensor",
                                       pos, e.begin));
      pos = e.end;
      prev = &e;
    }
    if (pos != data_size)
      return Corrupt(
          absl::StrFormat("the data section has %d bytes after the last tensor ends (at %d)",
                          data_size - pos, pos));
    return absl::OkStatus();
  }

 private:
  std::string_view source_;
};

}  // namespace

StatusOr<Encoded> Encode(const Checkpoint& checkpoint) {
  Encoded out;
  for (const auto& [key, value] : checkpoint.metadata) {
    if (!json::IsValidUtf8(key)) return BadName("metadata key", key, "is not valid UTF-8");
    if (!json::IsValidUtf8(value))
      return BadName("metadata value of", key, "is not valid UTF-8 (encode binary data as hex)");
  }
  std::unordered_set<std::string_view> names;
  std::vector<EntryView> entries;
  uint64_t offset = 0;
  for (const NamedTensor& nt : checkpoint.tensors) {
    const std::string& name = nt.name;
    if (name.empty()) return BadName("tensor", name, "has an empty name");
    if (name == "__metadata__") return BadName("tensor", name, "uses the reserved name");
    if (!json::IsValidUtf8(name)) return BadName("tensor", name, "is not valid UTF-8");
    if (!names.insert(name).second) return BadName("tensor", name, "appears twice");
    if (!nt.tensor.defined()) return BadName("tensor", name, "is undefined (no value)");
    const Tensor& t = nt.tensor;
    const uint64_t bytes = static_cast<uint64_t>(t.numel() * DTypeSize(t.dtype()));
    entries.push_back({name, t.dtype(), t.shape(), offset, offset + bytes});
    out.data.emplace_back(static_cast<const char*>(t.raw()), bytes);
    offset += bytes;
  }

  std::map<std::string, std::string> metadata = checkpoint.metadata;
  metadata.erase(ckpt_keys::kHeaderCrc32);
  metadata.insert_or_assign(ckpt_keys::kFormatVersion, std::string(kFormatVersion));
  metadata[ckpt_keys::kDataCrc32] = Hex(Crc32(out.data));
  metadata[ckpt_keys::kHeaderCrc32] = Hex(Crc32({HeaderJson(entries, metadata)}));
  std::string header = HeaderJson(entries, metadata);
  // Pad with spaces so the data section starts 8-byte aligned (allowed by the spec).
  header.append((8 - header.size() % 8) % 8, ' ');

  const uint64_t n = header.size();
  out.prefix.resize(8);
  for (int i = 0; i < 8; ++i) out.prefix[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out.prefix += header;
  return out;
}

Status Decode(std::string_view bytes, std::string_view source, Checkpoint* out) {
  Reader r(source);
  if (bytes.size() < 8)
    return r.Corrupt(
        absl::StrCat("the file has ", bytes.size(), " bytes, fewer than the 8-byte header length"));
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  if (n > bytes.size() - 8)
    return r.Corrupt(
        absl::StrFormat("the header length is %d bytes but only %d follow", n, bytes.size() - 8));
  if (n > kMaxHeaderBytes)
    return r.Corrupt(
        absl::StrFormat("the header length %d exceeds the %d-byte limit", n, kMaxHeaderBytes));
  const std::string_view header_text = bytes.substr(8, n);
  const std::string_view data = bytes.substr(8 + n);

  StatusOr<json::Value> parsed = json::Parse(header_text);
  if (!parsed.ok())
    return r.Corrupt("the header is not valid JSON: " + std::string(parsed.status().message()));
  const json::Value& header = *parsed;
  if (!header.is_object()) return r.Corrupt("the header is not a JSON object");

  std::map<std::string, std::string> metadata;
  std::vector<Entry> entries;
  entries.reserve(header.object.size());
  for (const auto& [key, key_pos, value] : header.object) {
    if (key == "__metadata__") {
      if (!value.is_object()) return r.Corrupt("\"__metadata__\" is not a JSON object");
      for (const auto& [mk, mk_pos, mv] : value.object) {
        if (!mv.is_string())
          return r.Corrupt(absl::StrCat("metadata \"", mk, "\" is not a string"));
        metadata.emplace(mk, mv.text);
      }
      continue;
    }
    entries.emplace_back();
    HEARTH_RETURN_IF_ERROR(r.ReadEntry(key, value, &entries.back()));
  }
  HEARTH_RETURN_IF_ERROR(r.CheckLayout(entries, data.size()));

  // A Hearth file carries all of its hearth.* keys: damage to one key's name must not quietly
  // switch its check off.
  const auto hearth_key = metadata.lower_bound("hearth.");
  if (hearth_key != metadata.end() && hearth_key->first.starts_with("hearth.")) {
    for (const char* key :
         {ckpt_keys::kFormatVersion, ckpt_keys::kDataCrc32, ckpt_keys::kHeaderCrc32})
      if (!metadata.contains(key))
        return r.Corrupt(absl::StrFormat("the metadata has Hearth's \"%s\" but not \"%s\"",
                                         hearth_key->first, key));
  }
  if (auto it = metadata.find(ckpt_keys::kHeaderCrc32); it != metadata.end()) {
    std::map<std::string, std::string> covered = metadata;
    covered.erase(ckpt_keys::kHeaderCrc32);
    std::vector<EntryView> views;
    views.reserve(entries.size());
    for (const Entry& e : entries)
      views.push_back({e.name, e.dtype, Shape(e.shape), e.begin, e.end});
    const std::string actual = Hex(Crc32({HeaderJson(views, covered)}));
    if (it->second != actual)
      return absl::DataLossError(absl::StrFormat(
          "%s: the header fails its checksum (%s is %s but the header has %s): the file was "
          "damaged after it was written, or rewritten by a tool that kept Hearth's checksums; use "
          "an earlier checkpoint",
          source, ckpt_keys::kHeaderCrc32, it->second, actual));
  }
  if (auto it = metadata.find(ckpt_keys::kDataCrc32); it != metadata.end()) {
    const std::string actual = Hex(Crc32({data}));
    if (it->second != actual)
      return absl::DataLossError(absl::StrFormat(
          "%s: the tensor data fails its checksum (%s is %s but the data has %s): the file was "
          "damaged after it was written; use an earlier checkpoint",
          source, ckpt_keys::kDataCrc32, it->second, actual));
  }

  // Checked after the checksums, so a damaged version string reads as damage.
  if (auto it = metadata.find(ckpt_keys::kFormatVersion); it != metadata.end()) {
    if (const std::string& v = it->second; v != kFormatVersion)
      return r.Unsupported(absl::StrFormat(
          "%s is \"%s\" but this Hearth reads format %s; load it with the Hearth version that "
          "wrote it (metadata \"%s\")",
          ckpt_keys::kFormatVersion, v.substr(0, 20), kFormatVersion, ckpt_keys::kHearthVersion));
  }

  if (out == nullptr) return absl::OkStatus();
  out->tensors.clear();
  out->tensors.reserve(entries.size());
  for (const Entry& e : entries) {
    Tensor t = Tensor::Empty(Shape(e.shape), e.dtype);
    if (e.end > e.begin) std::memcpy(t.raw(), data.data() + e.begin, e.end - e.begin);
    out->tensors.push_back({e.name, std::move(t)});
  }
  out->metadata = std::move(metadata);
  return absl::OkStatus();
}

}  // namespace hearth::safetensors
