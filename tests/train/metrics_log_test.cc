// metrics.jsonl: the line format, number and string encoding, append/resume behaviour and the
// reader's handling of torn and bad lines.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "ckpt/temp_dir.h"
#include "hearth/report.h"
#include "train/report_text.h"

namespace hearth {
namespace {

using testing::TempDir;

std::string Json(double v) {
  std::string out;
  report::AppendJsonNumber(out, v);
  return out;
}

TEST(MetricsLogTest, NumbersAreShortAndRoundTrip) {
  EXPECT_EQ(Json(0.4213f), "0.4213");  // a float32 loss, not 0.42130002379417419
  EXPECT_EQ(Json(0.1), "0.1");
  EXPECT_EQ(Json(0.1 + 0.2), "0.30000000000000004");  // a double keeps all its digits
  EXPECT_EQ(Json(3.0), "3.0");  // stays a float, not an integer, on the way back
  EXPECT_EQ(Json(-0.0), "-0.0");
  EXPECT_EQ(Json(1e20), "1e+20");
  EXPECT_EQ(Json(1e300), "1e+300");
  EXPECT_EQ(Json(std::nan("")), "null");
  EXPECT_EQ(Json(INFINITY), "null");
  EXPECT_EQ(Json(-INFINITY), "null");
  for (const double v : {0.1, 1.0 / 3, 123456.789, 1e-30, 8123.4, 5e-324}) {
    EXPECT_EQ(std::strtod(Json(v).c_str(), nullptr), v) << Json(v);
  }
  const float f = 0.1f / 3;
  EXPECT_EQ(std::strtof(Json(f).c_str(), nullptr), f) << Json(f);
}

TEST(MetricsLogTest, StandardRecordsHaveTheDocumentedShape) {
  const StepRecord step{.step = 100,
                        .epoch = 1,
                        .loss = 0.41,
                        .lr = 0.05,
                        .examples_per_second = 8123.4,
                        .time = 12.3};
  EXPECT_EQ(step.ToRecord().ToJson(),
            R"({"type":"step","step":100,"epoch":1,"loss":0.41,"lr":0.05,)"
            R"("examples_per_second":8123.4,"time":12.3})");
  const EpochRecord epoch{.epoch = 1,
                          .step = 375,
                          .train_loss = 0.3,
                          .metrics = {{"val_loss", 0.2}, {"val_accuracy", 0.95}},
                          .time = 40.5};
  EXPECT_EQ(epoch.ToRecord().ToJson(),
            R"({"type":"epoch","epoch":1,"step":375,"train_loss":0.3,"val_loss":0.2,)"
            R"("val_accuracy":0.95,"time":40.5})");
}

TEST(MetricsLogTest, SetReplacesAndKeepsOrder) {
  MetricsRecord r;
  r.SetInt("a", 1).SetNumber("b", 2.5).SetInt("a", 3);
  EXPECT_EQ(r.ToJson(), R"({"a":3,"b":2.5})");
  EXPECT_EQ(r.Number("a"), 3.0);
  EXPECT_TRUE(std::isnan(r.Number("missing")));
  EXPECT_EQ(r.String("a"), std::nullopt);
  EXPECT_EQ(r.type(), "");
}

TEST(MetricsLogTest, WriteReadRoundTripWithEscapesAndNonFinite) {
  TempDir tmp;
  const std::string path = tmp.file(kMetricsLogName);
  MetricsRecord special;
  special.SetString("type", "note")
      .SetString("text",
                 "quote\" backslash\\ newline\n tab\t bell\x07 slash/ caf\xc3\xa9 \xf0\x9f\x94\xa5")
      .SetString("key \"with\" quotes", "v")
      .SetBool("flag", true)
      .SetNull("nothing")
      .SetInt("big", std::numeric_limits<int64_t>::max())
      .SetInt("negative", -42)
      .SetNumber("tiny", 1e-30)
      .SetNumber("whole", 3.0);
  MetricsRecord non_finite;
  non_finite.SetString("type", "step").SetNumber("loss", std::nan("")).SetNumber("lr", INFINITY);
  MetricsRecord float32;
  float32.SetNumber("loss", 0.4213f);
  {
    auto writer = MetricsLogWriter::Open(path);
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE((*writer)->Append(special).ok());
    ASSERT_TRUE((*writer)->Append(non_finite).ok());
    ASSERT_TRUE((*writer)->Append(float32).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }
  const std::string text = Env::Default().ReadFile(path).value();
  EXPECT_NE(text.find(R"("loss":null,"lr":null})"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(bell\u0007)"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);  // the escaped newline stays escaped

  auto records = ReadMetricsLog(path);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0], special);
  MetricsRecord expected_non_finite;
  expected_non_finite.SetString("type", "step").SetNull("loss").SetNull("lr");
  EXPECT_EQ((*records)[1], expected_non_finite);
  EXPECT_TRUE(std::isnan((*records)[1].Number("loss")));
  // Written as the float's shortest text, so it is that float again once narrowed.
  EXPECT_EQ(static_cast<float>((*records)[2].Number("loss")), 0.4213f);
}

TEST(MetricsLogTest, InvalidUtf8IsRepairedSoTheLogStaysReadable) {
  MetricsRecord r;
  r.SetString("name\xff", "bad \xc3 end");
  auto back = ParseMetricsLog(r.ToJson() + "\n");
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].String("name\xef\xbf\xbd"), "bad \xef\xbf\xbd end");
}

TEST(MetricsLogTest, EachLineIsOnDiskBeforeClose) {
  TempDir tmp;
  const std::string path = tmp.file(kMetricsLogName);
  auto writer = MetricsLogWriter::Open(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append(StepRecord{.step = 1}.ToRecord()).ok());
  // Another reader (a tail -f, or a crash right now) already sees the whole line.
  EXPECT_EQ(ReadMetricsLog(path).value().size(), 1u);
  ASSERT_TRUE((*writer)->Sync().ok());
}

TEST(MetricsLogTest, ReopeningAppends) {
  TempDir tmp;
  const std::string path = tmp.file(kMetricsLogName);
  for (int64_t step : {1, 2, 3}) {
    auto writer = MetricsLogWriter::Open(path);
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE((*writer)->Append(StepRecord{.step = step}.ToRecord()).ok());
  }
  const std::vector<MetricsRecord> records = ReadMetricsLog(path).value();
  ASSERT_EQ(records.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(records[i].Number("step"), i + 1);
}

TEST(MetricsLogTest, ReopeningCutsATornLastLine) {
  TempDir tmp;
  const std::string path = tmp.file(kMetricsLogName);
  ASSERT_TRUE(Env::Default()
                  .WriteFileAtomically(path, "{\"type\":\"step\",\"step\":1}\n{\"type\":\"st")
                  .ok());
  // The reader drops the torn line rather than failing ...
  EXPECT_EQ(ReadMetricsLog(path).value().size(), 1u);
  {
    auto writer = MetricsLogWriter::Open(path);
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE((*writer)->Append(StepRecord{.step = 2}.ToRecord()).ok());
  }
  // ... and the writer removes it, so the next record is not glued to it.
  const std::string text = Env::Default().ReadFile(path).value();
  EXPECT_EQ(text.find("\"st\""), std::string::npos) << text;
  const std::vector<MetricsRecord> records = ReadMetricsLog(path).value();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].Number("step"), 2);
}

