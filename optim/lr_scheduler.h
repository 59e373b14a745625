#ifndef NORMGRAD_OPTIM_LR_SCHEDULER_H_
#define NORMGRAD_OPTIM_LR_SCHEDULER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "optim/optimizer.h"

namespace normgrad::optim {

// A learning-rate schedule as a pure function of the step count t = 0, 1, 2, ... and the group's
// initial lr. Schedules compose (Sequential, Warmup) because they hold no state; an LRScheduler applies
// one to an optimizer. Each matches the PyTorch scheduler of the same name.
class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual double Lr(int64_t t, double initial_lr) const = 0;
  // The momentum (SGD) or beta1 (Adam) at step t, for schedules that cycle it; nullopt leaves it alone.
  virtual std::optional<double> Momentum(int64_t) const { return std::nullopt; }
};

using SchedulePtr = std::shared_ptr<const Schedule>;

// initial_lr * gamma^floor(t / step_size).
SchedulePtr StepLR(int64_t step_size, double gamma = 0.1);
// initial_lr * gamma^(number of milestones <= t); milestones increasing.
SchedulePtr MultiStepLR(std::vector<int64_t> milestones, double gamma = 0.1);
// eta_min + (initial_lr - eta_min) * (1 + cos(pi * t / t_max)) / 2.
SchedulePtr CosineAnnealingLR(int64_t t_max, double eta_min = 0);
// initial_lr * factor, factor going linearly from start_factor to end_factor over total_iters steps.
SchedulePtr LinearLR(double start_factor = 1.0 / 3, double end_factor = 1.0, int64_t total_iters = 5);
// One-cycle (Smith 2018, PyTorch's two-phase default, cosine annealing): lr rises from max_lr / div_factor
// to max_lr over pct_start of total_steps, then falls to max_lr / div_factor / final_div_factor; momentum
// moves the opposite way between max_momentum and base_momentum when cycle_momentum.
struct OneCycleOptions {
  double max_lr = 0.1;
  int64_t total_steps = 100;
  double pct_start = 0.3;
  double div_factor = 25;
  double final_div_factor = 1e4;
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
};
SchedulePtr OneCycleLR(OneCycleOptions options);
// schedules[i] runs from milestones[i - 1] (0 for i = 0), counting its own steps from 0 there.
SchedulePtr Sequential(std::vector<SchedulePtr> schedules, std::vector<int64_t> milestones);
// Linear warm-up from start_factor to 1 over warmup_steps, then `after` from its own step 0.
SchedulePtr Warmup(int64_t warmup_steps, SchedulePtr after, double start_factor = 0.1);

// Applies a schedule to an optimizer: sets every group's lr (and momentum) for step 0 on construction,
// and for the next step on each step() (call it once per epoch or per batch, as the schedule is meant).
//
// The schedule owns the groups' lr: each step() sets lr = Lr(t, initial_lr), whatever lr was before. This
// differs from PyTorch, whose schedulers are chainable (each multiplies the lr it finds), so that:
// - an lr set by hand (group.lr = ...) holds only until the next step(); to move the schedule, set
//   group.initial_lr, the lr it scales from;
// - two schedules do not stack: combine them into one with Sequential, Warmup (or a Schedule of your own
//   whose Lr multiplies two others) and give that to one LRScheduler. Constructing a second LRScheduler
//   on an optimizer that has a live one throws normgrad::Error saying so; once the first is destroyed,
//   another may take its place.
// The optimizer must outlive the scheduler. A scheduler cannot be copied or moved (hold it in a
// std::unique_ptr to pass it around).
class LRScheduler {
 public:
  // Throws normgrad::Error for a null schedule and for an optimizer that already has a live LRScheduler.
  LRScheduler(Optimizer& optimizer, SchedulePtr schedule);
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  void step();
  int64_t last_step() const { return t_; }
  std::vector<double> last_lr() const;

  // {"last_step"}; loading restores the step and re-applies the schedule to the optimizer.
  StateDict state_dict() const;
  [[nodiscard]] absl::Status load_state_dict(const StateDict& state);

 private:
  void Apply();
  Optimizer& optimizer_;
  SchedulePtr schedule_;
  int64_t t_ = 0;
  // Marks the optimizer as scheduled while this scheduler lives (Optimizer::scheduler_ watches it).
  std::shared_ptr<const void> token_;
};

}  // namespace normgrad::optim

#endif  // NORMGRAD_OPTIM_LR_SCHEDULER_H_
