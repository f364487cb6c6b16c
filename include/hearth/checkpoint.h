// Checkpoints: model weights plus training state in one safetensors file, written atomically.
//
// The file format is public (docs/checkpoint-format.md): an 8-byte little-endian header length, a
// JSON header naming every tensor's dtype, shape and byte range plus string metadata, then the raw
// little-endian tensor bytes. The Python `safetensors` package and a 20-line numpy reader
// (tests/ckpt/read_safetensors.py) both read it.
//
// Tensor names: model parameters under their own names ("0.weight"); training state under
// reserved prefixes: "optim.<param>.<slot>" (optimizer moments), "preprocess.<name>"
// (normalisation statistics). Metadata: see the ckpt_keys constants below.
//
// Reading never trusts the file: a truncated, corrupt or foreign file gives a DataLoss (damaged)
// or InvalidArgument (valid but unsupported, e.g. float16) Status naming the file and the
// problem, never a crash. CRC-32 checksums of the data section and of the header detect silent
// bit flips.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/env.h"
#include "hearth/random.h"
#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth {

// Well-known metadata keys. Metadata values are strings (the safetensors spec requires it).
namespace ckpt_keys {
inline constexpr char kStep[] = "step";                     // global optimizer step, decimal
inline constexpr char kEpoch[] = "epoch";                   // epochs completed, decimal
inline constexpr char kBatchInEpoch[] = "batch_in_epoch";   // batches done in the current epoch
inline constexpr char kRngState[] = "rng_state";            // EncodeGeneratorState()
inline constexpr char kModelSpec[] = "model_spec";          // the model's JSON spec
inline constexpr char kClassNames[] = "class_names";        // JSON array of strings
inline constexpr char kHearthVersion[] = "hearth_version";  // e.g. "0.1.0"
// Written by SaveCheckpoint itself; any value the caller puts under these keys is replaced.
inline constexpr char kFormatVersion[] = "hearth.format_version";  // "1"
// CRC-32 (zlib) of the data section, 8 lowercase hex digits: catches flipped bits in the weights.
inline constexpr char kDataCrc32[] = "hearth.data_crc32";
// CRC-32 of the canonical header JSON without this key (docs/checkpoint-format.md): catches
// damage to names, shapes and metadata that still parses.
inline constexpr char kHeaderCrc32[] = "hearth.header_crc32";
}  // namespace ckpt_keys

// Reserved tensor-name prefixes for training state (a model may not name a parameter this way).
inline constexpr char kOptimizerStatePrefix[] = "optim.";
inline constexpr char kPreprocessStatePrefix[] = "preprocess.";

struct Checkpoint {
  // Stored in this order. Names must be unique, non-empty UTF-8 and not "__metadata__".
  std::vector<NamedTensor> tensors;
  std::map<std::string, std::string> metadata;

  // The tensor called `name`, or nullptr.
  const Tensor* Find(std::string_view name) const;
};

// True for model weights, false for training state under the reserved prefixes.
bool IsModelWeightName(std::string_view name);

// The complete file contents. SaveCheckpoint streams the same bytes without this extra copy.
StatusOr<std::string> SerializeCheckpoint(const Checkpoint& checkpoint);
// Parses file contents; `source` (usually the path) names the file in errors. Tensors come back in
// file order and own their memory.
StatusOr<Checkpoint> ParseCheckpoint(std::string_view bytes, std::string_view source);

// Atomic: on any failure the file at `path` is left as it was (see Env::WriteFileAtomically).
// Errors: InvalidArgument for a bad checkpoint (duplicate name, non-UTF-8 text), or the Env's
// error.
Status SaveCheckpoint(Env& env, const std::string& path, const Checkpoint& checkpoint);
StatusOr<Checkpoint> LoadCheckpoint(Env& env, const std::string& path);
// Reads and fully validates the file (structure and checksum) without building tensors.
Status VerifyCheckpoint(Env& env, const std::string& path);

// Generator state <-> metadata string ("xoshiro256ss:<s0>,<s1>,<s2>,<s3>,<has_spare>,<spare bits>",
// hex), exact to the bit so a resumed run draws the same numbers.
std::string EncodeGeneratorState(const Generator::State& state);
StatusOr<Generator::State> DecodeGeneratorState(std::string_view text);

// ---------------------------------------------------------------------------------------------

