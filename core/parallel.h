#ifndef NORMGRAD_CORE_PARALLEL_H_
#define NORMGRAD_CORE_PARALLEL_H_

#include <cstdint>
#include <functional>

namespace normgrad {

// The most threads SetNumThreads accepts: each is a thread started, and far more than cores only slows.
inline constexpr int kMaxThreads = 1024;

// The number of threads that kernels use (the calling thread included), 1 to kMaxThreads. Defaults to the
// number of cores, or to NORMGRAD_NUM_THREADS when set (at most kMaxThreads). OpenBLAS is kept at the
// same count (but see SingleThreadedBlas): GEMMs are called from outside parallel regions, so the two pools
// never run at once. SetNumThreads may be called from any thread (outside a parallel region): it waits for
// a ParallelFor in flight (so a ParallelFor body must not wait for another thread that calls it). When the
// system refuses a thread it throws normgrad::Error, and the kernels go on with the threads it started.
int GetNumThreads();
void SetNumThreads(int num_threads);

// While a scope of this class is open on any thread, OpenBLAS runs on one thread: for GEMMs issued from
// ParallelFor chunks, which would otherwise each start OpenBLAS's threads. When the last scope closes,
// OpenBLAS goes back to GetNumThreads(); a SetNumThreads meanwhile leaves it at one until then.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
};

// Calls fn(chunk_begin, chunk_end) over disjoint chunks covering [begin, end), on up to GetNumThreads()
// threads. Ranges smaller than `grain` (work items per thread worth waking a thread for) run inline on
// the calling thread, as does a call made from inside another ParallelFor. Exceptions thrown by `fn` are
// rethrown on the calling thread.
void ParallelFor(int64_t begin, int64_t end, int64_t grain,
                 const std::function<void(int64_t, int64_t)>& fn);

// ParallelFor for loops of many items that cost about the same (elementwise passes): the range is cut into
// pieces of at least `grain` items, up to kPiecesPerThread per thread, that the threads claim one at a
// time. A thread that starts late (woken from sleep) or runs slower than the others then does fewer pieces
// instead of holding the others up at the end, at the price of one claim per piece. A range shorter than
// 2 * grain runs inline, as does a call from inside another ParallelFor.
inline constexpr int64_t kPiecesPerThread = 8;
void ParallelForBalanced(int64_t begin, int64_t end, int64_t grain,
                         const std::function<void(int64_t, int64_t)>& fn);

// True on a thread that is running a ParallelFor chunk.
bool InParallelRegion();

}  // namespace normgrad

#endif  // NORMGRAD_CORE_PARALLEL_H_
