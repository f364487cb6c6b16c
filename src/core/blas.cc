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
