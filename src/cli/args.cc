// Command-line parsing for the hearth subcommands.
#include "cli/args.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace hearth::cli {

StatusOr<ParsedArgs> Parse(const CommandSpec& spec, int argc, char** argv) {
  ParsedArgs out;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      return out;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      out.positionals.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* flag = nullptr;
    for (const FlagSpec& f : spec.flags)
      if (f.name == name) flag = &f;
    if (flag == nullptr)
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown flag --%s (see hearth %s --help)", name, spec.name));
    if (flag->value_name.empty()) {
      if (inline_value)
        return absl::InvalidArgumentError(absl::StrFormat("--%s takes no value", name));
      value = "true";
    } else if (!inline_value) {
      if (i + 1 >= argc)
        return absl::InvalidArgumentError(
            absl::StrFormat("--%s needs a value (%s)", name, flag->value_name));
      value = argv[++i];
    }
    out.values[name] = value;
  }
  if (out.positionals.size() != spec.positionals.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("expected %d argument(s) (%s), got %d; usage: %s", spec.positionals.size(),
                        absl::StrJoin(spec.positionals, " "), out.positionals.size(), spec.usage));
  }
  return out;
}

std::string HelpText(const CommandSpec& spec) {
  std::string text = absl::StrFormat("usage: %s\n\n%s\n", spec.usage, spec.summary);
  if (!spec.flags.empty()) text += "\nflags:\n";
  for (const FlagSpec& f : spec.flags) {
    const std::string left =
        f.value_name.empty() ? "--" + f.name : absl::StrFormat("--%s %s", f.name, f.value_name);
    text += absl::StrFormat("  %-26s %s\n", left, f.help);
  }
  return text;
}

}  // namespace hearth::cli
