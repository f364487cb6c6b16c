// `hearth`: train, evaluate, predict and inspect from the command line. The commands only parse
// flags and call the library (hearth/train.h).
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"
#include "hearth/blas.h"

namespace {

const hearth::cli::Command* const kCommands[] = {
    &hearth::cli::TrainCommand(), &hearth::cli::EvalCommand(), &hearth::cli::PredictCommand(),
    &hearth::cli::InspectCommand()};

void PrintUsage(std::FILE* out) {
  std::fprintf(out,
               "usage: hearth <command> [flags]\n\n"
               "Hearth trains regression, classification and clustering models from a job spec.\n\n"
               "commands:\n");
  for (const auto* c : kCommands)
    std::fprintf(out, "  %-10s %s\n", c->spec.name.c_str(), c->spec.brief.c_str());
  std::fprintf(out,
               "\nRun 'hearth <command> --help' for its flags. Job specs: docs/job-spec.md.\n");
}

}  // namespace

int main(int argc, char** argv) {
  hearth::ReexecWithBestBlasCore(argv);
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    PrintUsage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const auto* c : kCommands) {
    if (c->spec.name != argv[1]) continue;
    auto args = hearth::cli::Parse(c->spec, argc - 2, argv + 2);
    if (!args.ok()) return hearth::cli::Fail(c->spec, args.status()) + 1;
    if (args->help) {
      std::fputs(hearth::cli::HelpText(c->spec).c_str(), stdout);
      return 0;
    }
    return c->run(*args);
  }
  std::fprintf(stderr, "hearth: unknown command '%s' (run 'hearth --help' for the list)\n",
               argv[1]);
  return 2;
}
