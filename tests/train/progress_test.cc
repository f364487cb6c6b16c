// ProgressReporter: the plain-line format and cadence, the redrawn line, ETA and terminal choice,
// driven by a fake clock and captured output.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "hearth/report.h"
#include "train/progress_format.h"

namespace hearth {
namespace {

using progress::Display;

// Captures what a reporter writes: a real file (so it has an fd that is not a terminal).
class Capture {
 public:
  Capture() : file_(std::tmpfile()) { EXPECT_NE(file_, nullptr); }
  ~Capture() {
    if (file_ != nullptr) std::fclose(file_);
  }
  std::FILE* file() { return file_; }
  std::string Text() {
    std::fflush(file_);
    std::string out;
    std::rewind(file_);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), file_)) > 0) out.append(buf, n);
    return out;
  }
  std::vector<std::string> Lines() {
    std::vector<std::string> lines = absl::StrSplit(Text(), '\n');
    if (!lines.empty() && lines.back().empty()) lines.pop_back();
    return lines;
  }

 private:
  std::FILE* file_;
};

struct FakeClock {
  double now = 0;
  std::function<double()> fn() {
    return [this] { return now; };
  }
};

ProgressOptions PlainOptions(Capture& out, FakeClock& clock, int64_t every) {
  ProgressOptions o;
  o.out = out.file();
  o.mode = ProgressOptions::Mode::kPlain;
  o.plain_every_steps = every;
  o.clock = clock.fn();
  return o;
}

TEST(ProgressFormatTest, Duration) {
  EXPECT_EQ(progress::FormatDuration(0), "00:00");
  EXPECT_EQ(progress::FormatDuration(59.4), "00:59");
  EXPECT_EQ(progress::FormatDuration(61), "01:01");
  EXPECT_EQ(progress::FormatDuration(3661), "1:01:01");
  EXPECT_EQ(progress::FormatDuration(-1), "--:--");
  EXPECT_EQ(progress::FormatDuration(std::nan("")), "--:--");
  EXPECT_EQ(progress::FormatDuration(INFINITY), "--:--");
  EXPECT_EQ(progress::FormatDuration(1e12), "99:59:59");  // capped, stays short
}

TEST(ProgressFormatTest, Values) {
  EXPECT_EQ(progress::FormatValue(0.42131), "0.4213");
  EXPECT_EQ(progress::FormatValue(1.23456e-5), "1.235e-05");
  EXPECT_EQ(progress::FormatValue(std::nan("")), "nan");
  EXPECT_EQ(progress::FormatValue(-INFINITY), "-inf");
}

TEST(ProgressFormatTest, EtaIsAverageSpeedTimesStepsLeft) {
  EXPECT_DOUBLE_EQ(progress::EstimateRemainingSeconds(10, 5.0, 90), 45.0);
  EXPECT_DOUBLE_EQ(progress::EstimateRemainingSeconds(10, 5.0, 0), 0.0);
  EXPECT_TRUE(std::isnan(progress::EstimateRemainingSeconds(0, 5.0, 90)));
  EXPECT_TRUE(std::isnan(progress::EstimateRemainingSeconds(10, 0.0, 90)));
  EXPECT_TRUE(std::isnan(progress::EstimateRemainingSeconds(10, 5.0, -1)));
}

TEST(ProgressFormatTest, Bar) {
  EXPECT_EQ(progress::RenderBar(0.5, 12), "[#####.....]");
  EXPECT_EQ(progress::RenderBar(0, 6), "[....]");
  EXPECT_EQ(progress::RenderBar(1.7, 6), "[####]");
  EXPECT_EQ(progress::RenderBar(std::nan(""), 6), "[....]");
  EXPECT_EQ(progress::RenderBar(1, 4, "<", ">"), "[<##>]");
}

