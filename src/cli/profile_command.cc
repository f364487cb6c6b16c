// `hearth profile`: what a CSV file holds and what it needs before training
// (hearth/data/profile.h), as a terminal report, JSON or an HTML page.
#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli/byte_progress.h"
#include "cli/commands.h"
#include "hearth/data/profile.h"
#include "hearth/env.h"
#include "train/profile_report.h"

namespace hearth::cli {
namespace {

StatusOr<ProfileOptions> OptionsFrom(const ParsedArgs& args) {
  ProfileOptions options;
  options.label = args.Get("label");
  options.has_header = !args.Has("no-header");
  const std::string delimiter = args.Get("delimiter", ",");
  if (delimiter.size() != 1 && delimiter != "\\t") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--delimiter: \"%s\" is not one character (use \",\", \";\" or \"\\t\")", delimiter));
  }
  options.delimiter = delimiter == "\\t" ? '\t' : delimiter[0];
  if (args.Has("missing-values")) {
    for (absl::string_view token : absl::StrSplit(args.Get("missing-values"), ','))
      options.missing_values.emplace_back(token);
  }
  return options;
}

StatusOr<TableProfile> ProfileWithProgress(const std::string& path, ProfileOptions options,
                                           bool quiet) {
  ByteProgress progress("profiling " + path);
  if (!quiet)
    options.on_progress = [&](int64_t done, int64_t total) { progress.Update(done, total); };
  return ProfileCsv(path, options);
}

int Run(const ParsedArgs& args) {
  const CommandSpec& spec = ProfileCommand().spec;
  StatusOr<ProfileOptions> options = OptionsFrom(args);
  if (!options.ok()) return Fail(spec, options.status());
  const bool json = args.Has("json");
  ProfileReport report;
  StatusOr<TableProfile> profile = ProfileWithProgress(args.positionals[0], *options, json);
  if (!profile.ok()) return Fail(spec, profile.status());
  report.profile = *std::move(profile);
  if (args.Has("against")) {
    report.against = args.Get("against");
    StatusOr<TableProfile> other = ProfileWithProgress(report.against, *options, json);
    if (!other.ok()) return Fail(spec, other.status());
    StatusOr<std::vector<ColumnShift>> shift = CompareProfiles(report.profile, *other);
    if (!shift.ok()) return Fail(spec, shift.status());
    report.shift = *std::move(shift);
  }
  report.alerts = ProfileAlerts(report.profile, report.shift);
  if (args.Has("html")) {
    const std::string path = args.Get("html");
    if (Status s = Env::Default().WriteFileAtomically(path, ProfileHtml(report)); !s.ok()) {
      return Fail(
          spec, absl::Status(s.code(), absl::StrFormat("cannot write %s: %s", path, s.message())));
    }
    if (!json) std::fprintf(stderr, "wrote %s\n", path.c_str());
  }
  const std::string text = json ? ProfileJson(report) + "\n" : FormatProfile(report);
  std::fputs(text.c_str(), stdout);
  return 0;
}

}  // namespace

const Command& ProfileCommand() {
  static const Command command{
      {"profile",
       "hearth profile DATA.csv [--label COL] [--against OTHER.csv] [--json] [--html FILE]",
       "describe a CSV file and what it needs before training",
       "Reads a CSV file (plain or gzip) once, in bounded memory, and reports each\n"
       "column's kind, missing cells, distinct values, statistics, quantiles, histogram\n"
       "and top values; duplicate rows; outliers by the IQR rule; with --label, the\n"
       "label's classes or distribution and how each feature goes with it, warning of a\n"
       "feature that alone predicts it. Alerts come first, each naming the job-spec step\n"
       "that acts on it. With --against, the shift of every column between the two\n"
       "files (Kolmogorov-Smirnov D for numbers, PSI for categories). What is exact and\n"
       "what is estimated: docs/data.md#profiling-a-dataset.",
       {"DATA"},
       {{"label", "COL", "the label column, by header name or #INDEX (0-based)"},
        {"against", "FILE", "a second file (a test set) to compare every column with"},
        {"json", "", "print one JSON object instead of the report"},
        {"html", "FILE", "also write a self-contained HTML report with SVG histograms"},
        {"delimiter", "CHAR", "the field delimiter (default ,; \\t for tabs)"},
        {"no-header", "", "the first line is data; columns are named column_1, column_2, ..."},
        {"missing-values", "LIST",
         "comma-separated cell texts that mean missing, besides an empty cell (default: "
         "pandas' list: NA, NaN, null, None, n/a, ...)"}}},
      Run};
  return command;
}

}  // namespace hearth::cli
