// Env: the POSIX implementation, the atomic-write protocol, and its behaviour under injected
// faults.
#include "hearth/env.h"

#include <gtest/gtest.h>

#include <string>

#include "ckpt/fault_injecting_env.h"
#include "ckpt/temp_dir.h"
#include "core/fault_injection.h"

namespace hearth {
namespace {

using testing::FaultInjectingEnv;
using testing::TempDir;

// Names in `dir` that are leftovers of an atomic write.
int CountTempFiles(Env& env, const std::string& dir) {
  int n = 0;
  const std::vector<std::string> names = env.ListDir(dir).value();
  for (const std::string& name : names) n += IsAtomicWriteTempName(name);
  return n;
}

TEST(EnvTest, WriteAtomicallyThenRead) {
  TempDir tmp;
  Env& env = Env::Default();
  const std::string path = tmp.file("a.bin");
  ASSERT_TRUE(env.WriteFileAtomically(path, std::string("hello\0world", 11)).ok());
  EXPECT_EQ(env.ReadFile(path).value(), std::string("hello\0world", 11));
  ASSERT_TRUE(env.WriteFileAtomically(path, "second").ok());
  EXPECT_EQ(env.ReadFile(path).value(), "second");
  EXPECT_EQ(env.ListDir(tmp.path()).value(), std::vector<std::string>{"a.bin"});
}

TEST(EnvTest, WriteConcatenatesPieces) {
  TempDir tmp;
  const std::string path = tmp.file("p");
  const std::string_view pieces[] = {"ab", "", "cde"};
  ASSERT_TRUE(Env::Default().WriteFileAtomically(path, pieces).ok());
  EXPECT_EQ(Env::Default().ReadFile(path).value(), "abcde");
}

TEST(EnvTest, MissingFileIsNotFoundNamingPathAndErrno) {
  TempDir tmp;
  const std::string path = tmp.file("missing.safetensors");
  const Status s = Env::Default().ReadFile(path).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find(path), std::string::npos) << s;
  EXPECT_NE(s.message().find("No such file"), std::string::npos) << s;
  EXPECT_NE(s.message().find("check that the path"), std::string::npos) << s;
}

TEST(EnvTest, WriteIntoMissingDirectoryFailsAndNamesIt) {
  TempDir tmp;
  const std::string path = tmp.file("no/such/dir/x");
  const Status s = Env::Default().WriteFileAtomically(path, "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find(tmp.file("no/such/dir/")), std::string::npos) << s;
}

TEST(EnvTest, CreateDirsListRemoveExists) {
  TempDir tmp;
  Env& env = Env::Default();
  const std::string dir = tmp.file("a/b/c");
  ASSERT_TRUE(env.CreateDirs(dir).ok());
  ASSERT_TRUE(env.CreateDirs(dir).ok()) << "creating an existing directory is fine";
  ASSERT_TRUE(env.WriteFileAtomically(dir + "/f2", "2").ok());
  ASSERT_TRUE(env.WriteFileAtomically(dir + "/f1", "1").ok());
  EXPECT_EQ(env.ListDir(dir).value(), (std::vector<std::string>{"f1", "f2"}));
  EXPECT_TRUE(env.FileExists(dir + "/f1"));
  ASSERT_TRUE(env.RemoveFile(dir + "/f1").ok());
  EXPECT_FALSE(env.FileExists(dir + "/f1"));
  EXPECT_EQ(env.RemoveFile(dir + "/f1").code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(env.CreateDirs(dir + "/f2/sub").ok()) << "f2 is a file";
  EXPECT_FALSE(env.CreateDirs(dir + "/f2").ok()) << "f2 is a file";
  EXPECT_EQ(env.ListDir(tmp.file("nope")).status().code(), absl::StatusCode::kNotFound);
}

TEST(EnvTest, ErrnoToStatusGivesCodeAndHint) {
  const Status full = ErrnoToStatus("cannot write", "/runs/x", ENOSPC);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(full.message().find("cannot write /runs/x: No space left on device (errno 28)"),
            std::string::npos)
      << full;
  EXPECT_NE(full.message().find("free space"), std::string::npos) << full;
  EXPECT_EQ(ErrnoToStatus("x", "p", EACCES).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoToStatus("x", "p", EIO).code(), absl::StatusCode::kInternal);
}

TEST(EnvTest, PathHelpers) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName("/c"), "/");
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_TRUE(IsAtomicWriteTempName("ckpt-1.safetensors.tmp-12-0"));
  EXPECT_FALSE(IsAtomicWriteTempName("ckpt-1.safetensors"));
}

// The core promise: a failed write leaves the previous file exactly as it was.
TEST(EnvTest, FullDiskKeepsOldFileAndCleansUp) {
  TempDir tmp;
  FaultInjectingEnv env;
  const std::string path = tmp.file("data");
  ASSERT_TRUE(env.WriteFileAtomically(path, "version one").ok());
  env.FailWritesAfter(4);
  const Status s = env.WriteFileAtomically(path, std::string(1000, 'x'));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s;
  EXPECT_NE(s.message().find(path + ".tmp-"), std::string::npos) << "names the file: " << s;
  EXPECT_EQ(env.ReadFile(path).value(), "version one");
  EXPECT_EQ(CountTempFiles(env, tmp.path()), 0);
}

TEST(EnvTest, CrashMidWriteLeavesTruncatedTempButOldFileIntact) {
  TempDir tmp;
  FaultInjectingEnv env;
  const std::string path = tmp.file("data");
  ASSERT_TRUE(env.WriteFileAtomically(path, "version one").ok());
  env.CrashAfter(7);
  EXPECT_FALSE(env.WriteFileAtomically(path, std::string(1000, 'x')).ok());
  EXPECT_TRUE(env.crashed());
  env.Heal();  // "restart"
  EXPECT_EQ(env.ReadFile(path).value(), "version one");
  // The torn temp file is still there, truncated at the crash point.
  ASSERT_EQ(CountTempFiles(env, tmp.path()), 1);
  const std::vector<std::string> names = env.ListDir(tmp.path()).value();
  for (const std::string& name : names)
    if (IsAtomicWriteTempName(name)) {
      EXPECT_EQ(env.ReadFile(tmp.file(name)).value(), std::string(7, 'x'));
    }
}

TEST(EnvTest, FailedRenameOrSyncKeepsOldFile) {
  TempDir tmp;
  FaultInjectingEnv env;
  const std::string path = tmp.file("data");
  ASSERT_TRUE(env.WriteFileAtomically(path, "version one").ok());
  env.FailRenames();
  EXPECT_FALSE(env.WriteFileAtomically(path, "version two").ok());
  EXPECT_EQ(env.ReadFile(path).value(), "version one");
  EXPECT_EQ(CountTempFiles(env, tmp.path()), 0);
  env.Heal();
  env.FailSyncs();
  EXPECT_FALSE(env.WriteFileAtomically(path, "version two").ok());
  EXPECT_EQ(env.ReadFile(path).value(), "version one");
  EXPECT_EQ(CountTempFiles(env, tmp.path()), 0);
}

TEST(EnvTest, LyingDiskTruncatesSilently) {
  TempDir tmp;
  FaultInjectingEnv env;
  const std::string path = tmp.file("data");
  env.DropWritesAfter(3);
  ASSERT_TRUE(env.WriteFileAtomically(path, "abcdef").ok()) << "the disk lies";
  EXPECT_EQ(env.ReadFile(path).value(), "abc");
}

// The default Env's own fault points (HEARTH_FAULTS "write" and "fsync"), which other processes
// (hearthd, workers) use: a failure there keeps the old file and leaves no temp file behind.
TEST(EnvTest, TheDefaultEnvFailsWritesAndSyncsWhereHearthFaultsSays) {
  TempDir tmp;
  Env& env = Env::Default();
  const std::string path = tmp.file("data");
  ASSERT_TRUE(env.WriteFileAtomically(path, "version one").ok());
  faults::SetSpecForTesting("write:path=" + tmp.path());
  Status full = env.WriteFileAtomically(path, "version two");
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  EXPECT_NE(full.message().find("free space"), absl::string_view::npos) << full;
  faults::SetSpecForTesting("fsync:path=" + tmp.path() + ",errno=5");
  Status io = env.WriteFileAtomically(path, "version two");
  EXPECT_NE(io.message().find("cannot fsync"), absl::string_view::npos) << io;
  faults::SetSpecForTesting("");
  EXPECT_EQ(env.ReadFile(path).value(), "version one");
  EXPECT_EQ(CountTempFiles(env, tmp.path()), 0);
}

}  // namespace
}  // namespace hearth
