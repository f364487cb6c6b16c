// The log pump's parser: splits what the launcher prints (hearthrun, then mpirun with
// --mca orte_tag_output 1) into an attempt's logs. mpirun tags every line a rank writes with
// "[<jobid>,<rank>]<stdout>:" (or <stderr>, <stddiag>), on whatever machine the rank runs; those
// lines go to rank <rank>'s log without the tag, in the order mpirun forwarded them, so one
// rank's stdout and stderr stay interleaved as written. Everything else (hearthrun's and
// mpirun's own messages) goes to the launcher log.
//
// A line longer than `max_line_bytes` keeps its first bytes and a note of how many were cut: the
// rest of such a line is never buffered, so a 200k-character line costs no more than a short one.
//
// Not thread-safe: one pump thread feeds one splitter.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "coordinator/rotating_log.h"

namespace hearth::coordinator {

// A launcher line split into its source and text. rank -1: the launcher itself (or a tag that is
// not well formed, or a rank beyond `max_ranks`).
struct TaggedLine {
  int rank = -1;
  std::string_view text;
};
TaggedLine ParseTaggedLine(std::string_view line, int max_ranks);

class LauncherOutputSplitter {
 public:
  struct Options {
    LogLimits limits;
    int max_line_bytes = 16 << 10;
    int max_ranks = 1 << 16;
  };
  LauncherOutputSplitter(std::string log_dir, Options options);

  // Bytes as read from the launcher's output pipe, in any pieces.
  void Consume(std::string_view bytes);
  // The launcher has exited: writes an unterminated last line.
  void Finish();

 private:
  void EndLine();
  RotatingLogWriter& LogOf(int rank);  // -1: the launcher log

  std::string log_dir_;
  Options options_;
  std::string line_;
  int64_t cut_ = 0;  // bytes of the current line dropped beyond max_line_bytes
  std::map<int, std::unique_ptr<RotatingLogWriter>> logs_;
};

}  // namespace hearth::coordinator
