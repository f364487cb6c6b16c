// The order in which a job visits its examples: per-epoch permutations sharded across ranks
// (PyTorch DistributedSampler semantics), batches of indices, gathering rows into batch tensors,
// a resumable DataLoader, and a seeded train/validation split.
//
//   Sampler sampler(train.size(), /*seed=*/42, /*shuffle=*/true, comm.rank(), comm.size());
//   HEARTH_ASSIGN_OR_RETURN(DataLoader loader, DataLoader::Create(train, sampler, 64));
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     loader.Reset(epoch);
//     Batch batch;
//     while (loader.Next(&batch)) Step(batch.features, batch.labels);
//   }
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "hearth/data/dataset.h"
#include "hearth/status.h"
#include "hearth/tensor.h"

namespace hearth {

// Which examples rank `rank` of `world_size` visits in each epoch, and in what order.
//
// Epoch e's permutation of [0, num_examples) is a Fisher-Yates shuffle driven by a Generator
// seeded with a mix of (seed, e): the same on every rank, different from epoch to epoch, and a
// pure function of (seed, e), so resuming needs only the epoch number. Without `shuffle` it is
// the identity.
//
// Every rank gets the same number of examples, num_samples(), so all ranks take the same number
// of steps and their collectives line up:
//   - drop_last: the permutation is cut to world_size * floor(N / world_size); the tail that does
//     not divide evenly (fewer than world_size examples, different ones each epoch) is skipped.
//   - otherwise: it is padded to world_size * ceil(N / world_size) by wrapping around to its
//     start (repeating it if needed), exactly as PyTorch's DistributedSampler does. Up to
//     world_size - 1 examples are then seen twice per epoch.
//
// Rank r takes positions r, r + world_size, r + 2 * world_size, ... of the (cut or padded)
// permutation, as DistributedSampler does, rather than a contiguous block: the wrapped-around
// duplicates sit at the end, so striding gives each rank at most one of them instead of piling
// them all on the last rank, and without shuffling each rank still sees a spread of the file
// rather than one region of it (files are often sorted by class).
class Sampler {
 public:
  // HEARTH_CHECKs its arguments (num_examples >= 0, 0 <= rank < world_size): they come from the
  // dataset and the communicator. Use Create() for values a user typed.
  Sampler(int64_t num_examples, uint64_t seed, bool shuffle, int rank = 0, int world_size = 1,
          bool drop_last = false);
  // InvalidArgument for bad arguments, and for drop_last with fewer examples than ranks (every
  // rank would get nothing).
  static StatusOr<Sampler> Create(int64_t num_examples, uint64_t seed, bool shuffle, int rank = 0,
                                  int world_size = 1, bool drop_last = false);
  // Class-balanced epochs (data.sampling BALANCED): labels[i] is example i's class id (>= 0).
  // Each epoch still visits labels.size() examples, but each class present gives an equal share
  // of them, drawn from its members in reshuffled cycles and shuffled together
  // (data_internal::BalancedEpoch): minority examples repeat within an epoch, majority ones are
  // spread over epochs. Permutation() then has repeats; it is still a pure function of
  // (seed, epoch). InvalidArgument for no examples, a negative label or bad rank arguments.
  static StatusOr<Sampler> CreateBalanced(std::span<const int64_t> labels, uint64_t seed,
                                          int rank = 0, int world_size = 1, bool drop_last = false);

  // The full permutation of epoch `epoch` (length num_examples()), identical on every rank. For a
  // balanced sampler: the epoch's examples, which may repeat some and leave out others.
  std::vector<int64_t> Permutation(int64_t epoch) const;
  // This rank's examples for epoch `epoch`, in visiting order (length num_samples()).
  std::vector<int64_t> EpochIndices(int64_t epoch) const;

  int64_t num_examples() const { return num_examples_; }
  // Examples per rank per epoch (the same on every rank).
  int64_t num_samples() const { return num_samples_; }
  // num_samples() * world_size(): examples visited per epoch by all ranks together.
  int64_t total_size() const { return num_samples_ * world_size_; }
  uint64_t seed() const { return seed_; }
  bool shuffle() const { return shuffle_; }
  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool drop_last() const { return drop_last_; }
  bool balanced() const { return class_members_ != nullptr; }

