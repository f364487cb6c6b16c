// The SVG training curves: axis arithmetic, well-formed XML, the series a run's log produces, and
// the edge cases (no data, one point, constant values, gaps, odd names, long runs, resumes).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/temp_dir.h"
#include "hearth/report.h"
#include "train/svg_plot.h"

namespace hearth {
namespace {

using testing::TempDir;

// A small well-formedness check, so the test does not need an XML library: tags balance, there
// is one root, attribute values are quoted, and text and attributes hold no raw '<' and no '&'
// that does not start an entity. Returns "" or the first problem.
std::string CheckXml(std::string_view s) {
  std::vector<std::string> open;
  int roots = 0;
  size_t i = 0;
  auto entity_ok = [&](size_t at) {
    for (const std::string_view e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"})
      if (s.substr(at, e.size()) == e) return true;
    return false;
  };
  auto is_name = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == '_';
  };
  while (i < s.size()) {
    if (s[i] != '<') {
      if (s[i] == '&' && !entity_ok(i)) return "bare & at " + std::to_string(i);
      if (open.empty() && !std::isspace(static_cast<unsigned char>(s[i])))
        return "text outside the root at " + std::to_string(i);
      ++i;
      continue;
    }
    if (s.substr(i, 2) == "<?") {
      const size_t end = s.find("?>", i);
      if (end == std::string_view::npos) return "unterminated <?";
      i = end + 2;
      continue;
    }
    if (s.substr(i, 2) == "</") {
      size_t j = i + 2;
      while (j < s.size() && is_name(s[j])) ++j;
      const std::string name(s.substr(i + 2, j - i - 2));
      if (j >= s.size() || s[j] != '>') return "bad end tag at " + std::to_string(i);
      if (open.empty() || open.back() != name) return "mismatched </" + name + ">";
      open.pop_back();
      i = j + 1;
      continue;
    }
    size_t j = i + 1;
    while (j < s.size() && is_name(s[j])) ++j;
    const std::string name(s.substr(i + 1, j - i - 1));
    if (name.empty()) return "bare < at " + std::to_string(i);
    if (open.empty() && ++roots > 1) return "a second root element <" + name + ">";
    for (;;) {
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j >= s.size()) return "unterminated <" + name;
      if (s.substr(j, 2) == "/>") {
        i = j + 2;
        break;
      }
      if (s[j] == '>') {
        open.push_back(name);
        i = j + 1;
        break;
      }
      const size_t attr = j;
      while (j < s.size() && is_name(s[j])) ++j;
      if (j == attr || s.substr(j, 2) != "=\"")
        return "bad attribute in <" + name + "> at " + std::to_string(attr);
      const size_t close = s.find('"', j + 2);
      if (close == std::string_view::npos) return "unterminated attribute value";
      for (size_t k = j + 2; k < close; ++k) {
        if (s[k] == '<') return "raw < in an attribute at " + std::to_string(k);
        if (s[k] == '&' && !entity_ok(k)) return "bare & in an attribute at " + std::to_string(k);
      }
      j = close + 1;
    }
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  if (roots != 1) return "no root element";
  return "";
}

size_t Count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

// No coordinate or label may come out as nan or inf.
void ExpectFiniteNumbers(const std::string& svg) {
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

MetricsRecord Step(int64_t step, double loss, double lr = 0.1) {
  return StepRecord{.step = step, .epoch = 1, .loss = loss, .lr = lr}.ToRecord();
}

// A typical run: 3 epochs of 100 steps, the loss falling from 2.3 to about 0.01, a decaying
// learning rate, and validation loss and accuracy per epoch.
std::vector<MetricsRecord> TypicalRun() {
  std::vector<MetricsRecord> records;
  int64_t step = 0;
  for (int epoch = 1; epoch <= 3; ++epoch) {
    for (int i = 0; i < 100; ++i) {
      ++step;
      const double loss = 2.3 * std::exp(-step / 55.0) * (1 + 0.15 * std::sin(step * 1.7));
      records.push_back(StepRecord{.step = step,
                                   .epoch = epoch,
                                   .loss = loss,
                                   .lr = 0.05 * (1 + std::cos(M_PI * step / 300.0)) / 2,
                                   .examples_per_second = 8000,
                                   .time = step * 0.01}
                            .ToRecord());
    }
    records.push_back(EpochRecord{.epoch = epoch,
                                  .step = step,
                                  .train_loss = 2.3 * std::exp(-step / 60.0),
                                  .metrics = {{"val_loss", 2.0 * std::exp(-step / 70.0)},
                                              {"val_accuracy", 0.7 + 0.08 * epoch},
                                              {"val_f1_macro", 0.65 + 0.09 * epoch}},
                                  .time = step * 0.01}
                          .ToRecord());
  }
  return records;
}

TEST(SvgTicksTest, NiceSteps) {
  const plot::Ticks t = plot::NiceTicks(0, 1, 5, false);
  EXPECT_DOUBLE_EQ(t.step, 0.2);
  ASSERT_EQ(t.values.size(), 6u);
  EXPECT_DOUBLE_EQ(t.values[3], 0.6000000000000001);
  const plot::Ticks steps = plot::NiceTicks(1, 1125, 10, true);
  EXPECT_EQ(steps.step, 200);
  EXPECT_EQ(steps.lo, 0);
  EXPECT_EQ(steps.hi, 1200);
  const plot::Ticks neg = plot::NiceTicks(-0.37, 0.81, 6, false);
  EXPECT_LE(neg.lo, -0.37);
  EXPECT_GE(neg.hi, 0.81);
  EXPECT_EQ(neg.values[std::lround(-neg.lo / neg.step)], 0.0);  // an exact zero tick
}

TEST(SvgTicksTest, IntegerAxesStepAtLeastOne) {
  const plot::Ticks epochs = plot::NiceTicks(1, 3, 10, true);
  EXPECT_EQ(epochs.step, 1);
  EXPECT_EQ(epochs.values, (std::vector<double>{1, 2, 3}));
}

TEST(SvgTicksTest, DegenerateRanges) {
  const plot::Ticks constant = plot::NiceTicks(5, 5, 5, false);
  EXPECT_LT(constant.lo, 5);
  EXPECT_GT(constant.hi, 5);
  const plot::Ticks zero = plot::NiceTicks(0, 0, 5, false);
  EXPECT_EQ(zero.lo, -1);
  EXPECT_EQ(zero.hi, 1);
  const plot::Ticks one_epoch = plot::NiceTicks(1, 1, 5, true);
  EXPECT_EQ(one_epoch.values, (std::vector<double>{0, 1, 2}));
  const plot::Ticks bad = plot::NiceTicks(NAN, INFINITY, 5, false);
  EXPECT_EQ(bad.lo, 0);
  EXPECT_EQ(bad.hi, 1);
  const plot::Ticks overflow = plot::NiceTicks(-1e308, 1e308, 5, false);
  EXPECT_EQ(overflow.hi, 1);
  const plot::Ticks one = plot::NiceTicks(-1, 1, 1, false);  // ends, with at least 2 intervals
  EXPECT_EQ(one.values.size(), 3u);
  const plot::Ticks tiny = plot::NiceTicks(1e-300, 3e-300, 5, false);
  EXPECT_GT(tiny.values.size(), 2u);
}

TEST(SvgTicksTest, LogDecades) {
  const plot::Ticks t = plot::LogTicks(0.012, 2.3);
  EXPECT_EQ(t.values, (std::vector<double>{0.01, 0.1, 1, 10}));
  EXPECT_EQ(plot::LogTicks(0.5, 0.5).values, (std::vector<double>{0.1, 1}));
  EXPECT_LE(plot::LogTicks(1e-20, 1e20).values.size(), 9u);  // wide ranges skip decades
}

TEST(SvgTicksTest, Labels) {
  EXPECT_EQ(plot::FormatTick(0.2, 0.2, 1), "0.2");
  EXPECT_EQ(plot::FormatTick(0.05, 0.05, 1), "0.05");
  EXPECT_EQ(plot::FormatTick(1e-17, 0.2, 1), "0");
  EXPECT_EQ(plot::FormatTick(1200, 200, 1200), "1200");
  EXPECT_EQ(plot::FormatTick(20000, 5000, 40000), "20k");
  EXPECT_EQ(plot::FormatTick(12500, 2500, 25000), "12.5k");
  EXPECT_EQ(plot::FormatTick(3e6, 1e6, 5e6), "3M");
  EXPECT_EQ(plot::FormatTick(1.5e6, 5e5, 2e6), "1.5M");
  EXPECT_EQ(plot::FormatTick(7.5, 2.5, 10), "7.5");
  EXPECT_EQ(plot::FormatTick(3e-5, 1e-5, 5e-5), "3e-05");
  EXPECT_EQ(plot::FormatLogTick(-3), "0.001");
  EXPECT_EQ(plot::FormatLogTick(4), "10000");
  EXPECT_EQ(plot::FormatLogTick(-5), "1e-5");
}

TEST(SvgTextTest, Escaping) {
  EXPECT_EQ(plot::XmlEscape("a<b&\"c'>\x01\xff"), "a&lt;b&amp;&quot;c&apos;&gt;?\xef\xbf\xbd");
  EXPECT_EQ(plot::XmlEscape("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(SvgCurvesTest, TypicalRunHasEveryPanelAndSeries) {
  const std::string svg = RenderTrainingCurves(TypicalRun(), {.title = "mnist-mlp"});
  EXPECT_EQ(CheckXml(svg), "");
  ExpectFiniteNumbers(svg);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg.find(">mnist-mlp</text>"), std::string::npos);
  EXPECT_EQ(Count(svg, "class=\"panel\""), 3u);
  for (const char* name : {"loss", "train_loss", "val_loss", "val_accuracy", "val_f1_macro", "lr"})
    EXPECT_EQ(Count(svg, std::string("data-name=\"") + name + "\""), 1u) << name;
  for (const char* title : {">Loss<", ">Metrics per epoch<", ">Learning rate<"})
    EXPECT_NE(svg.find(title), std::string::npos) << title;
  // 2.3 down to ~0.01 spans over two decades: the loss axis is logarithmic.
  EXPECT_NE(svg.find("loss (log scale)"), std::string::npos);
  EXPECT_NE(svg.find(">0.01</text>"), std::string::npos);
  // Epoch series carry a marker per epoch.
  EXPECT_GE(Count(svg, "<circle"), 12u);
}

TEST(SvgCurvesTest, LogScaleOnlyWhenTheRangeCallsForIt) {
  std::vector<MetricsRecord> records;
  for (int s = 1; s <= 50; ++s) records.push_back(Step(s, 1.0 - s * 0.01));
  EXPECT_EQ(RenderTrainingCurves(records).find("log scale"), std::string::npos);
  EXPECT_NE(RenderTrainingCurves(records, {.loss_log_scale = CurvesOptions::LogScale::kOn})
                .find("log scale"),
            std::string::npos);
  records.push_back(Step(51, -0.5));  // a negative loss (e.g. a log-likelihood) has no logarithm
  for (int s = 52; s <= 60; ++s) records.push_back(Step(s, 1e-4));
  EXPECT_EQ(RenderTrainingCurves(records).find("log scale"), std::string::npos);
}

TEST(SvgCurvesTest, NoDataStillMakesAValidImage) {
  const std::string svg = RenderTrainingCurves({});
  EXPECT_EQ(CheckXml(svg), "");
  EXPECT_NE(svg.find("No data to plot"), std::string::npos);
  EXPECT_EQ(svg.find("class=\"panel\""), std::string::npos);
  // Records without numbers are no data either.
  MetricsRecord note;
  note.SetString("type", "note").SetString("text", "started");
  const std::vector<MetricsRecord> only_nulls = {note, Step(1, NAN)};
  EXPECT_NE(RenderTrainingCurves(only_nulls).find("No data to plot"), std::string::npos);
}

TEST(SvgCurvesTest, SinglePointIsAMarker) {
  const std::vector<MetricsRecord> records = {Step(1, 0.7)};
  const std::string svg = RenderTrainingCurves(records);
  EXPECT_EQ(CheckXml(svg), "");
  ExpectFiniteNumbers(svg);
  EXPECT_EQ(Count(svg, "<circle"), 1u);
  EXPECT_EQ(Count(svg, "class=\"panel\""), 1u);  // a constant lr gets no panel
}

TEST(SvgCurvesTest, ConstantSeries) {
  std::vector<MetricsRecord> records;
  for (int s = 1; s <= 10; ++s) records.push_back(Step(s, 1.0));
  const std::string svg = RenderTrainingCurves(records);
  EXPECT_EQ(CheckXml(svg), "");
  ExpectFiniteNumbers(svg);
  EXPECT_EQ(Count(svg, "<path d=\"M"), 1u);
  EXPECT_NE(svg.find(">1.00</text>"), std::string::npos);  // the axis is built around the value
}

TEST(SvgCurvesTest, NullsAreGaps) {
  std::vector<MetricsRecord> records;
  for (int s = 1; s <= 20; ++s) records.push_back(Step(s, s == 10 ? NAN : 1.0 / s));
  const std::string svg = RenderTrainingCurves(records);
  EXPECT_EQ(CheckXml(svg), "");
  ExpectFiniteNumbers(svg);
  const size_t path = svg.find("<path d=\"");
  ASSERT_NE(path, std::string::npos);
  const std::string d = svg.substr(path, svg.find('"', path + 9) - path);
  EXPECT_EQ(Count(d, "M"), 2u) << d;  // the line breaks at the null
  EXPECT_EQ(Count(d, "L"), 17u) << d;
}

TEST(SvgCurvesTest, NamesAreEscaped) {
  MetricsRecord epoch = EpochRecord{.epoch = 1, .step = 10, .train_loss = 0.5}.ToRecord();
  epoch.SetNumber("val_<acc>&\"x\"", 0.9);
  const std::vector<MetricsRecord> records = {epoch};
  const std::string svg = RenderTrainingCurves(records, {.title = "run <1> & \"2\""});
  EXPECT_EQ(CheckXml(svg), "");
  EXPECT_NE(svg.find("val_&lt;acc&gt;&amp;&quot;x&quot;"), std::string::npos);
  EXPECT_NE(svg.find("run &lt;1&gt; &amp; &quot;2&quot;"), std::string::npos);
}

TEST(SvgCurvesTest, ResumedStepsKeepTheLaterValue) {
  std::vector<MetricsRecord> records;
  for (int s = 1; s <= 10; ++s) records.push_back(Step(s, 1.0));
  for (int s = 6; s <= 10; ++s) records.push_back(Step(s, 2.0));  // redone after a resume
  const std::string svg = RenderTrainingCurves(records);
  const size_t path = svg.find("<path d=\"");
  const std::string d = svg.substr(path, svg.find('"', path + 9) - path);
  EXPECT_EQ(Count(d, "L"), 9u) << d;  // 10 points, not 15 zig-zagging back
}

TEST(SvgCurvesTest, LongRunsAreThinnedButKeepSpikes) {
  std::vector<MetricsRecord> records;
  for (int s = 1; s <= 200000; ++s) records.push_back(Step(s, s == 123457 ? 9.0 : 1.5));
  const std::string svg =
      RenderTrainingCurves(records, {.loss_log_scale = CurvesOptions::LogScale::kOff});
  EXPECT_EQ(CheckXml(svg), "");
  EXPECT_LT(svg.size(), 200000u);
  EXPECT_NE(svg.find(">10</text>"), std::string::npos);  // the axis still reaches the spike
  EXPECT_NE(svg.find(">200k</text>"), std::string::npos);
}

TEST(SvgCurvesTest, WritesAtomicallyAndReportsErrors) {
  TempDir tmp;
  const std::string path = tmp.file("curves.svg");
  ASSERT_TRUE(WriteTrainingCurves(TypicalRun(), path).ok());
  EXPECT_EQ(Env::Default().ReadFile(path).value(), RenderTrainingCurves(TypicalRun()));
  EXPECT_EQ(Env::Default().ListDir(tmp.path()).value(), std::vector<std::string>{"curves.svg"});
  const std::string bad = tmp.file("missing/curves.svg");
  const Status s = WriteTrainingCurves(TypicalRun(), bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("training curves"), std::string::npos) << s;
  EXPECT_NE(s.message().find(tmp.file("missing")), std::string::npos) << s;
}

// The real XML parser, when the machine has one.
TEST(SvgCurvesTest, XmllintAcceptsTheImage) {
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0) GTEST_SKIP() << "no xmllint";
  TempDir tmp;
  std::vector<MetricsRecord> records = TypicalRun();
  MetricsRecord odd = EpochRecord{.epoch = 4, .step = 301, .train_loss = NAN}.ToRecord();
  odd.SetNumber("val_<odd> & \"name\" \xff", 0.5);
  records.push_back(odd);
  for (const auto& [name, rs] : std::vector<std::pair<std::string, std::vector<MetricsRecord>>>{
           {"typical.svg", records}, {"empty.svg", {}}, {"one.svg", {Step(1, 0.5)}}}) {
    const std::string path = tmp.file(name);
    ASSERT_TRUE(WriteTrainingCurves(rs, path).ok());
    EXPECT_EQ(std::system(("xmllint --noout '" + path + "'").c_str()), 0) << name;
  }
}

}  // namespace
}  // namespace hearth
