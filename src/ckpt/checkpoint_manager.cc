// CheckpointManager: retention (last K + best) and the checkpoints.json index of a run directory.
#include <algorithm>
#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/json.h"
#include "hearth/checkpoint.h"

namespace hearth {
namespace {

constexpr char kIndexFormat[] = "hearth.checkpoints/1";
// A verified checkpoint waits under this suffix before it is renamed to its final name, so even a
// save that replaces an existing step never swaps a good file for a damaged one. Contains ".tmp-",
// so Open() cleans it up after a crash.
constexpr char kStagedSuffix[] = ".tmp-staged";

const char* ModeName(MetricMode mode) {
  return mode == MetricMode::kMin ? "min" : "max";
}

bool Better(double a, double b, MetricMode mode) {
  return mode == MetricMode::kMin ? a < b : a > b;
}

std::optional<size_t> FindBest(const std::vector<CheckpointRecord>& records, MetricMode mode) {
  std::optional<size_t> best;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!records[i].metric) continue;
    // Ties go to the earlier checkpoint: a later one must be strictly better to replace it.
    if (!best || Better(*records[i].metric, *records[*best].metric, mode)) best = i;
  }
  return best;
}

}  // namespace

std::string CheckpointFileName(int64_t step) {
  return absl::StrCat(kCheckpointFilePrefix, step, kCheckpointFileSuffix);
}

std::optional<int64_t> CheckpointStepOfFileName(std::string_view name) {
  const std::string_view prefix = kCheckpointFilePrefix, suffix = kCheckpointFileSuffix;
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return std::nullopt;
  if (name.size() <= prefix.size() + suffix.size()) return std::nullopt;
  const std::string_view digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  int64_t step;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), step);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || step < 0) return std::nullopt;
  return step;
}

StatusOr<std::unique_ptr<CheckpointManager>> CheckpointManager::Open(
    Env& env, std::string dir, CheckpointManagerOptions options) {
  if (options.keep_last < 1)
    return absl::InvalidArgumentError(absl::StrCat("CheckpointManager: keep_last is ",
                                                   options.keep_last, ", expected at least 1"));
  if (dir.empty()) return absl::InvalidArgumentError("CheckpointManager: empty run directory");
  if (!options.read_only) HEARTH_RETURN_IF_ERROR(env.CreateDirs(dir));
  std::unique_ptr<CheckpointManager> m(new CheckpointManager(env, std::move(dir), options));

  HEARTH_ASSIGN_OR_RETURN(std::vector<std::string> names, env.ListDir(m->dir_));
  for (const std::string& name : names) {
    // Left by a save that crashed; never referenced by the index. Only our own files' temps: the
    // directory may hold other outputs being written right now.
    const bool ours = name.starts_with(kCheckpointFilePrefix) || name.starts_with(kIndexFile);
    if (ours && IsAtomicWriteTempName(name) && !options.read_only)
      env.RemoveFile(JoinPath(m->dir_, name)).IgnoreError();
  }
  if (env.FileExists(JoinPath(m->dir_, kIndexFile))) {
    HEARTH_RETURN_IF_ERROR(m->ReadIndex());
  } else {
    // No index: adopt the checkpoint files by step order (their metrics are unknown).
    std::vector<CheckpointRecord> found;
    for (const std::string& name : names)
      if (std::optional<int64_t> step = CheckpointStepOfFileName(name))
        found.push_back({*step, name, {}});
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.step < b.step; });
    m->records_ = std::move(found);
  }
  return m;
}

std::string CheckpointManager::PathOf(const CheckpointRecord& record) const {
  return JoinPath(dir_, record.file);
}

std::optional<CheckpointRecord> CheckpointManager::Latest() const {
  if (records_.empty()) return std::nullopt;
  return records_.back();
}

std::optional<CheckpointRecord> CheckpointManager::Best() const {
  if (!best_) return std::nullopt;
  return records_[*best_];
}

