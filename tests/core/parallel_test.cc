#include "core/parallel.h"

#include <cblas.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"
#include "tests/testing/error.h"

namespace normgrad {
namespace {

using testing::ExpectError;

// Puts the thread count back at the end of a test, also when an ASSERT returns early.
struct RestoreThreads {
  int previous = GetNumThreads();
  ~RestoreThreads() {
    try {
      SetNumThreads(previous);
    } catch (const Error& e) {  // a destructor must not throw: report it as the test's failure instead
      ADD_FAILURE() << e.what();
    }
  }
};

TEST(Parallel, CoversRangeAndPropagatesErrors) {
  std::vector<int> hits(10000, 0);
  ParallelFor(0, 10000, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) ++hits[i];
  });
  for (int h : hits) ASSERT_EQ(h, 1);
  EXPECT_THROW(ParallelFor(0, 100, 1, [](int64_t, int64_t) { Fail("boom"); }), Error);
}

TEST(Parallel, BalancedCutsPiecesOfAtLeastTheGrain) {
  RestoreThreads restore;
  SetNumThreads(3);
  std::vector<std::atomic<int>> hits(100000);
  std::mutex mutex;
  std::vector<int64_t> sizes;
  ParallelForBalanced(5, 100000, 1000, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) ++hits[i];
    std::lock_guard<std::mutex> lock(mutex);
    sizes.push_back(hi - lo);
  });
  for (int64_t i = 0; i < 100000; ++i) ASSERT_EQ(hits[i].load(), i >= 5 ? 1 : 0) << i;
  EXPECT_EQ(sizes.size(), static_cast<size_t>(3 * kPiecesPerThread));
  for (int64_t s : sizes) EXPECT_GE(s, 1000);
  sizes.clear();
  ParallelForBalanced(0, 4500, 1000, [&](int64_t lo, int64_t hi) {
    std::lock_guard<std::mutex> lock(mutex);
    sizes.push_back(hi - lo);
  });
  EXPECT_EQ(sizes.size(), 4u);  // floor(4500 / 1000) pieces
  for (int64_t s : sizes) EXPECT_GE(s, 1000);
  sizes.clear();
  ParallelForBalanced(0, 1999, 1000, [&](int64_t lo, int64_t hi) { sizes.push_back(hi - lo); });
  EXPECT_EQ(sizes, (std::vector<int64_t>{1999}));  // too small to split: runs inline
  EXPECT_THROW(ParallelForBalanced(0, 100000, 1, [](int64_t, int64_t) { Fail("boom"); }), Error);
}

// SetNumThreads from one thread while others run ParallelFor: each call waits for the job in flight, so
// every range is still covered exactly once, and two threads changing the count at once do not collide
// (they joined the same workers before).
TEST(Parallel, ThreadCountChangesWhileOtherThreadsRunJobs) {
  RestoreThreads restore;
  std::atomic<bool> done = false;
  std::atomic<int64_t> bad_ranges = 0, jobs = 0;
  auto work = [&] {
    std::vector<int> hits(5000);
    do {  // at least one job, even when the resizers finish before this thread starts
      std::fill(hits.begin(), hits.end(), 0);
      ParallelFor(0, 5000, 100, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) ++hits[i];
      });
      bad_ranges += std::count_if(hits.begin(), hits.end(), [](int h) { return h != 1; });
      ++jobs;
    } while (!done);
  };
  auto resize = [](int offset) {
    for (int i = 0; i < 40; ++i) SetNumThreads(1 + (i + offset) % 4);
  };
  std::thread worker1(work), worker2(work), resizer1(resize, 0), resizer2(resize, 1);
  resizer1.join();
  resizer2.join();
  done = true;
  worker1.join();
  worker2.join();
  EXPECT_EQ(bad_ranges, 0);
  EXPECT_GT(jobs, 0);
  const int last = GetNumThreads();
  EXPECT_TRUE(last >= 1 && last <= 4) << last;
}

TEST(Parallel, ThreadCountOutsideItsRangeIsRefusedAndChangesNothing) {
  RestoreThreads restore;
  SetNumThreads(2);
  ExpectError([] { SetNumThreads(0); }, "SetNumThreads: expected 1 to 1024 threads, got 0");
  ExpectError([] { SetNumThreads(kMaxThreads + 1); }, "SetNumThreads: expected 1 to 1024 threads, got 1025");
  EXPECT_EQ(GetNumThreads(), 2);
}

// OpenBLAS runs on one thread while any SingleThreadedBlas scope is open, whichever thread opened it and
// whatever SetNumThreads does meanwhile, and on the pool's count once the last scope closes.
TEST(Parallel, OpenBlasStaysSingleThreadedWhileAnyScopeIsOpen) {
  RestoreThreads restore;
  SetNumThreads(1);
  EXPECT_EQ(openblas_get_num_threads(), 1);
  {
    SingleThreadedBlas outer;
    EXPECT_EQ(openblas_get_num_threads(), 1);
    std::thread([] {
      SingleThreadedBlas inner;
      SetNumThreads(2);
      EXPECT_EQ(openblas_get_num_threads(), 1);
    }).join();
    EXPECT_EQ(GetNumThreads(), 2);
    EXPECT_EQ(openblas_get_num_threads(), 1);  // the outer scope is still open
  }
  EXPECT_EQ(openblas_get_num_threads(), 2);
  SetNumThreads(1);
  EXPECT_EQ(openblas_get_num_threads(), 1);
}

}  // namespace
}  // namespace normgrad
