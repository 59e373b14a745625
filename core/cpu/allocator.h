#ifndef NORMGRAD_CORE_CPU_ALLOCATOR_H_
#define NORMGRAD_CORE_CPU_ALLOCATOR_H_

// Host memory for Storage: malloc, plus a cache of freed large blocks binned by size class.
//
// A training loop allocates the same large activations and gradients at every step. Large blocks from
// malloc are often fresh pages (glibc maps big blocks on their own and trims the top of its heap), and the
// first write to each 4 KiB page is a page fault that the kernel serves by zeroing the page: a ResNet-20
// step at batch 128 paid about 3000 of them (12 MB), with 2 threads contending for the page-table lock.
// Freed blocks of at least kMinCachedBytes go to a free list per size class instead, and the next request
// in that class gets one back, so a steady loop stops asking the system for memory after its first step.
// Size classes are 8 per power of two (a block is at most 12.5% larger than asked), so a shape that
// changes a little (the last, smaller batch of an epoch) still finds blocks. Smaller blocks go straight to
// malloc and free, which serve them from the heap without page faults. Blocks of 2 MiB or more start on a
// huge page and ask the kernel for transparent huge pages (madvise), so that even their first touch costs
// one fault per 2 MiB, and passes over them miss the TLB less.
//
// The cache holds at most CacheLimit() bytes (a quarter of physical memory unless set): a block freed when
// the cache is full goes back to the system. Thread-safe. Builds with AddressSanitizer never cache, so
// that a use after free is still reported.

#include <cstddef>
#include <cstdint>

namespace normgrad::cpu {

inline constexpr size_t kBlockAlignment = 64;
inline constexpr size_t kMinCachedBytes = size_t{256} << 10;

// A block of at least max(nbytes, 1) bytes aligned to kBlockAlignment (to 2 MiB from 2 MiB on),
// uninitialized. Throws
// std::bad_alloc when the system has no memory left (after giving the cache back to it).
void* AllocateBlock(size_t nbytes);
// Returns a block from AllocateBlock(nbytes), with the same nbytes.
void FreeBlock(void* data, size_t nbytes);

// The bytes AllocateBlock(nbytes) actually reserves: nbytes rounded up to its size class.
size_t BlockSize(size_t nbytes);

// The most bytes the cache holds; 0 turns caching off. Lowering it frees cached blocks down to the limit.
size_t CacheLimit();
void SetCacheLimit(size_t bytes);
// Gives every cached block back to the system (like torch.cuda.empty_cache for host memory).
void EmptyCache();

struct AllocatorStats {
  size_t cached_bytes = 0;   // free blocks held for reuse
  size_t cached_blocks = 0;
  uint64_t hits = 0;         // large requests served from the cache
  uint64_t misses = 0;       // large requests that went to the system
};
AllocatorStats GetAllocatorStats();

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_ALLOCATOR_H_
