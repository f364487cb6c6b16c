// `hearth deploy`, `hearth models` and `hearth undeploy` against a real hearthd serving HTTP
// (--serve-listen): the deployed job answers curl over KServe v2 and TF Serving REST, and a
// restarted hearthd serves the same versions and labels.
#include <gtest/gtest.h>

#include <regex>

#include "absl/strings/numbers.h"
#include "coordinator_e2e/coordinator_fixture.h"

namespace hearth::testing {
namespace {

// The model server's base URL, from hearthd's log line.
std::string ServeUrl(const Hearthd& d) {
  static const std::regex kServing(R"(serving deployed models on (http://127\.0\.0\.1:\d+))");
  std::smatch m;
  const std::string log = d.log();
  return std::regex_search(log, m, kServing) ? m[1].str() : "";
}

// curl: the body, then the status code on the last line.
std::pair<int, std::string> Curl(const std::string& url, const std::string& body = "") {
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "-w", "\n%{http_code}"};
  if (!body.empty()) {
    for (const std::string& a : {std::string("-H"), std::string("Content-Type: application/json"),
                                 std::string("-d"), body})
      argv.push_back(a);
  }
  argv.push_back(url);
  CommandResult r = RunCommand(argv);
  const size_t nl = r.out.rfind('\n');
  int code = -1;
  if (nl != std::string::npos && !absl::SimpleAtoi(r.out.substr(nl + 1), &code)) code = -1;
  return {code, nl == std::string::npos ? r.out : r.out.substr(0, nl)};
}

constexpr char kOneRow[] =
    R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[0.1,0.2,0.3,0.4]}]})";

TEST_F(CoordinatorTest, ADeployedJobAnswersCurlAndARestartKeepsItsVersions) {
  auto hearthd = Start({"--serve-listen", "127.0.0.1:0"});
  std::string url = ServeUrl(*hearthd);
  ASSERT_FALSE(url.empty()) << hearthd->log();
  ASSERT_EQ(hearthd->Hearth({"submit", Job("deployed", 1), "--follow"}).exit_code, 0);

  CommandResult first =
      hearthd->Hearth({"deploy", "j-000001", "--name", "three", "--alias", "production"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(Contains(first.out, "deployed j-000001 as three version 1 (production)"))
      << first.out;
  EXPECT_TRUE(Contains(first.out, url + "/v2/models/three/infer")) << first.out;

  auto [code, body] = Curl(url + "/v2/models/three/infer", kOneRow);
  EXPECT_EQ(code, 200) << body;
  EXPECT_TRUE(Contains(body, "\"outputs\"")) << body;
  std::tie(code, body) = Curl(url + "/v1/models/three/labels/production:predict",
                              R"({"instances":[{"a":0.1,"b":0.2,"c":0.3,"d":0.4}]})");
  EXPECT_EQ(code, 200) << body;
  EXPECT_TRUE(Contains(body, "\"predictions\"")) << body;

  ASSERT_EQ(hearthd->Hearth({"deploy", "j-000001", "--name", "three"}).exit_code, 0);
  CommandResult listed = hearthd->Hearth({"models"});
  EXPECT_TRUE(Contains(listed.out, "version 1    j-000001/")) << listed.out;
  EXPECT_TRUE(Contains(listed.out, "[production]")) << listed.out;
  EXPECT_TRUE(Contains(listed.out, "version 2")) << listed.out;

  // A restart: another port, the same versions and label.
  hearthd->Stop();
  hearthd = Start({"--serve-listen", "127.0.0.1:0"});
  url = ServeUrl(*hearthd);
  ASSERT_FALSE(url.empty()) << hearthd->log();
  std::tie(code, body) = Curl(url + "/v2/models/three");
  EXPECT_EQ(code, 200) << body;
  EXPECT_TRUE(Contains(body, "\"versions\":[\"1\",\"2\"]")) << body;
  std::tie(code, body) = Curl(url + "/v2/models/three/versions/1/infer", kOneRow);
  EXPECT_EQ(code, 200) << body;

  CommandResult removed = hearthd->Hearth({"undeploy", "three", "--version", "1"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  std::tie(code, body) = Curl(url + "/v1/models/three/labels/production:predict",
                              R"({"instances":[[0.1,0.2,0.3,0.4]]})");
  EXPECT_EQ(code, 404) << body;
  ASSERT_EQ(hearthd->Hearth({"undeploy", "three"}).exit_code, 0);
  std::tie(code, body) = Curl(url + "/v2/models/three/infer", kOneRow);
  EXPECT_EQ(code, 404) << body;
  EXPECT_TRUE(Contains(hearthd->Hearth({"models"}).out, "no models deployed")) << hearthd->log();
}

TEST_F(CoordinatorTest, DeployRefusalsSayWhatToDo) {
  auto hearthd = Start();  // no --serve-listen: deployed models are not served over HTTP
  ASSERT_EQ(hearthd->Hearth({"submit", Job("refused", 1), "--follow"}).exit_code, 0);

  CommandResult no_name = hearthd->Hearth({"deploy", "j-000001"});
  EXPECT_EQ(no_name.exit_code, 1);
  EXPECT_TRUE(Contains(no_name.err, "--name: give the served model's name")) << no_name.err;
  CommandResult bad_name = hearthd->Hearth({"deploy", "j-000001", "--name", "a/b"});
  EXPECT_NE(bad_name.exit_code, 0);
  EXPECT_TRUE(Contains(bad_name.err, "is not a model name")) << bad_name.err;
  CommandResult no_job = hearthd->Hearth({"deploy", "j-000099", "--name", "m"});
  EXPECT_NE(no_job.exit_code, 0);
  EXPECT_TRUE(Contains(no_job.err, "j-000099")) << no_job.err;
  CommandResult no_checkpoint =
      hearthd->Hearth({"deploy", "j-000001", "--name", "m", "--checkpoint", "j-000001/999999"});
  EXPECT_NE(no_checkpoint.exit_code, 0);
  EXPECT_TRUE(Contains(no_checkpoint.err, "hearth checkpoints j-000001")) << no_checkpoint.err;
  CommandResult undeploy = hearthd->Hearth({"undeploy", "m"});
  EXPECT_NE(undeploy.exit_code, 0);
  EXPECT_TRUE(Contains(undeploy.err, "no model named `m` is deployed")) << undeploy.err;

  CommandResult ok = hearthd->Hearth({"deploy", "j-000001", "--name", "m"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(Contains(ok.out, "start it with --serve-listen")) << ok.out;
}

}  // namespace
}  // namespace hearth::testing
