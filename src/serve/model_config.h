// A model directory's own settings, NAME/config.json, as Triton keeps a config.pbtxt beside its
// versions: the dynamic batcher's limits for this model, overriding the server's flags.
//
//   {"max_batch_size": 16, "max_queue_delay_us": 500, "max_queued_rows": 1024}
//
// Every field is optional. A file that is not such an object, an unknown field or a value out of
// range is a problem (logged by the registry), and the server's settings apply to what it names.
#pragma once

#include <string>

#include "core/json.h"
#include "hearth/status.h"
#include "serve/dynamic_batcher.h"

namespace hearth::serve {

inline constexpr char kModelConfigFile[] = "config.json";

// A small JSON object file of a model directory (config.json, aliases.json): NOT_FOUND when
// there is none; INVALID_ARGUMENT naming the file and `expected` (what it should look like) when
// it is not a regular file of at most 64 KiB holding a JSON object.
StatusOr<json::Value> ReadSmallJsonObject(const std::string& path, const std::string& expected);

struct ModelConfig {
  BatchingOptions batching;
  std::string problems;  // one line each, for the log
};
// The batching for the model whose config.json is at `path`: `defaults` where it says nothing.
ModelConfig ReadModelConfig(const std::string& path, const BatchingOptions& defaults);

}  // namespace hearth::serve
