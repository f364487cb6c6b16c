// Tensor construction, copies and printing.
#include "hearth/tensor.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_format.h"
#include "hearth/status.h"

namespace hearth {

const char* DTypeName(DType dtype) {
  return dtype == DType::kFloat32 ? "float32" : "int64";
}
int64_t DTypeSize(DType dtype) {
  return dtype == DType::kFloat32 ? 4 : 8;
}

namespace {

// Training allocates and frees the same large activation buffers every step. glibc would serve
// them with mmap/munmap, paying page faults each time; keeping them on the heap reuses the pages.
[[maybe_unused]] const bool kMallocTuned = [] {
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1024 << 20);
  return true;
}();

}  // namespace

namespace {

// aligned_alloc wants a multiple of the alignment; 64 bytes keeps AVX-512 loads aligned.
size_t RoundedBytes(int64_t bytes) {
  return static_cast<size_t>((bytes + 63) / 64 * 64);
}

std::atomic<int64_t> g_buffers_allocated{0};

// The buffers a BufferReuseScope keeps on its thread, by rounded size.
struct BufferCache {
  int64_t max_bytes = 0;
  int64_t bytes = 0;
  std::unordered_map<size_t, std::vector<void*>> free;
};
thread_local BufferCache* t_cache = nullptr;

}  // namespace

BufferReuseScope::BufferReuseScope(int64_t max_bytes) {
  if (t_cache != nullptr) return;
  t_cache = new BufferCache();
  t_cache->max_bytes = max_bytes;
  active_ = true;
}

BufferReuseScope::~BufferReuseScope() {
  if (!active_) return;
  for (auto& [size, buffers] : t_cache->free)
    for (void* p : buffers) std::free(p);
  delete t_cache;
  t_cache = nullptr;
}

int64_t TensorBuffersAllocated() {
  return g_buffers_allocated.load(std::memory_order_relaxed);
}

Storage::Storage(int64_t bytes) : bytes_(bytes) {
  if (bytes <= kInlineBytes) {
    data_ = inline_;
    return;
  }
  const size_t rounded = RoundedBytes(bytes);
  if (t_cache != nullptr) {
    const auto it = t_cache->free.find(rounded);
    if (it != t_cache->free.end() && !it->second.empty()) {
      data_ = it->second.back();
      it->second.pop_back();
      t_cache->bytes -= static_cast<int64_t>(rounded);
      return;
    }
  }
  data_ = std::aligned_alloc(64, rounded);
  HEARTH_CHECK_MSG(data_ != nullptr, absl::StrFormat("out of memory allocating %d bytes", bytes));
  g_buffers_allocated.fetch_add(1, std::memory_order_relaxed);
}

Storage::~Storage() {
  if (data_ == inline_) return;
  const size_t rounded = RoundedBytes(bytes_);
  if (t_cache != nullptr && t_cache->bytes + static_cast<int64_t>(rounded) <= t_cache->max_bytes) {
    t_cache->free[rounded].push_back(data_);
    t_cache->bytes += static_cast<int64_t>(rounded);
    return;
  }
  std::free(data_);
}

