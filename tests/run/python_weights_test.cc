// Tools outside Hearth read what `hearth train` saves: tests/ckpt/read_safetensors.py (numpy only)
// reads a real training checkpoint, and every value it prints matches LoadCheckpoint's bit for bit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <string>

#include "run/cli_runner.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

using testing::TempDir;

constexpr char kPython[] = "/usr/bin/python3";

class CliPythonReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kPython, X_OK) != 0)
      GTEST_SKIP() << kPython << " is missing (apt install python3)";
    if (testing::RunCommand({kPython, "-c", "import numpy"}).exit_code != 0)
      GTEST_SKIP() << "numpy is missing for " << kPython << " (apt install python3-numpy)";
  }
};

TEST_F(CliPythonReaderTest, NumpyReadsTheWeightsHearthTrainSaved) {
  TempDir tmp;
  const std::string job = tmp.file("job.json");
  testing::WriteFileOrFail(job, testing::ResumeJobJson(1, 0));
  const std::string run = tmp.file("run");
  const testing::CommandResult train = testing::RunHearth({"train", job, "--out", run, "--quiet"});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const std::string path = testing::CheckpointFile(run, testing::kResumeJobStepsPerEpoch);
  const Checkpoint c = testing::MustLoadCheckpoint(path);

  const testing::CommandResult r = testing::RunCommand(
      {kPython, testing::SourceDir() + "/tests/ckpt/read_safetensors.py", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> seen;
  bool saw_step = false;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string kind, name, dtype, shape, value;
    in >> kind >> name;
    if (kind == "meta") {
      std::getline(in >> std::ws, value);
      saw_step |= name == ckpt_keys::kStep && value == "\"19\"";
      continue;
    }
    ASSERT_EQ(kind, "tensor") << line;
    const Tensor* t = c.Find(name);
    ASSERT_NE(t, nullptr) << "python saw a tensor hearth did not: " << line;
    seen.insert(name);
    in >> dtype >> shape;
    EXPECT_EQ(dtype, t->dtype() == DType::kFloat32 ? "float32" : "int64") << line;
    for (int64_t i = 0; i < t->numel(); ++i) {
      ASSERT_TRUE(in >> value) << "too few values: " << name;
      if (t->dtype() == DType::kFloat32) {
        const float v = static_cast<float>(std::strtod(value.c_str(), nullptr));
        EXPECT_EQ(std::memcmp(&v, t->f32() + i, sizeof(float)), 0) << name << "[" << i << "]";
      } else {
        EXPECT_EQ(std::strtoll(value.c_str(), nullptr, 10), t->i64()[i]) << name << "[" << i << "]";
      }
    }
    EXPECT_FALSE(in >> value) << "extra values: " << name;
  }
  EXPECT_EQ(seen.size(), c.tensors.size()) << r.out;
  // The model's weights are there under their parameter names, besides the training state.
  EXPECT_TRUE(seen.count("0.weight") && seen.count("2.weight") && seen.count("optim.step"));
  EXPECT_TRUE(saw_step) << r.out;
}

}  // namespace
}  // namespace hearth
