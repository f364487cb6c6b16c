// Every path shape the model server answers, and the ones it must not.
#include "serve/routes.h"

#include <gtest/gtest.h>

#include <string>

namespace hearth::serve {
namespace {

using Kind = Route::Kind;

TEST(RoutesTest, KServeV2Paths) {
  EXPECT_EQ(MatchRoute("GET", "/v2/health/live").kind, Kind::kLive);
  EXPECT_EQ(MatchRoute("GET", "/v2/health/ready").kind, Kind::kReady);
  EXPECT_EQ(MatchRoute("GET", "/v2").kind, Kind::kServerMetadata);
  EXPECT_EQ(MatchRoute("GET", "/v2/").kind, Kind::kServerMetadata);
  Route r = MatchRoute("GET", "/v2/models/iris");
  EXPECT_EQ(r.kind, Kind::kModelMetadata);
  EXPECT_EQ(r.model, "iris");
  EXPECT_FALSE(r.version.has_value());
  r = MatchRoute("GET", "/v2/models/iris/versions/3/ready");
  EXPECT_EQ(r.kind, Kind::kModelReady);
  EXPECT_EQ(r.version.value_or(0), 3);
  r = MatchRoute("POST", "/v2/models/iris/versions/12/infer");
  EXPECT_EQ(r.kind, Kind::kInfer);
  EXPECT_EQ(r.version.value_or(0), 12);
  EXPECT_STREQ(r.protocol, "v2");
  EXPECT_EQ(MatchRoute("POST", "/v2/models/iris/infer").kind, Kind::kInfer);
  EXPECT_EQ(MatchRoute("POST", "/v2/repository/index").kind, Kind::kRepositoryIndex);
  EXPECT_EQ(MatchRoute("POST", "/v2/repository/reload").kind, Kind::kRepositoryReload);
}

TEST(RoutesTest, TfServingPaths) {
  Route r = MatchRoute("POST", "/v1/models/iris:predict");
  EXPECT_EQ(r.kind, Kind::kTfPredict);
  EXPECT_EQ(r.model, "iris");
  r = MatchRoute("POST", "/v1/models/iris/versions/2:predict");
  EXPECT_EQ(r.kind, Kind::kTfPredict);
  EXPECT_EQ(r.version.value_or(0), 2);
  r = MatchRoute("POST", "/v1/models/iris/labels/production:predict");
  EXPECT_EQ(r.kind, Kind::kTfPredict);
  EXPECT_EQ(r.label, "production");
  r = MatchRoute("GET", "/v1/models/iris");
  EXPECT_EQ(r.kind, Kind::kTfStatus);
  EXPECT_EQ(MatchRoute("GET", "/v1/models/iris/versions/2").kind, Kind::kTfStatus);
  EXPECT_EQ(MatchRoute("POST", "/v1/models/iris:classify").kind, Kind::kNotFound);
}

TEST(RoutesTest, WrongMethodsAreNotMisses) {
  EXPECT_EQ(MatchRoute("GET", "/v2/models/iris/infer").kind, Kind::kMethodNotAllowed);
  EXPECT_EQ(MatchRoute("POST", "/v2/health/live").kind, Kind::kMethodNotAllowed);
  EXPECT_EQ(MatchRoute("GET", "/v1/models/iris:predict").kind, Kind::kMethodNotAllowed);
  EXPECT_EQ(MatchRoute("DELETE", "/metrics").kind, Kind::kMethodNotAllowed);
  EXPECT_EQ(MatchRoute("GET", "/metrics").kind, Kind::kMetrics);
}

TEST(RoutesTest, BadVersionsAreKeptToBeNamed) {
  Route r = MatchRoute("POST", "/v2/models/iris/versions/latest/infer");
  EXPECT_EQ(r.kind, Kind::kInfer);
  EXPECT_FALSE(r.version.has_value());
  EXPECT_EQ(r.bad_version, "latest");
  EXPECT_EQ(MatchRoute("POST", "/v2/models/iris/versions/99999999999999999999/infer").bad_version,
            "99999999999999999999");
  EXPECT_EQ(MatchRoute("POST", "/v1/models/iris/versions/-1:predict").bad_version, "-1");
}

TEST(RoutesTest, MissesAndOddPaths) {
  for (const char* path : {"", "x", "/", "/v3/models/a/infer", "/v2/models", "/v2/models/",
                           "/v2/models//infer", "/v2/models/a/b/c/d/e", "/v1/models/",
                           "/v1/models/a/versions", "/v1/models/:predict", "/metrics/x"}) {
    const Route r = MatchRoute("POST", path);
    EXPECT_TRUE(r.kind == Kind::kNotFound || r.kind == Kind::kMethodNotAllowed) << path;
  }
  // A very long path is split, not backtracked over.
  const std::string name(100000, 'a');
  EXPECT_EQ(MatchRoute("POST", "/v2/models/" + name + "/infer").model.size(), name.size());
}

}  // namespace
}  // namespace hearth::serve
