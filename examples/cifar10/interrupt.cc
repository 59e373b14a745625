#include "examples/cifar10/interrupt.h"

#include <atomic>
#include <csignal>

namespace normgrad::cifar10 {
namespace {

// Lock-free, so that the handler may touch it.
std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnInterrupt(int) {
  interrupted.store(true, std::memory_order_relaxed);
  std::signal(SIGINT, SIG_DFL);  // the next Ctrl-C ends the process
}

}  // namespace

void InstallInterruptHandler() { std::signal(SIGINT, OnInterrupt); }

bool InterruptRequested() { return interrupted.load(std::memory_order_relaxed); }

void ClearInterrupt() {
  interrupted.store(false, std::memory_order_relaxed);
  InstallInterruptHandler();
}

}  // namespace normgrad::cifar10
