// Shared by the model server's tests: example models trained once per test binary, and a call
// into the serving API that waits for its reply.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <string>

#include "core/json.h"
#include "hearth/job.h"
#include "hearth/train.h"
#include "serve/serving_api.h"

namespace hearth::serve::testing {

// Trains examples/jobs/JOB.json quietly into DIR/JOB; returns its best checkpoint.
inline std::string TrainExample(const std::string& job, const std::string& dir) {
  StatusOr<v1::JobSpec> spec = LoadJobSpec("examples/jobs/" + job + ".json");
  EXPECT_TRUE(spec.ok()) << spec.status();
  if (!spec.ok()) return "";
  TrainOptions options;
  options.run_dir = dir + "/" + job;
  options.progress.silent = true;
  StatusOr<TrainResult> result = Train(*spec, options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? result->best_checkpoint : "";
}

inline std::string FreshDir(const std::string& name) {
  const std::string dir = std::filesystem::temp_directory_path() /
                          ("hearth-serve-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline HttpReply Call(ServingApi& api, const std::string& method, const std::string& path,
                      const std::string& body = "",
                      std::optional<std::string> authorization = std::nullopt) {
  std::promise<HttpReply> reply;
  api.Handle(HttpRequest{method, path, std::move(authorization), body},
             [&reply](HttpReply r) { reply.set_value(std::move(r)); });
  return reply.get_future().get();
}

// The reply's JSON (a null value when it is not JSON, which fails the test).
inline json::Value Body(const HttpReply& reply) {
  StatusOr<json::Value> v = json::Parse(reply.body);
  EXPECT_TRUE(v.ok()) << reply.body;
  return v.ok() ? *v : json::Value();
}

}  // namespace hearth::serve::testing