// Which direction of a monitored metric is better.
enum class MetricMode { kMin, kMax };

// A metric value to rank checkpoints by (e.g. {"val_loss", 0.31, MetricMode::kMin}).
struct MonitoredMetric {
  std::string name;
  double value = 0;
  MetricMode mode = MetricMode::kMin;
};

// The one spelling of a checkpoint's file name in a run directory (and in hearthd's store):
// "ckpt-<step>.safetensors", and back (nullopt for any other name, leading zeros included).
inline constexpr char kCheckpointFilePrefix[] = "ckpt-";
inline constexpr char kCheckpointFileSuffix[] = ".safetensors";
std::string CheckpointFileName(int64_t step);
std::optional<int64_t> CheckpointStepOfFileName(std::string_view name);

struct CheckpointRecord {
  int64_t step = 0;
  std::string file;              // name inside the run directory, e.g. "ckpt-100.safetensors"
  std::optional<double> metric;  // absent if none was given or it was NaN/inf
};

struct CheckpointManagerOptions {
  // The most recent `keep_last` checkpoints are kept, plus the best one; older ones are deleted.
  int keep_last = 3;
  // Re-read and validate each new file before the index points at it and old files are deleted,
  // so a disk that silently dropped data cannot cost us the previous checkpoints.
  bool verify_after_write = true;
  // A reader beside the run's writer (e.g. the worker that uploads checkpoints to hearthd):
  // Open neither creates the directory nor removes the writer's temp files. Do not Save.
  bool read_only = false;
};

// Manages the checkpoints of one run directory:
//   <dir>/ckpt-<step>.safetensors   the checkpoints
//   <dir>/checkpoints.json          the index (atomically replaced): records, latest, best
// Invariant: every file the index names is complete and verified. A save writes the new file,
// then the new index, and only then deletes files the index no longer names, so a failure at any
// point loses nothing that was saved before.
//
// Not thread-safe, and a directory must have one writer at a time (rank 0 of a job).
class CheckpointManager {
 public:
  static constexpr char kIndexFile[] = "checkpoints.json";

  // Creates `dir` if needed and reads its index. With no index but existing ckpt-*.safetensors
  // files (an index deleted by hand), rebuilds the records from the file names (without metrics).
  // Removes temp files left by a crashed save. A corrupt index is DataLoss with a hint.
  static StatusOr<std::unique_ptr<CheckpointManager>> Open(Env& env, std::string dir,
                                                           CheckpointManagerOptions options = {});

  // Writes ckpt-<step>.safetensors (replacing one of the same step), updates the index and deletes
  // what falls out of retention. `metric`, if given, must keep the name and mode of earlier saves.
  Status Save(int64_t step, const Checkpoint& checkpoint,
              std::optional<MonitoredMetric> metric = std::nullopt);

  // The most recently saved checkpoint, and the best by the monitored metric (nullopt if none).
  std::optional<CheckpointRecord> Latest() const;
  std::optional<CheckpointRecord> Best() const;
  // Retained checkpoints, oldest save first.
  const std::vector<CheckpointRecord>& records() const { return records_; }
  std::string PathOf(const CheckpointRecord& record) const;
  // The monitored metric's name ("val_loss"), or empty when no save gave one.
  const std::string& monitor_name() const { return monitor_name_; }
  const std::string& dir() const { return dir_; }

  // Loads Latest() / Best(); on a damaged file the error lists the other retained checkpoints.
  StatusOr<Checkpoint> LoadLatest() const;
  StatusOr<Checkpoint> LoadBest() const;

 private:
  CheckpointManager(Env& env, std::string dir, CheckpointManagerOptions options)
      : env_(env), dir_(std::move(dir)), options_(options) {}
  Status ReadIndex();
  Status WriteIndex(const std::vector<CheckpointRecord>& records, const std::optional<size_t>& best,
                    const std::string& monitor_name, MetricMode monitor_mode) const;
  StatusOr<Checkpoint> LoadRecord(const CheckpointRecord& record) const;
  void RemoveUnreferencedFiles();

  Env& env_;
  std::string dir_;
  CheckpointManagerOptions options_;
  std::vector<CheckpointRecord> records_;  // save order
  std::optional<size_t> best_;             // index into records_
  std::string monitor_name_;               // empty until a metric is given
  MetricMode monitor_mode_ = MetricMode::kMin;
};

}  // namespace hearth
