// The coordinator commands' side of the CLI contract, without a coordinator: --help for every
// command and the README's copy of it, argument errors, one-line gRPC errors with a hint when
// nothing listens (UNAVAILABLE, exit 1), token and sweep-spec errors, and how `eval` and `predict`
// choose between a local checkpoint and a coordinator job.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "cli_remote/remote_test_util.h"
#include "run/cli_runner.h"
#include "run/help_reference.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

using testing::CommandResult;
using testing::Contains;
using testing::OneLineMentioning;
using testing::RunHearth;
using testing::ScopedEnv;
using testing::TempDir;
using testing::WriteFileOrFail;

constexpr char kJob[] = "examples/jobs/linear_regression.json";

constexpr char kSweep[] = R"({
  "name": "lr",
  "base": {
    "name": "lr-trial",
    "task": "REGRESSION",
    "data": {"train": {"path": "examples/data/linear_regression.csv", "label_column": "y"},
             "validation_fraction": 0.2},
    "model": {"layers": [{"dense": {"units": 1}}]},
    "optimizer": {"name": "sgd", "lr": 0.05},
    "global_batch_size": 16,
    "epochs": 2
  },
  "parameters": [{"path": "optimizer.lr", "values": [0.01, 0.1]}],
  "method": "GRID",
  "metric": "val_loss"
})";

// No coordinator from the environment of whoever runs the tests.
class RemoteCliTest : public ::testing::Test {
 protected:
  ScopedEnv no_coordinator_{"HEARTH_COORDINATOR", std::nullopt};
  ScopedEnv no_token_{"HEARTH_TOKEN_FILE", std::nullopt};
  ScopedEnv no_ca_{"HEARTH_CA_FILE", std::nullopt};
};

struct CommandFlags {
  const char* command;
  std::vector<const char*> flags;
};

const std::vector<CommandFlags>& RemoteCommands() {
  static const std::vector<CommandFlags> commands = {
      {"submit", {"workers", "follow", "json"}},
      {"status", {"follow", "json"}},
      {"list", {"state", "limit", "json"}},
      {"logs", {"rank", "tail", "follow", "json"}},
      {"cancel", {"json"}},
      {"checkpoints", {"json"}},
      {"download", {"checkpoint", "output", "json"}},
      {"sweep", {"follow", "json"}},
      {"deploy", {"name", "checkpoint", "alias", "json"}},
      {"models", {"json"}},
      {"undeploy", {"version", "json"}},
      {"eval", {"data", "labels", "out", "no-files", "checkpoint", "json"}},
      {"predict", {"input", "output", "checkpoint", "json"}},
  };
  return commands;
}

class RemoteHelpTest : public ::testing::TestWithParam<CommandFlags> {};

TEST_P(RemoteHelpTest, HelpExitsZeroAndListsEveryFlagWithTheConnectionFlags) {
  for (const char* help : {"--help", "-h"}) {
    const CommandResult r = RunHearth({GetParam().command, help});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out.rfind(std::string("usage: hearth ") + GetParam().command + " ", 0), 0u)
        << r.out;
    std::vector<const char*> flags = GetParam().flags;
    flags.insert(flags.end(), {"coordinator", "token-file", "ca"});
    for (const char* flag : flags)
      EXPECT_TRUE(Contains(r.out, std::string("\n  --") + flag + " ")) << help;
  }
}

INSTANTIATE_TEST_SUITE_P(Commands, RemoteHelpTest, ::testing::ValuesIn(RemoteCommands()),
                         [](const ::testing::TestParamInfo<CommandFlags>& info) {
                           return std::string(info.param.command);
                         });