TEST(ProgressFormatTest, LayoutFitsTheWidth) {
  const std::string prefix = "epoch 1/3 ", suffix = " 20/100 loss 0.5 100 ex/s 00:01 eta 00:04";
  const std::string wide = progress::LayoutLine(prefix, 0.2, suffix, 200, false);
  EXPECT_EQ(wide, prefix + "[#####.......................]" + suffix);  // capped at 30
  const std::string fits = progress::LayoutLine(prefix, 0.2, suffix, 80, false);
  EXPECT_EQ(fits.size(), 79u);  // the bar takes what is left, short of the last column
  const std::string narrow = progress::LayoutLine(prefix, 0.2, suffix, 50, false);
  EXPECT_EQ(narrow.find('['), std::string::npos);  // too narrow for a 10-wide bar: none
  EXPECT_LE(narrow.size(), 49u);
  EXPECT_EQ(narrow.substr(0, 17), "epoch 1/3 20/100 ");
  EXPECT_EQ(progress::LayoutLine(prefix, -1, suffix, 200, false).find('['), std::string::npos);
}

TEST(ProgressFormatTest, DisplayChoice) {
  using Mode = ProgressOptions::Mode;
  using Color = ProgressOptions::Color;
  auto d = [](Mode m, Color c, bool tty, const char* term, const char* no_color) {
    const Display r = progress::ResolveDisplay(m, c, tty, term, no_color);
    return std::pair(r.line, r.color);
  };
  EXPECT_EQ(d(Mode::kAuto, Color::kAuto, true, "xterm", nullptr), std::pair(true, true));
  EXPECT_EQ(d(Mode::kAuto, Color::kAuto, true, nullptr, nullptr), std::pair(true, true));
  EXPECT_EQ(d(Mode::kAuto, Color::kAuto, false, "xterm", nullptr), std::pair(false, false));
  EXPECT_EQ(d(Mode::kAuto, Color::kAuto, true, "dumb", nullptr), std::pair(false, false));
  EXPECT_EQ(d(Mode::kAuto, Color::kAuto, true, "xterm", "1"), std::pair(true, false));
  EXPECT_EQ(d(Mode::kAuto, Color::kAuto, true, "xterm", ""), std::pair(true, true));
  EXPECT_EQ(d(Mode::kLine, Color::kAuto, false, "dumb", nullptr), std::pair(true, false));
  EXPECT_EQ(d(Mode::kLine, Color::kOn, false, "dumb", nullptr), std::pair(true, true));
  EXPECT_EQ(d(Mode::kPlain, Color::kOn, true, "xterm", nullptr), std::pair(false, false));
  EXPECT_EQ(d(Mode::kAuto, Color::kOff, true, "xterm", nullptr), std::pair(true, false));
}

TEST(ProgressReporterTest, FileOutputIsPlain) {
  Capture out;
  ProgressOptions o;
  o.out = out.file();
  EXPECT_FALSE(ProgressReporter(o).redraws_line());
}

