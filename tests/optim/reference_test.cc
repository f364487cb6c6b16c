// Optimizer updates against PyTorch 1.13 (torch.optim, foreach=False): parameter values after each
// of five steps on fixed tensors, through both the flat-arena path and the per-variable path.
//
// The tables were produced at authoring time by this script with Debian's python3-torch (1.13),
// `/usr/bin/python3 ref.py`; the tests do not need Python. Its last lines print clip_test.cc's
// reference values.
//
// clang-format off
//   import torch
//   W0 = [[0.5, -1.0, 1.5], [-0.25, 2.0, -0.75]]
//   B0 = [0.1, -0.2, 0.3]
//   STEPS = 5
//   O = torch.optim
//
//   def grad_value(j, t):  # flat element j of [w, b] at step t: exact in float
//       return ((7 * j + 3 * t) % 11 - 5) / 4.0
//
//   def lit(v):
//       s = "%.9g" % v
//       return s + ("" if "." in s or "e" in s else ".0") + "f"
//
//   def table(name, rows):
//       print("constexpr float k%s[%d][9] = {" % (name, len(rows)))
//       for row in rows:
//           print("    {" + ", ".join(lit(v) for v in row) + "},")
//       print("};")
//
//   def set_grads(w, b, t):
//       g = [grad_value(j, t) for j in range(9)]
//       w.grad = torch.tensor(g[:6]).reshape(2, 3)
//       b.grad = torch.tensor(g[6:])
//
//   def run(make_opt, make_sched=None):
//       w = torch.tensor(W0, requires_grad=True)
//       b = torch.tensor(B0, requires_grad=True)
//       opt = make_opt([w, b])
//       sched = make_sched(opt) if make_sched else None
//       rows = []
//       for t in range(STEPS):
//           set_grads(w, b, t)
//           opt.step()
//           if sched:
//               sched.step()
//           rows.append(w.detach().flatten().tolist() + b.detach().tolist())
//       return rows
//
//   def sgd(**kw): return lambda p: O.SGD(p, foreach=False, **kw)
//   def adam(**kw): return lambda p: O.Adam(p, foreach=False, **kw)
//   def adamw(**kw): return lambda p: O.AdamW(p, foreach=False, **kw)
//   def rmsprop(**kw): return lambda p: O.RMSprop(p, foreach=False, **kw)
//
//   table("SgdPlain", run(sgd(lr=0.1)))
//   table("SgdMomentum", run(sgd(lr=0.1, momentum=0.9)))
//   table("SgdDampeningWeightDecay",
//         run(sgd(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)))
//   table("SgdNesterovWeightDecay",
//         run(sgd(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)))
//   table("AdamDefault", run(adam(lr=0.1)))
//   table("AdamBetasEpsWeightDecay",
//         run(adam(lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)))
//   table("AdamW", run(adamw(lr=0.1, weight_decay=0.1)))
//   table("AdamWBetas", run(adamw(lr=0.02, betas=(0.5, 0.75), eps=1e-4, weight_decay=0.5)))
//   table("RmsPropDefault", run(rmsprop(lr=0.01)))
//   table("RmsPropMomentumWeightDecay", run(rmsprop(lr=0.01, momentum=0.9, weight_decay=0.1)))
//   table("RmsPropCentered", run(rmsprop(lr=0.01, centered=True)))
//   table("RmsPropCenteredMomentum",
//         run(rmsprop(lr=0.01, alpha=0.9, eps=1e-4, momentum=0.5, centered=True)))
//   table("SgdMomentumExponentialLr",
//         run(sgd(lr=0.1, momentum=0.9), lambda o: O.lr_scheduler.ExponentialLR(o, gamma=0.5)))
//
//   # clip_grad_norm_ on the step-1 gradients
//   w = torch.tensor(W0, requires_grad=True)
//   b = torch.tensor(B0, requires_grad=True)
//   set_grads(w, b, 1)
//   norm = torch.nn.utils.clip_grad_norm_([w, b], 1.0)
//   print("// norm %.9g" % norm.item())
//   table("ClippedGrads", [w.grad.flatten().tolist() + b.grad.tolist()])
// clang-format on

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>

#include <gtest/gtest.h>

#include "hearth/nn.h"
#include "hearth/optim.h"
#include "optim/optim_test_util.h"

