#ifndef NORMGRAD_CORE_PARALLEL_H_
#define NORMGRAD_CORE_PARALLEL_H_

#include <cstdint>
#include <functional>

namespace normgrad {

// The number of threads that kernels use (the calling thread included). Defaults to the number of
// cores, or to NORMGRAD_NUM_THREADS when set. OpenBLAS is kept at the same count: GEMMs are called from
// outside parallel regions, so the two pools never run at once.
int GetNumThreads();
void SetNumThreads(int num_threads);

// Calls fn(chunk_begin, chunk_end) over disjoint chunks covering [begin, end), on up to GetNumThreads()
// threads. Ranges smaller than `grain` (work items per thread worth waking a thread for) run inline on
// the calling thread, as does a call made from inside another ParallelFor. Exceptions thrown by `fn` are
// rethrown on the calling thread.
void ParallelFor(int64_t begin, int64_t end, int64_t grain,
                 const std::function<void(int64_t, int64_t)>& fn);

// True on a thread that is running a ParallelFor chunk.
bool InParallelRegion();

}  // namespace normgrad

#endif  // NORMGRAD_CORE_PARALLEL_H_
