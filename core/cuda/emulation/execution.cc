#include "core/cuda/emulation/execution.h"

#include <sys/mman.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/cuda/emulation/runtime.h"
#include "core/error.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

#if !defined(__x86_64__)
#error "the CUDA emulation's fiber switch is written for x86-64"
#endif

// Saves the callee-saved registers, the SSE and x87 control words and the stack pointer of the running
// context into *from_sp and resumes the context whose stack pointer is to_sp. A switch costs a few
// nanoseconds (ucontext's swapcontext makes a system call for the signal mask on every switch, which
// made block-wide reductions on the emulator take seconds).
extern "C" void normgrad_emulation_switch(void** from_sp, void* to_sp);
asm(R"(
  .text
  .globl normgrad_emulation_switch
  .type normgrad_emulation_switch, @function
normgrad_emulation_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size normgrad_emulation_switch, .-normgrad_emulation_switch
)");

namespace normgrad::cuda::emulation {
namespace {

// AddressSanitizer must be told about stack switches (and that a reused fiber stack is clean), or it
// mistakes the fibers' frames for overflows. These are no-ops in other builds.
void StartSwitch([[maybe_unused]] void** fake_stack, [[maybe_unused]] const void* bottom,
                 [[maybe_unused]] size_t size) {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_start_switch_fiber(fake_stack, bottom, size);
#endif
}
void FinishSwitch([[maybe_unused]] void* fake_stack, [[maybe_unused]] const void** old_bottom,
                  [[maybe_unused]] size_t* old_size) {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_finish_switch_fiber(fake_stack, old_bottom, old_size);
#endif
}
void Unpoison([[maybe_unused]] char* stack, [[maybe_unused]] size_t size) {
#if defined(__SANITIZE_ADDRESS__)
  ASAN_UNPOISON_MEMORY_REGION(stack, size);
#endif
}

constexpr int kMaxThreadsPerBlock = 1024;
// Kernels keep a few scalars per frame; 64 KiB leaves room for unoptimized (debug, sanitizer) frames.
constexpr size_t kStackBytes = 64 << 10;
constexpr size_t kGuardBytes = 4096;

enum class State { kReady, kAtBlockBarrier, kAtWarpBarrier, kDone };

struct Fiber {
  char* stack = nullptr;  // lowest address of its stack
  void* sp = nullptr;     // saved stack pointer while suspended
  State state = State::kReady;
  uint3 index;
  int linear = 0;
};

// One stack per thread of the largest block, mapped on first use by each launching host thread and kept:
// launches reuse them. A PROT_NONE page below each turns an overflow into a fault instead of corruption.
class Stacks {
 public:
  ~Stacks() {
    if (base_ != nullptr) munmap(base_, kMaxThreadsPerBlock * (kStackBytes + kGuardBytes));
  }
  char* Get(int i) {
    if (base_ == nullptr) {
      const size_t total = kMaxThreadsPerBlock * (kStackBytes + kGuardBytes);
      void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      base_ = static_cast<char*>(p);
      for (int k = 0; k < kMaxThreadsPerBlock; ++k) {
        mprotect(base_ + k * (kStackBytes + kGuardBytes), kGuardBytes, PROT_NONE);
      }
    }
    return base_ + i * (kStackBytes + kGuardBytes) + kGuardBytes;
  }