namespace hearth {
namespace {

using optim_test::BitIdentical;
using optim_test::FillGrads;
using optim_test::Flatten;
using optim_test::GradsLike;
using optim_test::ReferenceParams;
using optim_test::Tensors;

constexpr int kSteps = 5;

// Values printed by the script above.
constexpr float kSgdPlain[5][9] = {
    {0.625f, -1.04999995f, 1.54999995f, -0.375f, 1.97500002f, -0.675000012f, 0.0f, -0.200000003f,
     0.400000006f},
    {0.675000012f, -1.17499995f, 1.52499998f, -0.300000012f, 1.875f, -0.675000012f, 0.100000001f,
     -0.275000006f, 0.425000012f},
    {0.650000036f, -1.0999999f, 1.42499995f, -0.300000012f, 1.97500002f, -0.75f, 0.125f,
     -0.150000006f, 0.375f},
    {0.550000012f, -1.0999999f, 1.52499998f, -0.375f, 2.0f, -0.625f, 0.075000003f, -0.100000009f,
     0.25f},
    {0.650000036f, -1.17499995f, 1.54999995f, -0.25f, 1.95000005f, -0.574999988f, -0.049999997f,
     -0.125000015f, 0.324999988f},
};
constexpr float kSgdMomentum[5][9] = {
    {0.625f, -1.04999995f, 1.54999995f, -0.375f, 1.97500002f, -0.675000012f, 0.0f, -0.200000003f,
     0.400000006f},
    {0.787500024f, -1.21999991f, 1.56999993f, -0.412499994f, 1.85249996f, -0.607500017f,
     0.0100000026f, -0.275000006f, 0.514999986f},
    {0.908749998f, -1.29799986f, 1.48799992f, -0.446249992f, 1.84224999f, -0.621749997f,
     0.0440000072f, -0.217500001f, 0.568499982f},
    {0.917874992f, -1.36819983f, 1.51419997f, -0.551625013f, 1.85802495f, -0.509575009f,
     0.0246000085f, -0.115749992f, 0.491649985f},
    {1.02608752f, -1.50637984f, 1.56278002f, -0.5214625f, 1.82222247f, -0.358617514f, -0.117859997f,
     -0.0491749905f, 0.497484982f},
};
constexpr float kSgdDampeningWeightDecay[5][9] = {
    {0.624499977f, -1.04900002f, 1.54850006f, -0.374749988f, 1.97300005f, -0.674250007f,
     -0.000100004676f, -0.1998f, 0.399700016f},
    {0.780987918f, -1.20465589f, 1.56825638f, -0.419187695f, 1.8569243f, -0.605468154f,
     -0.000189921862f, -0.266940176f, 0.511570275f},
    {0.898624182f, -1.27616203f, 1.49462569f, -0.458804369f, 1.84078491f, -0.610519588f,
     0.0222293232f, -0.214626089f, 0.566793084f},
    {0.913688064f, -1.33936894f, 1.51701283f, -0.561546445f, 1.84710276f, -0.502016425f,
     -0.0026133582f, -0.122350246f, 0.503483534f},
    {1.01642323f, -1.46254981f, 1.55829597f, -0.541008949f, 1.80612648f, -0.358911753f,
     -0.137469411f, -0.0616918728f, 0.513551772f},
};
constexpr float kSgdNesterovWeightDecay[5][9] = {
    {0.732749999f, -1.0855f, 1.58074999f, -0.485125005f, 1.93350005f, -0.600374997f, -0.0909500048f,
     -0.198100001f, 0.487150013f},
    {0.920013845f, -1.34913778f, 1.55265784f, -0.43825382f, 1.69678175f, -0.530883908f,
     0.0185090266f, -0.337908059f, 0.609807074f},
    {0.990608573f, -1.32347965f, 1.35223806f, -0.461589396f, 1.75631666f, -0.608500242f,
     0.0739370361f, -0.156416625f, 0.599097431f},
    {0.881373107f, -1.36138546f, 1.44600093f, -0.622678459f, 1.75834858f, -0.369963169f,
     0.005703134f, -0.0106089627f, 0.394011468f},
    {1.05914593f, -1.53102314f, 1.48023558f, -0.458820343f, 1.63387644f, -0.172003403f,
     -0.247928843f, 0.0275148414f, 0.463386923f},
};
constexpr float kAdamDefault[5][9] = {
    {0.600000024f, -1.10000002f, 1.60000002f, -0.349999994f, 1.89999998f, -0.649999976f,
     1.49011612e-08f, -0.200000003f, 0.400000006f},
    {0.689857543f, -1.1939708f, 1.62663376f, -0.369149804f, 1.8115623f, -0.582994163f,
     0.00526317582f, -0.274413705f, 0.483059764f},
    {0.746474445f, -1.22631717f, 1.58090055f, -0.383952647f, 1.80700171f, -0.591580927f,
     0.0203978177f, -0.249212578f, 0.512914956f},
    {0.749604702f, -1.25281334f, 1.59091687f, -0.421346933f, 1.81329513f, -0.551799953f,
     0.0129760318f, -0.210822374f, 0.486560643f},
    {0.779622793f, -1.29684305f, 1.60812747f, -0.413357913f, 1.80060828f, -0.503714144f,
     -0.0265384652f, -0.187537372f, 0.488278955f},
};
constexpr float kAdamBetasEpsWeightDecay[5][9] = {
    {0.549999952f, -1.04999983f, 1.54999983f, -0.299999952f, 1.95000017f, -0.700000048f,
     0.0500000529f, -0.150002509f, 0.349999964f},
    {0.594011962f, -1.0965023f, 1.54086101f, -0.305471271f, 1.90308058f, -0.664429426f,
     0.055183433f, -0.187445492f, 0.390152514f},
    {0.616908729f, -1.10386407f, 1.50719178f, -0.308759242f, 1.89298224f, -0.667749941f,
     0.0651557893f, -0.171286345f, 0.39833656f},
    {0.608636081f, -1.10708034f, 1.50388706f, -0.326570898f, 1.88644481f, -0.643899977f,
     0.0607462712f, -0.148344785f, 0.377360672f},
    {0.619146109f, -1.12275529f, 1.5033772f, -0.316579551f, 1.86774039f, -0.615472615f,
     0.0372132286f, -0.135077745f, 0.374578178f},
};
constexpr float kAdamW[5][9] = {
    {0.595000029f, -1.09000003f, 1.58500004f, -0.347499996f, 1.88f, -0.642499983f, -0.000999987125f,
     -0.197999999f, 0.397000015f},
    {0.678907573f, -1.17307079f, 1.59578383f, -0.363174796f, 1.7727623f, -0.569069147f,
     0.0042731734f, -0.270433694f, 0.476089776f},
    {0.728735387f, -1.19368649f, 1.53409278f, -0.374345899f, 1.7504741f, -0.571965218f,
     0.0193650834f, -0.242528245f, 0.501184046f},
    {0.724578321f, -1.20824575f, 1.52876818f, -0.407996714f, 1.73926282f, -0.526464581f,
     0.0117496476f, -0.201712757f, 0.469817907f},
    {0.747350633f, -1.24019301f, 1.53069115f, -0.395927727f, 1.70918334f, -0.473114133f,
     -0.027882345f, -0.17641063f, 0.466838032f},
};
constexpr float kAdamWBetas[5][9] = {
    {0.514998376f, -1.00999606f, 1.50499606f, -0.267498404f, 1.96000803f, -0.722502649f,
     0.0790020004f, -0.197999999f, 0.316998005f},
    {0.526487589f, -1.01989412f, 1.48994613f, -0.26314944f, 1.92101669f, -0.705096185f,
     0.0848779753f, -0.213655233f, 0.32850185f},
    {0.52633357f, -1.00969517f, 1.45910048f, -0.259565711f, 1.90749669f, -0.708471179f,
     0.0914388075f, -0.200724691f, 0.322873801f},
    {0.510120034f, -0.999598205f, 1.45092273f, -0.267190903f, 1.89540505f, -0.689923942f,
     0.0866293311f, -0.186176956f, 0.304063737f},
    {0.511767566f, -1.00023425f, 1.44382155f, -0.254776448f, 1.87225294f, -0.670205176f,
     0.0701584443f, -0.180941403f, 0.302157998f},
};
constexpr float kRmsPropDefault[5][9] = {
    {0.600000024f, -1.10000002f, 1.60000002f, -0.349999994f, 1.9000001f, -0.649999976f,
     1.49011612e-08f, -0.200000003f, 0.400000006f},
    {0.637300193f, -1.19291174f, 1.55509865f, -0.298360229f, 1.8029573f, -0.649999976f,
     0.0708881319f, -0.300000012f, 0.424368501f},
    {0.618876994f, -1.14403284f, 1.46762466f, -0.298360229f, 1.87277889f, -0.721065104f,
     0.0884234607f, -0.214137018f, 0.380379617f},
    {0.559359431f, -1.14403284f, 1.53365135f, -0.344608098f, 1.8900584f, -0.644497037f, 0.05518068f,
     -0.18150799f, 0.306226075f},
    {0.610693753f, -1.18830359f, 1.55001748f, -0.28336668f, 1.85724819f, -0.615077734f,
     -0.0089248158f, -0.197688624f, 0.347047031f},
};
constexpr float kRmsPropMomentumWeightDecay[5][9] = {
    {0.599999964f, -1.10000002f, 1.5999999f, -0.349999994f, 1.89999998f, -0.650000036f,
     3.7252903e-09f, -0.100000501f, 0.400000006f},
    {0.724578142f, -1.28441179f, 1.61378264f, -0.385853618f, 1.71640575f, -0.552106261f,
     -0.0194636639f, -0.109964795f, 0.511261046f},
    {0.812017798f, -1.39135981f, 1.53536797f, -0.41544795f, 1.60595131f, -0.528679073f,
     -0.0193983149f, -0.0325838625f, 0.562483311f},
    {0.826768577f, -1.47825849f, 1.52018392f, -0.48633191f, 1.51247406f, -0.430282533f,
     -0.0523184948f, 0.0697866231f, 0.532699764f},
    {0.887916327f, -1.59415638f, 1.51294875f, -0.486942559f, 1.38851213f, -0.3109155f,
     -0.145739421f, 0.145356163f, 0.543575108f},
};
constexpr float kRmsPropCentered[5][9] = {
    {0.600503802f, -1.1005038f, 1.6005038f, -0.350503772f, 1.89949632f, -0.649496198f,
     -0.000503771007f, -0.200000003f, 0.400503784f},
    {0.638121307f, -1.19420707f, 1.55555892f, -0.29883489f, 1.80173445f, -0.649496198f,
     0.0703843608f, -0.30050379f, 0.425052255f},
    {0.619589031f, -1.14522874f, 1.46789229f, -0.29883489f, 1.87156546f, -0.720561385f,
     0.0879226029f, -0.214588568f, 0.380972981f},
    {0.560049593f, -1.14522874f, 1.53392792f, -0.345215887f, 1.88884497f, -0.643773198f,
     0.0546754934f, -0.181889504f, 0.306782812f},
    {0.611526847f, -1.18972623f, 1.55030274f, -0.283974409f, 1.85601819f, -0.614201546f,
     -0.00961804762f, -0.198088855f, 0.347606838f},
};
constexpr float kRmsPropCenteredMomentum[5][9] = {
    {0.53332442f, -1.03331113f, 1.53331113f, -0.28332445f, 1.96671104f, -0.71668148f, 0.0666777715f,
     -0.200000003f, 0.333322227f},
    {0.563383579f, -1.0822494f, 1.53512764f, -0.283026725f, 1.91685832f, -0.700022221f,
     0.0729590058f, -0.233318523f, 0.358656645f},
    {0.571747899f, -1.09039617f, 1.50707412f, -0.282877862f, 1.91457486f, -0.715213716f,
     0.082055755f, -0.222279161f, 0.356167376f},
    {0.555508971f, -1.09446955f, 1.51473057f, -0.299380094f, 1.91929901f, -0.697045565f,
     0.0749552399f, -0.205604881f, 0.329967946f},
    {0.565520346f, -1.11275232f, 1.52420664f, -0.286490411f, 1.9101119f, -0.677429914f,
     0.0486640856f, -0.202973574f, 0.330859095f},
};
constexpr float kSgdMomentumExponentialLr[5][9] = {
    {0.625f, -1.04999995f, 1.54999995f, -0.375f, 1.97500002f, -0.675000012f, 0.0f, -0.200000003f,
     0.400000006f},
    {0.706250012f, -1.13499999f, 1.55999994f, -0.393750012f, 1.91375005f, -0.641250014f,
     0.00500000129f, -0.237499997f, 0.457500011f},
    {0.73656249f, -1.15450001f, 1.5395f, -0.402187526f, 1.91118753f, -0.644812524f, 0.0135000022f,
     -0.223124996f, 0.470875025f},
    {0.737703145f, -1.163275f, 1.54277503f, -0.415359408f, 1.91315937f, -0.630790651f,
     0.0110750021f, -0.210406244f, 0.461268783f},
    {0.744466424f, -1.17191124f, 1.5458113f, -0.413474262f, 1.91092169f, -0.621355832f,
     0.00217125192f, -0.206245303f, 0.461633474f},
};

using Factory = std::function<std::unique_ptr<Optimizer>()>;

// Runs both paths side by side: they must agree bit for bit, and with PyTorch to float rounding
// (PyTorch's kernels may fuse multiply-adds differently).
void ExpectMatchesTorch(const Factory& make, const float (&expected)[kSteps][9]) {
  std::unique_ptr<Optimizer> arena_optimizer = make();
  std::unique_ptr<Optimizer> variable_optimizer = make();
  ParameterSet params(ReferenceParams());
  const std::vector<Tensor> vars = Tensors(ReferenceParams());
  const std::vector<Tensor> grads = GradsLike(vars);
  for (int t = 0; t < kSteps; ++t) {
    FillGrads(params.grads(), t);
    arena_optimizer->Step(params);
    FillGrads(grads, t);
    variable_optimizer->ApplyGradients(grads, vars);

    const std::vector<float> got = Flatten(params.params());
    ASSERT_EQ(got.size(), 9u);
    for (int j = 0; j < 9; ++j) {
      const float want = expected[t][j];
      EXPECT_NEAR(got[j], want, 1e-6f * std::max(1.0f, std::fabs(want)))
          << arena_optimizer->Describe() << " step " << t << " element " << j;
    }
    EXPECT_TRUE(BitIdentical(got, Flatten(vars))) << "the two paths differ at step " << t;
  }
}

TEST(TorchReferenceTest, SgdPlain) {
  ExpectMatchesTorch([] { return std::make_unique<SGD>(0.1); }, kSgdPlain);
}

TEST(TorchReferenceTest, SgdMomentum) {
  ExpectMatchesTorch([] { return std::make_unique<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9}); },
                     kSgdMomentum);
}