TEST(ProgressReporterTest, PlainLineFormatAndCadence) {
  Capture out;
  FakeClock clock;
  ProgressReporter p(PlainOptions(out, clock, 5));
  p.Start({.total_steps = 21, .epochs = 3});
  int64_t step = 0;
  for (int epoch = 1; epoch <= 3; ++epoch) {
    p.StartEpoch(epoch);
    for (int i = 0; i < 7; ++i) {
      clock.now += 0.4;
      p.Step(++step, 0.5, 32);
    }
    const std::vector<std::pair<std::string, double>> val = {{"val_loss", 0.25},
                                                             {"val_accuracy", 0.9}};
    p.EndEpoch(val);
  }
  p.Finish({{{"test_accuracy", 0.875}}});
  const std::vector<std::string> want = {
      // Every 5 steps: 5 steps in 2 s, 16 steps left -> 6.4 s.
      "epoch 1/3 step 5/21 loss 0.5 examples/s 80 elapsed 00:02 eta 00:06",
      // The epoch's end prints its last step even off the cadence.
      "epoch 1/3 step 7/21 loss 0.5 examples/s 80 elapsed 00:03 eta 00:06",
      "epoch 1/3 done in 00:03: loss 0.5 val_loss 0.25 val_accuracy 0.9",
      "epoch 2/3 step 10/21 loss 0.5 examples/s 80 elapsed 00:04 eta 00:04",
      "epoch 2/3 step 14/21 loss 0.5 examples/s 80 elapsed 00:06 eta 00:03",
      "epoch 2/3 done in 00:03: loss 0.5 val_loss 0.25 val_accuracy 0.9",
      "epoch 3/3 step 15/21 loss 0.5 examples/s 80 elapsed 00:06 eta 00:02",
      "epoch 3/3 step 20/21 loss 0.5 examples/s 80 elapsed 00:08 eta 00:00",
      "epoch 3/3 step 21/21 loss 0.5 examples/s 80 elapsed 00:08 eta 00:00",
      "epoch 3/3 done in 00:03: loss 0.5 val_loss 0.25 val_accuracy 0.9",
      "done: epoch 3/3 step 21/21 in 00:08: test_accuracy 0.875",
  };
  EXPECT_EQ(out.Lines(), want);
  EXPECT_EQ(out.Text().find('\r'), std::string::npos);
  EXPECT_EQ(out.Text().find('\x1b'), std::string::npos);
}

TEST(ProgressReporterTest, EpochEndOnTheCadenceIsNotRepeated) {
  Capture out;
  FakeClock clock;
  ProgressReporter p(PlainOptions(out, clock, 5));
  p.Start({.total_steps = 10, .epochs = 1});
  p.StartEpoch(1);
  for (int s = 1; s <= 10; ++s) {
    clock.now += 1;
    p.Step(s, 1.0, 1);
  }
  p.EndEpoch();
  const std::vector<std::string> lines = out.Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].substr(0, 23), "epoch 1/1 step 10/10 lo");
  EXPECT_EQ(lines[2], "epoch 1/1 done in 00:10: loss 1");
}

TEST(ProgressReporterTest, UnknownTotalHasNoEta) {
  Capture out;
  FakeClock clock;
  ProgressReporter p(PlainOptions(out, clock, 1));
  p.Start({.total_steps = 0, .epochs = 2});
  p.StartEpoch(1);
  clock.now = 2;
  p.Step(1, 0.75, 10);
  EXPECT_EQ(out.Lines(),
            std::vector<std::string>{"epoch 1/2 step 1 loss 0.75 examples/s 5 elapsed 00:02"});
}

TEST(ProgressReporterTest, EtaCountsOnlyThisProcessAfterResume) {
  Capture out;
  FakeClock clock;
  ProgressReporter p(PlainOptions(out, clock, 10));
  // Resumed at step 100 of 200: 10 steps in 10 s leaves 90 steps, 90 s.
  p.Start({.total_steps = 200, .epochs = 2, .start_step = 100});
  p.StartEpoch(2);
  for (int64_t s = 101; s <= 110; ++s) {
    clock.now += 1;
    p.Step(s, 0.5, 4);
  }
  ASSERT_EQ(out.Lines().size(), 1u);
  EXPECT_EQ(out.Lines()[0], "epoch 2/2 step 110/200 loss 0.5 examples/s 4 elapsed 00:10 eta 01:30");
}

