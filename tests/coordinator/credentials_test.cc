// Worker secrets (one per job attempt) and bearer-token parsing.
#include <gtest/gtest.h>

#include "coordinator/auth.h"
#include "coordinator/worker_credentials.h"

namespace hearth::coordinator {
namespace {

TEST(WorkerCredentialsTest, ASecretIsForOneJobsCurrentAttemptOnly) {
  WorkerCredentials credentials;
  const std::string a1 = *credentials.Issue("j-000001", 1);
  const std::string b1 = *credentials.Issue("j-000002", 1);
  EXPECT_EQ(a1.size(), 64u);
  EXPECT_NE(a1, b1);
  EXPECT_TRUE(credentials.Check(a1, "j-000001", 1).ok());
  EXPECT_EQ(*credentials.AttemptOf(a1, "j-000001"), 1);
  // Another job's secret, no secret, a guess.
  EXPECT_EQ(credentials.Check(b1, "j-000001", 1).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(credentials.Check("", "j-000001", 1).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(credentials.Check(std::string(64, 'a'), "j-000001", 1).code(),
            absl::StatusCode::kUnauthenticated);
  // A restart issues a new secret: the old attempt's is worthless, and a report for an older
  // attempt with the new secret is told to stop.
  const std::string a2 = *credentials.Issue("j-000001", 2);
  EXPECT_EQ(credentials.Check(a1, "j-000001", 1).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(credentials.Check(a2, "j-000001", 1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(credentials.Check(a2, "j-000001", 2).ok());
  // Revoking an old attempt leaves the new one; revoking the current one ends it.
  credentials.Revoke("j-000001", 1);
  EXPECT_TRUE(credentials.Check(a2, "j-000001", 2).ok());
  credentials.Revoke("j-000001", 2);
  EXPECT_EQ(credentials.Check(a2, "j-000001", 2).code(), absl::StatusCode::kUnauthenticated);
}

TEST(AuthTest, TheBearerSchemeIsCaseInsensitiveAndTokensMustMatchExactly) {
  EXPECT_EQ(BearerCredential("Bearer abc").value_or("?"), "abc");
  EXPECT_EQ(BearerCredential("bearer abc").value_or("?"), "abc");
  EXPECT_EQ(BearerCredential("BEARER  abc").value_or("?"), "abc");
  EXPECT_FALSE(BearerCredential("Basic abc").has_value());
  EXPECT_FALSE(BearerCredential("Bearer").has_value());
  EXPECT_FALSE(BearerCredential("").has_value());
  TokenAuth auth("correct-horse-battery-staple");
  EXPECT_TRUE(auth.Accepts("bEaReR correct-horse-battery-staple"));
  EXPECT_FALSE(auth.Accepts("Bearer correct-horse-battery-stapl"));
  EXPECT_FALSE(auth.Accepts("Bearer correct-horse-battery-staple!"));
  EXPECT_FALSE(auth.Accepts(std::nullopt));
  EXPECT_TRUE(TokenAuth().Accepts(std::nullopt)) << "no token configured: open";
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", ""));
}

}  // namespace
}  // namespace hearth::coordinator