 private:
  char* base_ = nullptr;
};

struct BlockRun {
  const char* kernel = nullptr;
  void (*body)(void*) = nullptr;
  void* context = nullptr;
  int threads = 0;
  std::vector<Fiber> fibers;
  std::vector<uint64_t> lanes;  // the shuffle exchange, one slot per thread
  void* scheduler_sp = nullptr;
  const void* scheduler_bottom = nullptr;  // the launching thread's stack, for AddressSanitizer
  size_t scheduler_size = 0;
  std::exception_ptr error;
};

thread_local BlockRun* running = nullptr;  // the block being run on this host thread
thread_local Fiber* current = nullptr;     // the thread (fiber) running now
thread_local Stacks stacks;

std::mutex launched_mutex;
std::set<std::string>& Launched() {
  static auto* names = new std::set<std::string>();
  return *names;
}

// Where a fiber starts (its first switch "returns" here); it never returns: when the body ends, the
// fiber switches back to the scheduler for good.
void FiberMain() {
  BlockRun& run = *running;
  FinishSwitch(nullptr, &run.scheduler_bottom, &run.scheduler_size);
  try {
    run.body(run.context);
  } catch (...) {
    if (!run.error) run.error = std::current_exception();
  }
  Fiber& self = *current;
  self.state = State::kDone;
  StartSwitch(nullptr, run.scheduler_bottom, run.scheduler_size);  // this stack is done with
  normgrad_emulation_switch(&self.sp, run.scheduler_sp);
  __builtin_unreachable();
}

// A fresh stack whose first switch pops the saved-register area and returns into FiberMain with the stack
// aligned as after a call.
void* PrepareStack(char* stack, uint64_t control_words) {
  auto* top = reinterpret_cast<uint64_t*>(reinterpret_cast<uintptr_t>(stack + kStackBytes) & ~uintptr_t{15});
  uint64_t* sp = top - 9;  // control words, 6 registers, return address, padding: sp + 64 is 8 mod 16
  sp[0] = control_words;
  for (int i = 1; i <= 6; ++i) sp[i] = 0;
  sp[7] = reinterpret_cast<uint64_t>(&FiberMain);
  sp[8] = 0;
  return sp;
}

// The MXCSR and x87 control words of the launching thread, which every fiber starts with, laid out as
// the switch saves them (MXCSR in bytes 0-3, the x87 word in bytes 4-5).
uint64_t ControlWords() {
  uint32_t mxcsr = 0;
  uint16_t x87 = 0;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(x87));
  return uint64_t{mxcsr} | (uint64_t{x87} << 32);
}

void Wait(State state) {
  NG_CHECK(current != nullptr, "CUDA emulation: a barrier or shuffle outside a kernel");
  Fiber& self = *current;
  self.state = state;
  void* fake_stack = nullptr;
  StartSwitch(&fake_stack, running->scheduler_bottom, running->scheduler_size);
  normgrad_emulation_switch(&self.sp, running->scheduler_sp);
  FinishSwitch(fake_stack, &running->scheduler_bottom, &running->scheduler_size);
}

[[noreturn]] void FailBlock(const BlockRun& run, const std::string& what) {
  Fail("CUDA emulation: kernel ", run.kernel, ", block (", blockIdx.x, ", ", blockIdx.y, ", ", blockIdx.z,
       "): ", what);
}

// Releases the barriers that every participant has reached; returns whether any thread became ready,
// and fails the launch where a barrier can never be released.
bool ReleaseBarriers(BlockRun& run) {
  bool released = false;
  int done = 0, at_block = 0;
  for (int w = 0; w * warpSize < run.threads; ++w) {
    const int begin = w * warpSize, end = std::min(run.threads, begin + warpSize);
    int at_warp = 0, warp_done = 0;
    for (int i = begin; i < end; ++i) {
      at_warp += run.fibers[i].state == State::kAtWarpBarrier;
      warp_done += run.fibers[i].state == State::kDone;
    }
    if (at_warp > 0 && warp_done > 0) {
      FailBlock(run, "a warp shuffle or __syncwarp() in warp " + std::to_string(w) + " was reached by " +
                         std::to_string(at_warp) + " lanes while " + std::to_string(warp_done) +
                         " had returned");
    }
    if (at_warp == end - begin) {
      for (int i = begin; i < end; ++i) run.fibers[i].state = State::kReady;
      released = true;
    }
  }
  for (int i = 0; i < run.threads; ++i) {
    done += run.fibers[i].state == State::kDone;
    at_block += run.fibers[i].state == State::kAtBlockBarrier;
  }
  if (at_block > 0 && done > 0) {
    FailBlock(run, "__syncthreads() was reached by " + std::to_string(at_block) + " of " +
                       std::to_string(run.threads) + " threads; the others had returned");
  }
  if (at_block == run.threads) {
    for (Fiber& f : run.fibers) f.state = State::kReady;
    released = true;
  }
  if (!released && done < run.threads) {
    FailBlock(run, "threads wait at different barriers (" + std::to_string(at_block) +
                       " at __syncthreads(), the others at a warp shuffle or __syncwarp())");
  }
  return released;
}

void RunBlock(BlockRun& run, uint64_t control_words, std::mt19937& rng) {
  for (int i = 0; i < run.threads; ++i) {
    Fiber& f = run.fibers[i];
    f.stack = stacks.Get(i);
    Unpoison(f.stack, kStackBytes);
    f.sp = PrepareStack(f.stack, control_words);
    f.state = State::kReady;
    f.linear = i;
    f.index = {i % blockDim.x, i / blockDim.x % blockDim.y, i / (blockDim.x * blockDim.y)};
  }
  std::vector<int> order(run.threads);
  std::iota(order.begin(), order.end(), 0);
  do {
    std::shuffle(order.begin(), order.end(), rng);
    for (int i : order) {
      Fiber& f = run.fibers[i];
      if (f.state != State::kReady) continue;
      current = &f;
      threadIdx = f.index;
      void* fake_stack = nullptr;
      StartSwitch(&fake_stack, f.stack, kStackBytes);
      normgrad_emulation_switch(&run.scheduler_sp, f.sp);
      FinishSwitch(fake_stack, nullptr, nullptr);
      current = nullptr;
      if (run.error) std::rethrow_exception(run.error);
    }
  } while (ReleaseBarriers(run));
}

}  // namespace

