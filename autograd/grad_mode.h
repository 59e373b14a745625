#ifndef NORMGRAD_AUTOGRAD_GRAD_MODE_H_
#define NORMGRAD_AUTOGRAD_GRAD_MODE_H_

#include <utility>

namespace normgrad {

// Whether ops record the autograd graph on this thread (on by default).
class GradMode {
 public:
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

// Turns recording off (or on) for its scope and restores the previous mode after.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(GradMode::is_enabled()) { GradMode::set_enabled(enabled); }
  ~GradModeGuard() { GradMode::set_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

// torch.no_grad(): ops inside record nothing.
class NoGradGuard : public GradModeGuard {
 public:
  NoGradGuard() : GradModeGuard(false) {}
};

// Runs fn with recording off and returns what it returns: auto y = NoGrad([&] { return model(x); });
template <typename Fn>
decltype(auto) NoGrad(Fn&& fn) {
  NoGradGuard guard;
  return std::forward<Fn>(fn)();
}

}  // namespace normgrad

#endif  // NORMGRAD_AUTOGRAD_GRAD_MODE_H_
