// Safetensors writing and reading: round trips, the exact layout, and rejection of damaged files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "ckpt/temp_dir.h"
#include "core/json.h"
#include "hearth/checkpoint.h"

namespace hearth {
namespace {

using testing::TempDir;

Checkpoint Sample() {
  Checkpoint c;
  c.tensors.push_back(
      {"0.weight", Tensor::FromVector({1.5f, -2.0f, 3.25f, 0.f, 1e-30f, 7.f}, Shape{2, 3})});
  c.tensors.push_back({"0.bias", Tensor::FromVector({0.5f, -0.5f}, Shape{2})});
  c.tensors.push_back({"optim.0.weight.momentum", Tensor::Zeros(Shape{2, 3})});
  c.tensors.push_back(
      {"optim.step",
       Tensor::FromInt64({std::numeric_limits<int64_t>::min(), -1, 0, 42}, Shape{4})});
  c.tensors.push_back({"preprocess.scale", Tensor::Scalar(0.125f)});
  c.tensors.push_back({"empty", Tensor::Zeros(Shape{0, 3})});
  c.metadata[ckpt_keys::kStep] = "100";
  c.metadata[ckpt_keys::kModelSpec] = R"({"layers": ["dense", 10]})";
  c.metadata["note"] = "tabs\tnewlines\n quotes\" backslash\\ unicode é ✓ 🙂";
  return c;
}

// Same names, dtypes, shapes and bytes, in the same order.
void ExpectSameTensors(const Checkpoint& a, const Checkpoint& b) {
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const Tensor& x = a.tensors[i].tensor;
    const Tensor& y = b.tensors[i].tensor;
    EXPECT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(x.dtype(), y.dtype()) << a.tensors[i].name;
    EXPECT_EQ(x.shape(), y.shape()) << a.tensors[i].name;
    EXPECT_EQ(std::memcmp(x.raw(), y.raw(), x.numel() * DTypeSize(x.dtype())), 0)
        << a.tensors[i].name;
  }
}

// A raw safetensors file from a header and a data section, as any other writer could make it.
std::string RawFile(std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string FloatBytes(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

// Parses `bytes` and expects failure with `code` and a message containing every one of `parts`.
void ExpectRejected(const std::string& bytes, absl::StatusCode code,
                    std::vector<std::string> parts) {
  const StatusOr<Checkpoint> r = ParseCheckpoint(bytes, "run/ckpt-7.safetensors");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status();
  parts.push_back("run/ckpt-7.safetensors");
  for (const std::string& p : parts)
    EXPECT_NE(r.status().message().find(p), std::string::npos)
        << "no '" << p << "' in " << r.status();
}

TEST(SafetensorsTest, RoundTripKeepsEveryBitAndTheOrder) {
  Checkpoint c = Sample();
  // Float values that must survive bit-exactly.
  c.tensors.push_back({"specials", Tensor::FromVector({-0.0f, INFINITY, -INFINITY, NAN,
                                                       std::numeric_limits<float>::denorm_min()})});
  const std::string bytes = SerializeCheckpoint(c).value();
  const Checkpoint back = ParseCheckpoint(bytes, "mem").value();
  ExpectSameTensors(c, back);
  for (const auto& [k, v] : c.metadata) EXPECT_EQ(back.metadata.at(k), v) << k;
  EXPECT_EQ(back.metadata.at(ckpt_keys::kFormatVersion), "1");
  EXPECT_EQ(back.metadata.at(ckpt_keys::kDataCrc32).size(), 8u);
  EXPECT_EQ(back.metadata.at(ckpt_keys::kHeaderCrc32).size(), 8u);
  ASSERT_NE(back.Find("preprocess.scale"), nullptr);
  EXPECT_EQ(back.Find("preprocess.scale")->rank(), 0);
  EXPECT_EQ(back.Find("nope"), nullptr);
}

TEST(SafetensorsTest, LayoutFollowsTheSpec) {
  const Checkpoint c = Sample();
  const std::string bytes = SerializeCheckpoint(c).value();
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  ASSERT_LE(8 + n, bytes.size());
  EXPECT_EQ((8 + n) % 8, 0u) << "data section is 8-byte aligned";
  const std::string header = bytes.substr(8, n);
  EXPECT_EQ(header.rfind("{\"__metadata__\":{", 0), 0u) << header;
  const json::Value h = json::Parse(header).value();
  // The data section is the tensors' bytes back to back, in the given order.
  std::string expected_data;
  for (const NamedTensor& nt : c.tensors) {
    const json::Value* e = h.Find(nt.name);
    ASSERT_NE(e, nullptr) << nt.name;
    EXPECT_EQ(e->Find("dtype")->text, nt.tensor.dtype() == DType::kFloat32 ? "F32" : "I64");
    ASSERT_EQ(e->Find("shape")->array.size(), static_cast<size_t>(nt.tensor.rank()));
    uint64_t begin, end;
    ASSERT_TRUE(e->Find("data_offsets")->array[0].AsUint64(&begin));
    ASSERT_TRUE(e->Find("data_offsets")->array[1].AsUint64(&end));
    EXPECT_EQ(begin, expected_data.size()) << nt.name;
    expected_data.append(static_cast<const char*>(nt.tensor.raw()),
                         nt.tensor.numel() * DTypeSize(nt.tensor.dtype()));
    EXPECT_EQ(end, expected_data.size()) << nt.name;
  }
  EXPECT_EQ(bytes.substr(8 + n), expected_data);
  // Every metadata value is a JSON string (the spec requires it).
  for (const auto& [k, k_pos, v] : h.Find("__metadata__")->object) EXPECT_TRUE(v.is_string()) << k;
}

TEST(SafetensorsTest, OutputIsDeterministic) {
  Checkpoint a = Sample();
  Checkpoint b = Sample();
  b.metadata.clear();
  for (auto it = a.metadata.rbegin(); it != a.metadata.rend(); ++it)
    b.metadata[it->first] = it->second;
  EXPECT_EQ(SerializeCheckpoint(a).value(), SerializeCheckpoint(b).value());
}

TEST(SafetensorsTest, ReadsAFileWrittenByAnotherTool) {
  // As the Python package writes it: no Hearth metadata, so no checksums to check.
  const std::string file = RawFile(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
                                   R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                   FloatBytes({1, 2, 3}));
  const Checkpoint c = ParseCheckpoint(file, "x").value();
  ASSERT_EQ(c.tensors.size(), 2u);
  EXPECT_EQ(c.tensors[0].name, "a") << "tensors come back in data order";
  EXPECT_EQ(c.tensors[0].tensor.ToVector(), (std::vector<float>{1, 2}));
  EXPECT_EQ(c.tensors[1].tensor.ToVector(), (std::vector<float>{3}));
  EXPECT_TRUE(c.metadata.empty());
}

TEST(SafetensorsTest, SaveRejectsBadCheckpointsAndWritesNothing) {
  TempDir tmp;
  const std::string path = tmp.file("bad.safetensors");
  auto expect_bad = [&](const Checkpoint& c, const std::string& fragment) {
    const Status s = SaveCheckpoint(Env::Default(), path, c);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find(fragment), std::string::npos) << s;
    EXPECT_FALSE(Env::Default().FileExists(path));
  };
  Checkpoint dup;
  dup.tensors = {{"w", Tensor::Zeros(Shape{1})}, {"w", Tensor::Zeros(Shape{2})}};
  expect_bad(dup, "\"w\" appears twice");
  Checkpoint empty_name;
  empty_name.tensors = {{"", Tensor::Zeros(Shape{1})}};
  expect_bad(empty_name, "empty name");
  Checkpoint reserved;
  reserved.tensors = {{"__metadata__", Tensor::Zeros(Shape{1})}};
  expect_bad(reserved, "reserved");
  Checkpoint undefined;
  undefined.tensors = {{"w", Tensor()}};
  expect_bad(undefined, "undefined");
  Checkpoint bad_utf8;
  bad_utf8.metadata["k"] = "\xff\xfe";
  expect_bad(bad_utf8, "not valid UTF-8");
}

TEST(SafetensorsTest, SaveLoadThroughEnv) {
  TempDir tmp;
  const std::string path = tmp.file("c.safetensors");
  const Checkpoint c = Sample();
  ASSERT_TRUE(SaveCheckpoint(Env::Default(), path, c).ok());
  EXPECT_TRUE(VerifyCheckpoint(Env::Default(), path).ok());
  const Checkpoint back = LoadCheckpoint(Env::Default(), path).value();
  ExpectSameTensors(c, back);
  EXPECT_EQ(Env::Default().ReadFile(path).value(), SerializeCheckpoint(c).value());
  EXPECT_EQ(LoadCheckpoint(Env::Default(), tmp.file("missing")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SafetensorsTest, RejectsShortFiles) {
  ExpectRejected("", absl::StatusCode::kDataLoss, {"0 bytes", "truncated", "earlier checkpoint"});
  ExpectRejected("abc", absl::StatusCode::kDataLoss, {"3 bytes"});
}

TEST(SafetensorsTest, RejectsHeaderLengthBeyondTheFile) {
  std::string f = RawFile("{}", "");
  f[0] = 100;
  ExpectRejected(f, absl::StatusCode::kDataLoss, {"header length is 100 bytes but only 8 follow"});
  f[0] = 0;
  f[7] = static_cast<char>(0xff);
  ExpectRejected(f, absl::StatusCode::kDataLoss, {"header length"});
}

TEST(SafetensorsTest, RejectsNonJsonHeaders) {
  ExpectRejected(RawFile("PK\x03\x04 this is a zip", ""), absl::StatusCode::kDataLoss,
                 {"not valid JSON"});
  ExpectRejected(RawFile("[1, 2]", ""), absl::StatusCode::kDataLoss, {"not a JSON object"});
  ExpectRejected(RawFile(R"({"a": )", ""), absl::StatusCode::kDataLoss,
                 {"1:9: expected a value, found the end of the file"});
  ExpectRejected(RawFile(std::string(10000, '[') + std::string(10000, ']'), ""),
                 absl::StatusCode::kDataLoss, {"deeper than"});
  ExpectRejected(RawFile("{\"\xc3\x28\":1}", ""), absl::StatusCode::kDataLoss, {"UTF-8"});
}

TEST(SafetensorsTest, RejectsUnsupportedDtypeAndRank) {
  ExpectRejected(
      RawFile(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", std::string(4, '\0')),
      absl::StatusCode::kInvalidArgument, {"tensor \"h\"", "\"F16\"", "F32 and I64"});
  ExpectRejected(RawFile(R"({"r":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],)"
                         R"("data_offsets":[0,4]}})",
                         std::string(4, '\0')),
                 absl::StatusCode::kInvalidArgument, {"rank 9"});
}

TEST(SafetensorsTest, RejectsBadOffsets) {
  const std::string d8 = FloatBytes({1, 2});
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "1234"),
                 absl::StatusCode::kDataLoss, {"data section has 4 bytes", "need 8"});
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                         d8),
                 absl::StatusCode::kDataLoss, {"overlap"});
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8),
                 absl::StatusCode::kDataLoss, {"belong to no tensor"});
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", d8),
                 absl::StatusCode::kDataLoss, {"after the last tensor"});
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8),
                 absl::StatusCode::kDataLoss, {"needs 12 bytes"});
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", d8),
                 absl::StatusCode::kDataLoss, {"end before they begin"});
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-1,7]}})", d8),
                 absl::StatusCode::kDataLoss, {"not non-negative integers"});
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", d8),
                 absl::StatusCode::kDataLoss, {"data_offsets"});
  ExpectRejected(
      RawFile(R"({"a":{"dtype":"I64","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", d8),
      absl::StatusCode::kDataLoss, {"too large"});
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", d8),
                 absl::StatusCode::kDataLoss, {"shape entry"});
  // Zero elements, but the other dimensions' product overflows: strides would be garbage.
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[0,4611686018427387904,4],)"
                         R"("data_offsets":[0,0]}})",
                         ""),
                 absl::StatusCode::kDataLoss, {"too large"});
}

