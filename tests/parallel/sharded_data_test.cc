// Workers that read only their own rows of IDX and .npy files: they train like one process
// reading everything (the preprocessing fitted across ranks included), hold only their share of
// the training examples, and resume mid-epoch on another number of workers bit for bit.
#include <cstring>
#include <filesystem>

#include "hearth/data/npy.h"
#include "parallel/parallel_test_util.h"

namespace hearth::testing {
namespace {

constexpr int kRows = 300;

// 300 examples of 4 features in 3 overlapping classes, like ThreeClassCsv, but with feature 0
// around 1000 and feature 2 around -50 so that standardize matters. Labels i % 3. With
// `categories`, feature 3 is instead a category i / 60 (0..4): the file's regions, so each
// worker's part of the training set sees only some of them.
void ThreeClassArrays(std::vector<float>* features, std::vector<int64_t>* labels,
                      bool categories = false) {
  uint64_t state = 777;
  auto uniform = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (int i = 0; i < kRows; ++i) {
    const int label = i % 3;
    features->push_back(static_cast<float>(1000 + 40 * (label * 0.8 + uniform() * 2 - 1)));
    features->push_back(static_cast<float>(uniform() * 2 - 1 + label * 0.3));
    features->push_back(static_cast<float>(-50 + 10 * uniform()));
    const double last = uniform() - label * 0.5;
    features->push_back(static_cast<float>(categories ? i / 60 : last));
    labels->push_back(label);
  }
}

void AppendBigEndian32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

// The same data as IDX: float32 features [300, 4] and uint8 labels [300], big-endian.
void WriteIdx(const std::string& images, const std::string& labels) {
  std::vector<float> x;
  std::vector<int64_t> y;
  ThreeClassArrays(&x, &y);
  std::string bytes = {0, 0, 0x0D, 2};
  AppendBigEndian32(&bytes, kRows);
  AppendBigEndian32(&bytes, 4);
  for (float v : x) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    AppendBigEndian32(&bytes, bits);
  }
  WriteFileOrFail(images, bytes);
  std::string label_bytes = {0, 0, 0x08, 1};
  AppendBigEndian32(&label_bytes, kRows);
  for (int64_t v : y) label_bytes.push_back(static_cast<char>(v));
  WriteFileOrFail(labels, label_bytes);
}

void WriteNpyPair(const std::string& features, const std::string& labels, bool categories = false) {
  std::vector<float> x;
  std::vector<int64_t> y;
  ThreeClassArrays(&x, &y, categories);
  ASSERT_TRUE(WriteNpy(features, Tensor::FromVector(x, Shape{kRows, 4})).ok());
  ASSERT_TRUE(WriteNpy(labels, Tensor::FromInt64(y, Shape{kRows})).ok());
}

// MlpJob's network and schedule (240 training rows after the 0.2 validation split, global batch
// 24: 10 steps per epoch, a checkpoint every 10) on array files, standardized unless
// `preprocessing` says otherwise. `test` is spliced into data (e.g. a test source), `extra` into
// the top level.
std::string ArrayJob(const std::string& x, const std::string& y, int epochs,
                     const std::string& test = "", const std::string& extra = "",
                     bool dropout = false,
                     const std::string& preprocessing = R"({"standardize": {}})") {
  return absl::StrFormat(R"({
  "name": "sharded-mlp", "task": "CLASSIFICATION", "seed": 5, %s
  "data": {"train": {"path": "%s", "labels_path": "%s"}, "validation_fraction": 0.2, %s
           "preprocessing": [%s]},
  "model": {"layers": [{"dense": {"units": 16, "activation": "RELU"}}, %s {"dense": {"units": 3}}]},
  "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
  "global_batch_size": 24, "epochs": %d,
  "metrics": ["accuracy", "f1_macro"],
  "checkpoint": {"every_steps": 10, "keep_last": 20}
})",
                         extra, x, y, test, preprocessing,
                         dropout ? R"({"dropout": {"rate": 0.2}},)" : "", epochs);
}

// Every preprocessing statistic of two checkpoints is bit-identical (and there is at least one).
::testing::AssertionResult SamePreprocessing(const Checkpoint& a, const Checkpoint& b) {
  int compared = 0;
  for (const NamedTensor& t : a.tensors) {
    if (t.name.rfind("preprocess.", 0) != 0) continue;
    const Tensor* other = b.Find(t.name);
    if (other == nullptr || other->shape() != t.tensor.shape() ||
        other->dtype() != t.tensor.dtype() ||
        std::memcmp(other->raw(), t.tensor.raw(), t.tensor.numel() * DTypeSize(t.tensor.dtype())) !=
            0)
      return ::testing::AssertionFailure() << t.name << " differs";
    ++compared;
  }
  if (compared == 0) return ::testing::AssertionFailure() << "no preprocessing statistics";
  return ::testing::AssertionSuccess();
}

class ShardedDataTest : public ::testing::Test {
 protected:
  // Trains `job_json` on `ranks` workers into <dir>/<name>; returns the command's result.
  CommandResult Train(const std::string& name, const std::string& job_json, int ranks,
                      const std::vector<std::string>& flags = {"--json"}) {
    const std::string job = dir_.file(name + ".json");
    WriteFileOrFail(job, job_json);
    std::vector<std::string> args = {"train", job, "--out", dir_.file(name)};
    args.insert(args.end(), flags.begin(), flags.end());
    CommandResult r = ranks == 1 ? RunHearth(args) : MpiHearth(ranks, args);
    EXPECT_EQ(r.exit_code, 0) << name << " on " << ranks << " ranks:\n" << r.out << r.err;
    return r;
  }

  TempDir dir_;
};

