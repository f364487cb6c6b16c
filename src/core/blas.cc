// The only place that calls BLAS.
#include "hearth/blas.h"

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "core/kernels.h"

namespace hearth {

namespace kernels {

void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  // One row (a served request, a batch of one) or one column: a matrix-vector product. sgemm
  // would pack the whole matrix first, on every call; sgemv reads it once, several times faster
  // (a 784-256-256-10 MLP's forward pass for one row: 100 µs through sgemm, docs/performance.md).
  const auto I = [](int64_t v) { return static_cast<int>(v); };
  // beta 0 means c is not read, but sgemv scales it by 0 first: garbage NaN would survive.
  const auto clear = [&](int64_t count, int64_t stride) {
    if (beta == 0.0f)
      for (int64_t i = 0; i < count; ++i) c[i * stride] = 0.0f;
  };
  if (m == 1 && n > 1) {
    clear(n, 1);
    // c[1, N] = a[1, K] op(B): op(B)^T a, with a's K values lda apart when it is transposed.
    cblas_sgemv(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, I(trans_b ? n : k),
                I(trans_b ? k : n), alpha, b, I(ldb), a, I(trans_a ? lda : 1), beta, c, 1);
    return;
  }
  if (n == 1 && m > 1) {
    clear(m, ldc);
    // c[M, 1] = op(A) b[K, 1], with b's values ldb apart unless it is transposed.
    cblas_sgemv(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, I(trans_a ? k : m),
                I(trans_a ? m : k), alpha, a, I(lda), b, I(trans_b ? 1 : ldb), beta, c, I(ldc));
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
              c, static_cast<int>(ldc));
}

}  // namespace kernels

void SetBlasThreads(int threads) {
  openblas_set_num_threads(threads);
}
int BlasThreads() {
  return openblas_get_num_threads();
}
std::string BlasCoreName() {
  return openblas_get_corename();
}

std::string PreferredBlasCore() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return "";
}

void ReexecWithBestBlasCore(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  const char* autotune = std::getenv("HEARTH_BLAS_AUTOTUNE");
  if (autotune != nullptr && std::strcmp(autotune, "0") == 0) return;
  const std::string preferred = PreferredBlasCore();
  const std::string current = BlasCoreName();
  // Only the known misdetection (a generic pre-AVX kernel on an AVX2/AVX-512 CPU) is corrected.
  const bool generic = current == "Prescott" || current == "Core2" || current == "Nehalem" ||
                       current == "Penryn" || current == "Dunnington" || current == "Atom";
  if (preferred.empty() || !generic) return;
  setenv("OPENBLAS_CORETYPE", preferred.c_str(), 1);
  // Guards against a loop if the variable is somehow dropped.
  setenv("HEARTH_BLAS_AUTOTUNE", "0", 1);
  execv("/proc/self/exe", argv);
  // execv failed: carry on with the slower kernel.
}

}  // namespace hearth
