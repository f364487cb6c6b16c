// RotatingLog: capped by rotation, followed by cursors that survive rotation and restarts.
#include "coordinator/rotating_log.h"

#include <gtest/gtest.h>

#include <string>

#include "ckpt/temp_dir.h"

namespace hearth::coordinator {
namespace {

TEST(RotatingLogTest, RotatesAndKeepsOnlyTheNewestSegments) {
  testing::TempDir dir;
  LogLimits limits{.segment_bytes = 1024, .segments = 3};
  RotatingLogWriter log(dir.path(), "rank-0", limits);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(log.Append("line " + std::to_string(i)).ok());
  const std::vector<int64_t> segments = LogSegments(dir.path(), "rank-0");
  ASSERT_EQ(segments.size(), 3u);
  // Everything kept is within the cap, and the newest lines are there.
  const std::vector<std::string> tail = TailLogLines(dir.path(), "rank-0", 2, 1 << 20);
  EXPECT_EQ(tail, (std::vector<std::string>{"line 998", "line 999"}));
  LogCursor cursor;
  bool skipped = false;
  std::vector<std::string> all = ReadLogLines(dir.path(), "rank-0", cursor, 1 << 20, &skipped);
  EXPECT_TRUE(skipped) << "the oldest lines were rotated away";
  EXPECT_LE(all.size() * 8, 3u * 1024);
  EXPECT_EQ(all.back(), "line 999");
}

TEST(RotatingLogTest, AFollowerSeesEveryLineOnceAcrossRotation) {
  testing::TempDir dir;
  LogLimits limits{.segment_bytes = 1024, .segments = 100};
  RotatingLogWriter log(dir.path(), "launcher", limits);
  LogCursor cursor;
  std::vector<std::string> seen;
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(log.Append("line " + std::to_string(i)).ok());
    if (i % 37 == 0)
      for (std::string& l : ReadLogLines(dir.path(), "launcher", cursor, 100))
        seen.push_back(std::move(l));
  }
  for (std::string& l : ReadLogLines(dir.path(), "launcher", cursor, 1 << 20))
    seen.push_back(std::move(l));
  ASSERT_EQ(seen.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(seen[i], "line " + std::to_string(i));
}

TEST(RotatingLogTest, ALaterWriterContinuesTheNewestSegment) {
  testing::TempDir dir;
  LogLimits limits{.segment_bytes = 1024, .segments = 4};
  {
    RotatingLogWriter log(dir.path(), "rank-1", limits);
    ASSERT_TRUE(log.Append("first").ok());
  }
  RotatingLogWriter again(dir.path(), "rank-1", limits);
  ASSERT_TRUE(again.Append("second").ok());
  EXPECT_EQ(TailLogLines(dir.path(), "rank-1", 10, 1 << 20),
            (std::vector<std::string>{"first", "second"}));
}

TEST(RotatingLogTest, TailGivesTheCursorWhereAFollowerContinues) {
  testing::TempDir dir;
  RotatingLogWriter log(dir.path(), "rank-0", {});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log.Append(std::to_string(i)).ok());
  LogCursor end;
  EXPECT_EQ(TailLogLines(dir.path(), "rank-0", 3, 1 << 20, &end),
            (std::vector<std::string>{"7", "8", "9"}));
  ASSERT_TRUE(log.Append("10").ok());
  EXPECT_EQ(ReadLogLines(dir.path(), "rank-0", end, 1 << 20), (std::vector<std::string>{"10"}));
  const LogCursor at_end = EndOfLog(dir.path(), "rank-0");
  LogCursor copy = at_end;
  EXPECT_TRUE(ReadLogLines(dir.path(), "rank-0", copy, 1 << 20).empty());
}

TEST(RotatingLogTest, ReadsAreBoundedButAlwaysMakeProgress) {
  testing::TempDir dir;
  RotatingLogWriter log(dir.path(), "rank-0", {});
  const std::string long_line(5000, 'y');
  ASSERT_TRUE(log.Append(long_line).ok());
  ASSERT_TRUE(log.Append("short").ok());
  LogCursor cursor;
  // A budget smaller than the line still returns it; the next read goes on from there.
  std::vector<std::string> lines = ReadLogLines(dir.path(), "rank-0", cursor, 10);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], long_line);
  for (std::string& l : ReadLogLines(dir.path(), "rank-0", cursor, 10)) lines.push_back(l);
  EXPECT_EQ(lines, (std::vector<std::string>{long_line, "short"}));
  EXPECT_TRUE(TailLogLines(dir.path(), "none", 5, 100).empty());
}

}  // namespace
}  // namespace hearth::coordinator
