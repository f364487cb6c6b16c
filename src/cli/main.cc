// `hearth`: train, evaluate, predict and inspect from the command line, and submit and manage jobs
// on the coordinator (hearthd). The commands only parse flags and call the library
// (hearth/train.h) or the coordinator's API (rpc/hearth/v1/coordinator.proto).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/commands.h"
#include "hearth/blas.h"

namespace {

using hearth::cli::Command;

// On this machine (eval and predict also take a coordinator job).
const Command* const kLocalCommands[] = {
    &hearth::cli::TrainCommand(),      &hearth::cli::EvalAnyCommand(),
    &hearth::cli::PredictAnyCommand(), &hearth::cli::InspectCommand(),
    &hearth::cli::ServeCommand(),      &hearth::cli::ExportCommand(),
    &hearth::cli::ProfileCommand(),    &hearth::cli::InitCommand(),
    &hearth::cli::FindLrCommand(),     &hearth::cli::TimelineCommand()};
// Through the coordinator, hearthd.
const Command* const kRemoteCommands[] = {
    &hearth::cli::SubmitCommand(),   &hearth::cli::StatusCommand(),
    &hearth::cli::ListCommand(),     &hearth::cli::LogsCommand(),
    &hearth::cli::CancelCommand(),   &hearth::cli::CheckpointsCommand(),
    &hearth::cli::DownloadCommand(), &hearth::cli::SweepCommand(),
    &hearth::cli::DeployCommand(),   &hearth::cli::ModelsCommand(),
    &hearth::cli::UndeployCommand(), &hearth::cli::WorkerCommand()};

void PrintUsage(std::FILE* out) {
  std::fprintf(out,
               "usage: hearth <command> [flags]\n\n"
               "Hearth trains regression, classification and clustering models from a job spec,\n"
               "on this machine or through the coordinator, hearthd.\n\n"
               "commands:\n");
  for (const auto* c : kLocalCommands)
    std::fprintf(out, "  %-12s %s\n", c->spec.name.c_str(), c->spec.brief.c_str());
  std::fprintf(out,
               "\ncoordinator commands (hearthd at --coordinator HOST:PORT, else "
               "$HEARTH_COORDINATOR,\nelse 127.0.0.1:7411):\n");
  for (const auto* c : kRemoteCommands)
    std::fprintf(out, "  %-12s %s\n", c->spec.name.c_str(), c->spec.brief.c_str());
  std::fprintf(out,
               "\nRun 'hearth <command> --help' for its flags. Job specs: docs/job-spec.md.\n");
}

const Command* FindCommand(const std::string& name) {
  for (const auto* c : kLocalCommands)
    if (c->spec.name == name) return c;
  for (const auto* c : kRemoteCommands)
    if (c->spec.name == name) return c;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  hearth::ReexecWithBestBlasCore(argv);
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    PrintUsage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (const Command* c = FindCommand(argv[1])) {
    auto args = c->parse != nullptr ? c->parse(c->spec, argc - 2, argv + 2)
                                    : hearth::cli::Parse(c->spec, argc - 2, argv + 2);
    if (!args.ok()) return hearth::cli::Fail(c->spec, args.status()) + 1;
    if (args->help) {
      std::fputs(hearth::cli::HelpText(c->spec).c_str(), stdout);
      return 0;
    }
    // The last resort: errors are Statuses, but an exception from a library must still end in
    // one line on stderr, not an abort.
    try {
      return c->run(*args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hearth %s: internal error: %s\n", argv[1], e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "hearth: unknown command '%s' (run 'hearth --help' for the list)\n",
               argv[1]);
  return 2;
}