Status CheckpointManager::Save(int64_t step, const Checkpoint& checkpoint,
                               std::optional<MonitoredMetric> metric) {
  if (step < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("CheckpointManager::Save: step is ", step, ", expected >= 0"));
  if (metric) {
    if (metric->name.empty())
      return absl::InvalidArgumentError(
          "CheckpointManager::Save: the monitored metric has no name; name it (e.g. "
          "\"val_loss\")");
    if (!json::IsValidUtf8(metric->name))
      return absl::InvalidArgumentError(
          "CheckpointManager::Save: the monitored metric's name is not valid UTF-8");
    if (!monitor_name_.empty() && (metric->name != monitor_name_ || metric->mode != monitor_mode_))
      return absl::InvalidArgumentError(absl::StrFormat(
          "CheckpointManager::Save: run directory %s ranks checkpoints by %s (%s) but this save "
          "passes %s (%s); monitor one metric per run directory, or start a new directory",
          dir_, monitor_name_, ModeName(monitor_mode_), metric->name, ModeName(metric->mode)));
  }

  const std::string file = CheckpointFileName(step);
  const std::string path = JoinPath(dir_, file);
  if (options_.verify_after_write) {
    const std::string staged = path + kStagedSuffix;
    HEARTH_RETURN_IF_ERROR(SaveCheckpoint(env_, staged, checkpoint));
    if (Status s = VerifyCheckpoint(env_, staged); !s.ok()) {
      env_.RemoveFile(staged).IgnoreError();
      return Status(s.code(), absl::StrCat("the checkpoint for step ", step,
                                           " failed verification right after it was written (the "
                                           "disk lost data?); earlier checkpoints are untouched: ",
                                           s.message()));
    }
    if (Status s = env_.RenameFile(staged, path); !s.ok()) {
      env_.RemoveFile(staged).IgnoreError();
      return s;
    }
    HEARTH_RETURN_IF_ERROR(env_.SyncDir(dir_));
  } else {
    HEARTH_RETURN_IF_ERROR(SaveCheckpoint(env_, path, checkpoint));
  }

  // The new record list, committed to memory only once the index on disk says the same.
  std::vector<CheckpointRecord> all;
  for (const CheckpointRecord& r : records_)
    if (r.file != file) all.push_back(r);
  CheckpointRecord record{step, file, {}};
  if (metric && std::isfinite(metric->value)) record.metric = metric->value;
  all.push_back(record);
  const std::string monitor_name = metric ? metric->name : monitor_name_;
  const MetricMode monitor_mode = metric ? metric->mode : monitor_mode_;
  const std::optional<size_t> best_all = FindBest(all, monitor_mode);

  std::vector<CheckpointRecord> kept;
  std::optional<size_t> best;
  const size_t first_recent = all.size() > static_cast<size_t>(options_.keep_last)
                                  ? all.size() - static_cast<size_t>(options_.keep_last)
                                  : 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i < first_recent && best_all != i) continue;
    if (best_all == i) best = kept.size();
    kept.push_back(all[i]);
  }
  HEARTH_RETURN_IF_ERROR(WriteIndex(kept, best, monitor_name, monitor_mode));

  records_ = std::move(kept);
  best_ = best;
  monitor_name_ = monitor_name;
  monitor_mode_ = monitor_mode;
  RemoveUnreferencedFiles();
  return absl::OkStatus();
}

void CheckpointManager::RemoveUnreferencedFiles() {
  // Also sweeps files of earlier failed saves. Errors are ignored: the next save retries.
  StatusOr<std::vector<std::string>> names = env_.ListDir(dir_);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    if (!CheckpointStepOfFileName(name)) continue;
    bool referenced = false;
    for (const CheckpointRecord& r : records_) referenced |= r.file == name;
    if (!referenced) env_.RemoveFile(JoinPath(dir_, name)).IgnoreError();
  }
}

Status CheckpointManager::WriteIndex(const std::vector<CheckpointRecord>& records,
                                     const std::optional<size_t>& best,
                                     const std::string& monitor_name,
                                     MetricMode monitor_mode) const {
  std::string out = absl::StrCat("{\n  \"format\": \"", kIndexFormat, "\",\n");
  if (!monitor_name.empty()) {
    out += "  \"monitor\": {\"name\": ";
    json::AppendString(out, monitor_name);
    absl::StrAppend(&out, ", \"mode\": \"", ModeName(monitor_mode), "\"},\n");
  }
  if (!records.empty()) {
    out += "  \"latest\": ";
    json::AppendString(out, records.back().file);
    out += ",\n";
  }
  if (best) {
    out += "  \"best\": ";
    json::AppendString(out, records[*best].file);
    out += ",\n";
  }
  out += "  \"checkpoints\": [";
  for (size_t i = 0; i < records.size(); ++i) {
    out += i ? ",\n    " : "\n    ";
    absl::StrAppend(&out, "{\"step\": ", records[i].step, ", \"file\": ");
    json::AppendString(out, records[i].file);
    if (records[i].metric) {
      out += ", \"metric\": ";
      json::AppendDouble(out, *records[i].metric);
    }
    out += "}";
  }
  out += records.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return env_.WriteFileAtomically(JoinPath(dir_, kIndexFile), out);
}

