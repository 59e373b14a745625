#include "core/parallel.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"

namespace normgrad {
namespace {

thread_local bool in_parallel_region = false;

// How long a thread that ran out of work polls before it sleeps on a condition variable. A training step
// makes a few hundred ParallelFor calls, most of them microseconds after the last: a worker still
// polling starts at once, where one woken from sleep starts some 70 us late on these machines (a ResNet-20
// step at batch 32 ran 12% faster, at batch 128 3%). Short, so that on a busy machine, where the other
// thread may not be running at all, the polling costs little of the time slice it takes.
constexpr auto kSpin = std::chrono::microseconds(50);

// Polls done() for up to kSpin; true as soon as it holds.
template <typename Done>
bool SpinUntil(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (done()) return true;
    if (i % 64 == 63 && std::chrono::steady_clock::now() > deadline) return false;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
}

// A fixed set of worker threads that wait for one job at a time. The calling thread works on the job
// too, so a pool for N threads has N - 1 workers.
class ThreadPool {
 public:
  explicit ThreadPool(int num_threads) { Resize(num_threads); }
  ~ThreadPool() { Stop(); }

  int num_threads() const { return num_threads_.load(std::memory_order_relaxed); }

  // Replaces the workers with num_threads - 1 new ones, once the job in flight (if any) is done. False when
  // the system refuses a thread: the pool then runs on the ones it got.
  bool Resize(int num_threads) {
    std::lock_guard<std::mutex> run_lock(run_mutex_);
    Stop();
    stopping_ = false;
    bool started = true;
    try {
      workers_.reserve(num_threads - 1);
      for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
    } catch (const std::exception&) {  // a thread the system refused, or no memory for the list
      started = false;
    }
    num_threads_ = static_cast<int>(workers_.size()) + 1;
    return started;
  }

  void Run(int64_t begin, int64_t end, int64_t chunks, const std::function<void(int64_t, int64_t)>& fn) {
    std::lock_guard<std::mutex> run_lock(run_mutex_);  // one job at a time from any caller
    Job job{&fn, begin, end, chunks};
    uint64_t generation;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = job;
      next_chunk_ = 0;
      pending_ = chunks;
      error_ = nullptr;
      generation = ++generation_;
    }
    wake_.notify_all();
    WorkOnJob(job, generation);
    SpinUntil([this] { return pending_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  struct Job {
    const std::function<void(int64_t, int64_t)>* fn = nullptr;
    int64_t begin = 0, end = 0, chunks = 0;
  };

  // Chunks are claimed under the lock, and only while the job is still the current one, so a worker
  // that wakes late never touches a job that has finished. With a handful of chunks the lock is cheap.
  void WorkOnJob(const Job& job, uint64_t generation) {
    in_parallel_region = true;
    for (;;) {
      int64_t c;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (generation_ != generation || next_chunk_ >= job.chunks) break;
        c = next_chunk_++;
      }
      const int64_t span = job.end - job.begin;
      const int64_t lo = job.begin + span * c / job.chunks, hi = job.begin + span * (c + 1) / job.chunks;
      std::exception_ptr error;
      try {
        (*job.fn)(lo, hi);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex_);
      if (error && !error_) error_ = error;
      if (--pending_ == 0) done_.notify_all();
    }
    in_parallel_region = false;
  }

  void WorkerLoop() {
    uint64_t seen = 0;
    for (;;) {
      SpinUntil([&] { return generation_.load(std::memory_order_acquire) != seen || stopping_.load(); });
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        job = job_;
      }
      WorkOnJob(job, seen);
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::mutex run_mutex_, mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;  // changed only under run_mutex_
  std::atomic<int> num_threads_ = 1;
  Job job_;
  int64_t next_chunk_ = 0;
  // Written under mutex_ while workers exist; atomic so that a polling thread may read them without it.
  std::atomic<int64_t> pending_ = 0;
  std::atomic<uint64_t> generation_ = 0;
  std::atomic<bool> stopping_ = false;
  std::exception_ptr error_;
};

int DefaultNumThreads() {
  if (const char* env = std::getenv("NORMGRAD_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return std::min(n, kMaxThreads);
  }
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, static_cast<unsigned>(kMaxThreads)));
}

ThreadPool& Pool() {
  static ThreadPool* pool = [] {
    auto* p = new ThreadPool(DefaultNumThreads());  // leaked on purpose: workers must outlive static destructors
    openblas_set_num_threads(p->num_threads());
    return p;
  }();
  return *pool;
}

// OpenBLAS's thread count has one owner: it is set only under this mutex, to 1 while a SingleThreadedBlas
// scope is open and to the pool's count otherwise.
std::mutex blas_mutex;
int single_threaded_blas_scopes = 0;  // guarded by blas_mutex

void SetBlasThreadsLocked() { openblas_set_num_threads(single_threaded_blas_scopes > 0 ? 1 : GetNumThreads()); }

}  // namespace

SingleThreadedBlas::SingleThreadedBlas() {
  Pool();  // created first: its creation sets OpenBLAS's count, which must not undo this scope's
  std::lock_guard<std::mutex> lock(blas_mutex);
  if (single_threaded_blas_scopes++ == 0) SetBlasThreadsLocked();
}

SingleThreadedBlas::~SingleThreadedBlas() {
  std::lock_guard<std::mutex> lock(blas_mutex);
  if (--single_threaded_blas_scopes == 0) SetBlasThreadsLocked();
}

int GetNumThreads() { return Pool().num_threads(); }

void SetNumThreads(int num_threads) {
  NG_CHECK(num_threads >= 1 && num_threads <= kMaxThreads, "SetNumThreads: expected 1 to ", kMaxThreads,
           " threads, got ", num_threads);
  NG_CHECK(!in_parallel_region, "SetNumThreads: cannot be called from inside a parallel region");
  static std::mutex mutex;  // one change at a time, OpenBLAS's count with the pool's
  std::lock_guard<std::mutex> lock(mutex);
  const bool started = Pool().Resize(num_threads);
  {
    std::lock_guard<std::mutex> blas_lock(blas_mutex);
    SetBlasThreadsLocked();
  }
  NG_CHECK(started, "SetNumThreads: the system started ", GetNumThreads() - 1, " of the ", num_threads - 1,
           " worker threads for ", num_threads, " threads; running on ", GetNumThreads());
}

bool InParallelRegion() { return in_parallel_region; }

namespace {

// The threads a ParallelFor at this point may use: 1 inside another ParallelFor.
int64_t AvailableThreads() { return in_parallel_region ? 1 : Pool().num_threads(); }

void RunChunks(int64_t begin, int64_t end, int64_t chunks, const std::function<void(int64_t, int64_t)>& fn) {
  if (chunks <= 1) {
    fn(begin, end);
    return;
  }
  Pool().Run(begin, end, chunks, fn);
}

}  // namespace

void ParallelFor(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  const int64_t g = std::max<int64_t>(grain, 1);
  RunChunks(begin, end, std::min<int64_t>(AvailableThreads(), (end - begin + g - 1) / g), fn);
}

void ParallelForBalanced(int64_t begin, int64_t end, int64_t grain,
                         const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  const int64_t threads = AvailableThreads();
  const int64_t pieces = threads == 1 ? 1 : (end - begin) / std::max<int64_t>(grain, 1);
  RunChunks(begin, end, std::min<int64_t>(threads * kPiecesPerThread, pieces), fn);
}

}  // namespace normgrad
