/* Which compiled versions of the hot element-wise loops are built.
 *
 * Release builds (GMMFAST_VARIANT 0, the default): where the loader can choose among
 * compiled versions of a function (GCC on glibc, x86-64), each marked loop is also built for
 * AVX2 and AVX-512 and the best one for the processor is taken at load time. Without
 * contraction into FMA (-ffp-contract=off) every version computes the same bits.
 *
 * Test builds pin one version for every loop, so that tools/compare_variants.sh can check
 * that each one gives the same fits, bit for bit: GMMFAST_VARIANT 1 the baseline (no
 * extension), 2 AVX2 only, 3 AVX-512F only (CMake option GMMFAST_VARIANT).
 */
#ifndef GMMFAST_VARIANTS_H
#define GMMFAST_VARIANTS_H

#ifndef GMMFAST_VARIANT
#define GMMFAST_VARIANT 0
#endif

#if GMMFAST_VARIANT == 1
#define GMMFAST_CLONES
#elif GMMFAST_VARIANT == 2
#define GMMFAST_CLONES __attribute__((target("avx2")))
#elif GMMFAST_VARIANT == 3
#define GMMFAST_CLONES __attribute__((target("avx512f")))
#elif defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#define GMMFAST_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GMMFAST_CLONES
#endif

#endif
