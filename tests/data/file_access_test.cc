// The data-file policy: beneath the roots (symlinks and ".." cannot lead out, even swapped in
// after a check), regular files only, hearthd's own files never, and bounded sizes.
#include "hearth/data/file_access.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <fstream>

#include "ckpt/temp_dir.h"
#include "hearth/data/csv.h"

namespace hearth {
namespace {

using testing::TempDir;

void WriteFileOrFail(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

class FileAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.file("root/sub"));
    std::filesystem::create_directories(dir_.file("root/own"));
    WriteFileOrFail(dir_.file("root/sub/data.csv"), "a,b\n1,2\n");
    WriteFileOrFail(dir_.file("root/own/hearthd.db"), "secret");
    WriteFileOrFail(dir_.file("root/token"), "token");
    WriteFileOrFail(dir_.file("outside.csv"), "a,b\n3,4\n");
    policy_.roots = {dir_.file("root")};
    policy_.excluded = {dir_.file("root/own"), dir_.file("root/token")};
    policy_.regular_files_only = true;
    ASSERT_TRUE(SetDataFilePolicy(policy_).ok());
    policy_ = CurrentDataFilePolicy();
  }
  void TearDown() override { ASSERT_TRUE(SetDataFilePolicy({}).ok()); }

  absl::StatusCode Open(const std::string& path) {
    StatusOr<int> fd = OpenDataFile(path);
    if (fd.ok()) ::close(*fd);
    return fd.status().code();
  }

  TempDir dir_;
  DataFilePolicy policy_;
};

TEST_F(FileAccessTest, FilesBeneathARootOpenAndOthersDoNot) {
  EXPECT_EQ(Open(dir_.file("root/sub/data.csv")), absl::StatusCode::kOk);
  EXPECT_EQ(Open("sub/data.csv"), absl::StatusCode::kOk) << "relative to the first root";
  EXPECT_EQ(Open(dir_.file("outside.csv")), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Open(dir_.file("root/../outside.csv")), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Open("../outside.csv"), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Open(dir_.file("root/sub/missing.csv")), absl::StatusCode::kNotFound);
  EXPECT_EQ(Open(dir_.file("root/sub")), absl::StatusCode::kInvalidArgument) << "a directory";
}

TEST_F(FileAccessTest, SymlinksOutOfTheRootAreRefusedAndThoseWithinFollowed) {
  ASSERT_EQ(::symlink(dir_.file("outside.csv").c_str(), dir_.file("root/out.csv").c_str()), 0);
  ASSERT_EQ(::symlink("../../outside.csv", dir_.file("root/sub/rel.csv").c_str()), 0);
  ASSERT_EQ(::symlink(dir_.path().c_str(), dir_.file("root/up").c_str()), 0);
  ASSERT_EQ(::symlink("data.csv", dir_.file("root/sub/alias.csv").c_str()), 0);
  ASSERT_EQ(::symlink(dir_.file("root/sub/data.csv").c_str(), dir_.file("root/abs.csv").c_str()),
            0);
  EXPECT_EQ(Open(dir_.file("root/out.csv")), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Open(dir_.file("root/sub/rel.csv")), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Open(dir_.file("root/up/outside.csv")), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Open(dir_.file("root/sub/alias.csv")), absl::StatusCode::kOk);
  EXPECT_EQ(Open(dir_.file("root/abs.csv")), absl::StatusCode::kOk) << "absolute, but beneath";
}

// The check is made on what was opened: swapping a checked file for a symlink changes nothing
// for the next open, which is checked again, beneath the root.
TEST_F(FileAccessTest, ASymlinkSwappedInAfterACheckCannotEscape) {
  const std::string path = dir_.file("root/sub/data.csv");
  EXPECT_EQ(Open(path), absl::StatusCode::kOk);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ASSERT_EQ(::symlink(dir_.file("outside.csv").c_str(), path.c_str()), 0);
  EXPECT_EQ(Open(path), absl::StatusCode::kPermissionDenied);
  // And a reader (the CSV reader here) goes through the same open.
  StatusOr<Dataset> read = ReadCsv(path, CsvOptions{});
  EXPECT_EQ(read.status().code(), absl::StatusCode::kPermissionDenied) << read.status();
}

TEST_F(FileAccessTest, OnlyRegularFilesAndNeverHearthdsOwn) {
  ASSERT_EQ(::mkfifo(dir_.file("root/fifo.csv").c_str(), 0644), 0);
  EXPECT_EQ(Open(dir_.file("root/fifo.csv")), absl::StatusCode::kInvalidArgument)
      << "refused at once, not waited on";
  EXPECT_EQ(Open("/dev/null"), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Open(dir_.file("root/own/hearthd.db")), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Open(dir_.file("root/token")), absl::StatusCode::kPermissionDenied);
  ASSERT_EQ(::link(dir_.file("root/token").c_str(), dir_.file("root/sub/copy.csv").c_str()), 0);
  EXPECT_EQ(Open(dir_.file("root/sub/copy.csv")), absl::StatusCode::kPermissionDenied)
      << "a hard link is the same file";
}

TEST_F(FileAccessTest, SizesAreBounded) {
  DataFilePolicy small = policy_;
  small.max_bytes = 4;
  ASSERT_TRUE(SetDataFilePolicy(small).ok());
  EXPECT_EQ(Open(dir_.file("root/sub/data.csv")), absl::StatusCode::kResourceExhausted);
}

TEST_F(FileAccessTest, WithoutAPolicyEverythingTheUserCanReadOpens) {
  ASSERT_TRUE(SetDataFilePolicy({}).ok());
  ASSERT_EQ(::mkfifo(dir_.file("fifo").c_str(), 0644), 0);
  EXPECT_EQ(Open(dir_.file("outside.csv")), absl::StatusCode::kOk);
  EXPECT_EQ(Open(dir_.file("root/own/hearthd.db")), absl::StatusCode::kOk);
  EXPECT_FALSE(SetDataFilePolicy({.roots = {dir_.file("no-such-dir")}, .excluded = {}}).ok());
}

}  // namespace
}  // namespace hearth
