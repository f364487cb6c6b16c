// Job spec <-> JSON. Protobuf's JSON mapping does the conversion; a positioned syntax and schema
// check runs first so that errors name the line, column and field path.
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "hearth/job.h"
#include "job/json_schema.h"

namespace hearth {
namespace {

// Protobuf's own wording, for the rare error the schema check lets through (e.g. an int64 given
// as a string that is not a number): "(model.layers[0].dense.units): invalid value ..." or
// "(model.layers[1].conv2d) filterz: Cannot find field.". Rewritten as "line:col: path: problem".
std::string TranslateProtobufError(std::string_view message, const json::Value& root) {
  std::string path;
  std::string_view problem = message;
  if (problem.starts_with("(")) {
    const size_t close = problem.find(')');
    path = std::string(problem.substr(1, close - 1));
    problem = close == std::string_view::npos ? "" : problem.substr(close + 1);
    if (problem.starts_with(":")) problem.remove_prefix(1);
    if (problem.starts_with(" ")) problem.remove_prefix(1);
  }
  std::optional<json::Pos> pos = job_internal::LocatePath(root, path);
  std::string where = pos ? absl::StrFormat("%d:%d: ", pos->line, pos->column) : " ";
  if (!path.empty()) where += path + ": ";
  return where + std::string(problem);
}

}  // namespace

StatusOr<v1::JobSpec> ParseJobSpec(std::string_view json_text, std::string_view source_name) {
  auto fail = [&](const std::string& problem) {
    return absl::InvalidArgumentError(absl::StrFormat("%s:%s", source_name, problem));
  };
  StatusOr<json::Value> root = json::Parse(json_text, {.allow_repeated_keys = true});
  if (!root.ok()) return fail(std::string(root.status().message()));
  if (root->type != json::Value::Type::kObject)
    return fail(absl::StrFormat("%d:%d: expected the job spec as a JSON object ({...}), found %s",
                                root->pos.line, root->pos.column, json::TypeName(root->type)));
  std::vector<std::string> errors =
      job_internal::CheckJsonAgainstSchema(*root, *v1::JobSpec::descriptor());
  if (!errors.empty()) {
    for (std::string& e : errors) e = absl::StrFormat("%s:%s", source_name, e);
    return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  }

  v1::JobSpec spec;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json_text.data(), json_text.size()), &spec, options);
  if (!status.ok()) return fail(TranslateProtobufError(std::string(status.message()), *root));
  return spec;
}

StatusOr<v1::JobSpec> LoadJobSpec(const std::string& path, Env& env) {
  StatusOr<std::string> text = env.ReadFile(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status()))
      return absl::NotFoundError(absl::StrFormat("job spec %s: no such file", path));
    return text.status();
  }
  return ParseJobSpec(*text, path);
}

std::string JobSpecToJson(const v1::JobSpec& spec) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  // Printing a valid message cannot fail: every message has a JSON form.
  const auto status = google::protobuf::util::MessageToJsonString(spec, &json, options);
  HEARTH_CHECK_MSG(status.ok(), std::string(status.message()));
  return json;
}

}  // namespace hearth