TEST(SafetensorsTest, RejectsDuplicateNamesAndBadMetadata) {
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                         R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                         FloatBytes({1, 2})),
                 absl::StatusCode::kDataLoss, {"1:55: the key \"a\" appears twice"});
  ExpectRejected(RawFile(R"({"__metadata__":{"step":100}})", ""), absl::StatusCode::kDataLoss,
                 {"metadata \"step\" is not a string"});
  ExpectRejected(RawFile(R"({"__metadata__":[]})", ""), absl::StatusCode::kDataLoss,
                 {"__metadata__"});
}

TEST(SafetensorsTest, DetectsTruncationAndBitFlipsByChecksum) {
  const std::string good = SerializeCheckpoint(Sample()).value();
  ExpectRejected(good.substr(0, good.size() - 4), absl::StatusCode::kDataLoss, {"truncated"});

  std::string data_flip = good;
  data_flip[good.size() - 20] ^= 0x10;  // inside optim.step, a value that still parses
  ExpectRejected(data_flip, absl::StatusCode::kDataLoss, {"tensor data fails its checksum"});

  std::string meta_flip = good;
  const size_t at = meta_flip.find("\"step\":\"100\"");
  ASSERT_NE(at, std::string::npos);
  meta_flip[at + 10] = '1';  // "100" -> "110": valid JSON, wrong content
  ExpectRejected(meta_flip, absl::StatusCode::kDataLoss, {"header fails its checksum"});
}