TEST(ProgressReporterTest, LossIsADebiasedMovingAverage) {
  Capture out;
  FakeClock clock;
  ProgressOptions o = PlainOptions(out, clock, 1);
  o.loss_smoothing = 0.5;
  ProgressReporter p(o);
  p.Start({.total_steps = 10, .epochs = 1});
  p.StartEpoch(1);
  p.Step(1, 4.0, 1);           // first value shown as is: 4
  p.Step(2, 1.0, 1);           // (0.5*0.5*4 + 0.5*1) / (1 - 0.25) = 2
  p.Step(3, std::nan(""), 1);  // a diverged step shows as nan ...
  p.Step(4, 1.0, 1);           // ... and is left out of the average: (0.25*4 + 0.25 + 0.5) / 0.875
  std::vector<std::string> loss;
  for (const std::string& line : out.Lines()) {
    const size_t at = line.find(" loss ") + 6;
    loss.push_back(line.substr(at, line.find(' ', at) - at));
  }
  EXPECT_EQ(loss, (std::vector<std::string>{"4", "2", "nan", "1.429"}));
}

TEST(ProgressReporterTest, EpochSummaryLossIsThePerExampleMean) {
  Capture out;
  FakeClock clock;
  ProgressReporter p(PlainOptions(out, clock, 1000));
  p.Start({.total_steps = 2, .epochs = 1});
  p.StartEpoch(1);
  p.Step(1, 1.0, 30);
  p.Step(2, 3.0, 10);  // a smaller last batch weighs less: (30 + 30) / 40 = 1.5
  p.EndEpoch();
  EXPECT_EQ(out.Lines().back(), "epoch 1/1 done in 00:00: loss 1.5");
}

TEST(ProgressReporterTest, QuietPrintsOnlyTheFinalResult) {
  Capture out;
  FakeClock clock;
  ProgressOptions o = PlainOptions(out, clock, 1);
  o.quiet = true;
  ProgressReporter p(o);
  p.Start({.total_steps = 3, .epochs = 1});
  p.StartEpoch(1);
  for (int s = 1; s <= 3; ++s) p.Step(s, 1.0, 1);
  p.Message("saved checkpoint");
  p.EndEpoch({{{"val_loss", 1.0}}});
  clock.now = 75;
  p.Finish({{{"test_loss", 0.5}}});
  EXPECT_EQ(out.Lines(),
            std::vector<std::string>{"done: epoch 1/1 step 3/3 in 01:15: test_loss 0.5"});
}

ProgressOptions LineOptions(Capture& out, FakeClock& clock) {
  ProgressOptions o;
  o.out = out.file();
  o.mode = ProgressOptions::Mode::kLine;  // a file stands in for the terminal
  o.color = ProgressOptions::Color::kOff;
  o.columns = 80;
  o.clock = clock.fn();
  return o;
}

// The visible text of each redraw: the pieces between '\r's, without escapes and newlines.
std::vector<std::string> Redraws(const std::string& text) {
  std::vector<std::string> out;
  for (const std::string& piece : std::vector<std::string>(absl::StrSplit(text, '\r'))) {
    std::string visible;
    for (size_t i = 0; i < piece.size(); ++i) {
      if (piece[i] == '\x1b') {
        while (i < piece.size() && !std::isalpha(static_cast<unsigned char>(piece[i]))) ++i;
        continue;
      }
      if (piece[i] == '\n') break;
      visible += piece[i];
    }
    if (!visible.empty()) out.push_back(visible);
  }
  return out;
}

