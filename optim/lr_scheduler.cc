#include "optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "core/error.h"
#include "core/shape.h"

namespace normgrad::optim {
namespace {

class StepSchedule : public Schedule {
 public:
  StepSchedule(int64_t step_size, double gamma) : step_size_(step_size), gamma_(gamma) {}
  double Lr(int64_t t, double lr) const override {
    return lr * std::pow(gamma_, static_cast<double>(t / step_size_));
  }

 private:
  int64_t step_size_;
  double gamma_;
};

class MultiStepSchedule : public Schedule {
 public:
  MultiStepSchedule(std::vector<int64_t> milestones, double gamma) : milestones_(std::move(milestones)), gamma_(gamma) {}
  double Lr(int64_t t, double lr) const override {
    const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), t) - milestones_.begin();
    return lr * std::pow(gamma_, static_cast<double>(passed));
  }

 private:
  std::vector<int64_t> milestones_;
  double gamma_;
};

class CosineSchedule : public Schedule {
 public:
  CosineSchedule(int64_t t_max, double eta_min) : t_max_(t_max), eta_min_(eta_min) {}
  double Lr(int64_t t, double lr) const override {
    return eta_min_ + (lr - eta_min_) * (1 + std::cos(std::numbers::pi * t / t_max_)) / 2;
  }

 private:
  int64_t t_max_;
  double eta_min_;
};

class LinearSchedule : public Schedule {
 public:
  LinearSchedule(double start, double end, int64_t total) : start_(start), end_(end), total_(total) {}
  double Lr(int64_t t, double lr) const override {
    const double progress = static_cast<double>(std::min(t, total_)) / total_;
    return lr * (start_ + (end_ - start_) * progress);
  }

 private:
  double start_, end_;
  int64_t total_;
};

double CosineAnneal(double start, double end, double pct) {
  return end + (start - end) / 2 * (std::cos(std::numbers::pi * pct) + 1);
}

class OneCycleSchedule : public Schedule {
 public:
  explicit OneCycleSchedule(OneCycleOptions o) : o_(o) {}
  double Lr(int64_t t, double) const override {
    const double initial = o_.max_lr / o_.div_factor, min_lr = initial / o_.final_div_factor;
    const auto [phase, pct] = Phase(t);
    return phase == 0 ? CosineAnneal(initial, o_.max_lr, pct) : CosineAnneal(o_.max_lr, min_lr, pct);
  }
  std::optional<double> Momentum(int64_t t) const override {
    if (!o_.cycle_momentum) return std::nullopt;
    const auto [phase, pct] = Phase(t);
    return phase == 0 ? CosineAnneal(o_.max_momentum, o_.base_momentum, pct)
                      : CosineAnneal(o_.base_momentum, o_.max_momentum, pct);
  }

 private:
  // PyTorch's phase boundaries: the first phase ends at step pct_start * total_steps - 1. Like PyTorch,
  // step() may be called total_steps times (the last lr extrapolates the final phase), not more.
  std::pair<int, double> Phase(int64_t t) const {
    NG_CHECK(t <= o_.total_steps, "OneCycleLR: stepped ", t, " times, more than total_steps = ", o_.total_steps);
    const double end1 = o_.pct_start * o_.total_steps - 1, end2 = o_.total_steps - 1;
    if (t <= end1) return {0, t / end1};
    return {1, (t - end1) / (end2 - end1)};
  }
  OneCycleOptions o_;
};

class SequentialSchedule : public Schedule {
 public:
  SequentialSchedule(std::vector<SchedulePtr> schedules, std::vector<int64_t> milestones)
      : schedules_(std::move(schedules)), milestones_(std::move(milestones)) {}
  double Lr(int64_t t, double lr) const override {
    const auto [i, local] = Locate(t);
    return schedules_[i]->Lr(local, lr);
  }
  std::optional<double> Momentum(int64_t t) const override {
    const auto [i, local] = Locate(t);
    return schedules_[i]->Momentum(local);
  }

 private:
  std::pair<size_t, int64_t> Locate(int64_t t) const {
    const size_t i = std::upper_bound(milestones_.begin(), milestones_.end(), t) - milestones_.begin();
    return {i, i == 0 ? t : t - milestones_[i - 1]};
  }
  std::vector<SchedulePtr> schedules_;
  std::vector<int64_t> milestones_;
};

}  // namespace

SchedulePtr StepLR(int64_t step_size, double gamma) {
  NG_CHECK(step_size > 0, "StepLR: expected step_size > 0, got ", step_size);
  return std::make_shared<StepSchedule>(step_size, gamma);
}

SchedulePtr MultiStepLR(std::vector<int64_t> milestones, double gamma) {
  NG_CHECK(std::is_sorted(milestones.begin(), milestones.end()), "MultiStepLR: expected increasing milestones");
  return std::make_shared<MultiStepSchedule>(std::move(milestones), gamma);
}

SchedulePtr CosineAnnealingLR(int64_t t_max, double eta_min) {
  NG_CHECK(t_max > 0, "CosineAnnealingLR: expected t_max > 0, got ", t_max);
  return std::make_shared<CosineSchedule>(t_max, eta_min);
}

