// FaultInjectingEnv: an Env for tests that fails the way real disks do, wrapping a real Env.
//
// Header-only so any module's tests can use it (#include "ckpt/fault_injecting_env.h") without
// test code in the library. Faults are armed with a byte budget counted over every Append from
// then on, across all files:
//   FailWritesAfter(n)  a full disk: the write that crosses the budget stores what fits, then
//                       fails with ENOSPC (or the given errno); later writes fail at once.
//   CrashAfter(n)       a crash (kill -9, power cut) mid-write: the data stops at the budget and
//                       every later call that changes the disk fails, so no cleanup happens and
//                       the truncated temp file stays behind, as it would after a real crash.
//   DropWritesAfter(n)  a torn write on a lying disk: bytes past the budget vanish but every call
//                       reports success, so the damage only shows when the file is read back.
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hearth/env.h"

namespace hearth::testing {

class FaultInjectingEnv : public Env {
 public:
  explicit FaultInjectingEnv(Env& base = Env::Default()) : base_(base) {}

  void FailWritesAfter(int64_t bytes, int err = ENOSPC) { Arm(Mode::kFail, bytes, err); }
  void CrashAfter(int64_t bytes) { Arm(Mode::kCrash, bytes, EIO); }
  void DropWritesAfter(int64_t bytes) { Arm(Mode::kDrop, bytes, 0); }
  // Every rename / fsync fails with `err` (0 turns it off).
  void FailRenames(int err = EIO) { rename_errno_ = err; }
  void FailSyncs(int err = EIO) { sync_errno_ = err; }
  // Back to a healthy disk (a crash is "over": the process restarted).
  void Heal() {
    mode_ = Mode::kNone;
    crashed_ = false;
    rename_errno_ = sync_errno_ = 0;
  }
  bool crashed() const { return crashed_; }
  int64_t bytes_appended() const { return appended_; }

  StatusOr<std::string> ReadFile(const std::string& path) override { return base_.ReadFile(path); }

  StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    HEARTH_RETURN_IF_ERROR(CheckAlive(path));
    HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, base_.NewWritableFile(path));
    return std::unique_ptr<WritableFile>(new File(this, path, std::move(file)));
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    HEARTH_RETURN_IF_ERROR(CheckAlive(to));
    if (rename_errno_ != 0)
      return ErrnoToStatus("cannot rename " + from + " to", to, rename_errno_);
    return base_.RenameFile(from, to);
  }

  Status RemoveFile(const std::string& path) override {
    HEARTH_RETURN_IF_ERROR(CheckAlive(path));
    return base_.RemoveFile(path);
  }

  Status SyncDir(const std::string& dir) override {
    HEARTH_RETURN_IF_ERROR(CheckAlive(dir));
    if (sync_errno_ != 0) return ErrnoToStatus("cannot fsync directory", dir, sync_errno_);
    return base_.SyncDir(dir);
  }

  StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_.ListDir(dir);
  }
  bool FileExists(const std::string& path) override { return base_.FileExists(path); }

  Status CreateDirs(const std::string& dir) override {
    HEARTH_RETURN_IF_ERROR(CheckAlive(dir));
    return base_.CreateDirs(dir);
  }

 private:
  enum class Mode { kNone, kFail, kCrash, kDrop };

  class File : public WritableFile {
   public:
    File(FaultInjectingEnv* env, std::string path, std::unique_ptr<WritableFile> base)
        : env_(env), path_(std::move(path)), base_(std::move(base)) {}

    Status Append(std::string_view data) override {
      HEARTH_RETURN_IF_ERROR(env_->CheckAlive(path_));
      if (env_->mode_ == Mode::kNone) {
        env_->appended_ += static_cast<int64_t>(data.size());
        return base_->Append(data);
      }
      const int64_t room = std::max<int64_t>(0, env_->budget_);
      const int64_t n = std::min<int64_t>(room, static_cast<int64_t>(data.size()));
      env_->budget_ -= n;
      env_->appended_ += n;
      HEARTH_RETURN_IF_ERROR(base_->Append(data.substr(0, static_cast<size_t>(n))));
      if (n == static_cast<int64_t>(data.size())) return absl::OkStatus();
      switch (env_->mode_) {
        case Mode::kDrop:
          return absl::OkStatus();  // the lie
        case Mode::kCrash:
          env_->crashed_ = true;
          return ErrnoToStatus("simulated crash while writing", path_, EIO);
        default:
          return ErrnoToStatus("cannot write", path_, env_->errno_);
      }
    }

    Status Sync() override {
      HEARTH_RETURN_IF_ERROR(env_->CheckAlive(path_));
      if (env_->sync_errno_ != 0) return ErrnoToStatus("cannot fsync", path_, env_->sync_errno_);
      return base_->Sync();
    }

    Status Close() override {
      // The descriptor is released even after a crash; only the data on disk matters.
      return base_->Close();
    }

   private:
    FaultInjectingEnv* env_;
    std::string path_;
    std::unique_ptr<WritableFile> base_;
  };

  void Arm(Mode mode, int64_t bytes, int err) {
    mode_ = mode;
    budget_ = bytes;
    errno_ = err;
  }

  Status CheckAlive(const std::string& path) const {
    if (!crashed_) return absl::OkStatus();
    return absl::UnavailableError("simulated crash: the process is gone, cannot touch " + path);
  }

  Env& base_;
  Mode mode_ = Mode::kNone;
  int64_t budget_ = 0;
  int errno_ = 0;
  int rename_errno_ = 0;
  int sync_errno_ = 0;
  bool crashed_ = false;
  int64_t appended_ = 0;
};

}  // namespace hearth::testing
