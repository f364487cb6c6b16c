// Helpers the fuzz targets share: a bounded read of the input, and an in-memory file for the
// readers that take a path (a memfd, named /proc/self/fd/N), so no iteration touches the disk.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::fuzz {

// A file in memory whose contents each iteration replaces.
class MemoryFile {
 public:
  MemoryFile() : fd_(::memfd_create("hearth-fuzz", MFD_CLOEXEC)) {}
  ~MemoryFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  // Replaces the contents; returns the path the readers open.
  std::string Hold(std::string_view bytes) {
    if (::ftruncate(fd_, 0) != 0) return "";
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n =
          ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
      if (n <= 0) return "";
      done += static_cast<size_t>(n);
    }
    return "/proc/self/fd/" + std::to_string(fd_);
  }

 private:
  int fd_;
};

// The first byte, as choices for a target's options; the rest is the input proper.
struct Split {
  uint8_t choice = 0;
  std::string_view rest;
};
inline Split Choose(const uint8_t* data, size_t size) {
  if (size == 0) return {};
  return {data[0], std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1)};
}

}  // namespace hearth::fuzz
