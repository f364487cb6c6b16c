// Gradient allreduce cost: the bucketed GradientReducer against one raw MPI_Allreduce of the same
// bytes (the reference) and against one blocking allreduce per tensor (no fusion). Run it under
// mpirun with 2 or more ranks; rank 0 prints one line per figure, with the OpenBLAS kernel:
//
//   mpirun -np 2 --bind-to core build/bench/reducer_bench [--reps N] [--model-mb 4,25]
//
// The "model" is 100 tensors of varied sizes (50 weights and 50 small biases) in a ParameterSet,
// so the reducer works on the real flat gradient arena. The reducer is driven the way backward
// drives it: Begin(), hook()(i) for i from last to first, Finish(). No compute sits between the
// hook calls, so the figure is pure communication. Bandwidth is algorithm bandwidth (gradient
// bytes / seconds). Each round runs every variant once and the ratio to the reference is the
// median of the per-round ratios (the machine is shared: paired ratios are much steadier).
//
// Variants that explain a gap to the reference: one MPI_Iallreduce + MPI_Wait over everything
// (Open MPI's libnbc against its tuned blocking collective), the reference followed by the
// 1 / world Scale pass, the reducer's buckets each reduced by a blocking MPI_Allreduce or by
// non-blocking ones without the Scale pass, and the reducer with overlap off and with progress
// driven by the hooks instead of its thread.
//
// --sizes: MPI_Allreduce against MPI_Iallreduce + MPI_Wait per message size, 16 KB to 32 MB.
//
// --step JOB.json: whole training steps of the job's model (bench/jobs/mnist_*.json; random
// inputs, per-rank batch = the job's global_batch_size) as the trainer's overlapped step runs
// them: forward, backward feeding the reducer's hook, Finish, optimizer. Compared with the same
// step without communication (both ranks computing), it shows what synchronisation adds per
// step, per reducer configuration, and in which phase (forward, backward, hooks, after backward,
// optimizer).
//
// --only TEXT runs just the variants whose name contains TEXT (and the reference).
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "hearth/autograd.h"
#include "hearth/blas.h"
#include "hearth/dist/communicator.h"
#include "hearth/dist/reducer.h"
#ifdef HEARTH_BENCH_HAVE_JOB
#include "hearth/job.h"
#endif
#include "hearth/nn.h"
#include "hearth/optim.h"

