// Shape helpers.
#include "hearth/shape.h"

#include "hearth/status.h"

namespace hearth {

Shape::Shape(std::initializer_list<int64_t> dims) {
  HEARTH_CHECK_MSG(dims.size() <= kMaxRank, "rank exceeds kMaxRank");
  for (int64_t d : dims) dims_[rank_++] = d;
}

Shape::Shape(const std::vector<int64_t>& dims) {
  HEARTH_CHECK_MSG(dims.size() <= kMaxRank, "rank exceeds kMaxRank");
  for (int64_t d : dims) dims_[rank_++] = d;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

void Shape::push_back(int64_t d) {
  HEARTH_CHECK_MSG(rank_ < kMaxRank, "rank exceeds kMaxRank");
  dims_[rank_++] = d;
}

bool Shape::operator==(const Shape& other) const {
  if (rank_ != other.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != other.dims_[i]) return false;
  return true;
}

std::string Shape::ToString() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[i]);
  }
  return s + "]";
}

void ContiguousStrides(const Shape& shape, int64_t* strides) {
  int64_t stride = 1;
  for (int i = shape.rank() - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= shape[i];
  }
}

bool DimsWithin(const int64_t* dims, int rank, int64_t scale, int64_t limit) {
  if (scale < 1 || limit < 0) return false;
  int64_t product = scale;  // of the nonzero dimensions
  for (int i = 0; i < rank; ++i) {
    if (dims[i] < 0) return false;
    if (dims[i] == 0) continue;
    if (product > limit / dims[i]) return false;
    product *= dims[i];
  }
  return product <= limit;
}

}  // namespace hearth
