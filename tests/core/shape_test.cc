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

}  // namespace
}  // namespace hearth