Tensor Tensor::Empty(const Shape& shape, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(shape.numel() * DTypeSize(dtype));
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::Zeros(const Shape& shape, DType dtype) {
  Tensor t = Empty(shape, dtype);
  std::memset(t.raw(), 0, static_cast<size_t>(shape.numel() * DTypeSize(dtype)));
  return t;
}

Tensor Tensor::Ones(const Shape& shape) {
  return Full(shape, 1.0f);
}

Tensor Tensor::Full(const Shape& shape, float value) {
  Tensor t = Empty(shape);
  t.Fill(value);
  return t;
}

Tensor Tensor::Scalar(float value) {
  Tensor t = Empty(Shape{});
  *t.f32() = value;
  return t;
}

Tensor Tensor::FromVector(const std::vector<float>& values, const Shape& shape) {
  HEARTH_CHECK_MSG(static_cast<int64_t>(values.size()) == shape.numel(),
                   absl::StrFormat("FromVector: %d values do not fill shape %s", values.size(),
                                   shape.ToString()));
  Tensor t = Empty(shape);
  if (!values.empty()) std::memcpy(t.f32(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::FromVector(const std::vector<float>& values) {
  return FromVector(values, Shape{static_cast<int64_t>(values.size())});
}

Tensor Tensor::FromInt64(const std::vector<int64_t>& values, const Shape& shape) {
  HEARTH_CHECK_MSG(static_cast<int64_t>(values.size()) == shape.numel(),
                   absl::StrFormat("FromInt64: %d values do not fill shape %s", values.size(),
                                   shape.ToString()));
  Tensor t = Empty(shape, DType::kInt64);
  if (!values.empty()) std::memcpy(t.i64(), values.data(), values.size() * sizeof(int64_t));
  return t;
}

Tensor Tensor::View(std::shared_ptr<Storage> storage, int64_t offset, const Shape& shape,
                    DType dtype) {
  HEARTH_CHECK_MSG((offset + shape.numel()) * DTypeSize(dtype) <= storage->bytes(),
                   "View: out of the storage's bounds");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->offset = offset;
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

float Tensor::item() const {
  HEARTH_CHECK_MSG(numel() == 1 && dtype() == DType::kFloat32,
                   absl::StrFormat("item() needs one float32 value, got shape %s %s",
                                   shape().ToString(), DTypeName(dtype())));
  return *f32();
}

std::vector<float> Tensor::ToVector() const {
  HEARTH_CHECK_MSG(dtype() == DType::kFloat32, "ToVector() needs a float32 tensor");
  return std::vector<float>(f32(), f32() + numel());
}

Tensor Tensor::Clone() const {
  Tensor t = Empty(shape(), dtype());
  t.CopyFrom(*this);
  return t;
}

void Tensor::CopyFrom(const Tensor& src) const {
  HEARTH_CHECK_MSG(src.numel() == numel() && src.dtype() == dtype(),
                   absl::StrFormat("CopyFrom: %s %s into %s %s", src.shape().ToString(),
                                   DTypeName(src.dtype()), shape().ToString(), DTypeName(dtype())));
  if (numel() > 0)
    std::memmove(raw(), src.raw(), static_cast<size_t>(numel() * DTypeSize(dtype())));
}

void Tensor::Fill(float value) const {
  HEARTH_CHECK_MSG(dtype() == DType::kFloat32, "Fill() needs a float32 tensor");
  float* p = f32();
  for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = value;
}

Tensor& Tensor::set_requires_grad(bool value) {
  HEARTH_CHECK_MSG(!value || dtype() == DType::kFloat32, "only float32 tensors can be trained");
  impl_->requires_grad = value;
  return *this;
}

namespace {

// Prints nested lists, stopping (with "...") once `budget` values have been printed.
void AppendValues(const Tensor& t, int axis, int64_t& index, std::string& out, int64_t& budget) {
  const Shape& s = t.shape();
  if (axis == s.rank()) {
    if (t.dtype() == DType::kFloat32)
      out += absl::StrFormat("%g", t.f32()[index]);
    else
      out += absl::StrFormat("%d", t.i64()[index]);
    ++index;
    --budget;
    return;
  }
  out += "[";
  for (int64_t i = 0; i < s[axis]; ++i) {
    if (i) out += ", ";
    if (budget <= 0) {
      out += "...";
      break;
    }
    AppendValues(t, axis + 1, index, out, budget);
  }
  out += "]";
}

}  // namespace

std::string Tensor::ToString() const {
  if (!defined()) return "Tensor(undefined)";
  std::string out =
      absl::StrFormat("Tensor(shape=%s, dtype=%s, ", shape().ToString(), DTypeName(dtype()));
  int64_t index = 0, budget = 64;
  AppendValues(*this, 0, index, out, budget);
  return out + ")";
}

Tensor Variable(float value) {
  return Tensor::Scalar(value).set_requires_grad(true);
}

Tensor Variable(const Tensor& initial) {
  Tensor t = initial.Clone();
  t.set_requires_grad(true);
  return t;
}

}  // namespace hearth
