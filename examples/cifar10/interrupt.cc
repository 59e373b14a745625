#include "examples/cifar10/interrupt.h"

#include <atomic>
#include <csignal>

namespace normgrad::cifar10 {
namespace {

// Lock-free, so that the handler may touch it.
std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnInterrupt(int) { interrupted.store(true, std::memory_order_relaxed); }

}  // namespace

void InstallInterruptHandler() {
  struct sigaction action = {};
  action.sa_handler = OnInterrupt;
  // The kernel restores the default action as it delivers the signal, so that the next Ctrl-C ends the
  // process even when two arrive at once; interrupted system calls restart.
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
}

bool InterruptRequested() { return interrupted.load(std::memory_order_relaxed); }

void ClearInterrupt() {
  InstallInterruptHandler();  // first, so that no Ctrl-C in between meets the default action
  interrupted.store(false, std::memory_order_relaxed);
}

}  // namespace normgrad::cifar10
