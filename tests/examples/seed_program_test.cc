// Runs the example programs as a user would and checks what they print. The seed program's W, b
// and loss must match PyTorch 1.13 (torch.optim.SGD, same program) to 5 significant digits:
// W = 1.89843261, b = 0.366690427, loss = 0.0244744308.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

std::string RunExample(const std::string& name, int* exit_code) {
  const char* dir = std::getenv("HEARTH_BINARY_DIR");
  const std::string path = std::string(dir ? dir : "build") + "/examples/" + name;
  std::string output;
  FILE* pipe = popen((path + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return "";
  char buffer[512];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  *exit_code = pclose(pipe);
  return output;
}

void ExpectSignificant(double got, double want, const char* what) {
  // Five significant digits: relative error below half a unit in the fifth digit.
  EXPECT_LE(std::fabs(got - want) / std::fabs(want), 5e-5) << what << " got " << got;
}

TEST(SeedProgramTest, MatchesPyTorch) {
  int code = -1;
  const std::string out = RunExample("linear_regression", &code);
  ASSERT_EQ(code, 0) << out;
  double w = 0, b = 0, loss = 0;
  const size_t at = out.find("W = ");
  ASSERT_NE(at, std::string::npos) << out;
  ASSERT_EQ(std::sscanf(out.c_str() + at, "W = %lf, b = %lf, loss = %lf", &w, &b, &loss), 3) << out;
  ExpectSignificant(w, 1.89843261, "W");
  ExpectSignificant(b, 0.366690427, "b");
  ExpectSignificant(loss, 0.0244744308, "loss");
}

TEST(ClassifierExampleTest, LearnsTheSpirals) {
  int code = -1;
  const std::string out = RunExample("classifier", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("final training accuracy"), std::string::npos) << out;
}

}  // namespace
