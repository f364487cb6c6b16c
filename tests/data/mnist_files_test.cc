// Checks MNIST files written by launch/fetch-mnist.sh when HEARTH_MNIST_DIR points at them;
// skipped otherwise (the test suite must not need the network).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

struct IdxHeader {
  uint32_t magic = 0;
  std::vector<uint32_t> dims;
  uintmax_t file_bytes = 0;
};

uint32_t BigEndian(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Reads the header independently of the library's IDX reader, so this checks the files alone.
IdxHeader ReadHeader(const std::string& path) {
  IdxHeader h;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  unsigned char word[4] = {};
  in.read(reinterpret_cast<char*>(word), 4);
  h.magic = BigEndian(word);
  for (uint32_t i = 0; i < (h.magic & 0xff) && in; ++i) {
    in.read(reinterpret_cast<char*>(word), 4);
    h.dims.push_back(BigEndian(word));
  }
  std::error_code ec;
  h.file_bytes = std::filesystem::file_size(path, ec);
  return h;
}

// The label bytes after an idx1 header.
std::vector<unsigned char> ReadLabels(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(8);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(MnistFilesTest, MagicNumbersAndCounts) {
  const char* dir = std::getenv("HEARTH_MNIST_DIR");
  if (dir == nullptr || *dir == '\0') {
    GTEST_SKIP() << "set HEARTH_MNIST_DIR to a directory filled by launch/fetch-mnist.sh DIR";
  }
  for (const std::string prefix : {"train", "t10k"}) {
    SCOPED_TRACE(prefix);
    const IdxHeader images = ReadHeader(std::string(dir) + "/" + prefix + "-images-idx3-ubyte");
    const IdxHeader labels = ReadHeader(std::string(dir) + "/" + prefix + "-labels-idx1-ubyte");
    EXPECT_EQ(images.magic, 0x00000803u);  // unsigned bytes, 3 dimensions
    EXPECT_EQ(labels.magic, 0x00000801u);  // unsigned bytes, 1 dimension
    ASSERT_EQ(images.dims.size(), 3u);
    ASSERT_EQ(labels.dims.size(), 1u);
    EXPECT_EQ(images.dims[1], 28u);
    EXPECT_EQ(images.dims[2], 28u);
    EXPECT_EQ(images.dims[0], labels.dims[0]);
    EXPECT_GT(images.dims[0], 0u);
    EXPECT_EQ(images.file_bytes, 16u + uintmax_t{images.dims[0]} * 784u);
    EXPECT_EQ(labels.file_bytes, 8u + uintmax_t{labels.dims[0]});
    // Either the official set (60,000 / 10,000) or the npm fallback (8,000 / 2,000).
    for (unsigned char label : ReadLabels(std::string(dir) + "/" + prefix + "-labels-idx1-ubyte")) {
      ASSERT_LT(label, 10) << "labels must be digits 0..9";
    }
    const bool train = prefix == "train";
    const uint32_t n = images.dims[0];
    EXPECT_TRUE(n == (train ? 60000u : 10000u) || n == (train ? 8000u : 2000u)) << n;
  }
}

}  // namespace
