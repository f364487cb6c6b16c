// Composite cases checked against values computed with PyTorch 1.13 (Debian python3-torch):
// an MLP step and a conv block. Weights are sin(0.37 i + k) / 2, so both sides build them alike.
#include <gtest/gtest.h>

#include <cmath>

#include "hearth/autograd.h"
#include "hearth/ops.h"

namespace hearth {
namespace {

Tensor Det(const Shape& shape, double k) {
  Tensor t = Tensor::Empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.f32()[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i) + k) * 0.5);
  return t;
}

void ExpectClose(const Tensor& got, const std::vector<float>& want, const char* what) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size())) << what;
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got.f32()[i], want[i], 2e-6) << what << "[" << i << "]";
}

TEST(TorchReferenceTest, MlpStep) {
  Tensor x = Det({4, 6}, 0.1);
  Tensor labels = Tensor::FromInt64({0, 2, 1, 2}, {4});
  Tensor w1 = Variable(Det({6, 8}, 1.0)), b1 = Variable(Det({8}, 2.0));
  Tensor w2 = Variable(Det({8, 3}, 3.0)), b2 = Variable(Det({3}, 4.0));
  GradientTape tape;
  Tensor loss = softmax_cross_entropy(linear(relu(linear(x, w1, b1)), w2, b2), labels);
  auto g = tape.gradient(loss, {w1, b1, w2, b2});
  EXPECT_NEAR(loss.item(), 1.12083387f, 1e-6);
  ExpectClose(g[1], {0.0579633f, 0.0115049f, -0.0477318f, -0.0427724f, 0.0005932f, 0, 0, 0}, "db1");
  ExpectClose(g[3], {0.1307463f, 0.0707116f, -0.2014579f}, "db2");
  ExpectClose(g[2], {0.0625897f, 0.0604465f, -0.1230363f, 0.0553736f, 0.056491f,  -0.1118646f,
                     0.040663f,  0.0448897f, -0.0855527f, 0.0195844f, 0.0168916f, -0.036476f,
                     0.0011638f, 0.0010038f, -0.0021676f, 0,          0,          0,
                     0,          0,          0,           0,          0,          0},
              "dW2");
  ExpectClose(g[0], {0.0233146f,  0.0013091f,  -0.0221504f, -0.0156597f, 0.0002172f,  0, 0, 0,
                     0.0162299f,  -0.0007876f, -0.0169303f, -0.0093329f, 0.0001294f,  0, 0, 0,
                     0.0069485f,  -0.0027777f, -0.0094187f, -0.001743f,  2.42e-05f,   0, 0, 0,
                     -0.0032733f, -0.0043918f, -0.0006324f, 0.0060828f,  -8.44e-05f,  0, 0, 0,
                     -0.0130521f, -0.0054115f, 0.0082395f,  0.0130853f,  -0.0001815f, 0, 0, 0,
                     -0.0210644f, -0.0056989f, 0.0159963f,  0.0183168f,  -0.000254f,  0, 0, 0},
              "dW1");
}

TEST(TorchReferenceTest, ConvBlock) {
  Tensor x = Det({2, 1, 6, 6}, 0.3);
  Tensor labels = Tensor::FromInt64({1, 2}, {2});
  Tensor k = Variable(Det({2, 1, 3, 3}, 5.0)), bc = Variable(Det({2}, 6.0));
  Tensor wl = Variable(Det({18, 3}, 7.0)), bl = Variable(Det({3}, 8.0));
  GradientTape tape;
  Tensor h = max_pool2d(relu(conv2d(x, k, bc, {.stride = 1, .padding = 1})));
  Tensor loss = softmax_cross_entropy(linear(flatten(h), wl, bl), labels);
  auto g = tape.gradient(loss, {k, bc, wl, bl});
  EXPECT_NEAR(loss.item(), 1.10910058f, 1e-6);
  ExpectClose(g[0],
              {0.0120705f, 0.0053682f, 0.003439f, -0.0202619f, -0.0182714f, 0.0159812f, 0.0093279f,
               0.0357669f, 0.0144771f, -0.0594097f, -0.0268891f, 0.0202934f, 0.0863118f, 0.0927738f,
               0.0785473f, -0.0466451f, -0.0760038f, -0.096266f},
              "dK");
  ExpectClose(g[1], {0.1096376f, -0.0629583f}, "dbc");
  ExpectClose(g[3], {0.2485468f, -0.1921478f, -0.056399f}, "dbl");
  ExpectClose(g[2], {0.0147073f, -0.056464f,  0.0417567f,  0.0,        0.0,         0.0,
                     0.0021681f, 0.002205f,   -0.0043732f, 0.1533429f, -0.0326354f, -0.1207075f,
                     0.1985145f, -0.1198458f, -0.0786687f, 0.1826337f, -0.1884272f, 0.0057935f,
                     0.0487036f, 0.0495325f,  -0.098236f,  0.1123033f, -0.0207423f, -0.091561f,
                     0.1238265f, -0.0791971f, -0.0446295f, 0.2301066f, -0.1704029f, -0.0597038f,
                     0.2100773f, -0.2260912f, 0.0160139f,  0.1690989f, -0.1706052f, 0.0015062f,
                     0.021203f,  -0.0007331f, -0.0204698f, 0.1224431f, 0.0831556f,  -0.2055988f,
                     0.188198f,  -0.0240194f, -0.1641786f, 0.209441f,  -0.2268579f, 0.0174168f,
                     0.1619898f, -0.2524838f, 0.090494f,   0.0454552f, -0.1745102f, 0.129055f},
              "dWl");
}

}  // namespace
}  // namespace hearth
