// The launcher-log diagnosis on arbitrary output: mpirun's tags split into ranks, the rank mpirun
// blames, and the failure report from the tails (as hearthd builds it when a job fails).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/job_logs.h"
#include "coordinator/launcher_output.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> launcher;
  std::map<int, std::vector<std::string>> ranks;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t nl = std::min(text.find('\n', begin), text.size());
    const hearth::coordinator::TaggedLine line =
        hearth::coordinator::ParseTaggedLine(text.substr(begin, nl - begin), 1 << 16);
    std::vector<std::string>& lines = line.rank < 0 ? launcher : ranks[line.rank];
    if (lines.size() < 200) lines.emplace_back(line.text);
    begin = nl + 1;
  }
  (void)hearth::coordinator::RankNamedByLauncher(launcher);
  (void)hearth::coordinator::DiagnoseFromTails(launcher, ranks, 1, 20);
  return 0;
}
