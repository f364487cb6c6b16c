// Which endpoint a request is for, from its method and path alone: a pure function, so every
// path shape is tested without a socket. Paths are split on '/', never matched with a regex.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hearth::serve {

struct Route {
  enum class Kind {
    kNotFound,
    kMethodNotAllowed,
    kLive,              // GET  /v2/health/live
    kReady,             // GET  /v2/health/ready
    kServerMetadata,    // GET  /v2
    kModelMetadata,     // GET  /v2/models/NAME[/versions/V]
    kModelReady,        // GET  /v2/models/NAME[/versions/V]/ready
    kInfer,             // POST /v2/models/NAME[/versions/V]/infer
    kRepositoryIndex,   // POST /v2/repository/index
    kRepositoryReload,  // POST /v2/repository/reload (Hearth's)
    kTfStatus,          // GET  /v1/models/NAME[/versions/V | /labels/L]
    kTfPredict,         // POST /v1/models/NAME[/versions/V | /labels/L]:predict
    kMetrics,           // GET  /metrics
  };
  Kind kind = Kind::kNotFound;
  std::string model;
  std::optional<int64_t> version;
  std::string label;
  std::string bad_version;  // the text of a version that is not a positive integer
  // "v2", "v1" or "" (metrics and misses): the protocol label of the request counters.
  const char* protocol = "";
};

Route MatchRoute(std::string_view method, std::string_view path);

}  // namespace hearth::serve