TEST(ProgressReporterTest, LineModeRedrawsABarThrottled) {
  Capture out;
  FakeClock clock;
  ProgressReporter p(LineOptions(out, clock));
  ASSERT_TRUE(p.redraws_line());
  p.Start({.total_steps = 200, .epochs = 2});
  int64_t step = 0;
  for (int epoch = 1; epoch <= 2; ++epoch) {
    p.StartEpoch(epoch);
    for (int i = 0; i < 100; ++i) {
      clock.now += 0.01;  // 100 steps/s against at most 10 redraws/s
      p.Step(++step, 0.5, 8);
    }
    p.EndEpoch({{{"val_accuracy", 0.5}}});
  }
  const std::string text = out.Text();
  const std::vector<std::string> redraws = Redraws(text);
  // About 10 redraws per epoch-second, plus the forced ones at each epoch's end.
  EXPECT_GE(redraws.size(), 18u);
  EXPECT_LE(redraws.size(), 26u);
  for (const std::string& r : redraws) {
    if (r.rfind("epoch", 0) != 0 || r.find(" done ") != std::string::npos) continue;
    EXPECT_LE(r.size(), 79u) << r;
    EXPECT_NE(r.find('['), std::string::npos) << r;
  }
  EXPECT_NE(text.find("\x1b[K"), std::string::npos);  // clears what a longer line left
  // 80 columns leave a 27-wide bar next to this text; half of its inside is filled.
  EXPECT_NE(text.find("epoch 1/2 [############.............] 100/200 "), std::string::npos) << text;
  EXPECT_NE(text.find("100/200 loss 0.5 800 ex/s 00:01 eta 00:01\x1b[K\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\nepoch 1/2 done in 00:01: loss 0.5 val_accuracy 0.5\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("] 200/200 "), std::string::npos) << text;
  EXPECT_EQ(text.find("\x1b[32m"), std::string::npos);  // colour off
}

TEST(ProgressReporterTest, LineModeColourAndMessages) {
  Capture out;
  FakeClock clock;
  ProgressOptions o = LineOptions(out, clock);
  o.color = ProgressOptions::Color::kOn;
  {
    ProgressReporter p(o);
    p.Start({.total_steps = 10, .epochs = 1});
    p.StartEpoch(1);
    clock.now = 1;
    p.Step(5, 0.5, 1);
    p.Message("saved checkpoint step-5");
    clock.now = 2;
    p.Step(6, 0.5, 1);
  }  // destroyed with its line open: ends it with a newline
  const std::string text = out.Text();
  EXPECT_NE(text.find("\x1b[32m#####"), std::string::npos) << text;
  // The message clears the bar, takes its own line, and the bar comes back under it.
  EXPECT_NE(text.find("\r\x1b[Ksaved checkpoint step-5\n\repoch 1/1 ["), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
}

// A real terminal: auto mode must pick the redrawn line and the terminal's width.
TEST(ProgressReporterTest, PseudoTerminalIsDetected) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) {
    if (master >= 0) ::close(master);
    GTEST_SKIP() << "no pseudo-terminals here";
  }
  const int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(slave, 0);
  winsize ws{};
  ws.ws_col = 70;
  ws.ws_row = 24;
  ASSERT_EQ(::ioctl(slave, TIOCSWINSZ, &ws), 0);
  std::FILE* tty = ::fdopen(slave, "w");
  ASSERT_NE(tty, nullptr);

  const char* old_term = std::getenv("TERM");
  const std::optional<std::string> saved_term =
      old_term ? std::optional<std::string>(old_term) : std::nullopt;
  ::setenv("TERM", "xterm", 1);
  FakeClock clock;
  ProgressOptions o;
  o.out = tty;
  o.clock = clock.fn();
  o.color = ProgressOptions::Color::kOff;
  {
    ProgressReporter p(o);
    EXPECT_TRUE(p.redraws_line());
    p.Start({.total_steps = 1000, .epochs = 1});
    p.StartEpoch(1);
    clock.now = 1;
    p.Step(500, 0.25, 64);
  }
  if (saved_term)
    ::setenv("TERM", saved_term->c_str(), 1);
  else
    ::unsetenv("TERM");
  std::fclose(tty);

  std::string text;
  ::fcntl(master, F_SETFL, O_NONBLOCK);
  char buf[1024];
  ssize_t n;
  while ((n = ::read(master, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(master);
  const std::vector<std::string> redraws = Redraws(text);
  ASSERT_FALSE(redraws.empty()) << text;
  EXPECT_EQ(redraws[0].size(), 69u) << redraws[0];  // the bar grows to the terminal's width
  EXPECT_NE(redraws[0].find('['), std::string::npos) << redraws[0];
}

}  // namespace
}  // namespace hearth
