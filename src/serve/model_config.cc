#include "serve/model_config.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "hearth/env.h"

namespace hearth::serve {

StatusOr<json::Value> ReadSmallJsonObject(const std::string& path, const std::string& expected) {
  constexpr int64_t kMaxBytes = 64 << 10;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return absl::NotFoundError(path);
  if (!S_ISREG(st.st_mode) || st.st_size > kMaxBytes)
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: ignored: expected a JSON file of at most %d KiB", path, kMaxBytes >> 10));
  StatusOr<std::string> text = Env::Default().ReadFile(path);
  StatusOr<json::Value> doc = text.ok() ? json::Parse(*text) : StatusOr<json::Value>(text.status());
  if (!doc.ok() || !doc->is_object())
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: ignored: expected an object such as %s%s", path, expected,
                        doc.ok() ? "" : absl::StrCat(" (", doc.status().message(), ")")));
  return doc;
}

ModelConfig ReadModelConfig(const std::string& path, const BatchingOptions& defaults) {
  ModelConfig config{defaults, ""};
  StatusOr<json::Value> doc = ReadSmallJsonObject(
      path, "{\"max_batch_size\": 16, \"max_queue_delay_us\": 500, \"max_queued_rows\": 1024}");
  if (absl::IsNotFound(doc.status())) return config;
  if (!doc.ok()) {
    config.problems = absl::StrCat(doc.status().message(), "\n");
    return config;
  }
  struct Field {
    const char* name;
    int64_t min, max;
    int64_t* out;
  };
  const Field fields[] = {{"max_batch_size", 1, 1 << 16, &config.batching.max_batch_size},
                          {"max_queue_delay_us", 0, 1000000, &config.batching.max_queue_delay_us},
                          {"max_queued_rows", 1, 1 << 24, &config.batching.max_queued_rows}};
  for (const json::Value::Member& m : doc->object) {
    const Field* field = nullptr;
    for (const Field& f : fields)
      if (m.key == f.name) field = &f;
    int64_t v = 0;
    if (field == nullptr) {
      config.problems += absl::StrFormat(
          "%s: field `%s` ignored: expected max_batch_size, max_queue_delay_us or "
          "max_queued_rows\n",
          path, m.key);
    } else if (!m.value.AsInt64(&v) || v < field->min || v > field->max) {
      config.problems += absl::StrFormat(
          "%s: `%s` ignored: expected an integer from %d to %d; the server's %d applies\n", path,
          m.key, field->min, field->max, *field->out);
    } else {
      *field->out = v;
    }
  }
  return config;
}

}  // namespace hearth::serve
