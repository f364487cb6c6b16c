#include "serve/routes.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace hearth::serve {
namespace {

using Kind = Route::Kind;

// `text` as a version: a positive integer, else the text is kept to name it in the error.
void SetVersion(std::string_view text, Route& route) {
  int64_t v = 0;
  if (absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &v) && v > 0)
    route.version = v;
  else
    route.bad_version = std::string(text.substr(0, 64));
}

Route V2(std::string_view method, const std::vector<std::string_view>& parts) {
  Route r;
  r.protocol = "v2";
  const bool get = method == "GET", post = method == "POST";
  auto want = [&](bool ok, Kind kind) {
    r.kind = ok ? kind : Kind::kMethodNotAllowed;
    return r;
  };
  if (parts.size() == 1) return want(get, Kind::kServerMetadata);
  if (parts.size() == 3 && parts[1] == "health" && parts[2] == "live")
    return want(get, Kind::kLive);
  if (parts.size() == 3 && parts[1] == "health" && parts[2] == "ready")
    return want(get, Kind::kReady);
  if (parts.size() == 3 && parts[1] == "repository" && parts[2] == "index")
    return want(post, Kind::kRepositoryIndex);
  if (parts.size() == 3 && parts[1] == "repository" && parts[2] == "reload")
    return want(post, Kind::kRepositoryReload);
  if (parts.size() < 3 || parts[1] != "models" || parts[2].empty()) return r;
  r.model = std::string(parts[2]);
  size_t next = 3;
  if (parts.size() >= 5 && parts[3] == "versions") {
    SetVersion(parts[4], r);
    next = 5;
  }
  if (parts.size() == next) return want(get, Kind::kModelMetadata);
  if (parts.size() == next + 1 && parts[next] == "ready") return want(get, Kind::kModelReady);
  if (parts.size() == next + 1 && parts[next] == "infer") return want(post, Kind::kInfer);
  r.kind = Kind::kNotFound;
  return r;
}

Route V1(std::string_view method, std::vector<std::string_view> parts) {
  Route r;
  r.protocol = "v1";
  if (parts.size() < 3 || parts[1] != "models") return r;
  // The verb rides on the last segment: NAME:predict, V:predict or L:predict.
  std::string_view& last = parts.back();
  bool predict = false;
  if (const size_t colon = last.rfind(':'); colon != std::string_view::npos) {
    if (last.substr(colon + 1) != "predict") return r;  // :classify and :regress are not served
    predict = true;
    last = last.substr(0, colon);
  }
  if (parts[2].empty()) return r;
  r.model = std::string(parts[2]);
  if (parts.size() == 5 && parts[3] == "versions") {
    SetVersion(parts[4], r);
  } else if (parts.size() == 5 && parts[3] == "labels" && !parts[4].empty()) {
    r.label = std::string(parts[4]);
  } else if (parts.size() != 3) {
    return r;
  }
  const bool ok = predict ? method == "POST" : method == "GET";
  r.kind = !ok ? Kind::kMethodNotAllowed : predict ? Kind::kTfPredict : Kind::kTfStatus;
  return r;
}

}  // namespace

Route MatchRoute(std::string_view method, std::string_view path) {
  if (path.empty() || path[0] != '/') return Route{};
  std::vector<std::string_view> parts;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(path.data() + 1, path.size() - 1), '/'))
    parts.emplace_back(part.data(), part.size());
  if (!parts.empty() && parts.back().empty() && parts.size() > 1) parts.pop_back();  // "/v2/"
  if (parts[0] == "v2") return V2(method, parts);
  if (parts[0] == "v1") return V1(method, parts);
  Route r;
  if (parts.size() == 1 && parts[0] == "metrics")
    r.kind = method == "GET" ? Kind::kMetrics : Kind::kMethodNotAllowed;
  return r;
}

}  // namespace hearth::serve