TEST(MetricsLogTest, ReopeningAFileWithNoCompleteLineEmptiesIt) {
  TempDir tmp;
  const std::string path = tmp.file(kMetricsLogName);
  ASSERT_TRUE(Env::Default().WriteFileAtomically(path, std::string(10000, 'x')).ok());
  ASSERT_TRUE(MetricsLogWriter::Open(path).ok());
  EXPECT_EQ(Env::Default().ReadFile(path).value(), "");
}

TEST(MetricsLogTest, ReaderSkipsBlankLinesAndAcceptsCrLf) {
  auto records = ParseMetricsLog("\n{\"a\":1}\r\n   \n{\"b\":2.5}");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);  // a complete last line without '\n' is kept
  EXPECT_EQ((*records)[1].Number("b"), 2.5);
}

TEST(MetricsLogTest, BadLineNamesFileAndLine) {
  const Status s = ParseMetricsLog("{\"a\":1}\n{\"a\":\n{\"b\":2}\n", "run/metrics.jsonl").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("run/metrics.jsonl:2:"), std::string::npos) << s;
  EXPECT_NE(s.message().find("fix or delete the line"), std::string::npos) << s;
}

TEST(MetricsLogTest, NestedValuesAndNonObjectsAreRejected) {
  EXPECT_FALSE(ParseMetricsLog("{\"a\":[1,2]}\n").ok());
  EXPECT_FALSE(ParseMetricsLog("{\"a\":{\"b\":1}}\n").ok());
  EXPECT_FALSE(ParseMetricsLog("[1]\n").ok());
  EXPECT_FALSE(ParseMetricsLog("{\"a\":1e999}\n").ok());
}

TEST(MetricsLogTest, IntegersAndFloatsKeepTheirKind) {
  auto records = ParseMetricsLog("{\"i\":7,\"f\":7.0,\"e\":7e0,\"huge\":99999999999999999999}\n");
  ASSERT_TRUE(records.ok()) << records.status();
  const MetricsRecord& r = (*records)[0];
  EXPECT_TRUE(std::holds_alternative<int64_t>(*r.Find("i")));
  EXPECT_TRUE(std::holds_alternative<double>(*r.Find("f")));
  EXPECT_TRUE(std::holds_alternative<double>(*r.Find("e")));
  EXPECT_TRUE(std::holds_alternative<double>(*r.Find("huge")));  // past int64: a double
  EXPECT_EQ(r.Number("huge"), 1e20);
}

TEST(MetricsLogTest, OpenInMissingDirectoryNamesThePath) {
  TempDir tmp;
  const std::string path = tmp.file("no/such/dir/metrics.jsonl");
  const Status s = MetricsLogWriter::Open(path).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find(path), std::string::npos) << s;
}

TEST(MetricsLogTest, ReadMissingFileIsNotFound) {
  TempDir tmp;
  EXPECT_EQ(ReadMetricsLog(tmp.file("metrics.jsonl")).status().code(), absl::StatusCode::kNotFound);
}

TEST(MetricsLogTest, FullDiskIsResourceExhausted) {
  auto writer = MetricsLogWriter::Open("/dev/full");  // every write fails with ENOSPC
  if (!writer.ok()) GTEST_SKIP() << "no writable /dev/full: " << writer.status();
  const Status s = (*writer)->Append(StepRecord{.step = 1}.ToRecord());
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("/dev/full"), std::string::npos) << s;
}

TEST(MetricsLogTest, AppendAfterCloseFails) {
  TempDir tmp;
  auto writer = MetricsLogWriter::Open(tmp.file(kMetricsLogName));
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ((*writer)->Append(MetricsRecord()).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace hearth
