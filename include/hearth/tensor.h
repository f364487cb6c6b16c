// Tensor: an n-dimensional, contiguous, row-major array of float32 or int64 values.
//
// A Tensor is a cheap shared handle (copying it shares the data, as in NumPy or PyTorch).
// Views share storage with an offset: parameter tensors are views into one flat arena.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hearth/shape.h"

namespace hearth {

enum class DType : uint8_t { kFloat32, kInt64 };
const char* DTypeName(DType dtype);
int64_t DTypeSize(DType dtype);

// An owned, 64-byte-aligned block of bytes. Small blocks live inline, which saves an allocation
// for the scalars that dominate op-dispatch overhead.
// While one lives on a thread, tensor buffers freed on that thread are kept, up to `max_bytes`,
// and given out again for the next buffers of the same size allocated there. Meant for a loop
// whose tensors have the same sizes every time round, such as a model server's forward pass: once
// warm it takes no buffer from malloc. Scopes do not nest (an inner one is a no-op); the kept
// buffers are freed when the scope ends.
class BufferReuseScope {
 public:
  explicit BufferReuseScope(int64_t max_bytes = int64_t{64} << 20);
  ~BufferReuseScope();
  BufferReuseScope(const BufferReuseScope&) = delete;
  BufferReuseScope& operator=(const BufferReuseScope&) = delete;

 private:
  bool active_ = false;
};
// Tensor buffers taken from malloc so far, over all threads (buffers of at most 64 bytes live
// inside the Storage and are not counted): what a test of BufferReuseScope counts.
int64_t TensorBuffersAllocated();

class Storage {
 public:
  explicit Storage(int64_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }
  int64_t bytes() const { return bytes_; }

 private:
  static constexpr int64_t kInlineBytes = 64;
  void* data_;
  int64_t bytes_;
  // 16-byte alignment keeps the object within malloc's default alignment (no memalign).
  alignas(16) char inline_[kInlineBytes];
};

// Shared state behind a Tensor handle. Autograd bookkeeping lives here so that a value recorded
// on a tape can be recognised when it is used again.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  DType dtype = DType::kFloat32;
  bool requires_grad = false;  // a trainable variable: every tape watches it
  uint64_t tape_id = 0;        // the tape that recorded the op producing this value (0: none)
  int32_t tape_node = -1;      // index of that op on the tape
  int32_t grad_slot = -1;      // scratch used while a tape computes gradients
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Uninitialised memory.
  static Tensor Empty(const Shape& shape, DType dtype = DType::kFloat32);
  static Tensor Zeros(const Shape& shape, DType dtype = DType::kFloat32);
  static Tensor Ones(const Shape& shape);
  static Tensor Full(const Shape& shape, float value);
  static Tensor Scalar(float value);
  static Tensor FromVector(const std::vector<float>& values, const Shape& shape);
  static Tensor FromVector(const std::vector<float>& values);  // 1-D
  static Tensor FromInt64(const std::vector<int64_t>& values, const Shape& shape);
  // A view of `numel(shape)` elements of `storage` starting at `offset`.
  static Tensor View(std::shared_ptr<Storage> storage, int64_t offset, const Shape& shape,
                     DType dtype = DType::kFloat32);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl_->shape; }
  int rank() const { return impl_->shape.rank(); }
  int64_t dim(int axis) const { return impl_->shape.dim(axis); }
  int64_t numel() const { return impl_->shape.numel(); }
  DType dtype() const { return impl_->dtype; }

  template <typename T>
  T* data() const {
    return static_cast<T*>(impl_->storage->data()) + impl_->offset;
  }
  float* f32() const { return data<float>(); }
  void* raw() const {
    return static_cast<char*>(impl_->storage->data()) + impl_->offset * DTypeSize(impl_->dtype);
  }
  int64_t* i64() const { return data<int64_t>(); }

  // The single value of a one-element float tensor.
  float item() const;
  std::vector<float> ToVector() const;

  // Writers change the values, not the handle, so they are const like data().
  // A deep copy that shares nothing (and is not recorded on any tape).
  Tensor Clone() const;
  // Copies values from `src` (same numel and dtype) into this tensor's memory.
  void CopyFrom(const Tensor& src) const;
  void Fill(float value) const;

  // Marks this tensor as a trainable variable: every GradientTape watches it.
  Tensor& set_requires_grad(bool value);
  bool requires_grad() const { return impl_->requires_grad; }

  // Same underlying value: used to match gradients to sources.
  bool SameAs(const Tensor& other) const { return impl_ == other.impl_; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<Storage>& storage() const { return impl_->storage; }

  // "Tensor(shape=[2, 2], dtype=float32, [[1, 2], [3, 4]])", abbreviated when large.
  std::string ToString() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// A tensor with a stable name: parameters, optimizer state and preprocessing statistics are saved
// and restored by name.
struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// A trainable scalar or tensor: the TensorFlow `tf.Variable` of the seed program.
Tensor Variable(float value);
Tensor Variable(const Tensor& initial);

}  // namespace hearth
