// Tensor shapes: a small fixed-capacity list of dimensions (no heap allocation on the hot path).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace hearth {

inline constexpr int kMaxRank = 8;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int rank() const { return rank_; }
  int64_t operator[](int axis) const { return dims_[axis]; }
  int64_t& operator[](int axis) { return dims_[axis]; }
  // Dimension with Python-style negative axes (-1 is the last).
  int64_t dim(int axis) const { return dims_[axis < 0 ? axis + rank_ : axis]; }
  int64_t numel() const;
  const int64_t* begin() const { return dims_; }
  const int64_t* end() const { return dims_ + rank_; }
  std::vector<int64_t> ToVector() const { return {begin(), end()}; }

  void push_back(int64_t d);
  bool operator==(const Shape& other) const;
  bool operator!=(const Shape& other) const { return !(*this == other); }

  // "[2, 3, 4]"
  std::string ToString() const;

 private:
  int64_t dims_[kMaxRank] = {};
  int rank_ = 0;
};

// Row-major strides in elements.
void ContiguousStrides(const Shape& shape, int64_t* strides);

// For dimensions read from a file or a request: whether every dimension is >= 0 and the product
// of the dimensions, times `scale` (e.g. an element size), stays within `limit`. A zero dimension
// does not end the check: the other dimensions' product must fit too, since strides and record
// sizes are computed from them whether or not the array is empty.
bool DimsWithin(const int64_t* dims, int rank, int64_t scale, int64_t limit);

}  // namespace hearth
