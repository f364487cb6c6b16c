// The BLAS library under Hearth (OpenBLAS): threads, kernel identification, and the fix for
// OpenBLAS 0.3.21 misdetecting AVX-512 CPUs (upstream issue #4267, see docs/performance.md).
#pragma once

#include <string>

namespace hearth {

// Sets how many threads BLAS may use (1 in each worker of a data-parallel job).
void SetBlasThreads(int threads);
int BlasThreads();
// The OpenBLAS kernel in use, e.g. "Haswell" or "SkylakeX". Benchmarks record it.
std::string BlasCoreName();

// The kernel OpenBLAS should use on this CPU ("SkylakeX", "Haswell", ...), or "" if unknown.
std::string PreferredBlasCore();

// OpenBLAS reads OPENBLAS_CORETYPE once, when it loads. If the variable is unset and OpenBLAS
// picked a slower kernel than the CPU supports, this re-executes the program with it set
// (`hearth` and `hearthd` call it first thing in main). A user's own OPENBLAS_CORETYPE, or
// HEARTH_BLAS_AUTOTUNE=0, is always respected. Returns normally when nothing needs to change.
void ReexecWithBestBlasCore(char** argv);

}  // namespace hearth