namespace hearth {
namespace {

double Now() {
  return MPI_Wtime();
}

// 100 tensor sizes summing to `total_floats`: 50 layers of a weight and a bias, the weights of
// irregular sizes spanning about 1:60, the biases tens to about a thousand floats.
std::vector<int64_t> ModelSizes(int64_t total_floats) {
  std::vector<int64_t> weights;
  for (int l = 0; l < 50; ++l) {
    const int64_t rel = 1 + (l * 37 % 17) * (l % 3 == 0 ? 3 : 1) + (l % 7 == 0 ? 20 : 0);
    weights.push_back(rel);
  }
  int64_t rel_sum = 0;
  for (int64_t w : weights) rel_sum += w;
  std::vector<int64_t> sizes;
  int64_t sum = 0;
  for (int l = 0; l < 50; ++l) {
    const int64_t w = std::max<int64_t>(16, total_floats * 98 / 100 * weights[l] / rel_sum);
    const int64_t b = 16 + (w / 997) % 1024;  // a bias: tens to about a thousand floats
    sizes.push_back(w);
    sizes.push_back(b);
    sum += w + b;
  }
  // Top up the last weight so that the total is exact.
  sizes[98] += std::max<int64_t>(0, total_floats - sum);
  return sizes;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void Check(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "reducer_bench: %s\n", std::string(s.message()).c_str());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
}

struct Options {
  int reps = 40;
  int warmup = 5;
  std::vector<double> model_mb = {4, 25};
  bool sweep = true;     // bucket-size sweep (else only the default reducer)
  bool sizes = false;    // raw Allreduce vs Iallreduce bandwidth per message size, then exit
  std::string step_job;  // time whole training steps of this job's model instead
  int steps_per_round = 20;
  std::string only;  // run only the variants whose name contains this (and the reference)
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "reducer_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--reps") {
      o.reps = std::atoi(value().c_str());
    } else if (a == "--warmup") {
      o.warmup = std::atoi(value().c_str());
    } else if (a == "--model-mb") {
      o.model_mb.clear();
      for (absl::string_view part : absl::StrSplit(value(), ',')) {
        double mb = 0;
        if (!absl::SimpleAtod(part, &mb) || mb <= 0) {
          std::fprintf(stderr, "reducer_bench: bad --model-mb\n");
          std::exit(2);
        }
        o.model_mb.push_back(mb);
      }
    } else if (a == "--no-sweep") {
      o.sweep = false;
    } else if (a == "--sizes") {
      o.sizes = true;
    } else if (a == "--step") {
      o.step_job = value();
    } else if (a == "--only") {
      o.only = value();
    } else if (a == "--steps-per-round") {
      o.steps_per_round = std::atoi(value().c_str());
    } else {
      o.reps = 0;  // unknown flag: the usage message below
      break;
    }
  }
  if (o.reps < 1 || o.warmup < 0 || o.steps_per_round < 1) {
    std::fprintf(stderr,
                 "usage: mpirun -np N reducer_bench [--reps N] [--warmup N] [--model-mb A,B] "
                 "[--no-sweep] [--sizes] [--step JOB.json [--steps-per-round N]] [--only TEXT]\n");
    std::exit(2);
  }
  return o;
}

// One way of reducing the whole arena, timed round by round with all the others.
struct Variant {
  std::string name;
  std::function<void()> body;
  std::string note;
  std::vector<double> seconds;  // one per round
  int id = -1;                  // the caller's index for the variant's own records
};

// Every round runs each variant once (in a rotating order), so load from other processes on this
// shared machine hits all of them alike; the ratio to the reference is the median of per-round
// ratios (paired), which is much steadier than a ratio of medians taken minutes apart. The best
// (fastest) round is printed as well: with bursts of load from other jobs it is the steadiest
// estimate of the undisturbed time. With bytes <= 0 the caller prints the results.
void RunVariants(dist::Communicator& comm, std::vector<Variant>& variants, double bytes,
                 const Options& o, bool header = true,
                 const std::function<void()>& after_warmup = nullptr) {
  if (!o.only.empty()) {
    std::vector<Variant> kept;
    for (size_t i = 0; i < variants.size(); ++i)
      if (i == 0 || variants[i].name.find(o.only) != std::string::npos)
        kept.push_back(std::move(variants[i]));
    variants = std::move(kept);
  }
  for (Variant& v : variants)
    for (int i = 0; i < o.warmup; ++i) v.body();
  if (after_warmup) after_warmup();
  const size_t k = variants.size();
  for (int r = 0; r < o.reps; ++r) {
    for (size_t j = 0; j < k; ++j) {
      Variant& v = variants[(j + r) % k];
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = Now();
      v.body();
      double t = Now() - t0;
      MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      v.seconds.push_back(t);
    }
  }
  if (!comm.is_root() || bytes <= 0) return;
  const std::vector<double>& ref = variants[0].seconds;
  const double ref_best = *std::min_element(ref.begin(), ref.end());
  if (header)
    std::printf("  %-40s %9s %7s %6s | %9s %7s %6s\n", "", "median", "GB/s", "ratio", "best",
                "GB/s", "ratio");
  for (const Variant& v : variants) {
    std::vector<double> ratios(o.reps);
    for (int r = 0; r < o.reps; ++r) ratios[r] = ref[r] / v.seconds[r];
    const double t = Median(v.seconds);
    const double best = *std::min_element(v.seconds.begin(), v.seconds.end());
    std::printf("  %-40s %6.3f ms %7.2f %6.2f | %6.3f ms %7.2f %6.2f%s\n", v.name.c_str(), t * 1e3,
                bytes / t / 1e9, Median(ratios), best * 1e3, bytes / best / 1e9, ref_best / best,
                v.note.c_str());
  }
}