Status CheckpointManager::ReadIndex() {
  const std::string path = JoinPath(dir_, kIndexFile);
  HEARTH_ASSIGN_OR_RETURN(std::string text, env_.ReadFile(path));
  const auto corrupt = [&](const std::string& what) {
    return absl::DataLossError(absl::StrCat(
        path, ": ", what, "; the checkpoint files themselves are not affected: delete ", path,
        " and the index is rebuilt from the ckpt-*.safetensors files (without metrics)"));
  };
  StatusOr<json::Value> parsed = json::Parse(text);
  if (!parsed.ok()) return corrupt(std::string(parsed.status().message()));
  const json::Value& root = *parsed;
  if (!root.is_object()) return corrupt("not a JSON object");
  const json::Value* format = root.Find("format");
  if (!format || !format->is_string() || format->text != kIndexFormat)
    return corrupt(absl::StrCat("\"format\" is not \"", kIndexFormat, "\""));

  if (const json::Value* monitor = root.Find("monitor");
      monitor && monitor->type != json::Value::Type::kNull) {
    const json::Value* name = monitor->Find("name");
    const json::Value* mode = monitor->Find("mode");
    if (!monitor->is_object() || !name || !name->is_string() || name->text.empty() || !mode ||
        !mode->is_string() || (mode->text != "min" && mode->text != "max"))
      return corrupt("\"monitor\" is not {\"name\": <string>, \"mode\": \"min\"|\"max\"}");
    monitor_name_ = name->text;
    monitor_mode_ = mode->text == "min" ? MetricMode::kMin : MetricMode::kMax;
  }

  const json::Value* list = root.Find("checkpoints");
  if (!list || !list->is_array()) return corrupt("\"checkpoints\" is not an array");
  records_.clear();
  for (const json::Value& item : list->array) {
    const json::Value* step = item.is_object() ? item.Find("step") : nullptr;
    const json::Value* file = item.is_object() ? item.Find("file") : nullptr;
    CheckpointRecord r;
    if (!step || !step->AsInt64(&r.step) || !file || !file->is_string())
      return corrupt("a checkpoint entry lacks an integer \"step\" or a string \"file\"");
    // Only names this manager writes: the index must never point outside the run directory.
    if (CheckpointStepOfFileName(file->text) != r.step)
      return corrupt(
          absl::StrCat("entry \"", file->text, "\" is not named ckpt-", r.step, ".safetensors"));
    r.file = file->text;
    if (const json::Value* metric = item.Find("metric")) {
      double v;
      if (!metric->AsDouble(&v)) return corrupt("a \"metric\" is not a number");
      r.metric = v;
    }
    records_.push_back(std::move(r));
  }
  best_.reset();
  if (const json::Value* best = root.Find("best"); best && best->is_string()) {
    for (size_t i = 0; i < records_.size(); ++i)
      if (records_[i].file == best->text) best_ = i;
    if (!best_)
      return corrupt(absl::StrCat("\"best\" names ", best->text, ", which is not listed"));
  }
  return absl::OkStatus();
}

StatusOr<Checkpoint> CheckpointManager::LoadRecord(const CheckpointRecord& record) const {
  StatusOr<Checkpoint> loaded = LoadCheckpoint(env_, PathOf(record));
  if (loaded.ok()) return loaded;
  std::string others;
  for (const CheckpointRecord& r : records_) {
    if (r.file == record.file) continue;
    absl::StrAppend(&others, others.empty() ? "" : ", ", PathOf(r));
  }
  if (others.empty()) return loaded.status();
  return Status(
      loaded.status().code(),
      absl::StrCat(loaded.status().message(), " (other checkpoints of this run: ", others, ")"));
}

StatusOr<Checkpoint> CheckpointManager::LoadLatest() const {
  if (records_.empty()) return absl::NotFoundError(absl::StrCat("no checkpoints in ", dir_));
  return LoadRecord(records_.back());
}

StatusOr<Checkpoint> CheckpointManager::LoadBest() const {
  if (!best_)
    return absl::NotFoundError(absl::StrCat("no best checkpoint in ", dir_,
                                            ": no save so far passed a finite monitored metric"));
  return LoadRecord(records_[*best_]);
}

}  // namespace hearth
