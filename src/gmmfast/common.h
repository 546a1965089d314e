/* Shared definitions of the compiled passes' C helpers: portability macros, the compiled
 * versions of the element-wise loops, the lanes of their interleaved sums, OpenMP. */
#ifndef GMMFAST_COMMON_H
#define GMMFAST_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <malloc.h>
#endif

#if defined(_MSC_VER)
/* Every a * b + c rounded twice, as -ffp-contract=off gives with GCC and clang. */
#pragma fp_contract(off)
#define GMMFAST_INLINE static __forceinline
#define GMMFAST_RESTRICT __restrict
#else
#define GMMFAST_INLINE static inline __attribute__((always_inline))
#define GMMFAST_RESTRICT __restrict__
#endif

/* A hint that bytes from p on will be read soon (into the caches, one line of 64 bytes at
   a time); no effect on any result. The empty asm statement, which the compiler must keep,
   keeps the function from being taken as free of effects: GCC 12 had taken it for one (a
   "looping const" function, since a prefetch changes no memory) and removed every call,
   leaving no prefetch in the extension's machine code. */
GMMFAST_INLINE void gmmfast_prefetch(const void *p, size_t bytes) {
#if defined(__GNUC__) || defined(__clang__)
    for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch((const char *) p + b, 0, 3);
    __asm__ volatile("" : : "r"(p));
#else
    (void) p;
    (void) bytes;
#endif
}

/* ``bytes`` bytes (at least one) starting on a cache line (64 bytes), or NULL if they
   cannot be had; released by gmmfast_aligned_free. The passes' scratch: a vector loop's
   64-byte loads and stores then never straddle two lines, as they did from malloc, whose
   large blocks start 16 bytes past a page (measured, one thread, alternating builds: the
   full float64 pass over 300,000 x 16, K=16 30.5-32.3 -> 28.5-30.3 ms, float32 rows with
   10 % holes 69.0-69.9 -> 66.2-67.5 ms). Windows (MSVC, MinGW) has _aligned_malloc, the
   others posix_memalign. */
static void *gmmfast_aligned_malloc(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 1;
#if defined(_WIN32)
    p = _aligned_malloc(bytes, 64);
#else
    if (posix_memalign(&p, 64, bytes) != 0) p = NULL;
#endif
    return p;
}

static void gmmfast_aligned_free(void *p) {
#if defined(_WIN32)
    _aligned_free(p);
#else
    free(p);
#endif
}

/* GMMFAST_CLONES: the compiled versions of the hot element-wise loops (AVX-512, AVX2
   and the baseline, the best taken at load time; see gmmfast/variants.h). */
#include "gmmfast/variants.h"

/* Lanes (interleaved partial sums) of the vectorised loops; rows per chunk of
   gmmfast_normalise_rows. */
#define GMMFAST_LANES 8
#define GMMFAST_CHUNK_ROWS 64

#ifdef _OPENMP
#include <omp.h>
#define GMMFAST_OPENMP 1
static int gmmfast_max_threads(void) { return omp_get_max_threads(); }
#else
#define GMMFAST_OPENMP 0
static int gmmfast_max_threads(void) { return 1; }
#endif

#endif