void RunModel(dist::Communicator& comm, double model_mb, const Options& o) {
  const int64_t total = static_cast<int64_t>(model_mb * (1 << 20) / 4);
  const std::vector<int64_t> sizes = ModelSizes(total);
  std::vector<NamedTensor> tensors;
  for (size_t i = 0; i < sizes.size(); ++i)
    tensors.push_back({absl::StrCat("t", i), Tensor::Full({sizes[i]}, 0.0f)});
  ParameterSet params(std::move(tensors));
  float* grads = params.flat_grads().data<float>();
  const int64_t n = params.numel();
  const double bytes = 4.0 * n;
  // Zeros stay zeros over any number of raw (unscaled) sums; the arithmetic costs the same.
  std::fill(grads, grads + n, 0.0f);
  int64_t smallest = sizes[0], largest = sizes[0];
  for (int64_t s : sizes) smallest = std::min(smallest, s), largest = std::max(largest, s);
  if (comm.is_root())
    std::printf("model %.1f MB: %zu tensors of %lld..%lld floats, %d ranks, median of %d rounds\n",
                bytes / (1 << 20), sizes.size(), static_cast<long long>(smallest),
                static_cast<long long>(largest), comm.size(), o.reps);

  std::vector<Variant> v;
  v.push_back({"(a) raw MPI_Allreduce (reference)",
               [&] {
                 MPI_Allreduce(MPI_IN_PLACE, grads, static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                               MPI_COMM_WORLD);
               },
               "",
               {}});
  // What any sum-then-scale reducer must do at least: the reference plus one pass over the data.
  v.push_back({"raw MPI_Allreduce, then Scale",
               [&] {
                 MPI_Allreduce(MPI_IN_PLACE, grads, static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                               MPI_COMM_WORLD);
                 dist::Scale(std::span(grads, n), 1.0f / comm.size());
               },
               "",
               {}});
  v.push_back({"raw MPI_Iallreduce + MPI_Wait",
               [&] {
                 MPI_Request r;
                 MPI_Iallreduce(MPI_IN_PLACE, grads, static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                                MPI_COMM_WORLD, &r);
                 MPI_Wait(&r, MPI_STATUS_IGNORE);
               },
               "",
               {}});

  std::vector<std::unique_ptr<dist::GradientReducer>> reducers;
  auto add_reducer = [&](const std::string& name, dist::ReducerOptions ro) {
    ro.prescaled = true;
    reducers.push_back(std::make_unique<dist::GradientReducer>(params, comm, ro));
    dist::GradientReducer* reducer = reducers.back().get();
    v.push_back({name,
                 [reducer, &params] {
                   reducer->Begin();
                   const auto& hook = reducer->hook();
                   for (int i = params.size() - 1; i >= 0; --i) hook(i);
                   Check(reducer->Finish());
                 },
                 absl::StrCat(" (", reducer->buckets().size(), " buckets)"),
                 {}});
  };
  // What the trainer runs: losses weighted by their share, so the reducer only sums. Its automatic
  // schedule depends on the placement (one host and one CPU per rank: one fused allreduce), so
  // the bucketed, overlapped schedule is measured on its own as well.
  dist::ReducerOptions trainer;
  trainer.prescaled = true;
  {
    const dist::GradientReducer probe(params, comm, trainer);
    const bool fused = probe.options().schedule == dist::ReducerOptions::Schedule::kFused;
    add_reducer(
        absl::StrCat("(b) reducer as the trainer runs it here", fused ? " (fused)" : " (overlap)"),
        trainer);
  }
  trainer.schedule = dist::ReducerOptions::Schedule::kOverlap;
  add_reducer("(b) reducer, overlapped buckets", trainer);
  dist::ReducerOptions with_scale = trainer;
  with_scale.prescaled = false;
  add_reducer("(b) reducer, overlapped buckets, Scale", with_scale);
  // The default buckets, each reduced with a blocking MPI_Allreduce after "backward", then scaled.
  const std::vector<dist::Bucket> default_buckets = reducers.back()->buckets();
  v.push_back({"default buckets, blocking Allreduce",
               [&] {
                 for (const dist::Bucket& b : default_buckets) {
                   MPI_Allreduce(MPI_IN_PLACE, grads + b.offset, static_cast<int>(b.numel),
                                 MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
                   dist::Scale(std::span(grads + b.offset, b.numel), 1.0f / comm.size());
                 }
               },
               "",
               {}});
  // The reducer's schedule without its Scale pass (what it would cost if the gradients arrived
  // already divided by the world size, e.g. with 1 / world folded into the loss): the default
  // buckets started in order through the communicator, then waited for.
  std::vector<dist::RequestId> requests(default_buckets.size());
  v.push_back({"default buckets, Iallreduce, no Scale",
               [&] {
                 for (size_t b = 0; b < default_buckets.size(); ++b) {
                   StatusOr<dist::RequestId> r = comm.StartAllReduceSum(
                       std::span(grads + default_buckets[b].offset, default_buckets[b].numel),
                       "bench bucket");
                   Check(r.status());
                   requests[b] = *r;
                 }
                 for (dist::RequestId r : requests) Check(comm.Wait(r));
               },
               "",
               {}});
  if (o.sweep) {  // variations on what the trainer runs
    for (int64_t kb : {64, 256, 1024, 2048, 4096, 16384}) {
      dist::ReducerOptions ro = trainer;
      ro.bucket_bytes = ro.first_bucket_bytes = kb << 10;
      add_reducer(absl::StrCat("(b) trainer's, buckets ", kb, " KB"), ro);
    }
    dist::ReducerOptions one = trainer;
    one.bucket_bytes = one.first_bucket_bytes = static_cast<int64_t>(bytes) + 4;
    add_reducer("(b) trainer's, one bucket", one);
    dist::ReducerOptions late = trainer;
    late.schedule = dist::ReducerOptions::Schedule::kAfterBackward;
    add_reducer("(b) trainer's, buckets after backward", late);
    dist::ReducerOptions hooks = trainer;
    hooks.progress = dist::ReducerOptions::Progress::kHooks;
    add_reducer("(b) trainer's, progress by hooks", hooks);
  }
  v.push_back({"(c) unfused: Allreduce per tensor",
               [&] {
                 for (int i = params.size() - 1; i >= 0; --i)
                   MPI_Allreduce(MPI_IN_PLACE, grads + params.offset(i),
                                 static_cast<int>(params.param(i).numel()), MPI_FLOAT, MPI_SUM,
                                 MPI_COMM_WORLD);
               },
               "",
               {}});
  RunVariants(comm, v, bytes, o);
}

// Bandwidth of one blocking MPI_Allreduce and of one MPI_Iallreduce + MPI_Wait per message size:
// where the two collective components (tuned, libnbc) differ, and what a bucket of that size gets.
void RunSizes(dist::Communicator& comm, const Options& o) {
  std::vector<float> buffer(static_cast<size_t>(32) << 20 >> 2, 0.0f);
  if (comm.is_root())
    std::printf("message sizes: MPI_Allreduce vs MPI_Iallreduce + MPI_Wait, %d rounds\n", o.reps);
  for (int64_t kb = 16; kb <= (32 << 10); kb *= 2) {
    const int count = static_cast<int>(kb * 256);
    std::vector<Variant> v;
    v.push_back({absl::StrCat(kb, " KB MPI_Allreduce"),
                 [&] {
                   MPI_Allreduce(MPI_IN_PLACE, buffer.data(), count, MPI_FLOAT, MPI_SUM,
                                 MPI_COMM_WORLD);
                 },
                 "",
                 {}});
    v.push_back({absl::StrCat(kb, " KB MPI_Iallreduce + MPI_Wait"),
                 [&] {
                   MPI_Request r;
                   MPI_Iallreduce(MPI_IN_PLACE, buffer.data(), count, MPI_FLOAT, MPI_SUM,
                                  MPI_COMM_WORLD, &r);
                   MPI_Wait(&r, MPI_STATUS_IGNORE);
                 },
                 "",
                 {}});
    RunVariants(comm, v, kb * 1024.0, o, kb == 16);
  }
}

#ifdef HEARTH_BENCH_HAVE_JOB
// Per-step time of the job's model, with each way of synchronising the gradients.
void RunSteps(dist::Communicator& comm, const Options& o) {
  auto fail = [&](const Status& s) {
    if (!s.ok()) {
      std::fprintf(stderr, "reducer_bench: %s: %s\n", o.step_job.c_str(),
                   std::string(s.message()).c_str());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  };
  StatusOr<v1::JobSpec> spec = LoadJobSpec(o.step_job);
  fail(spec.status());
  Shape example;
  for (int64_t d : spec->model().input_shape()) example.push_back(d);
  const int64_t classes = 10, batch = spec->global_batch_size();
  StatusOr<std::unique_ptr<Sequential>> model = BuildModel(*spec, example, classes, spec->seed());
  fail(model.status());
  StatusOr<LossFn> loss = MakeLossFn(*spec);
  fail(loss.status());
  StatusOr<std::unique_ptr<Optimizer>> optimizer = MakeOptimizerFromSpec(*spec, 100);
  fail(optimizer.status());
  ParameterSet params(**model);
  Shape input = {batch};
  for (int64_t d : example) input.push_back(d);
  Generator rng(comm.rank() + 1);
  Tensor x = Tensor::Empty(input);
  for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = rng.Uniform();
  std::vector<int64_t> label_values(batch);
  for (int64_t& y : label_values) y = static_cast<int64_t>(rng.NextU64() % classes);
  Tensor labels = Tensor::FromInt64(label_values, {batch});
  const int64_t n = params.numel();
  float* grads = params.flat_grads().data<float>();
  if (comm.is_root())
    std::printf(
        "steps of %s: %d parameter tensors, %lld floats (%.2f MB), per-rank batch %lld, "
        "%d ranks, median of %d rounds x %d steps\n",
        o.step_job.c_str(), params.size(), static_cast<long long>(n), 4.0 * n / (1 << 20),
        static_cast<long long>(batch), comm.size(), o.reps, o.steps_per_round);

  // The trainer's per-step loss statistics: a few floats reduced alongside the gradients.
  std::vector<float> stats(3 + comm.size());
  // Where a variant's step time goes on this rank (seconds summed over all its steps).
  struct Phases {
    double forward = 0, backward = 0, hooks = 0, finish = 0, optimizer = 0;
    int64_t steps = 0;
  };
  // How a variant synchronises: the backward pass (which may feed hooks), then what follows it.
  struct Sync {
    std::function<void(GradientTape&, const Tensor&, Phases&)> backward;
    std::function<void()> finish;
  };
  auto step = [&](const Sync& sync, Phases& p) {
    const double t0 = Now();
    GradientTape tape;
    Tensor l = (*loss)((**model)(x), labels);
    stats[0] = l.item();
    const double t1 = Now();
    sync.backward(tape, l, p);
    const double t2 = Now();
    if (sync.finish) sync.finish();
    const double t3 = Now();
    (*optimizer)->Step(params);
    const double t4 = Now();
    p.forward += t1 - t0;
    p.backward += t2 - t1;
    p.finish += t3 - t2;
    p.optimizer += t4 - t3;
    ++p.steps;
  };
  std::vector<Variant> v;
  std::vector<std::unique_ptr<Phases>> phases;
  auto add = [&](const std::string& name, Sync sync, std::string note = "") {
    phases.push_back(std::make_unique<Phases>());
    Phases* p = phases.back().get();
    v.push_back({name,
                 [&step, sync = std::move(sync), &o, p] {
                   for (int i = 0; i < o.steps_per_round; ++i) step(sync, *p);
                 },
                 std::move(note),
                 {}});
    v.back().id = static_cast<int>(phases.size()) - 1;
  };
  auto plain_backward = [&](GradientTape& tape, const Tensor& l, Phases&) {
    tape.gradient_into(l, params.params(), params.grads());
  };
  add("(ref) no communication, compute only", {plain_backward, nullptr});
  add("backward, then blocking Allreduce, Scale",
      {plain_backward, [&] {
         MPI_Allreduce(MPI_IN_PLACE, stats.data(), static_cast<int>(stats.size()), MPI_FLOAT,
                       MPI_SUM, MPI_COMM_WORLD);
         MPI_Allreduce(MPI_IN_PLACE, grads, static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                       MPI_COMM_WORLD);
         dist::Scale(std::span(grads, n), 1.0f / comm.size());
       }});
  // The same with 1 / world folded into the loss instead of a Scale pass after the allreduce:
  // what that would save per step (the optimizer then reads the freshly reduced gradients).
  const float inverse_world = 1.0f / static_cast<float>(comm.size());
  add("1/world in the loss, blocking Allreduce",
      {[&](GradientTape& tape, const Tensor& l, Phases&) {
         tape.gradient_into(l * inverse_world, params.params(), params.grads());
       },
       [&] {
         MPI_Allreduce(MPI_IN_PLACE, stats.data(), static_cast<int>(stats.size()), MPI_FLOAT,
                       MPI_SUM, MPI_COMM_WORLD);
         MPI_Allreduce(MPI_IN_PLACE, grads, static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                       MPI_COMM_WORLD);
       }});
  std::vector<std::unique_ptr<dist::GradientReducer>> reducers;
  dist::RequestId stats_request = 0;
  auto add_reducer = [&](const std::string& name, dist::ReducerOptions ro) {
    ro.prescaled = true;
    reducers.push_back(std::make_unique<dist::GradientReducer>(params, comm, ro));
    dist::GradientReducer* reducer = reducers.back().get();
    // As the trainer's overlapped step: the statistics start before backward, the gradients'
    // buckets from the hook, and both are waited for after it. The hook is timed apart from the
    // rest of backward (it is where MPI is progressed).
    auto backward = [&, reducer](GradientTape& tape, const Tensor& l, Phases& p) {
      StatusOr<dist::RequestId> request = comm.StartAllReduceSum(stats, "allreduce step loss");
      Check(request.status());
      stats_request = *request;
      reducer->Begin();
      const std::function<void(int)>& inner = reducer->hook();
      // As the trainer: each rank's loss weighted by its share, so the reducer only sums.
      tape.gradient_into(l * inverse_world, params.params(), params.grads(), false, [&](int i) {
        const double t0 = Now();
        inner(i);
        p.hooks += Now() - t0;
      });
    };
    auto finish = [&, reducer] {
      Check(reducer->Finish());
      Check(comm.Wait(stats_request));
    };
    add(name, {backward, finish}, absl::StrCat(" (", reducer->buckets().size(), " buckets)"));
  };
  // Each configuration with the progress thread (the default) and with progress by hook calls.
  for (auto progress :
       {dist::ReducerOptions::Progress::kThread, dist::ReducerOptions::Progress::kHooks}) {
    const std::string by =
        progress == dist::ReducerOptions::Progress::kThread ? ", thread" : ", hooks";
    dist::ReducerOptions ro;
    ro.progress = progress;
    ro.schedule = dist::ReducerOptions::Schedule::kOverlap;
    add_reducer("reducer, default buckets" + by, ro);
    for (int64_t kb : {64, 256, 1024}) {
      ro.bucket_bytes = ro.first_bucket_bytes = kb << 10;
      add_reducer(absl::StrCat("reducer, buckets ", kb, " KB", by), ro);
    }
    ro.bucket_bytes = ro.first_bucket_bytes = 4 * n + 4;
    add_reducer("reducer, one bucket" + by, ro);
  }
  dist::ReducerOptions late;
  late.schedule = dist::ReducerOptions::Schedule::kAfterBackward;
  add_reducer("reducer, default buckets, after backward", late);
  dist::ReducerOptions fused;
  fused.schedule = dist::ReducerOptions::Schedule::kFused;
  add_reducer("reducer, one fused allreduce after backward", fused);

  Options per_round = o;
  per_round.warmup = 1;
  // Phases count the timed rounds only (the first steps allocate the optimizer's state).
  RunVariants(comm, v, 0, per_round, false, [&] {
    for (auto& p : phases) *p = Phases{};
  });
  // Phase means of both ranks (the slower rank decides the step).
  for (auto& p : phases) {
    double values[5] = {p->forward, p->backward, p->hooks, p->finish, p->optimizer};
    MPI_Allreduce(MPI_IN_PLACE, values, 5, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    p->forward = values[0], p->backward = values[1], p->hooks = values[2];
    p->finish = values[3], p->optimizer = values[4];
  }
  if (!comm.is_root()) return;
  // Per step, and what synchronisation adds to the compute-only step.
  auto best_of = [&](const Variant& var) {
    return *std::min_element(var.seconds.begin(), var.seconds.end()) / o.steps_per_round;
  };
  const double base = Median(v[0].seconds) / o.steps_per_round, base_best = best_of(v[0]);
  std::printf(
      "  ms per step: median (added to compute-only, throughput ratio) | best (same); "
      "then mean ms per phase, max over ranks\n");
  for (const Variant& var : v) {
    const double t = Median(var.seconds) / o.steps_per_round, best = best_of(var);
    const Phases& p = *phases[var.id];
    const double per = 1e3 / static_cast<double>(std::max<int64_t>(p.steps, 1));
    std::printf(
        "  %-40s %6.3f (%+6.3f, %.2fx) | %6.3f (%+6.3f, %.2fx)%s\n"
        "  %40s fwd %.3f  bwd %.3f (in hooks %.3f)  after bwd %.3f  opt %.3f\n",
        var.name.c_str(), t * 1e3, (t - base) * 1e3, base / t, best * 1e3, (best - base_best) * 1e3,
        base_best / best, var.note.c_str(), "", p.forward * per, p.backward * per, p.hooks * per,
        p.finish * per, p.optimizer * per);
  }
}
#else
void RunSteps(dist::Communicator&, const Options&) {
  std::fprintf(stderr, "reducer_bench: built without the job library; --step is unavailable\n");
  MPI_Abort(MPI_COMM_WORLD, 2);
}
#endif

int Main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  StatusOr<std::unique_ptr<dist::Communicator>> made = dist::CreateCommunicator();
  if (!made.ok()) {
    std::fprintf(stderr, "reducer_bench: %s\n", std::string(made.status().message()).c_str());
    return 1;
  }
  dist::Communicator& comm = **made;
  if (comm.backend() != "mpi" || comm.size() < 2) {
    std::fprintf(stderr, "reducer_bench: run it under mpirun with 2 or more ranks\n");
    return 2;
  }
  if (comm.is_root())
    std::printf("reducer_bench: %d ranks, openblas %s\n", comm.size(), BlasCoreName().c_str());
  if (!o.step_job.empty()) {
    RunSteps(comm, o);
  } else if (o.sizes) {
    RunSizes(comm, o);
  } else {
    for (double mb : o.model_mb) RunModel(comm, mb, o);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace hearth

int main(int argc, char** argv) {
  return hearth::Main(argc, argv);
}