TEST(RemoteHelpTest, TopLevelHelpListsTheCoordinatorCommands) {
  const CommandResult r = RunHearth({"--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& c : RemoteCommands())
    EXPECT_TRUE(Contains(r.out, std::string("\n  ") + c.command + " "));
}

// README.md's command reference is `hearth --help` verbatim, and for each coordinator command its
// usage line and one table row per flag with the help text, so the two cannot drift apart.
TEST(RemoteHelpTest, ReadmeCommandReferenceMatchesHelp) {
  const std::string readme = testing::ReadFileOrEmpty(testing::SourceDir() + "/README.md");
  ASSERT_FALSE(readme.empty());
  const CommandResult top = RunHearth({"--help"});
  EXPECT_TRUE(Contains(readme, "`hearth --help`:\n\n```\n" + top.out + "```\n"));
  for (const auto& c : RemoteCommands()) testing::ExpectReadmeDocumentsHelp(readme, c.command);
}

// One line on stderr, "hearth <command>: <reason>", exit status 1.
::testing::AssertionResult FailsWithOneLine(const CommandResult& r, const std::string& command,
                                            const std::string& mentions) {
  if (r.exit_code != 1)
    return ::testing::AssertionFailure() << "exit code " << r.exit_code << ", stderr: " << r.err;
  if (r.err.rfind("hearth " + command + ": ", 0) != 0)
    return ::testing::AssertionFailure() << "stderr does not start with the command: " << r.err;
  return OneLineMentioning(r.err, mentions);
}

TEST_F(RemoteCliTest, EveryCommandReportsAnUnreachableCoordinatorInOneLineWithAHint) {
  TempDir tmp;
  const std::string sweep = tmp.file("sweep.json");
  WriteFileOrFail(sweep, kSweep);
  const std::string address = "127.0.0.1:" + std::to_string(testing::FreePort());
  const std::vector<std::vector<std::string>> cases = {
      {"submit", kJob},
      {"submit", kJob, "--follow"},
      {"status"},
      {"status", "j-000001"},
      {"status", "j-000001", "--follow"},
      {"status", "s-000001"},
      {"list"},
      {"list", "--state", "RUNNING", "--state", "failed,QUEUED"},
      {"logs", "j-000001", "--follow"},
      {"cancel", "j-000001"},
      {"checkpoints", "j-000001"},
      {"download", "j-000001", "-o", tmp.file("model.safetensors")},
      {"sweep", sweep},
      {"eval", "j-000001", "--data", "examples/data/linear_regression.csv"},
      {"predict", "j-000001", "--input", "examples/data/linear_regression.csv"},
  };
  for (std::vector<std::string> args : cases) {
    const std::string command = args[0];
    SCOPED_TRACE(command + (args.size() > 1 ? " " + args[1] : ""));
    args.insert(args.end(), {"--coordinator", address});
    const CommandResult r = RunHearth(args);
    EXPECT_TRUE(FailsWithOneLine(r, command, "UNAVAILABLE: "));
    EXPECT_TRUE(Contains(r.err, "is hearthd running at " + address + "? start it with `hearthd`"));
    EXPECT_TRUE(Contains(r.err, "hearth " + command + ": UNAVAILABLE: "));
  }
  EXPECT_FALSE(std::filesystem::exists(tmp.file("model.safetensors")));
  EXPECT_FALSE(std::filesystem::exists(tmp.file("model.safetensors.tmp")));
}

TEST_F(RemoteCliTest, CoordinatorAddressComesFromTheEnvironmentUnlessTheFlagIsGiven) {
  const std::string from_env = "127.0.0.1:" + std::to_string(testing::FreePort());
  ScopedEnv env("HEARTH_COORDINATOR", from_env);
  CommandResult r = RunHearth({"list"});
  EXPECT_TRUE(FailsWithOneLine(r, "list", "is hearthd running at " + from_env + "?"));
  const std::string from_flag = "127.0.0.1:" + std::to_string(testing::FreePort());
  r = RunHearth({"list", "--coordinator", from_flag});
  EXPECT_TRUE(FailsWithOneLine(r, "list", "is hearthd running at " + from_flag + "?"));
}

TEST_F(RemoteCliTest, ArgumentErrorsFailBeforeConnecting) {
  TempDir tmp;
  const std::string bad_job = tmp.file("bad.json");
  WriteFileOrFail(bad_job,
                  R"({"task": "REGRESSION", "data": {"train": {"path": "x.csv"}},
                      "model": {"layers": [{"dense": {"units": 0}}]},
                      "optimizer": {"name": "sgd", "lr": 0.1}, "global_batch_size": 4,
                      "epochs": 1})");
  struct Case {
    std::vector<std::string> args;
    const char* mentions;
  };
  const std::vector<Case> cases = {
      {{"submit", bad_job}, "model.layers[0].dense.units"},
      {{"submit", tmp.file("missing.json")}, "missing.json"},
      {{"submit", kJob, "--workers", "0"}, "--workers: expected a positive integer"},
      {{"submit", kJob, "--bogus"}, "unknown flag --bogus"},
      {{"submit"}, "expected 1 argument"},
      {{"status", "j-1", "j-2"}, "expected 1 argument"},
      {{"status", "--follow"}, "--follow needs a JOB"},
      {{"list", "--state", "runing"}, "--state: unknown state \"runing\""},
      {{"list", "--state", "RUNNING,JOB_STATE_UNSPECIFIED"}, "unknown state"},
      {{"list", "--limit", "-3"}, "--limit: expected a positive integer"},
      {{"logs", "j-1", "--rank", "-1"}, "--rank: expected a non-negative integer"},
      {{"logs", "j-1", "--tail", "x"}, "--tail: expected a positive integer"},
      {{"logs"}, "expected 1 argument"},
      {{"cancel", "j-1", "j-2"}, "expected 1 argument"},
      {{"download", "j-1", "-o"}, "--output needs a value"},
      {{"checkpoints"}, "expected 1 argument"},
      {{"sweep", tmp.file("missing-sweep.json")}, "missing-sweep.json"},
      {{"eval", "j-1"}, "--data FILE is required"},
      {{"predict", "j-1"}, "--input FILE is required"},
      {{"predict", "j-1", "--input", "x.csv", "--output", "out.npy"}, "need a local checkpoint"},
      {{"list", "--token-file", tmp.file("no-token")}, "no-token"},
  };
  const std::string address = "127.0.0.1:" + std::to_string(testing::FreePort());
  for (Case c : cases) {
    const std::string command = c.args[0];
    SCOPED_TRACE(command + " case: " + c.mentions);
    c.args.insert(c.args.begin() + 1, {"--coordinator", address});
    const CommandResult r = RunHearth(c.args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(OneLineMentioning(r.err, c.mentions));
    EXPECT_EQ(r.err.rfind("hearth " + command + ": ", 0), 0u) << r.err;
    EXPECT_TRUE(testing::Lacks(r.err, "UNAVAILABLE"));
  }
}

TEST_F(RemoteCliTest, TokenFileFromFlagOrEnvironmentMustBeReadableAndNonEmpty) {
  TempDir tmp;
  const std::string empty = tmp.file("empty-token");
  WriteFileOrFail(empty, " \n");
  CommandResult r = RunHearth({"list", "--token-file", empty});
  EXPECT_TRUE(FailsWithOneLine(r, "list", "the file is empty"));
  {
    ScopedEnv env("HEARTH_TOKEN_FILE", tmp.file("absent"));
    r = RunHearth({"status", "j-1"});
    EXPECT_TRUE(FailsWithOneLine(r, "status", "HEARTH_TOKEN_FILE"));
    EXPECT_TRUE(Contains(r.err, tmp.file("absent")));
  }
  r = RunHearth({"list", "--ca", tmp.file("no-ca.pem")});
  EXPECT_TRUE(FailsWithOneLine(r, "list", "--ca"));
}

TEST_F(RemoteCliTest, SweepSpecErrorsNameTheFieldBeforeConnecting) {
  TempDir tmp;
  struct Case {
    std::string from, to;
    const char* mentions;
  };
  const std::vector<Case> cases = {
      {R"("metric")", R"("metrik")", "metrik"},
      {R"("epochs": 2)", R"("epochs": 0)", "base.epochs"},
      {R"("parameters": [{"path": "optimizer.lr", "values": [0.01, 0.1]}],)", "",
       "parameters: list at least one"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mentions);
    std::string json = kSweep;
    json.replace(json.find(c.from), c.from.size(), c.to);
    const std::string path = tmp.file("sweep.json");
    WriteFileOrFail(path, json);
    const CommandResult r = RunHearth({"sweep", path, "--coordinator", "127.0.0.1:1"});
    EXPECT_TRUE(FailsWithOneLine(r, "sweep", c.mentions));
    EXPECT_TRUE(Contains(r.err, path));
  }
  // A swept field may be invalid in the base: each trial sets it.
  std::string json = kSweep;
  json.replace(json.find(R"("lr": 0.05)"), 10, R"("lr": -1)");
  WriteFileOrFail(tmp.file("swept.json"), json);
  const CommandResult r =
      RunHearth({"sweep", tmp.file("swept.json"), "--coordinator", "127.0.0.1:1"});
  EXPECT_TRUE(FailsWithOneLine(r, "sweep", "UNAVAILABLE"));
}

// `eval` and `predict` take a local checkpoint unless the argument is a job id or a coordinator
// is named: the local behaviour (and its messages) stay as they were.
TEST_F(RemoteCliTest, EvalAndPredictChooseBetweenLocalCheckpointAndJob) {
  TempDir tmp;
  const std::string not_a_checkpoint = tmp.file("model.safetensors");
  WriteFileOrFail(not_a_checkpoint, "not a checkpoint");
  const std::string closed = "127.0.0.1:" + std::to_string(testing::FreePort());
  const std::string data = "examples/data/linear_regression.csv";

  // A local file: loaded here, whatever $HEARTH_COORDINATOR says when the file exists.
  CommandResult r = RunHearth({"eval", not_a_checkpoint, "--data", data});
  EXPECT_TRUE(FailsWithOneLine(r, "eval", not_a_checkpoint));
  EXPECT_TRUE(testing::Lacks(r.err, "UNAVAILABLE"));
  {
    ScopedEnv env("HEARTH_COORDINATOR", closed);
    r = RunHearth({"predict", not_a_checkpoint, "--input", data});
    EXPECT_TRUE(FailsWithOneLine(r, "predict", not_a_checkpoint));
    EXPECT_TRUE(testing::Lacks(r.err, "UNAVAILABLE"));
    // No such file: with a coordinator named, the argument is a job.
    r = RunHearth({"eval", "my-job", "--data", data});
    EXPECT_TRUE(FailsWithOneLine(r, "eval", "UNAVAILABLE"));
  }
  r = RunHearth({"eval", tmp.file("absent.safetensors"), "--data", data});
  EXPECT_TRUE(FailsWithOneLine(r, "eval", "absent.safetensors"));
  EXPECT_TRUE(testing::Lacks(r.err, "UNAVAILABLE"));

  // A job id, or --coordinator: remote.
  r = RunHearth({"predict", "j-000042", "--input", data, "--coordinator", closed});
  EXPECT_TRUE(FailsWithOneLine(r, "predict", "UNAVAILABLE"));
  r = RunHearth({"eval", not_a_checkpoint, "--data", data, "--coordinator", closed});
  EXPECT_TRUE(FailsWithOneLine(r, "eval", "UNAVAILABLE"));

  // Job-only flags with a local checkpoint say how to mean a job.
  r = RunHearth({"eval", not_a_checkpoint, "--data", data, "--checkpoint", "j-1/10"});
  EXPECT_TRUE(FailsWithOneLine(r, "eval", "--checkpoint applies to a coordinator job"));
}

}  // namespace
}  // namespace hearth
