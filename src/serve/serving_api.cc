#include "serve/serving_api.h"

#include <chrono>

#include "absl/strings/str_format.h"
#include "core/json.h"
#include "serve/kserve_v2.h"
#include "serve/routes.h"
#include "serve/tf_serving_rest.h"

namespace hearth::serve {
namespace {

using Clock = std::chrono::steady_clock;
using Kind = Route::Kind;

HttpReply Json(std::string body, int status = 200) {
  return {status, std::move(body)};
}

std::string ModelsIndex(const std::vector<ModelStatus>& models) {
  std::string out = "[";
  for (size_t i = 0; i < models.size(); ++i) {
    const ModelStatus& m = models[i];
    if (i) out += ',';
    out += "{\"name\":";
    json::AppendString(out, m.name);
    out += absl::StrFormat(",\"version\":\"%s\",\"state\":\"%s\"",
                           m.versions.empty() ? "" : std::to_string(m.versions.back()),
                           m.versions.empty() ? "UNAVAILABLE" : "READY");
    if (!m.error.empty()) {
      out += ",\"reason\":";
      json::AppendString(out, m.error);
    }
    out += ",\"versions\":[";
    for (size_t v = 0; v < m.versions.size(); ++v)
      out += absl::StrFormat("%s\"%d\"", v ? "," : "", m.versions[v]);
    out += "],\"aliases\":{";
    bool first = true;
    for (const auto& [alias, v] : m.aliases) {
      if (!first) out += ',';
      first = false;
      json::AppendString(out, alias);
      out += absl::StrFormat(":\"%d\"", v);
    }
    out += "}}";
  }
  return out + "]";
}

}  // namespace

int HttpStatusOf(const Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

HttpReply ErrorReply(const Status& status) {
  std::string body = "{\"error\":";
  const std::string_view message(status.message().data(), status.message().size());
  json::AppendString(body, json::IsValidUtf8(message) ? message : "(a message that is not UTF-8)");
  body += '}';
  return {HttpStatusOf(status), std::move(body)};
}

std::optional<HttpReply> ServingApi::Metadata(const Route& route) {
  switch (route.kind) {
    case Kind::kLive:
      return Json("{\"live\":true}");
    case Kind::kReady: {
      const bool ready = registry_.ready() && !draining_;
      return Json(absl::StrFormat("{\"ready\":%s}", ready ? "true" : "false"), ready ? 200 : 503);
    }
    case Kind::kServerMetadata:
      return Json(kserve::ServerMetadata());
    case Kind::kRepositoryIndex:
      return Json(ModelsIndex(registry_.List()));
    case Kind::kMetrics:
      return HttpReply{200, metrics_.Prometheus(registry_.List()),
                       "text/plain; version=0.0.4; charset=utf-8"};
    default:
      break;
  }
  if (route.kind != Kind::kModelMetadata && route.kind != Kind::kModelReady &&
      route.kind != Kind::kTfStatus)
    return std::nullopt;
  StatusOr<std::shared_ptr<const ServedModel>> model =
      registry_.Find(route.model, route.version, route.label);
  if (route.kind == Kind::kModelReady) {
    // The status is the answer (KServe): 200 ready, else 4xx.
    if (model.ok()) return Json("{\"ready\":true}");
    return ErrorReply(model.status());
  }
  if (!model.ok()) return ErrorReply(model.status());
  for (const ModelStatus& m : registry_.List()) {
    if (m.name != route.model) continue;
    if (route.kind == Kind::kTfStatus) {
      // A version or label asked for: that version's status alone.
      std::optional<int64_t> only;
      if (route.version || !route.label.empty()) only = (*model)->version();
      return Json(tfserving::ModelStatusJson(m, only));
    }
    return Json(kserve::ModelMetadata(**model, m.versions));
  }
  return ErrorReply(absl::NotFoundError("the model was unloaded meanwhile"));
}

void ServingApi::Handle(HttpRequest request, Done done) {
  const auto started = Clock::now();
  const Route route = MatchRoute(request.method, request.path);
  // The counters' label: a served model's name, never one a client made up (unbounded).
  std::string model = registry_.Serves(route.model) ? route.model : "";
  auto finish = [this, started, protocol = std::string(route.protocol), model,
                 done = std::move(done)](HttpReply reply) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    metrics_.RecordRequest(model, protocol, reply.status, seconds);
    done(std::move(reply));
  };
  if (route.kind == Kind::kNotFound)
    return finish(ErrorReply(absl::NotFoundError(absl::StrFormat(
        "no endpoint %s %s; see docs/serving.md (KServe v2 under /v2, TF Serving under /v1)",
        request.method, request.path.substr(0, 200)))));
  if (route.kind == Kind::kMethodNotAllowed) {
    HttpReply reply = ErrorReply(absl::InvalidArgumentError(
        absl::StrFormat("%s is not allowed on %s", request.method, request.path.substr(0, 200))));
    reply.status = 405;
    return finish(std::move(reply));
  }
  const bool open = route.kind == Kind::kLive || route.kind == Kind::kReady;
  if (!open && !options_.token.Accepts(request.authorization))
    return finish(ErrorReply(absl::UnauthenticatedError(
        request.authorization ? "the token is wrong; use the server's --token-file"
                              : "this server requires a token: send `Authorization: Bearer "
                                "<token>` (the contents of its --token-file)")));
  if (!route.bad_version.empty())
    return finish(ErrorReply(absl::InvalidArgumentError(
        absl::StrFormat("version `%s`: versions are positive integers", route.bad_version))));
  if (route.kind == Kind::kRepositoryReload) {
    if (!options_.reload) return finish(ErrorReply(absl::UnimplementedError("no reload here")));
    options_.reload([this, finish = std::move(finish)](const Status& s) {
      finish(s.ok() ? Json(ModelsIndex(registry_.List())) : ErrorReply(s));
    });
    return;
  }
  if (std::optional<HttpReply> reply = Metadata(route)) return finish(*std::move(reply));
  Infer(route, std::move(request), std::move(finish));
}

void ServingApi::Infer(const Route& route, HttpRequest request, Done done) {
  StatusOr<std::shared_ptr<const ServedModel>> found =
      registry_.Find(route.model, route.version, route.label);
  if (!found.ok()) return done(ErrorReply(found.status()));
  std::shared_ptr<const ServedModel> model = *std::move(found);
  if (route.kind == Kind::kInfer) {
    StatusOr<kserve::InferCall> call =
        kserve::ParseInferRequest(*model, request.body, options_.max_rows);
    if (!call.ok()) return done(ErrorReply(call.status()));
    std::vector<float> values = std::move(call->values);
    const int64_t rows = call->rows;
    model->InferAsync(std::move(values), rows,
                      [model, call = *std::move(call), done](StatusOr<Inference> result) {
                        if (!result.ok()) return done(ErrorReply(result.status()));
                        done(Json(kserve::InferResponse(*model, call, *result)));
                      });
    return;
  }
  StatusOr<tfserving::PredictCall> call =
      tfserving::ParsePredictRequest(*model, request.body, options_.max_rows);
  if (!call.ok()) return done(ErrorReply(call.status()));
  model->InferAsync(std::move(call->values), call->rows, [model, done](StatusOr<Inference> result) {
    if (!result.ok()) return done(ErrorReply(result.status()));
    done(Json(tfserving::PredictResponse(*model, *result)));
  });
}

}  // namespace hearth::serve
