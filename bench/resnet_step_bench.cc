// Times whole ResNet-20 training steps on CIFAR-sized batches: nn::ResNet::Cifar(20), SGD with Nesterov
// momentum 0.9 and weight decay 5e-4 on everything but the normalization parameters (optim::NoDecayOnNorms),
// random float32 images [B, 3, 32, 32] and int64 labels. One step is what a training loop does:
//   loss = cross_entropy(model(x), y); opt.zero_grad(); loss.backward(); opt.step();
// After --warmup steps, --steps steps are timed one by one, each phase (forward, loss, zero_grad, backward,
// step) separately; then --steps eval-mode forwards without recording (model.eval(), NoGrad).
// Prints CSV, one line per measurement, for bench/resnet_step_bench.py (which puts PyTorch next to it):
//   train,<batch>,<ms>,<forward ms>,<loss ms>,<zero_grad ms>,<backward ms>,<step ms>,<CPU ms>  (one per step)
//   eval,<batch>,<ms>,<CPU ms>                                                           (one per forward)
// and, with --summary, a readable table of medians instead. The CPU time is the process's (all threads):
// on a loaded machine it is the steadier measure of the work done, since it leaves out the time the
// process waited for a core.
//
// --no-eval skips the eval forwards (for profiling the training step alone).
//
// Usage: resnet_step_bench [--threads=N] [--batch=N] [--steps=N] [--warmup=N] [--summary] [--no-eval]
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <vector>

#include "bench/harness.h"
#include "core/parallel.h"
#include "nn/functional/loss.h"
#include "normgrad/normgrad.h"

namespace {

namespace ng = normgrad;
using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

double CpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

using ng::bench::Median;

constexpr int kPhases = 5;  // forward, loss, zero_grad, backward, step
constexpr const char* kPhaseNames[kPhases] = {"forward", "loss", "zero_grad", "backward", "step"};

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, batch = 128, steps = 10, warmup = 3;
  bool summary = false;
  bool no_eval = false;
  if (!ng::bench::Options("resnet_step_bench")
           .Int("threads", &threads, 1)
           .Int("batch", &batch, 1)
           .Int("steps", &steps, 1)
           .Int("warmup", &warmup, 0)
           .Switch("summary", &summary)
           .Switch("no-eval", &no_eval)
           .Parse(argc, argv)) {
    return 2;
  }
  ng::SetNumThreads(threads);

  ng::Generator gen(0);
  auto model = ng::nn::ResNet::Cifar(20, {}, &gen);
  ng::optim::SGD opt(ng::optim::NoDecayOnNorms(*model, 5e-4),
                     {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  const ng::Tensor x = ng::randn({batch, 3, 32, 32}, {}, &gen);
  std::vector<int64_t> labels(batch);
  for (int64_t& l : labels) l = static_cast<int64_t>(gen.NextBelow(10));
  const ng::Tensor y = ng::from_vector(labels);

  model->train();
  Clock::time_point timed_from, timed_to;  // the timed training steps, for profilers
  std::vector<std::array<double, kPhases + 1>> train;  // total, then the phases
  std::vector<double> train_cpu, eval_cpu;
  for (int s = 0; s < warmup + steps; ++s) {
    std::array<Clock::time_point, kPhases + 1> t;
    const double cpu0 = CpuMs();
    t[0] = Clock::now();
    if (s == warmup) timed_from = t[0];
    const ng::Tensor logits = (*model)(x);
    t[1] = Clock::now();
    const ng::Tensor loss = ng::nn::functional::cross_entropy(logits, y);
    t[2] = Clock::now();
    opt.zero_grad();
    t[3] = Clock::now();
    loss.backward();
    t[4] = Clock::now();
    opt.step();
    t[5] = Clock::now();
    timed_to = t[5];
    if (s < warmup) continue;
    train_cpu.push_back(CpuMs() - cpu0);
    std::array<double, kPhases + 1> row;
    row[0] = Ms(t[0], t[kPhases]);
    for (int p = 0; p < kPhases; ++p) row[p + 1] = Ms(t[p], t[p + 1]);
    train.push_back(row);
  }

  model->eval();
  std::vector<double> eval;
  for (int s = 0; !no_eval && s < warmup + steps; ++s) {
    const double cpu0 = CpuMs();
    const auto t0 = Clock::now();
    ng::NoGrad([&] { return (*model)(x); });
    if (s < warmup) continue;
    eval.push_back(Ms(t0, Clock::now()));
    eval_cpu.push_back(CpuMs() - cpu0);
  }

  if (!summary) {
    for (size_t i = 0; i < train.size(); ++i) {
      std::printf("train,%d", batch);
      for (double v : train[i]) std::printf(",%.4f", v);
      std::printf(",%.4f\n", train_cpu[i]);
    }
    for (size_t i = 0; i < eval.size(); ++i) std::printf("eval,%d,%.4f,%.4f\n", batch, eval[i], eval_cpu[i]);
    return 0;
  }
  std::vector<double> column(train.size());
  auto median_of = [&](int c) {
    for (size_t i = 0; i < train.size(); ++i) column[i] = train[i][c];
    return Median(column);
  };
  const double step_ms = median_of(0);
  std::printf("ResNet-20, batch %d, %d threads, median of %d steps after %d warm-up\n", batch, threads, steps, warmup);
  // steady_clock is CLOCK_MONOTONIC, which `perf record -k CLOCK_MONOTONIC` stamps its samples with.
  auto seconds = [](Clock::time_point t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); };
  std::printf("timed training steps: monotonic clock %.6f to %.6f s\n", seconds(timed_from), seconds(timed_to));
  std::printf("%-22s %9.2f ms  %8.1f images/s  (CPU time %.2f ms)\n", "train step", step_ms,
              batch * 1e3 / step_ms, Median(train_cpu));
  for (int p = 0; p < kPhases; ++p) {
    const double ms = median_of(p + 1);
    std::printf("  %-20s %9.2f ms  %5.1f%%\n", kPhaseNames[p], ms, 100 * ms / step_ms);
  }
  if (no_eval) return 0;
  const double eval_ms = Median(eval);
  std::printf("%-22s %9.2f ms  %8.1f images/s  (CPU time %.2f ms)\n", "eval forward", eval_ms,
              batch * 1e3 / eval_ms, Median(eval_cpu));
  return 0;
}
