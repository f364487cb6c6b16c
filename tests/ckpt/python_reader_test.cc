// Proves tools outside Hearth can read its checkpoints: tests/ckpt/read_safetensors.py (numpy
// only) reads a file Hearth wrote, and every value it prints must match bit for bit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "ckpt/temp_dir.h"
#include "hearth/checkpoint.h"

namespace hearth {
namespace {

using testing::TempDir;

constexpr char kPython[] = "/usr/bin/python3";

std::string ScriptPath() {
  const char* root = std::getenv("HEARTH_SOURCE_DIR");
  return std::string(root && *root ? root : ".") + "/tests/ckpt/read_safetensors.py";
}

// Runs `command`, returning its stdout and setting `exit_code`.
std::string RunCommand(const std::string& command, int* exit_code) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *exit_code = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  *exit_code = ::pclose(pipe);
  return out;
}

class PythonReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kPython, X_OK) != 0)
      GTEST_SKIP() << kPython << " is missing (apt install python3)";
    if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "numpy is missing for " << kPython << " (apt install python3-numpy)";
  }
};

TEST_F(PythonReaderTest, NumpyReadsEveryValueExactly) {
  TempDir tmp;
  Checkpoint c;
  c.tensors.push_back(
      {"0.weight", Tensor::FromVector({0.1f, -2.5f, 3e-7f, 1e30f, -0.0f, 7.0f}, Shape{2, 3})});
  c.tensors.push_back({"0.bias", Tensor::FromVector({0.25f, -1.0f / 3.0f}, Shape{2})});
  c.tensors.push_back({"optim.step", Tensor::FromInt64({-9007199254740993, 0, 42}, Shape{3})});
  c.tensors.push_back({"preprocess.scale", Tensor::Scalar(0.5f)});
  c.tensors.push_back({"empty", Tensor::Zeros(Shape{0, 3})});
  c.metadata[ckpt_keys::kStep] = "100";
  c.metadata["note"] = "quote\" and é";
  const std::string path = tmp.file("ckpt-100.safetensors");
  ASSERT_TRUE(SaveCheckpoint(Env::Default(), path, c).ok());

  int code = 0;
  const std::string out = RunCommand(std::string(kPython) + " " + ScriptPath() + " " + path, &code);
  ASSERT_EQ(code, 0) << out;

  std::istringstream lines(out);
  std::string line;
  int tensors_seen = 0;
  bool saw_step = false, saw_note = false;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    std::string kind, name;
    in >> kind >> name;
    if (kind == "meta") {
      std::string value;
      std::getline(in >> std::ws, value);
      saw_step |= name == "step" && value == "\"100\"";
      saw_note |= name == "note" && value == R"("quote\" and \u00e9")";
      continue;
    }
    ASSERT_EQ(kind, "tensor") << line;
    const Tensor* t = c.Find(name);
    ASSERT_NE(t, nullptr) << line;
    ++tensors_seen;
    std::string dtype, shape;
    in >> dtype >> shape;
    EXPECT_EQ(dtype, t->dtype() == DType::kFloat32 ? "float32" : "int64") << line;
    std::string expected_shape;
    for (int i = 0; i < t->rank(); ++i) {
      if (i > 0) expected_shape += 'x';
      expected_shape += std::to_string(t->dim(i));
    }
    EXPECT_EQ(shape, t->rank() == 0 ? "scalar" : expected_shape) << line;
    std::string value;
    for (int64_t i = 0; i < t->numel(); ++i) {
      ASSERT_TRUE(in >> value) << "too few values: " << line;
      if (t->dtype() == DType::kFloat32) {
        const float v = static_cast<float>(std::strtod(value.c_str(), nullptr));
        EXPECT_EQ(std::memcmp(&v, t->f32() + i, 4), 0) << name << "[" << i << "] = " << value;
      } else {
        EXPECT_EQ(std::strtoll(value.c_str(), nullptr, 10), t->i64()[i]) << name << "[" << i << "]";
      }
    }
    EXPECT_FALSE(in >> value) << "extra values: " << line;
  }
  EXPECT_EQ(tensors_seen, 5) << out;
  EXPECT_TRUE(saw_step) << out;
  EXPECT_TRUE(saw_note) << out;
}

TEST_F(PythonReaderTest, NumpyReaderNoticesDamagedData) {
  TempDir tmp;
  Checkpoint c;
  c.tensors.push_back({"w", Tensor::FromVector({1, 2, 3, 4})});
  std::string bytes = SerializeCheckpoint(c).value();
  bytes[bytes.size() - 1] ^= 0x01;
  const std::string path = tmp.file("bad.safetensors");
  ASSERT_TRUE(Env::Default().WriteFileAtomically(path, bytes).ok());
  int code = 0;
  RunCommand(std::string(kPython) + " " + ScriptPath() + " " + path + " 2>/dev/null", &code);
  EXPECT_NE(code, 0) << "the script checks hearth.data_crc32";
}

}  // namespace
}  // namespace hearth
