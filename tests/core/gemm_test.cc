// kernels::Gemm against a naive product for every transpose, including the one-row and
// one-column shapes it sends to sgemv, with leading dimensions wider than the matrices and an
// output full of NaN where beta is 0 (it must not be read).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/kernels.h"

namespace hearth {
namespace {

struct Case {
  int64_t m, n, k;
};

TEST(Gemm, MatchesANaiveProductForEveryTransposeAndShape) {
  for (const Case& s : {Case{1, 7, 5}, Case{6, 1, 4}, Case{1, 1, 3}, Case{3, 4, 1}, Case{5, 6, 7}})
    for (const bool ta : {false, true})
      for (const bool tb : {false, true})
        for (const float beta : {0.0f, 0.5f}) {
          SCOPED_TRACE(::testing::Message() << "m=" << s.m << " n=" << s.n << " k=" << s.k
                                            << " ta=" << ta << " tb=" << tb << " beta=" << beta);
          // Stored shapes: A is [m, k] (or [k, m] transposed), B [k, n] (or [n, k]); each with a
          // leading dimension 2 wider than its rows.
          const int64_t a_rows = ta ? s.k : s.m, a_cols = ta ? s.m : s.k;
          const int64_t b_rows = tb ? s.n : s.k, b_cols = tb ? s.k : s.n;
          const int64_t lda = a_cols + 2, ldb = b_cols + 2, ldc = s.n + 2;
          std::vector<float> a(a_rows * lda), b(b_rows * ldb), c(s.m * ldc);
          for (size_t i = 0; i < a.size(); ++i) a[i] = std::sin(0.7f * i);
          for (size_t i = 0; i < b.size(); ++i) b[i] = std::cos(0.3f * i);
          for (size_t i = 0; i < c.size(); ++i)
            c[i] = beta == 0.0f ? std::numeric_limits<float>::quiet_NaN() : 0.25f * i;
          const std::vector<float> c0 = c;
          kernels::Gemm(ta, tb, s.m, s.n, s.k, 2.0f, a.data(), lda, b.data(), ldb, beta, c.data(),
                        ldc);
          for (int64_t i = 0; i < s.m; ++i)
            for (int64_t j = 0; j < s.n; ++j) {
              double sum = 0;
              for (int64_t p = 0; p < s.k; ++p)
                sum +=
                    (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
              const double want = 2.0 * sum + (beta == 0.0f ? 0.0 : beta * c0[i * ldc + j]);
              EXPECT_NEAR(c[i * ldc + j], want, 1e-4) << "c[" << i << "," << j << "]";
            }
        }
}

}  // namespace
}  // namespace hearth
