// README.md documents each command by its --help: the usage line as "`usage` — ..." and one
// table row per flag with the flag's help text, so the two cannot drift apart.
#pragma once

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "run/cli_runner.h"
#include "run/run_test_util.h"

namespace hearth::testing {

inline void ExpectReadmeDocumentsHelp(const std::string& readme, const std::string& command) {
  SCOPED_TRACE(command);
  const std::regex flag_line(R"(^  (--\S+(?: \S+)?)\s{2,}(.*)$)");
  const CommandResult r = RunHearth({command, "--help"});
  const std::vector<std::string> lines = SplitLines(r.out);
  ASSERT_FALSE(lines.empty());
  const std::string usage = lines[0].substr(std::string("usage: ").size());
  EXPECT_TRUE(Contains(readme, "\n`" + usage + "` — "));
  for (const std::string& line : lines) {
    std::smatch m;
    if (std::regex_match(line, m, flag_line)) {
      EXPECT_TRUE(Contains(readme, "\n| `" + m[1].str() + "` | " + m[2].str() + " |\n"))
          << m[1].str();
    }
  }
}

}  // namespace hearth::testing
