// The `hearth` subcommands. Each parses its own flags and returns the process exit status.
#pragma once

#include <cstdio>
#include <string>

#include "cli/args.h"
#include "cli/json_writer.h"
#include "hearth/v1/report.pb.h"

namespace hearth::v1 {
class SweepSpec;
}

namespace hearth::cli {

struct Command {
  CommandSpec spec;
  int (*run)(const ParsedArgs& args);
  // The flag parser; nullptr means Parse(). Commands with optional arguments or repeatable flags
  // use ParseWithExtras (cli/remote_client.h).
  StatusOr<ParsedArgs> (*parse)(const CommandSpec& spec, int argc, char** argv) = nullptr;
};

// On this machine.
const Command& TrainCommand();
const Command& EvalCommand();     // a local checkpoint only; main uses EvalAnyCommand
const Command& PredictCommand();  // a local checkpoint only; main uses PredictAnyCommand
const Command& InspectCommand();
const Command& ServeCommand();     // the model server (src/serve/)
const Command& ExportCommand();    // ONNX (src/export/)
const Command& ProfileCommand();   // hearth/data/profile.h
const Command& InitCommand();      // run/init_spec.h
const Command& FindLrCommand();    // run/find_lr.h
const Command& TimelineCommand();  // hearth/timeline.h

// `hearth eval` and `hearth predict`: a coordinator job when the argument looks like a job id
// (j-123) or a coordinator is named (--coordinator, or $HEARTH_COORDINATOR and the argument is not
// a local file); else EvalCommand/PredictCommand on a local checkpoint.
const Command& EvalAnyCommand();
const Command& PredictAnyCommand();

// Through the coordinator, hearthd (cli/remote_client.h).
const Command& SubmitCommand();
const Command& StatusCommand();
const Command& ListCommand();
const Command& LogsCommand();
const Command& CancelCommand();
const Command& CheckpointsCommand();
const Command& DownloadCommand();
const Command& SweepCommand();
// Submits `sweep` to the coordinator named by `args` and prints it as `hearth sweep` does
// (--follow, --json); the exit status. Also how `hearth submit` runs a cross-validated job.
int SubmitSweepAndReport(const CommandSpec& spec, const ParsedArgs& args,
                         const v1::SweepSpec& sweep);
const Command& DeployCommand();
const Command& ModelsCommand();
const Command& UndeployCommand();
// Run by hearthd: one rank of a coordinator job.
const Command& WorkerCommand();

// Where a command writes its rows: `path`, or stdout when it is empty. InvalidArgument saying
// what to check when the file cannot be created.
StatusOr<std::FILE*> OpenOutput(const std::string& path);

// What `hearth eval` shows for an evaluation report, local or remote: `header` (checkpoint, job)
// then examples, metrics and the whole report as one JSON line with --json, else the summary;
// and, unless --no-files, report.json and the figures in --out DIR, else in `default_dir` (no
// files when that is empty too).
int EmitEvalReport(const CommandSpec& spec, const ParsedArgs& args,
                   const v1::EvaluationReport& report, JsonObject header,
                   const std::string& default_dir);

// Quotes a CSV field when it needs it.
std::string CsvField(const std::string& s);

// Prints "hearth <command>: <message>" on stderr and returns 1.
int Fail(const CommandSpec& spec, const absl::Status& status);

}  // namespace hearth::cli