TEST(TorchReferenceTest, SgdDampeningWeightDecay) {
  ExpectMatchesTorch(
      [] {
        return std::make_unique<SGD>(
            SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01});
      },
      kSgdDampeningWeightDecay);
}

TEST(TorchReferenceTest, SgdNesterovWeightDecay) {
  ExpectMatchesTorch(
      [] {
        return std::make_unique<SGD>(
            SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.05, .nesterov = true});
      },
      kSgdNesterovWeightDecay);
}

TEST(TorchReferenceTest, AdamDefault) {
  ExpectMatchesTorch([] { return std::make_unique<Adam>(0.1); }, kAdamDefault);
}

TEST(TorchReferenceTest, AdamBetasEpsWeightDecay) {
  ExpectMatchesTorch(
      [] {
        return std::make_unique<Adam>(
            AdamOptions{.lr = 0.05, .beta1 = 0.8, .beta2 = 0.9, .eps = 1e-6, .weight_decay = 0.1});
      },
      kAdamBetasEpsWeightDecay);
}

TEST(TorchReferenceTest, AdamW) {
  ExpectMatchesTorch(
      [] { return std::make_unique<AdamW>(AdamWOptions{.lr = 0.1, .weight_decay = 0.1}); }, kAdamW);
}

TEST(TorchReferenceTest, AdamWBetas) {
  ExpectMatchesTorch(
      [] {
        return std::make_unique<AdamW>(AdamWOptions{
            .lr = 0.02, .beta1 = 0.5, .beta2 = 0.75, .eps = 1e-4, .weight_decay = 0.5});
      },
      kAdamWBetas);
}

