// Convolution as im2col + GEMM (one GEMM per image), and max/average pooling, on NCHW tensors.
#include <algorithm>
#include <cstring>
#include <limits>

#include "core/kernels.h"

namespace hearth::kernels {
namespace {

void Im2ColImage(const float* x, const Window2d& g, float* col) {
  const int64_t opix = g.out_pixels();
  for (int64_t c = 0; c < g.c; ++c) {
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        float* row = col + ((c * g.kh + ki) * g.kw + kj) * opix;
        // Output columns whose input column ix = ox * stride - pad + kj lies inside the image.
        const int64_t lo = std::clamp<int64_t>((g.pad - kj + g.stride - 1) / g.stride, 0, g.ow);
        const int64_t hi =
            std::clamp<int64_t>((g.w + g.pad - kj + g.stride - 1) / g.stride, lo, g.ow);
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t iy = oy * g.stride - g.pad + ki;
          float* dst = row + oy * g.ow;
          if (iy < 0 || iy >= g.h) {
            std::memset(dst, 0, sizeof(float) * g.ow);
            continue;
          }
          const float* src = x + (c * g.h + iy) * g.w - g.pad + kj;
          for (int64_t ox = 0; ox < lo; ++ox) dst[ox] = 0.0f;
          if (g.stride == 1) {
            std::memcpy(dst + lo, src + lo, sizeof(float) * (hi - lo));
          } else {
            for (int64_t ox = lo; ox < hi; ++ox) dst[ox] = src[ox * g.stride];
          }
          for (int64_t ox = hi; ox < g.ow; ++ox) dst[ox] = 0.0f;
        }
      }
    }
  }
}

void Col2ImImage(const float* col, const Window2d& g, float* x) {
  const int64_t opix = g.out_pixels();
  for (int64_t c = 0; c < g.c; ++c) {
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        const float* row = col + ((c * g.kh + ki) * g.kw + kj) * opix;
        // The same in-image column range as Im2ColImage.
        const int64_t lo = std::clamp<int64_t>((g.pad - kj + g.stride - 1) / g.stride, 0, g.ow);
        const int64_t hi =
            std::clamp<int64_t>((g.w + g.pad - kj + g.stride - 1) / g.stride, lo, g.ow);
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t iy = oy * g.stride - g.pad + ki;
          if (iy < 0 || iy >= g.h) continue;
          float* __restrict dst = x + (c * g.h + iy) * g.w - g.pad + kj;
          const float* __restrict src = row + oy * g.ow;
          if (g.stride == 1) {
            for (int64_t ox = lo; ox < hi; ++ox) dst[ox] += src[ox];  // contiguous: vectorises
          } else {
            for (int64_t ox = lo; ox < hi; ++ox) dst[ox * g.stride] += src[ox];
          }
        }
      }
    }
  }
}

}  // namespace

Tensor Im2Col(const Tensor& x, const Window2d& g) {
  Tensor col = Tensor::Empty(Shape{g.n, g.patch(), g.out_pixels()});
  const int64_t in_image = g.c * g.h * g.w, col_image = g.patch() * g.out_pixels();
  for (int64_t n = 0; n < g.n; ++n)
    Im2ColImage(x.f32() + n * in_image, g, col.f32() + n * col_image);
  return col;
}

Tensor Conv2dFromColumns(const Tensor& col, const Tensor& weight, const Tensor& bias,
                         const Window2d& g) {
  const int64_t opix = g.out_pixels(), k = g.patch(), o = g.out_channels;
  Tensor out = Tensor::Empty(Shape{g.n, o, g.oh, g.ow});
  for (int64_t n = 0; n < g.n; ++n) {
    float* dst = out.f32() + n * o * opix;
    float beta = 0.0f;
    if (bias.defined()) {
      for (int64_t c = 0; c < o; ++c)
        for (int64_t p = 0; p < opix; ++p) dst[c * opix + p] = bias.f32()[c];
      beta = 1.0f;
    }
    Gemm(false, false, o, opix, k, 1.0f, weight.f32(), k, col.f32() + n * k * opix, opix, beta, dst,
         opix);
  }
  return out;
}

void Conv2dWeightGrad(const Tensor& grad_out, const Tensor& col, const Window2d& g, float* dweight,
                      float beta) {
  const int64_t opix = g.out_pixels(), k = g.patch(), o = g.out_channels;
  for (int64_t n = 0; n < g.n; ++n) {
    Gemm(false, true, o, k, opix, 1.0f, grad_out.f32() + n * o * opix, opix,
         col.f32() + n * k * opix, opix, n == 0 ? beta : 1.0f, dweight, k);
  }
}

