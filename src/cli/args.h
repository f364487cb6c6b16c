// A small command-line parser for `hearth <command> [flags] [positional]`: --flag VALUE,
// --flag=VALUE and boolean --flag, with generated --help text.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hearth/status.h"

namespace hearth::cli {

struct FlagSpec {
  std::string name;        // without the leading dashes
  std::string value_name;  // empty: a boolean flag
  std::string help;
};

struct CommandSpec {
  std::string name;
  std::string usage;                     // e.g. "hearth train JOB.json [flags]"
  std::string brief;                     // one line, for `hearth --help`
  std::string summary;                   // the paragraph `hearth <command> --help` shows
  std::vector<std::string> positionals;  // names, all required
  std::vector<FlagSpec> flags;
};

struct ParsedArgs {
  std::vector<std::string> positionals;
  std::map<std::string, std::string> values;  // booleans map to "true"
  bool help = false;
  bool Has(const std::string& flag) const { return values.count(flag) > 0; }
  std::string Get(const std::string& flag, const std::string& fallback = "") const {
    auto it = values.find(flag);
    return it == values.end() ? fallback : it->second;
  }
};

// InvalidArgument naming the flag and pointing at --help on an unknown flag, a missing value or
// a missing positional.
StatusOr<ParsedArgs> Parse(const CommandSpec& spec, int argc, char** argv);
std::string HelpText(const CommandSpec& spec);

}  // namespace hearth::cli