void Run(const char* kernel, dim3 grid, dim3 block, void (*thread_body)(void*), void* context) {
  NG_CHECK(running == nullptr, "CUDA emulation: kernel ", kernel, " launched from inside kernel ",
           running->kernel);
  {
    std::lock_guard<std::mutex> lock(launched_mutex);
    Launched().insert(kernel);
  }
  const int64_t threads = int64_t{block.x} * block.y * block.z;
  NG_CHECK(threads >= 1 && threads <= kMaxThreadsPerBlock, "CUDA emulation: kernel ", kernel,
           ": expected 1 to ", kMaxThreadsPerBlock, " threads per block, got ", threads);
  BlockRun run;
  run.kernel = kernel;
  run.body = thread_body;
  run.context = context;
  run.threads = static_cast<int>(threads);
  run.fibers.resize(threads);
  run.lanes.resize(threads);
  const uint64_t control_words = ControlWords();
  // The same seed for every launch: a failure found once is found again.
  std::mt19937 rng(12345);
  ScopedDeviceAccess access;
  running = &run;
  blockDim = block;
  gridDim = grid;
  try {
    for (unsigned z = 0; z < grid.z; ++z) {
      for (unsigned y = 0; y < grid.y; ++y) {
        for (unsigned x = 0; x < grid.x; ++x) {
          blockIdx = {x, y, z};
          RunBlock(run, control_words, rng);
        }
      }
    }
  } catch (...) {
    running = nullptr;
    throw;
  }
  running = nullptr;
}

void SyncThreads() { Wait(State::kAtBlockBarrier); }
void SyncWarp() { Wait(State::kAtWarpBarrier); }

int LaneId() {
  NG_CHECK(current != nullptr, "CUDA emulation: a warp shuffle outside a kernel");
  return current->linear % warpSize;
}

uint64_t ExchangeLane(uint64_t value, int src_lane) {
  BlockRun& run = *running;
  const int self = current->linear, base = self / warpSize * warpSize;
  run.lanes[self] = value;
  SyncWarp();
  uint64_t out = value;
  if (src_lane >= 0) {
    NG_CHECK(base + src_lane < run.threads, "CUDA emulation: kernel ", run.kernel, ": lane ", self - base,
             " of warp ", self / warpSize, " reads lane ", src_lane, ", which this block of ", run.threads,
             " threads does not have");
    out = run.lanes[base + src_lane];
  }
  SyncWarp();
  return out;
}

std::vector<std::string> LaunchedKernels() {
  std::lock_guard<std::mutex> lock(launched_mutex);
  return {Launched().begin(), Launched().end()};
}

}  // namespace normgrad::cuda::emulation