void Conv2dBiasGrad(const Tensor& grad_out, const Window2d& g, float* dbias, float beta) {
  const int64_t opix = g.out_pixels(), o = g.out_channels;
  for (int64_t c = 0; c < o; ++c) {
    double total = 0.0;
    for (int64_t n = 0; n < g.n; ++n) {
      // A float partial sum per plane vectorises; planes are combined in double.
      const float* src = grad_out.f32() + (n * o + c) * opix;
      float plane = 0.0f;
      for (int64_t p = 0; p < opix; ++p) plane += src[p];
      total += plane;
    }
    dbias[c] = static_cast<float>(total) + (beta != 0.0f ? dbias[c] : 0.0f);
  }
}

Tensor Conv2dInputGrad(const Tensor& grad_out, const Tensor& weight, const Window2d& g) {
  const int64_t opix = g.out_pixels(), k = g.patch(), o = g.out_channels;
  Tensor dx = Tensor::Zeros(Shape{g.n, g.c, g.h, g.w});
  Tensor dcol = Tensor::Empty(Shape{k, opix});
  for (int64_t n = 0; n < g.n; ++n) {
    Gemm(true, false, k, opix, o, 1.0f, weight.f32(), k, grad_out.f32() + n * o * opix, opix, 0.0f,
         dcol.f32(), opix);
    Col2ImImage(dcol.f32(), g, dx.f32() + n * g.c * g.h * g.w);
  }
  return dx;
}

Tensor MaxPool2d(const Tensor& x, const Window2d& g, Tensor* argmax) {
  Tensor out = Tensor::Empty(Shape{g.n, g.c, g.oh, g.ow});
  *argmax = Tensor::Empty(out.shape(), DType::kInt64);
  const float* px = x.f32();
  float* po = out.f32();
  int64_t* pi = argmax->i64();
  if (g.pad == 0) {
    // Every window lies inside the image: no bounds checks.
    for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
      const float* src = px + plane * g.h * g.w;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          int64_t best_index = oy * g.stride * g.w + ox * g.stride;
          float best = src[best_index];
          for (int64_t ki = 0; ki < g.kh; ++ki) {
            const int64_t base = (oy * g.stride + ki) * g.w + ox * g.stride;
            for (int64_t kj = 0; kj < g.kw; ++kj)
              if (src[base + kj] > best) best = src[base + kj], best_index = base + kj;
          }
          *po++ = best;
          *pi++ = best_index;
        }
      }
    }
    return out;
  }
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    const float* src = px + plane * g.h * g.w;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_index = -1;
        for (int64_t ki = 0; ki < g.kh; ++ki) {
          const int64_t iy = oy * g.stride - g.pad + ki;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kj = 0; kj < g.kw; ++kj) {
            const int64_t ix = ox * g.stride - g.pad + kj;
            if (ix < 0 || ix >= g.w) continue;
            const float v = src[iy * g.w + ix];
            if (v > best || best_index < 0) best = v, best_index = iy * g.w + ix;
          }
        }
        *po++ = best;
        *pi++ = best_index;
      }
    }
  }
  return out;
}

Tensor MaxPool2dGrad(const Tensor& grad_out, const Tensor& argmax, const Window2d& g) {
  Tensor dx = Tensor::Zeros(Shape{g.n, g.c, g.h, g.w});
  const int64_t opix = g.out_pixels();
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    float* dst = dx.f32() + plane * g.h * g.w;
    const float* src = grad_out.f32() + plane * opix;
    const int64_t* idx = argmax.i64() + plane * opix;
    for (int64_t p = 0; p < opix; ++p) dst[idx[p]] += src[p];
  }
  return dx;
}

Tensor AvgPool2d(const Tensor& x, const Window2d& g) {
  Tensor out = Tensor::Empty(Shape{g.n, g.c, g.oh, g.ow});
  const float inv = 1.0f / static_cast<float>(g.kh * g.kw);
  float* po = out.f32();
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    const float* src = x.f32() + plane * g.h * g.w;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        float total = 0.0f;
        for (int64_t ki = 0; ki < g.kh; ++ki) {
          const int64_t iy = oy * g.stride - g.pad + ki;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kj = 0; kj < g.kw; ++kj) {
            const int64_t ix = ox * g.stride - g.pad + kj;
            if (ix >= 0 && ix < g.w) total += src[iy * g.w + ix];
          }
        }
        *po++ = total * inv;
      }
    }
  }
  return out;
}

Tensor AvgPool2dGrad(const Tensor& grad_out, const Window2d& g) {
  Tensor dx = Tensor::Zeros(Shape{g.n, g.c, g.h, g.w});
  const float inv = 1.0f / static_cast<float>(g.kh * g.kw);
  const float* src = grad_out.f32();
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    float* dst = dx.f32() + plane * g.h * g.w;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const float v = *src++ * inv;
        for (int64_t ki = 0; ki < g.kh; ++ki) {
          const int64_t iy = oy * g.stride - g.pad + ki;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kj = 0; kj < g.kw; ++kj) {
            const int64_t ix = ox * g.stride - g.pad + kj;
            if (ix >= 0 && ix < g.w) dst[iy * g.w + ix] += v;
          }
        }
      }
    }
  }
  return dx;
}

}  // namespace hearth::kernels