SchedulePtr LinearLR(double start_factor, double end_factor, int64_t total_iters) {
  NG_CHECK(start_factor > 0 && start_factor <= 1, "LinearLR: expected start_factor in (0, 1], got ", start_factor);
  NG_CHECK(end_factor >= 0 && end_factor <= 1, "LinearLR: expected end_factor in [0, 1], got ", end_factor);
  NG_CHECK(total_iters > 0, "LinearLR: expected total_iters > 0, got ", total_iters);
  return std::make_shared<LinearSchedule>(start_factor, end_factor, total_iters);
}

SchedulePtr OneCycleLR(OneCycleOptions o) {
  NG_CHECK(o.total_steps > 1, "OneCycleLR: expected total_steps > 1, got ", o.total_steps);
  NG_CHECK(o.pct_start > 0 && o.pct_start < 1, "OneCycleLR: expected pct_start in (0, 1), got ", o.pct_start);
  NG_CHECK(o.pct_start * o.total_steps > 1 && o.pct_start * o.total_steps < o.total_steps,
           "OneCycleLR: expected both phases to last at least one step, got pct_start ", o.pct_start,
           " of total_steps ", o.total_steps);
  NG_CHECK(o.max_lr > 0 && o.div_factor > 0 && o.final_div_factor > 0,
           "OneCycleLR: expected positive max_lr, div_factor and final_div_factor");
  return std::make_shared<OneCycleSchedule>(o);
}

SchedulePtr Sequential(std::vector<SchedulePtr> schedules, std::vector<int64_t> milestones) {
  NG_CHECK(!schedules.empty() && milestones.size() + 1 == schedules.size(), "Sequential: expected ",
           "one milestone fewer than schedules, got ", schedules.size(), " schedules and ", milestones.size(),
           " milestones");
  NG_CHECK(std::is_sorted(milestones.begin(), milestones.end()), "Sequential: expected increasing milestones");
  return std::make_shared<SequentialSchedule>(std::move(schedules), std::move(milestones));
}

SchedulePtr Warmup(int64_t warmup_steps, SchedulePtr after, double start_factor) {
  NG_CHECK(warmup_steps > 0, "Warmup: expected warmup_steps > 0, got ", warmup_steps);
  return Sequential({LinearLR(start_factor, 1.0, warmup_steps), std::move(after)}, {warmup_steps});
}

LRScheduler::LRScheduler(Optimizer& optimizer, SchedulePtr schedule)
    : optimizer_(optimizer), schedule_(std::move(schedule)), token_(std::make_shared<int>(0)) {
  NG_CHECK(schedule_ != nullptr, "LRScheduler: expected a schedule, got null");
  // Schedules set lr rather than scale it (see the header): a second one would silently undo the first.
  NG_CHECK(optimizer_.scheduler_.expired(), "LRScheduler: this ", optimizer_.name_,
           " optimizer already has an LRScheduler, and a second would overwrite its learning rates at every step; "
           "combine the schedules into one (Sequential, Warmup) and give that to a single LRScheduler");
  optimizer_.scheduler_ = token_;
  Apply();
}

void LRScheduler::Apply() {
  const std::optional<double> momentum = schedule_->Momentum(t_);
  for (Group& g : optimizer_.param_groups()) {
    g.lr = schedule_->Lr(t_, g.initial_lr);
    if (momentum) g.momentum = *momentum;
  }
}

void LRScheduler::step() {
  ++t_;
  Apply();
}

std::vector<double> LRScheduler::last_lr() const {
  std::vector<double> out;
  for (const Group& g : optimizer_.param_groups()) out.push_back(g.lr);
  return out;
}

StateDict LRScheduler::state_dict() const { return {{"last_step", full({}, static_cast<double>(t_), {.dtype = kInt64})}}; }

absl::Status LRScheduler::load_state_dict(const StateDict& state) {
  const auto it = state.find("last_step");
  if (it == state.end() || state.size() != 1 || it->second.numel() != 1 || it->second.dtype() != kInt64) {
    const std::string got =
        it == state.end() || state.size() != 1
            ? absl::StrCat(state.size(), " keys", it == state.end() ? ", none of them \"last_step\"" : "")
            : absl::StrCat(DTypeName(it->second.dtype()), " of shape ", ShapeToString(it->second.shape()));
    return absl::InvalidArgumentError(
        absl::StrCat("LRScheduler load_state_dict: expected exactly one int64 scalar \"last_step\", got ", got));
  }
  const int64_t t = it->second.item<int64_t>();
  if (t < 0) {
    return absl::InvalidArgumentError(absl::StrCat("LRScheduler load_state_dict: expected last_step >= 0, got ", t));
  }
  // The schedule must reach step t (OneCycleLR ends at its total_steps): asked before anything changes.
  try {
    schedule_->Momentum(t);
    for (const Group& g : optimizer_.param_groups()) schedule_->Lr(t, g.initial_lr);
  } catch (const Error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("LRScheduler load_state_dict: last_step ", t, " is beyond this schedule: ", e.what()));
  }
  t_ = t;
  Apply();
  return absl::OkStatus();
}

}  // namespace normgrad::optim
