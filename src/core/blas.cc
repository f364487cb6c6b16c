// The only place that calls BLAS.
#include <cblas.h>

#include "core/kernels.h"

namespace hearth::kernels {

void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
              c, static_cast<int>(ldc));
}

void SetBlasThreads(int threads) {
  openblas_set_num_threads(threads);
}
int BlasThreads() {
  return openblas_get_num_threads();
}
const char* BlasCoreName() {
  return openblas_get_corename();
}

}  // namespace hearth::kernels
