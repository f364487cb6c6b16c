// BufferReuseScope: a loop of same-sized tensors takes buffers from malloc only on its first
// round; outside a scope, or past its byte budget, buffers are freed as before.
#include <gtest/gtest.h>

#include <thread>

#include "hearth/ops.h"
#include "hearth/tensor.h"

namespace hearth {
namespace {

// One round of a small forward-like computation: every tensor in it is over 64 bytes.
void Round() {
  Tensor x = Tensor::Zeros(Shape{4, 32});
  Tensor w = Tensor::Zeros(Shape{32, 16});
  Tensor y = relu(matmul(x, w));
  EXPECT_EQ(y.shape(), (Shape{4, 16}));
}

TEST(BufferReuseScope, OnceWarmALoopTakesNoBufferFromMalloc) {
  std::thread([] {  // a thread of its own: the counter counts every thread's allocations
    BufferReuseScope reuse;
    Round();
    const int64_t warm = TensorBuffersAllocated();
    for (int i = 0; i < 10; ++i) Round();
    EXPECT_EQ(TensorBuffersAllocated(), warm);
  })
      .join();
}

TEST(BufferReuseScope, WithoutAScopeOrPastTheBudgetBuffersComeFromMalloc) {
  std::thread([] {
    Round();
    const int64_t before = TensorBuffersAllocated();
    Round();
    EXPECT_GT(TensorBuffersAllocated(), before);
    BufferReuseScope tiny(/*max_bytes=*/64);  // holds no 128-byte buffer
    Round();
    const int64_t after = TensorBuffersAllocated();
    Round();
    EXPECT_GT(TensorBuffersAllocated(), after);
  }).join();
}

}  // namespace
}  // namespace hearth