TEST_F(ShardedDataTest, NpyWorkersMatchOneProcessIncludingPreprocessingAndTestMetrics) {
  const std::string x = dir_.file("x.npy"), y = dir_.file("y.npy");
  const std::string tx = dir_.file("test_x.npy"), ty = dir_.file("test_y.npy");
  WriteNpyPair(x, y);
  WriteNpyPair(tx, ty);
  const std::string job =
      ArrayJob(x, y, 2, absl::StrFormat(R"("test": {"path": "%s", "labels_path": "%s"},)", tx, ty));
  const CommandResult one = Train("one", job, 1);
  const Checkpoint single = MustLoadCheckpoint(CheckpointFile(dir_.file("one"), 20));
  const std::optional<Json> single_json = ParseJson(one.out);
  ASSERT_TRUE(single_json) << one.out;
  for (int ranks : {2, 3}) {
    const std::string name = absl::StrFormat("n%d", ranks);
    const CommandResult many = Train(name, job, ranks);
    const Checkpoint c = MustLoadCheckpoint(CheckpointFile(dir_.file(name), 20));
    EXPECT_EQ(MetadataInt(c, "workers"), ranks);
    EXPECT_LE(MaxRelativeDifference(c, single), 1e-5) << ranks << " workers";
    // Fitted in parts across the ranks, yet exactly one process's statistics.
    EXPECT_TRUE(SamePreprocessing(c, single)) << ranks << " workers";
    const std::optional<Json> j = ParseJson(many.out);
    ASSERT_TRUE(j) << many.out;
    for (const char* set : {"validation_metrics", "test_metrics"})
      for (const char* metric : {"loss", "accuracy"})
        EXPECT_NEAR((*j)[set][metric].number, (*single_json)[set][metric].number, 1e-4)
            << ranks << " workers, " << set << " " << metric;
  }
}

TEST_F(ShardedDataTest, OneHotCategoriesAndMinMaxAreFittedOverEveryWorkersPart) {
  const std::string x = dir_.file("x.npy"), y = dir_.file("y.npy");
  WriteNpyPair(x, y, /*categories=*/true);
  const std::string job =
      ArrayJob(x, y, 1, "", "", false, R"({"one_hot": {"columns": [3]}}, {"min_max": {}})");
  Train("one", job, 1, {"--quiet"});
  Train("three", job, 3, {"--quiet"});
  const Checkpoint single = MustLoadCheckpoint(CheckpointFile(dir_.file("one"), 10));
  const Checkpoint three = MustLoadCheckpoint(CheckpointFile(dir_.file("three"), 10));
  // All five categories, though each worker's part of the file holds only some of them.
  const Tensor* counts = three.Find("preprocess.0.onehot.counts");
  ASSERT_NE(counts, nullptr);
  EXPECT_EQ(counts->i64()[0], 5);
  EXPECT_TRUE(SamePreprocessing(three, single));
  EXPECT_LE(MaxRelativeDifference(three, single), 1e-5);
}

TEST_F(ShardedDataTest, EachWorkerHoldsOnlyItsShareOfTheTrainingExamples) {
  const std::string x = dir_.file("x.npy"), y = dir_.file("y.npy");
  WriteNpyPair(x, y);
  // 240 training examples per epoch, split into blocks of every global batch of 24.
  for (int ranks : {2, 3}) {
    const CommandResult r = Train(absl::StrFormat("r%d", ranks), ArrayJob(x, y, 1), ranks, {});
    EXPECT_TRUE(Contains(r.out + r.err,
                         absl::StrFormat("rank 0 reads only its own rows: %d of 240 training "
                                         "examples resident for epoch 1",
                                         240 / ranks)))
        << r.out << r.err;
    // The start-of-run message says how the gradients are averaged.
    EXPECT_TRUE(Contains(r.out + r.err, "per epoch; gradients: ")) << r.out << r.err;
  }
  // One process reads the file whole and says nothing of the kind.
  const CommandResult single = Train("r1", ArrayJob(x, y, 1), 1, {});
  EXPECT_FALSE(Contains(single.out + single.err, "reads only its own rows"));
}

TEST_F(ShardedDataTest, IdxRunStoppedOnTwoWorkersResumesOnFourBitForBit) {
  const std::string x = dir_.file("train-images-idx2-ubyte");
  const std::string y = dir_.file("train-labels-idx1-ubyte");
  WriteIdx(x, y);
  std::string spec = ArrayJob(x, y, 3, "", R"("deterministic": true,)", /*dropout=*/true);
  spec.replace(spec.find("\"every_steps\": 10"), 17, "\"every_steps\": 7");
  Train("straight", spec, 1, {"--quiet"});
  const std::string run = dir_.file("resumed");
  Train("resumed", spec, 2, {"--quiet"});
  // Roll the 2-worker run back to its mid-epoch checkpoint at step 14 (epoch 2, batch 4).
  for (const char* later : {"ckpt-20", "ckpt-21", "ckpt-28", "ckpt-30", "ckpt-7", "ckpt-10"})
    std::filesystem::remove(run + "/" + later + ".safetensors");
  std::filesystem::remove(run + "/checkpoints.json");
  const std::string job = dir_.file("resumed.json");
  const CommandResult resumed = MpiHearth(4, {"train", job, "--resume", run});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_TRUE(Contains(resumed.out + resumed.err, "resuming")) << resumed.err;
  // The rest of epoch 2 only: batches 4..9 of 24 examples, 6 per worker.
  EXPECT_TRUE(
      Contains(resumed.out + resumed.err, "36 of 240 training examples resident for epoch 2"))
      << resumed.out << resumed.err;
  EXPECT_TRUE(SameTensorBits(MustLoadCheckpoint(CheckpointFile(run, 30)),
                             MustLoadCheckpoint(CheckpointFile(dir_.file("straight"), 30))));
}

}  // namespace
}  // namespace hearth::testing
