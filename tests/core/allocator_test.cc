#include "core/cpu/allocator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "core/storage.h"
#include "core/tensor.h"

namespace normgrad::cpu {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// Each test starts from an empty cache with the default limit, and leaves it so.
class AllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmptyCache();
    if (CacheLimit() == 0) GTEST_SKIP() << "skipped: this build does not cache (AddressSanitizer)";
  }
  void TearDown() override { EmptyCache(); }
};

bool Aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % kBlockAlignment == 0; }

TEST(AllocatorSizes, EightClassesPerPowerOfTwoAboveTheThreshold) {
  EXPECT_EQ(BlockSize(0), kBlockAlignment);
  EXPECT_EQ(BlockSize(1), kBlockAlignment);
  EXPECT_EQ(BlockSize(65), 2 * kBlockAlignment);
  EXPECT_EQ(BlockSize(kMinCachedBytes - 1), kMinCachedBytes);
  EXPECT_EQ(BlockSize(8 * kMiB), 8 * kMiB);
  EXPECT_EQ(BlockSize(8 * kMiB + 1), 9 * kMiB);
  EXPECT_EQ(BlockSize(15 * kMiB + 1), 16 * kMiB);
  for (size_t n = kMinCachedBytes; n < 64 * kMiB; n = n * 5 / 4 + 12345) {
    EXPECT_GE(BlockSize(n), n);
    EXPECT_LE(BlockSize(n), n + n / 8) << n;
    EXPECT_EQ(BlockSize(BlockSize(n)), BlockSize(n)) << n;
  }
}

TEST(AllocatorSizes, EveryBlockIsAlignedAndWritable) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, kMinCachedBytes - 3, kMinCachedBytes, 3 * kMiB + 7}) {
    void* p = AllocateBlock(n);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(Aligned(p)) << n;
    std::memset(p, 0xab, n);
    FreeBlock(p, n);
  }
}

TEST(AllocatorSizes, BlocksOfAHugePageOrMoreStartOnAHugePage) {
  for (size_t n : {2 * kMiB, 5 * kMiB + 12345}) {
    void* p = AllocateBlock(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (2 * kMiB), 0u) << n;
    std::memset(p, 1, n);
    FreeBlock(p, n);
  }
}

TEST_F(AllocatorTest, AFreedLargeBlockServesTheNextRequestOfItsClass) {
  const AllocatorStats before = GetAllocatorStats();
  void* a = AllocateBlock(8 * kMiB);
  FreeBlock(a, 8 * kMiB);
  EXPECT_EQ(GetAllocatorStats().cached_bytes, 8 * kMiB);
  EXPECT_EQ(GetAllocatorStats().cached_blocks, 1u);
  void* b = AllocateBlock(8 * kMiB - 1000);  // same class
  EXPECT_EQ(b, a);
  EXPECT_EQ(GetAllocatorStats().cached_bytes, 0u);
  EXPECT_EQ(GetAllocatorStats().hits, before.hits + 1);
  EXPECT_EQ(GetAllocatorStats().misses, before.misses + 1);
  FreeBlock(b, 8 * kMiB - 1000);
  void* c = AllocateBlock(9 * kMiB);  // another class: a new block
  EXPECT_NE(c, a);
  EXPECT_EQ(GetAllocatorStats().cached_blocks, 1u);
  FreeBlock(c, 9 * kMiB);
  EXPECT_EQ(GetAllocatorStats().cached_bytes, 17 * kMiB);
  EmptyCache();
  EXPECT_EQ(GetAllocatorStats().cached_bytes, 0u);
  EXPECT_EQ(GetAllocatorStats().cached_blocks, 0u);
}

TEST_F(AllocatorTest, SmallBlocksAreNotCached) {
  void* p = AllocateBlock(1000);
  FreeBlock(p, 1000);
  EXPECT_EQ(GetAllocatorStats().cached_blocks, 0u);
}

TEST_F(AllocatorTest, TheLimitCapsWhatTheCacheHolds) {
  const size_t limit = CacheLimit();
  SetCacheLimit(3 * kMiB);
  std::vector<void*> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(AllocateBlock(kMiB));
  for (void* p : blocks) FreeBlock(p, kMiB);
  EXPECT_EQ(GetAllocatorStats().cached_bytes, 3 * kMiB);  // the fourth went back to the system
  SetCacheLimit(kMiB + kMiB / 2);                         // lowering the limit frees down to it
  EXPECT_EQ(GetAllocatorStats().cached_bytes, kMiB);
  SetCacheLimit(0);  // off
  EXPECT_EQ(GetAllocatorStats().cached_bytes, 0u);
  void* p = AllocateBlock(kMiB);
  FreeBlock(p, kMiB);
  EXPECT_EQ(GetAllocatorStats().cached_bytes, 0u);
  SetCacheLimit(limit);
  EXPECT_EQ(CacheLimit(), limit);
}

TEST_F(AllocatorTest, StoragesReuseTheirMemory) {
  const void* first;
  {
    Tensor t = empty({128, 16, 32, 32});
    first = t.raw_data();
  }
  Tensor u = zeros({128, 16, 32, 32});
  EXPECT_EQ(u.raw_data(), first);
  EXPECT_EQ(u.at<float>({127, 15, 31, 31}), 0.0f);  // zeros() still zeroes a reused block
}

TEST_F(AllocatorTest, ConcurrentUse) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) {
        const size_t n = kMinCachedBytes * (1 + (i + t) % 5);
        auto* p = static_cast<unsigned char*>(AllocateBlock(n));
        p[0] = p[n - 1] = static_cast<unsigned char>(t);
        EXPECT_EQ(p[0] + p[n - 1], 2 * t);
        FreeBlock(p, n);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  const AllocatorStats s = GetAllocatorStats();
  EXPECT_LE(s.cached_blocks, 4u * 5u);  // at most one block per thread and class is ever needed at once
}

}  // namespace
}  // namespace normgrad::cpu