// A small fuzz test: every truncation and every single-bit flip of a real checkpoint must give an
// error Status (never a crash, never silently different content), and random multi-byte damage
// must never crash. Build with -DHEARTH_SANITIZE=ON to also catch out-of-bounds reads.
TEST(SafetensorsTest, FuzzTruncationsAndBitFlips) {
  const Checkpoint original = Sample();
  const std::string good = SerializeCheckpoint(original).value();
  for (size_t len = 0; len < good.size(); ++len)
    EXPECT_FALSE(ParseCheckpoint(std::string_view(good).substr(0, len), "f").ok()) << len;

  for (size_t pos = 0; pos < good.size(); ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[pos] ^= static_cast<char>(1 << bit);
      const StatusOr<Checkpoint> r = ParseCheckpoint(bad, "f");
      EXPECT_FALSE(r.ok()) << "flipping bit " << bit << " of byte " << pos << " went unnoticed";
      if (!r.ok()) {
        EXPECT_TRUE(r.status().code() == absl::StatusCode::kDataLoss ||
                    r.status().code() == absl::StatusCode::kInvalidArgument)
            << r.status();
        EXPECT_NE(r.status().message().find("f: "), std::string::npos) << r.status();
      }
    }
  }

  Generator rng(7);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bad = good;
    const int edits = 1 + static_cast<int>(rng.Below(8));
    for (int e = 0; e < edits; ++e) bad[rng.Below(bad.size())] = static_cast<char>(rng.Below(256));
    if (rng.Below(4) == 0) bad.resize(rng.Below(bad.size()));
    const StatusOr<Checkpoint> r = ParseCheckpoint(bad, "f");
    if (r.ok()) ExpectSameTensors(original, *r);  // only a change that altered nothing may pass
  }
}

TEST(SafetensorsTest, GeneratorStateRoundTripsExactly) {
  Generator g(123);
  g.Normal();  // leaves a spare normal in the state
  const std::string text = EncodeGeneratorState(g.GetState());
  Generator h(0);
  h.SetState(DecodeGeneratorState(text).value());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(g.Normal(), h.Normal());
  EXPECT_EQ(g.NextU64(), h.NextU64());

  for (const char* bad : {"", "xoshiro256ss:1,2,3", "xoshiro256ss:1,2,3,4,2,0",
                          "xoshiro256ss:0,0,0,0,0,0", "xoshiro256ss:g,2,3,4,0,0", "mt19937:1"}) {
    const Status s = DecodeGeneratorState(bad).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find(ckpt_keys::kRngState), std::string::npos) << s;
  }
}

TEST(SafetensorsTest, ModelWeightNames) {
  EXPECT_TRUE(IsModelWeightName("0.weight"));
  EXPECT_TRUE(IsModelWeightName("encoder.optimizer_gate"));
  EXPECT_FALSE(IsModelWeightName("optim.0.weight.momentum"));
  EXPECT_FALSE(IsModelWeightName("preprocess.mean"));
}

}  // namespace
}  // namespace hearth
