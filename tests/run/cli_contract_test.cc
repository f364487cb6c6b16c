// The `hearth` command-line contract (STYLE.md): --help on every command listing every flag, exit
// status 0 on success and non-zero with one line on stderr otherwise, `--json` output that is
// exactly one JSON object, and job-spec errors that name the field before anything runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "run/cli_runner.h"
#include "run/help_reference.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

using testing::CommandResult;
using testing::Contains;
using testing::kQuickJob;
using testing::OneLineMentioning;
using testing::ParseJson;
using testing::RunHearth;
using testing::TempDir;
using testing::WriteFileOrFail;

struct CommandFlags {
  const char* command;
  std::vector<const char*> flags;
};

class CliHelpTest : public ::testing::TestWithParam<CommandFlags> {};

TEST_P(CliHelpTest, HelpExitsZeroAndListsEveryFlag) {
  for (const char* help : {"--help", "-h"}) {
    const CommandResult r = RunHearth({GetParam().command, help});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_TRUE(Contains(r.out, std::string("usage: hearth ") + GetParam().command));
    for (const char* flag : GetParam().flags)
      EXPECT_TRUE(Contains(r.out, std::string("--") + flag + " ")) << help;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Commands, CliHelpTest,
    ::testing::Values(
        CommandFlags{"train", {"out", "resume", "threads", "log-every", "quiet", "json"}},
        CommandFlags{"eval", {"data", "labels", "out", "no-files", "json"}},
        CommandFlags{"predict", {"input", "output", "json"}}, CommandFlags{"inspect", {"json"}},
        CommandFlags{
            "profile",
            {"label", "against", "json", "html", "delimiter", "no-header", "missing-values"}},
        CommandFlags{"find-lr", {"min-lr", "max-lr", "steps", "plot", "json"}}),
    [](const ::testing::TestParamInfo<CommandFlags>& info) {
      // gtest names allow only [A-Za-z0-9_]: find-lr becomes find_lr.
      std::string name = info.param.command;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

TEST(CliContractTest, TopLevelHelpListsEveryCommand) {
  for (const char* help : {"--help", "-h", "help"}) {
    const CommandResult r = RunHearth({help});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(Contains(r.out, "usage: hearth <command>"));
    for (const char* command :
         {"train", "eval", "predict", "inspect", "profile", "init", "find-lr", "timeline"})
      EXPECT_TRUE(Contains(r.out, std::string("\n  ") + command + " ")) << help;
  }
}

// README.md's reference for the data commands is their --help: the usage line, and one table row
// per flag with its help text.
TEST(CliContractTest, ReadmeReferenceOfTheDataCommandsMatchesHelp) {
  const std::string readme = testing::ReadFileOrEmpty("README.md");  // tests run from the repo
  ASSERT_FALSE(readme.empty());
  for (const char* command : {"profile", "init", "find-lr", "timeline"})
    testing::ExpectReadmeDocumentsHelp(readme, command);
}

TEST(CliContractTest, NoCommandPrintsUsageToStderrAndFails) {
  const CommandResult r = RunHearth({});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(Contains(r.err, "usage: hearth <command>"));
}

TEST(CliContractTest, UnknownCommandFailsWithOneLine) {
  const CommandResult r = RunHearth({"trian", "job.json"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(OneLineMentioning(r.err, "unknown command 'trian'"));
}

TEST(CliContractTest, ArgumentErrorsFailWithOneLineNamingTheProblem) {
  struct Case {
    std::vector<std::string> args;
    const char* mentions;
  };
  const std::vector<Case> cases = {
      {{"train", "examples/jobs/linear_regression.json", "--bogus"}, "unknown flag --bogus"},
      {{"eval", "ckpt.safetensors", "--data=x.csv", "--verbose"}, "unknown flag --verbose"},
      {{"train", "examples/jobs/linear_regression.json", "--out"}, "--out needs a value"},
      {{"train", "examples/jobs/linear_regression.json", "--quiet=yes"}, "--quiet takes no value"},
      {{"train"}, "expected 1 argument"},
      {{"predict", "a.safetensors", "b.safetensors", "--input", "x.csv"}, "expected 1 argument"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args[0] + " case: " + c.mentions);
    const CommandResult r = RunHearth(c.args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(OneLineMentioning(r.err, c.mentions));
    // The reason starts with the command once, not "hearth train: hearth train: ...".
    const std::string prefix = "hearth " + c.args[0] + ": ";
    EXPECT_EQ(r.err.rfind(prefix, 0), 0u) << r.err;
    EXPECT_TRUE(testing::Lacks(r.err, prefix + prefix));
  }
}

TEST(CliContractTest, BadNumericFlagValuesFailWithOneLineNotACrash) {
  TempDir tmp;
  const std::string run = tmp.file("run");
  const std::vector<std::vector<std::string>> cases = {{"--threads", "abc"},
                                                       {"--threads", "0"},
                                                       {"--log-every", "-5"},
                                                       {"--log-every", "99999999999999999999"}};
  for (const auto& flag : cases) {
    SCOPED_TRACE(flag[0] + " " + flag[1]);
    const CommandResult r = RunHearth(
        {"train", "examples/jobs/linear_regression.json", "--out", run, flag[0], flag[1]});
    EXPECT_EQ(r.exit_code, 1) << r.err;  // a thrown std::stoi error would abort: 134
    EXPECT_TRUE(OneLineMentioning(r.err, flag[0] + ": expected a positive integer"));
    EXPECT_FALSE(std::filesystem::exists(run));
  }
}

TEST(CliContractTest, TrainJsonPrintsExactlyOneObjectWithTheResults) {
  TempDir tmp;
  const std::string job = tmp.file("quick.json");
  WriteFileOrFail(job, kQuickJob);
  const CommandResult r = RunHearth({"train", job, "--out", tmp.file("run"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // One line, one object: people's output (progress) stays off stdout.
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.front(), '{');
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;
  const std::optional<testing::Json> report = ParseJson(r.out);
  ASSERT_TRUE(report.has_value()) << r.out;
  ASSERT_TRUE(report->is_object());
  for (const char* key : {"steps", "epochs", "wall_seconds", "data_seconds", "preprocess_seconds",
                          "examples_per_second", "train_loss"})
    EXPECT_EQ((*report)[key].type, testing::Json::Type::kNumber) << key << " in " << r.out;
  // Reading the data takes time; the preprocessing (if any) is part of it.
  EXPECT_GT((*report)["data_seconds"].number, 0);
  EXPECT_LE((*report)["preprocess_seconds"].number, (*report)["data_seconds"].number);
  EXPECT_EQ((*report)["steps"].number, 30);  // 160 training rows, batches of 16, 3 epochs
  EXPECT_EQ((*report)["epochs"].number, 3);
  EXPECT_GT((*report)["examples_per_second"].number, 0);
  for (const char* key : {"validation_metrics", "test_metrics"}) {
    const testing::Json& metrics = (*report)[key];
    ASSERT_TRUE(metrics.is_object()) << key << " in " << r.out;
    for (const char* metric : {"loss", "mse", "mae", "r2"})
      EXPECT_EQ(metrics[metric].type, testing::Json::Type::kNumber) << key << "." << metric;
  }
  const std::string checkpoint = (*report)["checkpoint"].string;
  EXPECT_EQ(checkpoint, testing::CheckpointFile(tmp.file("run"), 30));
  EXPECT_TRUE(std::filesystem::exists(checkpoint)) << checkpoint;
}

struct BadSpec {
  const char* name;
  const char* from;  // replaced in kQuickJob ...
  const char* to;    // ... by this
  const char* mentions;
};

class CliBadSpecTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(CliBadSpecTest, FailsBeforeTrainingWithOneLineNamingTheField) {
  const std::string json = absl::StrReplaceAll(kQuickJob, {{GetParam().from, GetParam().to}});
  ASSERT_NE(json, kQuickJob) << "the case does not change the spec";
  TempDir tmp;
  const std::string job = tmp.file("bad.json");
  WriteFileOrFail(job, json);
  const std::string run = tmp.file("run");
  const CommandResult r = RunHearth({"train", job, "--out", run});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(OneLineMentioning(r.err, GetParam().mentions));
  EXPECT_TRUE(Contains(r.err, job)) << "the message names the file";
  EXPECT_FALSE(std::filesystem::exists(run)) << "nothing may run before the spec is valid";
}

INSTANTIATE_TEST_SUITE_P(
    Specs, CliBadSpecTest,
    ::testing::Values(
        BadSpec{"UnknownField", R"("epochs": 3)", R"("epochs": 3, "epochz": 3)", "epochz"},
        BadSpec{"ZeroEpochs", R"("epochs": 3)", R"("epochs": 0)", "epochs: must be > 0"},
        BadSpec{"ConvKernelZero", R"("model": {"layers": [{"dense": {"units": 1}}]})",
                R"("model": {"input_shape": [1, 1, 2], "layers": [
                   {"conv2d": {"filters": 2, "kernel_size": 0}}, {"flatten": {}},
                   {"dense": {"units": 1}}]})",
                "model.layers[0].conv2d.kernel_size"},
        BadSpec{"BadEnum", R"("REGRESSION")", R"("REGRESION")", "task"},
        BadSpec{"NegativeLearningRate", R"("lr": 0.05)", R"("lr": -1)", "optimizer.lr"},
        BadSpec{"WrongType", R"("global_batch_size": 16)", R"("global_batch_size": "16x")",
                "global_batch_size"},
        BadSpec{"SyntaxError", R"("epochs": 3)", R"("epochs": 3,)", "bad.json:"}),
    [](const ::testing::TestParamInfo<BadSpec>& info) { return std::string(info.param.name); });

TEST(CliContractTest, MissingJobFileFailsNamingIt) {
  TempDir tmp;
  const std::string job = tmp.file("no-such-job.json");
  const CommandResult r = RunHearth({"train", job, "--out", tmp.file("run")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(OneLineMentioning(r.err, job));
}

TEST(CliContractTest, ResumeNeedsACheckpointAndExcludesOut) {
  TempDir tmp;
  const std::string job = tmp.file("quick.json");
  WriteFileOrFail(job, kQuickJob);
  std::filesystem::create_directory(tmp.file("empty"));
  CommandResult r = RunHearth({"train", job, "--resume", tmp.file("empty")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(OneLineMentioning(r.err, "no checkpoint to resume from"));
  r = RunHearth({"train", job, "--resume", tmp.file("empty"), "--out", tmp.file("other")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(OneLineMentioning(r.err, "drop --out"));
}

}  // namespace
}  // namespace hearth
