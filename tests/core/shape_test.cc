#include "hearth/shape.h"

#include <gtest/gtest.h>

namespace hearth {
namespace {

TEST(ShapeTest, NumelAndToString) {
  Shape s{2, 3, 4};
  EXPECT_EQ(s.rank(), 3);
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(s.dim(-1), 4);
  EXPECT_EQ(s.ToString(), "[2, 3, 4]");
  EXPECT_EQ(Shape{}.numel(), 1);
}

TEST(ShapeTest, DimsWithinChecksEveryDimensionEvenPastAZero) {
  const int64_t fine[] = {2, 3, 4};
  EXPECT_TRUE(DimsWithin(fine, 3, 4, 96));
  EXPECT_FALSE(DimsWithin(fine, 3, 4, 95));
  const int64_t empty_but_huge[] = {0, int64_t{1} << 40, int64_t{1} << 40};
  EXPECT_FALSE(DimsWithin(empty_but_huge, 3, 1, int64_t{1} << 62));
  const int64_t empty[] = {0, 3};
  EXPECT_TRUE(DimsWithin(empty, 2, 4, 100));
  const int64_t negative[] = {2, -1};
  EXPECT_FALSE(DimsWithin(negative, 2, 1, 100));
  EXPECT_TRUE(DimsWithin(nullptr, 0, 8, 8));
  EXPECT_FALSE(DimsWithin(fine, 3, 0, 100)) << "a zero scale is a caller's mistake";
}

}  // namespace
}  // namespace hearth