 private:
  int64_t num_examples_;
  uint64_t seed_;
  bool shuffle_;
  int rank_;
  int world_size_;
  bool drop_last_;
  int64_t num_samples_;
  // Balanced samplers: each class's examples, ascending (shared by the ranks' copies).
  std::shared_ptr<const std::vector<std::vector<int64_t>>> class_members_;
};

// The seed of the Generator behind epoch `epoch` of a stream seeded with `seed` (splitmix64 of
// both, so neighbouring seeds and epochs give unrelated permutations).
uint64_t MixSeed(uint64_t seed, uint64_t epoch);

// A uniformly random permutation of [0, n) (Fisher-Yates driven by Generator(seed)).
std::vector<int64_t> RandomPermutation(int64_t n, uint64_t seed);

// Number of batches of `batch_size` in `num_indices` indices: ceil, or floor with drop_last.
int64_t NumBatches(int64_t num_indices, int64_t batch_size, bool drop_last);

// Consecutive batches of `batch_size` indices; the last one is shorter unless drop_last drops it.
// HEARTH_CHECKs batch_size > 0.
std::vector<std::vector<int64_t>> MakeBatches(std::span<const int64_t> indices, int64_t batch_size,
                                              bool drop_last = false);

// Rows `rows` of `source` (any dtype, shape [N, ...]) as a new contiguous tensor
// [rows.size(), ...]: one memcpy per row. InvalidArgument if `source` is a scalar or a row is
// outside [0, N).
StatusOr<Tensor> GatherRows(const Tensor& source, std::span<const int64_t> rows);
// The same into an existing tensor of the right shape and dtype (no allocation).
Status GatherRowsInto(const Tensor& source, std::span<const int64_t> rows, Tensor* out);

// One batch of examples.
struct Batch {
  Tensor features;               // [B, ...]
  Tensor labels;                 // [B] or [B, k]; undefined when the loader has no labels
  std::vector<int64_t> indices;  // the examples' indices in the dataset
  int64_t epoch = 0;
  int64_t step = 0;  // index of this batch within the epoch, 0-based
  // With DataLoader::SplitEachBatch: examples in the whole batch (all parts together), and where
  // this part starts in it. Otherwise global_size is the batch's own size and global_offset 0.
  int64_t global_size = 0;
  int64_t global_offset = 0;
};

// Batches of a rank's share of an in-memory dataset, epoch by epoch.
//
// A position is (epoch, step): Next() returns batch `step` of `epoch`. Because the sampler's order
// is a pure function of (seed, epoch), saving position() in a checkpoint and calling
// Seek(epoch, step) in a new process yields exactly the batches the old one would have produced.
//
// The loader may also hold only some of the examples (CreatePartial): a rank of a data-parallel
// job asks ExamplesOf() which ones its next batches use, reads just those rows from the file and
// hands them over with SetResidentRows(); batches then gather from them.
//
// Each Next() allocates fresh batch tensors, so a batch stays valid after later calls.
// Not thread-safe.
class DataLoader {
 public:
  // `features` float32 [N, ...]; `labels` [N, ...] of any dtype, or undefined for none. The
  // sampler must cover N examples. InvalidArgument for mismatched sizes or batch_size <= 0.
  static StatusOr<DataLoader> Create(Tensor features, Tensor labels, Sampler sampler,
                                     int64_t batch_size, bool drop_last = false);
  static StatusOr<DataLoader> Create(const Dataset& data, Sampler sampler, int64_t batch_size,
                                     bool drop_last = false);
  // A loader over the sampler's examples that holds none of them yet: call SetResidentRows with
  // (at least) the examples of ExamplesOf() before Next(). InvalidArgument for batch_size <= 0.
  static StatusOr<DataLoader> CreatePartial(Sampler sampler, int64_t batch_size,
                                            bool drop_last = false);

  // Starts epoch `epoch` from its first batch.
  void Reset(int64_t epoch);
  // Starts epoch `epoch` at batch `step` (0 <= step <= steps_per_epoch(); steps_per_epoch()
  // means the epoch is already done). InvalidArgument otherwise: the values usually come from a
  // checkpoint.
  Status Seek(int64_t epoch, int64_t step);
  // Data parallelism by global batch: each batch of batch_size examples (the global batch) is cut
  // into `parts` contiguous blocks and Next() returns block `part` only, with Batch::global_size
  // set. With a world-size-1 sampler and part = rank, parts = world size, the ranks together see
  // exactly the batches one process would: N workers with global batch B train like 1 worker
  // with batch B. The last, shorter batch of an epoch is split the same way (a block may be empty
  // when it has fewer examples than parts), so nothing is padded or dropped.
  Status SplitEachBatch(int part, int parts);
  // Fills `batch` with the next batch of the current epoch; false when the epoch is over.
  // Batch::indices are example indices in [0, sampler().num_examples()) either way.
  bool Next(Batch* batch);

  // The examples that batches [first_step, steps_per_epoch()) of `epoch` return on this part
  // (after SplitEachBatch, only this part's blocks), sorted ascending without repeats: the rows a
  // partial loader must hold to play those batches.
  std::vector<int64_t> ExamplesOf(int64_t epoch, int64_t first_step = 0) const;
  // Makes the loader gather from `features`/`labels` (labels undefined for none), whose row i is
  // example examples[i], instead of from the rows it held before; the position is kept.
  // `examples` must be ascending without repeats and inside [0, num_examples); features float32
  // [examples.size(), ...] and labels [examples.size(), ...]. InvalidArgument otherwise. Next()
  // aborts (HEARTH_CHECK) on a batch with an example that is not resident: the caller asks
  // ExamplesOf() which ones it needs.
  Status SetResidentRows(std::vector<int64_t> examples, Tensor features, Tensor labels);
  // Lets go of the resident rows of a partial loader (e.g. before reading the next epoch's) and
  // returns the features' memory for the next rows to be read into (ArrayReadOptions::
  // reuse_features), when nothing else refers to it any more. Null otherwise, or when the loader
  // is not partial.
  std::shared_ptr<Storage> ReleaseRows();
  // Examples held: all of them unless the loader is partial.
  int64_t resident_rows() const { return features_.defined() ? features_.dim(0) : 0; }

