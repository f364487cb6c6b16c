// The `hearth` subcommands. Each parses its own flags and returns the process exit status.
#pragma once

#include <string>

#include "cli/args.h"

namespace hearth::cli {

struct Command {
  CommandSpec spec;
  int (*run)(const ParsedArgs& args);
};

const Command& TrainCommand();
const Command& EvalCommand();
const Command& PredictCommand();
const Command& InspectCommand();

// Quotes a CSV field when it needs it.
std::string CsvField(const std::string& s);

// Prints "hearth <command>: <message>" on stderr and returns 1.
int Fail(const CommandSpec& spec, const absl::Status& status);

}  // namespace hearth::cli
