// `hearth init`: profile a CSV file and write the job spec that trains a baseline on it
// (run/init_spec.h), explaining every choice on stderr.
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/remote_client.h"
#include "hearth/data/profile.h"
#include "hearth/env.h"
#include "hearth/job.h"
#include "run/init_spec.h"

namespace hearth::cli {
namespace {

int Run(const ParsedArgs& args) {
  const CommandSpec& spec = InitCommand().spec;
  const std::string& data = args.positionals[0];
  const std::string output = args.Get("output");
  if (!output.empty() && !args.Has("force") && std::filesystem::exists(output)) {
    return Fail(spec, absl::AlreadyExistsError(absl::StrFormat(
                          "%s exists; pass --force to replace it, or choose another -o", output)));
  }
  ProfileOptions profile_options;
  profile_options.label = args.Get("label");
  StatusOr<TableProfile> profile = ProfileCsv(data, profile_options);
  if (!profile.ok()) return Fail(spec, profile.status());
  run::InitOptions options;
  options.data_path = data;
  options.name = args.Get("name");
  StatusOr<run::InitChoice> choice = run::ChooseJobSpec(*profile, options);
  if (!choice.ok()) return Fail(spec, choice.status());
  // What it writes must train as it stands.
  if (Status valid = ValidateJobSpec(choice->spec); !valid.ok())
    return Fail(spec,
                absl::InternalError(absl::StrCat("the chosen spec is invalid: ", valid.message())));
  const std::string json = JobSpecToJson(choice->spec);
  if (output.empty()) {
    std::fputs(json.c_str(), stdout);
  } else if (Status s = Env::Default().WriteFileAtomically(output, json); !s.ok()) {
    return Fail(
        spec, absl::Status(s.code(), absl::StrFormat("cannot write %s: %s", output, s.message())));
  }
  if (!args.Has("quiet")) {
    std::fprintf(stderr, "%s: %lld rows, %lld columns\n", data.c_str(),
                 static_cast<long long>(profile->rows), static_cast<long long>(profile->columns));
    for (const std::string& reason : choice->reasons)
      std::fprintf(stderr, "  - %s\n", reason.c_str());
    std::fprintf(stderr, "\nstronger alternative: %s\n", choice->alternative.c_str());
    if (!output.empty()) {
      std::fprintf(stderr, "\nwrote %s; train it with: hearth train %s\n", output.c_str(),
                   output.c_str());
    }
  }
  return 0;
}

}  // namespace

const Command& InitCommand() {
  static const Command command{
      {"init",
       "hearth init DATA.csv [--label COL] [-o job.json]",
       "write a job spec that trains a baseline on a CSV file",
       "Profiles the file (as hearth profile) and writes a complete job spec that trains\n"
       "as it stands: the task from the label (text, or whole numbers with at most 20\n"
       "values: classification; other numbers: regression; no label: clustering, with k\n"
       "chosen by silhouette over 2..8), the preprocessing the data needs (impute,\n"
       "clip, one_hot, standardize; ids and constant columns left out; deduplicate), a\n"
       "baseline model (logistic or linear regression, or k-means), loss, metrics,\n"
       "batch size and learning rate. Every choice is explained on stderr, with the\n"
       "stronger alternative (an MLP) and the lines to change. See docs/data.md#hearth-init.",
       {"DATA"},
       {{"label", "COL", "the label column, by header name or #INDEX; none: clustering"},
        {"output", "FILE", "also -o: write the spec there (default: stdout)"},
        {"force", "", "replace FILE if it exists"},
        {"name", "NAME", "the job's name (default: the file's name)"},
        {"quiet", "", "no explanation on stderr"}}},
      Run,
      [](const CommandSpec& spec, int argc, char** argv) {
        return ParseWithExtras(spec, argc, argv, {.aliases = {{"-o", "output"}}});
      }};
  return command;
}

}  // namespace hearth::cli