  // Batches per epoch on this rank: the same on every rank.
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  int64_t epoch() const { return epoch_; }
  // The step the next Next() returns: with epoch(), what a checkpoint saves to resume.
  int64_t step() const { return step_; }
  int64_t batch_size() const { return batch_size_; }
  const Sampler& sampler() const { return sampler_; }

 private:
  DataLoader(Tensor features, Tensor labels, Sampler sampler, int64_t batch_size, bool drop_last);
  // Where batch `step` of `order` (its length) starts and ends in it for this part, and the
  // global batch's size.
  struct Block {
    int64_t begin = 0;
    int64_t end = 0;
    int64_t global_size = 0;
  };
  Block BlockOf(int64_t step, int64_t order_size) const;

  Tensor features_;
  Tensor labels_;
  // With SetResidentRows: the example of each row of features_/labels_, ascending. Empty when the
  // loader holds every example (row i is example i).
  std::vector<int64_t> resident_;
  bool partial_ = false;
  Sampler sampler_;
  int64_t batch_size_;
  bool drop_last_;
  int64_t steps_per_epoch_;
  int64_t epoch_ = 0;
  int64_t step_ = 0;
  int part_ = 0;
  int parts_ = 1;
  std::vector<int64_t> order_;  // this rank's indices for epoch_
};

// A seeded train/validation split: the examples are shuffled with Generator(MixSeed(seed, ...))
// and the first round(N * validation_fraction) of them are the validation set. Both lists are
// returned sorted (the sampler reshuffles every epoch anyway, and sorted rows gather with better
// locality); for a given (N, fraction, seed) the split is the same on every machine.
struct SplitIndices {
  std::vector<int64_t> train;
  std::vector<int64_t> validation;
};
// InvalidArgument unless 0 <= validation_fraction < 1 and the training part is non-empty.
StatusOr<SplitIndices> TrainValidationSplit(int64_t num_examples, double validation_fraction,
                                            uint64_t seed);

struct SplitDatasets {
  Dataset train;
  Dataset validation;
};
// Stratified: each class c of the int64 `labels` gives round(n_c * validation_fraction) of its
// examples (a seeded shuffle per class) to validation, so both parts keep the class shares. The
// lists are sorted. InvalidArgument when nothing is left to train on.
StatusOr<SplitIndices> StratifiedSplit(std::span<const int64_t> labels, double validation_fraction,
                                       uint64_t seed);

// k-fold cross-validation, as scikit-learn's KFold(shuffle=True): the examples are shuffled
// (seeded) and cut into `folds` consecutive parts, the first N % folds of them one example
// larger; part `fold` is the validation set and the rest the training set (both sorted). The
// parts of one (N, folds, seed) cover every example exactly once. InvalidArgument unless
// 2 <= folds <= N and 0 <= fold < folds.
StatusOr<SplitIndices> KFoldSplit(int64_t num_examples, int folds, int fold, uint64_t seed);

// Stratified k-fold, as scikit-learn's StratifiedKFold: the examples, shuffled within each class
// (seeded) and ordered by class, are dealt to the folds in turn, so each fold holds each class's
// count / folds examples (within one) and the folds' sizes differ by at most one.
StatusOr<SplitIndices> StratifiedKFoldSplit(std::span<const int64_t> labels, int folds, int fold,
                                            uint64_t seed);

// KFoldSplit (StratifiedKFoldSplit with `stratify`) applied to a dataset.
StatusOr<SplitDatasets> KFoldSplit(const Dataset& data, int folds, int fold, uint64_t seed,
                                   bool stratify = false);

// A split applied to a dataset: rows gathered, class, feature and category names copied to both.
StatusOr<SplitDatasets> ApplySplit(const Dataset& data, const SplitIndices& split);

// TrainValidationSplit applied to a dataset; `stratify` (int64 class labels only) splits each
// class in proportion (StratifiedSplit).
StatusOr<SplitDatasets> TrainValidationSplit(const Dataset& data, double validation_fraction,
                                             uint64_t seed, bool stratify = false);

// `data` without the rows that repeat an earlier row exactly (every feature value and label; two
// missing values are equal), keeping the first of each; `removed` gets how many went.
StatusOr<Dataset> DropDuplicateRows(const Dataset& data, int64_t* removed);

}  // namespace hearth