TEST(TorchReferenceTest, RmsPropDefault) {
  ExpectMatchesTorch([] { return std::make_unique<RMSprop>(0.01); }, kRmsPropDefault);
}

TEST(TorchReferenceTest, RmsPropMomentumWeightDecay) {
  ExpectMatchesTorch(
      [] {
        return std::make_unique<RMSprop>(
            RMSpropOptions{.lr = 0.01, .weight_decay = 0.1, .momentum = 0.9});
      },
      kRmsPropMomentumWeightDecay);
}

TEST(TorchReferenceTest, RmsPropCentered) {
  ExpectMatchesTorch(
      [] { return std::make_unique<RMSprop>(RMSpropOptions{.lr = 0.01, .centered = true}); },
      kRmsPropCentered);
}

TEST(TorchReferenceTest, RmsPropCenteredMomentum) {
  ExpectMatchesTorch(
      [] {
        return std::make_unique<RMSprop>(RMSpropOptions{
            .lr = 0.01, .alpha = 0.9, .eps = 1e-4, .momentum = 0.5, .centered = true});
      },
      kRmsPropCenteredMomentum);
}

// The learning rate of each update comes from the schedule (ExponentialLR stepped every batch).
TEST(TorchReferenceTest, SgdMomentumExponentialSchedule) {
  ExpectMatchesTorch(
      [] {
        auto optimizer = std::make_unique<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9});
        optimizer->SetSchedule(std::make_unique<ExponentialSchedule>(0.1, 0.5));
        return optimizer;
      },
      kSgdMomentumExponentialLr);
}

}  // namespace
}  // namespace hearth
