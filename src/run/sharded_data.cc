// Planning which rows each rank reads, fitting the preprocessing across ranks, and reading each
// epoch's rows.
#include "run/sharded_data.h"

#include <numeric>
#include <utility>

#include "absl/strings/str_format.h"
#include "hearth/dist/collectives.h"
#include "hearth/job.h"
#include "run/fit_reducer.h"
#include "run/run_common.h"

namespace hearth::run {
namespace {

// Part `rank` of `world` of n rows: [rank * n / world, (rank + 1) * n / world), as Evaluate
// splits a whole set.
RowRange PartOf(int64_t n, int rank, int world) {
  const int64_t begin = n * rank / world;
  return {begin, n * (rank + 1) / world - begin};
}

// The file records of examples `examples` of a set whose example i is record records[i] (record i
// when `records` is empty). Ascending examples give ascending records.
std::vector<int64_t> RecordsOf(const std::vector<int64_t>& records,
                               std::span<const int64_t> examples) {
  if (records.empty()) return {examples.begin(), examples.end()};
  std::vector<int64_t> out;
  out.reserve(examples.size());
  for (int64_t e : examples) out.push_back(records[e]);
  return out;
}

std::vector<int64_t> Iota(RowRange range) {
  std::vector<int64_t> rows(static_cast<size_t>(range.count));
  std::iota(rows.begin(), rows.end(), range.begin);
  return rows;
}

// An error every rank reached the same way (from the same headers, spec or reduced statistics):
// marked so that it is reported once and no rank aborts the others.
Status Together(Status status) {
  return dist::CollectiveError(std::move(status));
}

// Only the labels of records `rows` (what the number of outputs needs when nothing is fitted).
StatusOr<Dataset> ReadLabelRows(const v1::JobSpec& spec, const v1::DataSource& source,
                                std::span<const int64_t> rows) {
  const DType dtype = spec.task() == v1::CLASSIFICATION ? DType::kInt64 : DType::kFloat32;
  Dataset out;
  if (ResolveFormat(source) == v1::IDX) {
    HEARTH_ASSIGN_OR_RETURN(out.labels, ReadIdxRows(source.labels_path(), dtype, rows));
  } else {
    HEARTH_ASSIGN_OR_RETURN(out.labels, ReadNpyRows(source.labels_path(), dtype, rows));
  }
  return out;
}

// This rank's part of a validation or test source, preprocessed; `size` gets the whole set's.
// IDX and NPY sources are read only there; a CSV source is parsed whole and cut.
StatusOr<Dataset> ReadEvaluationPart(const v1::JobSpec& spec, const v1::DataSource& source,
                                     const char* name, const JobData& data, int rank, int world,
                                     int64_t* size) {
  Dataset part;
  const v1::DataFormat format = ResolveFormat(source);
  if (format == v1::IDX || format == v1::NPY) {
    HEARTH_ASSIGN_OR_RETURN(ArraySourceInfo info, InspectArraySource(spec, source));
    *size = info.records;
    HEARTH_ASSIGN_OR_RETURN(part,
                            ReadDataSourceRows(spec, source, Iota(PartOf(*size, rank, world))));
  } else {
    HEARTH_ASSIGN_OR_RETURN(Dataset whole, ReadDataSource(spec, source));
    *size = whole.size();
    const std::vector<int64_t> rows = Iota(PartOf(*size, rank, world));
    HEARTH_ASSIGN_OR_RETURN(part.features, GatherRows(whole.features, rows));
    if (whole.labels.defined()) {
      HEARTH_ASSIGN_OR_RETURN(part.labels, GatherRows(whole.labels, rows));
    }
    part.class_names = std::move(whole.class_names);
    part.feature_names = std::move(whole.feature_names);
  }
  HEARTH_ASSIGN_OR_RETURN(
      part.features, PrepareFeatures(part.features, data.preprocess, data.example_shape, name));
  return part;
}

}  // namespace

TrainingShards::TrainingShards(const v1::JobSpec& spec, std::vector<int64_t> records,
                               Preprocessor preprocess, Shape example_shape)
    : spec_(spec),
      records_(std::move(records)),
      preprocess_(std::move(preprocess)),
      example_shape_(std::move(example_shape)) {}

StatusOr<int64_t> TrainingShards::LoadEpoch(int64_t epoch, int64_t first_step,
                                            DataLoader& loader) const {
  // The previous epoch's rows are not needed any more: their memory takes this epoch's.
  std::shared_ptr<Storage> memory = loader.ReleaseRows();
  std::vector<int64_t> examples = loader.ExamplesOf(epoch, first_step);
  HEARTH_ASSIGN_OR_RETURN(
      Dataset rows, ReadDataSourceRows(spec_, spec_.data().train(), RecordsOf(records_, examples),
                                       std::move(memory)));
  HEARTH_ASSIGN_OR_RETURN(Tensor features,
                          PrepareFeatures(rows.features, preprocess_, example_shape_, "data.train",
                                          FeatureOwnership::kOurs));
  const auto count = static_cast<int64_t>(examples.size());
  HEARTH_RETURN_IF_ERROR(
      loader.SetResidentRows(std::move(examples), std::move(features), std::move(rows.labels)));
  return count;
}

StatusOr<bool> CanShardJobData(const v1::JobSpec& spec, dist::Communicator& comm) {
  // Stratifying and balanced sampling need every label: each rank then reads the whole set.
  if (comm.size() == 1 || spec.task() == v1::CLUSTERING || spec.data().stratify() ||
      spec.data().sampling() == v1::BALANCED)
    return false;
  const v1::DataFormat format = ResolveFormat(spec.data().train());
  if (format != v1::IDX && format != v1::NPY) return false;
  StatusOr<ArraySourceInfo> info = InspectArraySource(spec, spec.data().train());
  HEARTH_RETURN_IF_ERROR(dist::AgreeOnStatus(comm, info.status()));
  // Gzip cannot seek: every epoch would decompress the whole file again.
  int64_t can = info->gzip ? 0 : 1;
  HEARTH_RETURN_IF_ERROR(
      comm.AllReduce(std::span(&can, 1), dist::ReduceOp::kMin, "can every rank read its own rows"));
  return can == 1;
}

StatusOr<JobData> LoadShardedJobData(const v1::JobSpec& spec, dist::Communicator& comm) {
  const int rank = comm.rank();
  const int world = comm.size();
  const v1::DataSpec& d = spec.data();
  auto agree = [&](const Status& status) { return dist::AgreeOnStatus(comm, status); };
  JobData data;

  // Which file records are training and validation examples, from the header alone.
  StatusOr<ArraySourceInfo> info = InspectArraySource(spec, d.train());
  HEARTH_RETURN_IF_ERROR(agree(info.status()));
  if (info->records == 0)
    return Together(absl::InvalidArgumentError(
        absl::StrFormat("data.train: %s holds no examples", d.train().path())));
  std::vector<int64_t> train_records;  // empty: every record, in order
  std::vector<int64_t> validation_records;
  const bool split = !d.has_validation() && (d.validation_fraction() > 0 || d.folds() > 0);
  if (split) {
    StatusOr<SplitIndices> indices = [&]() -> StatusOr<SplitIndices> {
      if (d.folds() == 0)
        return TrainValidationSplit(info->records, d.validation_fraction(), spec.seed());
      HEARTH_ASSIGN_OR_RETURN(int fold, FoldToTrain(spec));
      return KFoldSplit(info->records, d.folds(), fold, spec.seed());
    }();
    if (!indices.ok()) return Together(indices.status());
    train_records = std::move(indices->train);
    validation_records = std::move(indices->validation);
  }
  data.train_size = split ? static_cast<int64_t>(train_records.size()) : info->records;

  // The preprocessing, fitted on this rank's part of the training set with the others' parts,
  // and the number of outputs (the largest class over all parts).
  StatusOr<Preprocessor> made = MakePreprocessor(spec);
  if (!made.ok()) return Together(made.status());
  data.preprocess = *std::move(made);
  const RowRange fit = Preprocessor::FitPartRows(data.train_size, rank, world);
  const std::vector<int64_t> fit_records = RecordsOf(train_records, Iota(fit));
  const bool needs_fit = !data.preprocess.fitted();
  StatusOr<Dataset> fit_rows = needs_fit ? ReadDataSourceRows(spec, d.train(), fit_records)
                                         : ReadLabelRows(spec, d.train(), fit_records);
  HEARTH_RETURN_IF_ERROR(agree(fit_rows.status()));
  if (needs_fit) {
    const double fit_start = WallSeconds();
    CommFitReducer reducer(comm);
    Status fitted = data.preprocess.FitPart(FlatRows(fit_rows->features), data.train_size, rank,
                                            world, reducer);
    if (!fitted.ok()) return Together(fitted);
    data.preprocess_seconds = WallSeconds() - fit_start;
  }
  int64_t outputs = NumOutputs(spec, *fit_rows);
  HEARTH_RETURN_IF_ERROR(
      comm.AllReduce(std::span(&outputs, 1), dist::ReduceOp::kMax, "number of outputs"));
  data.num_outputs = outputs;
  fit_rows = Dataset();  // freed before the epoch's rows are read

  StatusOr<Shape> shape = PreprocessedExampleShape(info->record_shape, data.preprocess);
  if (shape.ok()) shape = ResolveInputShape(spec, *shape);
  if (!shape.ok()) return Together(shape.status());
  data.example_shape = *shape;
  data.record_shape = info->record_shape;

  // This rank's parts of the validation and test sets.
  Status read = [&]() -> Status {
    if (split) {
      data.validation_size = static_cast<int64_t>(validation_records.size());
      const std::vector<int64_t> rows =
          RecordsOf(validation_records, Iota(PartOf(data.validation_size, rank, world)));
      HEARTH_ASSIGN_OR_RETURN(data.validation, ReadDataSourceRows(spec, d.train(), rows));
      HEARTH_ASSIGN_OR_RETURN(data.validation.features,
                              PrepareFeatures(data.validation.features, data.preprocess,
                                              data.example_shape, "data.validation"));
    } else if (d.has_validation()) {
      HEARTH_ASSIGN_OR_RETURN(
          data.validation, ReadEvaluationPart(spec, d.validation(), "data.validation", data, rank,
                                              world, &data.validation_size));
    }
    if (d.has_test()) {
      HEARTH_ASSIGN_OR_RETURN(data.test, ReadEvaluationPart(spec, d.test(), "data.test", data, rank,
                                                            world, &data.test_size));
    }
    return absl::OkStatus();
  }();
  HEARTH_RETURN_IF_ERROR(agree(read));
  data.shards = std::make_shared<const TrainingShards>(spec, std::move(train_records),
                                                       data.preprocess, data.example_shape);
  return data;
}

}  // namespace hearth::run
