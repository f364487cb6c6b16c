// Progress through a file for long reads (`hearth profile`): a redrawn bar on a terminal, a plain
// line every 10% otherwise, nothing for small files.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace hearth::cli {

class ByteProgress {
 public:
  // Files smaller than this finish before a bar is worth seeing.
  static constexpr int64_t kMinBytes = 16 << 20;

  ByteProgress(std::string what, std::FILE* out = stderr);
  ~ByteProgress();
  // `total` < 0: unknown (gzip), shown as bytes only.
  void Update(int64_t done, int64_t total);

 private:
  double Seconds() const;

  std::string what_;
  std::FILE* out_;
  bool line_ = false;
  bool open_ = false;
  double start_ = 0;
  double last_draw_ = -1;
  int last_tenth_ = 0;
};

}  // namespace hearth::cli
