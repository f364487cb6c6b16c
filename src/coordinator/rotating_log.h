// A log capped in size: numbered segment files "<base>.<n>.log" in one directory. Appends go to
// the newest segment; when it would pass `segment_bytes` a new one starts, and the oldest are
// deleted so that at most `segments` remain. Readers follow a log by a cursor (segment, byte
// offset) that stays valid across rotation and across hearthd restarts, because segments are
// never renamed; a cursor whose segment was rotated away resumes at the oldest one kept.
//
// Every line is written with one write(2) and ends in '\n'; readers only ever return complete
// lines, so a reader racing the writer never sees half a line. Reads are bounded by a byte budget,
// whatever the log's size. Logs are not fsynced: they help people, the job store is the record.
//
// RotatingLogWriter is not thread-safe (one writer per log: the job's log pump). The read
// functions are safe to call from any thread, also while the writer appends.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth::coordinator {

struct LogLimits {
  int64_t segment_bytes = int64_t{8} << 20;
  int segments = 4;  // kept per log: the cap is segment_bytes * segments
};

class RotatingLogWriter {
 public:
  // Continues after the newest segment already in `dir` (none yet: starts at 0).
  RotatingLogWriter(std::string dir, std::string base, LogLimits limits);
  ~RotatingLogWriter();
  RotatingLogWriter(const RotatingLogWriter&) = delete;
  RotatingLogWriter& operator=(const RotatingLogWriter&) = delete;

  // Appends `line` and a '\n' (`line` must not contain one). The first error is kept and returned
  // again; later lines are dropped (a full disk must not stop the job).
  Status Append(std::string_view line);

 private:
  Status OpenSegment(int64_t segment);

  std::string dir_, base_;
  LogLimits limits_;
  int64_t segment_ = -1;
  int64_t size_ = 0;
  int fd_ = -1;
  Status error_;
  std::string buffer_;
};

// Where a reader stands in a log.
struct LogCursor {
  int64_t segment = 0;
  int64_t offset = 0;
};

// The log's segments in `dir`, oldest first.
std::vector<int64_t> LogSegments(const std::string& dir, const std::string& base);

// Complete lines from `cursor` on, reading at most about `max_bytes` (at least one line when one
// is there); advances `cursor` past them. Sets `*skipped` when the cursor's segment had been
// rotated away and reading resumed at the oldest segment kept.
std::vector<std::string> ReadLogLines(const std::string& dir, const std::string& base,
                                      LogCursor& cursor, int64_t max_bytes,
                                      bool* skipped = nullptr);

// The last `lines` complete lines, reading at most `max_bytes` from the log's end. `end`, when
// given, is set just past the last line returned: where a follower continues.
std::vector<std::string> TailLogLines(const std::string& dir, const std::string& base, int lines,
                                      int64_t max_bytes, LogCursor* end = nullptr);

// The cursor just past everything written so far (where a `tail` leaves a follower).
LogCursor EndOfLog(const std::string& dir, const std::string& base);

}  // namespace hearth::coordinator
