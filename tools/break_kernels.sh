#!/usr/bin/env bash
# Break the compiled passes on purpose, one way at a time, and list the tests that catch it.
#
# Each breakage is a known plausible bug (a sum that keeps only its last term, an off-by-one
# in a reduction, float32 accumulators, partial sums shared between threads). For each one a
# copy of the checkout is patched, built into its own folder and run against the kernel tests
# (tests/test_kernels.py, tests/test_kernel_structures.py, tests/test_kmeans.py,
# tests/test_missing.py, tests/test_bayesian_missing.py). A breakage that no test catches
# is a hole in the tests: fill it before the kernel change lands.
#
#     bash tools/break_kernels.sh            # every breakage (a few minutes on 2 cores)
#     bash tools/break_kernels.sh NAME ...   # only these
#
# Needs the build tools of a local build (pip install --no-build-isolation works in the
# project's environment) and no editable install of gmmfast in it (its import hook would
# load that build instead of the broken one). Exits 1 if some breakage went unnoticed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name | file | text | replacement
breakages=(
  "loglik-keeps-last-block|src/_kernels.pyx|job.part_total[g] += gmmfast_weighted_total|job.part_total[g] = gmmfast_weighted_total"
  "reduction-chunk-off-by-one|src/_kernels.pyx|min((c + 1) * REDUCTION_CHUNK, size)|min((c + 1) * REDUCTION_CHUNK - 1, size)"
  "float32-diag-accumulators|src/gmmfast/moments_typed.h|double af[GMMFAST_LANES], as[GMMFAST_LANES], ok[GMMFAST_LANES];|float af[GMMFAST_LANES], as[GMMFAST_LANES]; double ok[GMMFAST_LANES];"
  "partial-sums-shared-by-threads|src/_kernels.pyx|cdef double *s0 = job.part_s0 + g * K|cdef double *s0 = job.part_s0"
  "kmeans-sums-shared-by-threads|src/_kernels.pyx|job.part_s0[g * K + k] += v|job.part_s0[k] += v"
  "seeding-mass-drops-last-row|src/_kernels.pyx|job.block_mass[t * job.n_blocks + blk] = _weighted_sum(row, w, n)|job.block_mass[t * job.n_blocks + blk] = _weighted_sum(row, w, n - 1)"
  "inertia-drops-last-row|src/_kernels.pyx|job.part_total[g] += _weighted_sum(s.nearest, w, n)|job.part_total[g] += _weighted_sum(s.nearest, w, n - 1)"
  "group-reduction-drops-last-group|src/_kernels.pyx|for g in range(part_s0.shape[0]):|for g in range(part_s0.shape[0] - 1):"
  "log-density-drops-last-feature|src/gmmfast/log_density_typed.h|for (ptrdiff_t j = quads; j < n_features; j++)|for (ptrdiff_t j = quads; j < n_features - 1; j++)"
  "log-density-drops-last-lanes|src/gmmfast/log_density_typed.h|    if (k0 < n_components)|    if (k0 < n_components - 1)"
  "float32-log-density-fourth-partial-sum-lost|src/gmmfast/log_density_typed.h|            a3[l] += d3 * d3;|            a3[l] += 0 * d3;"
  "missing-rows-float32-sums-of-squares|src/_kernels.pyx|        if floating is float and marginals:|        if floating is float and False:"
  "gram-general-product-drops-last-row|src/_kernels.pyx|        gemm(Trans, NoTrans, d, d, m, <floating> 1.0, a, d, a, d, beta, c, d)|        gemm(Trans, NoTrans, d, d, m - 1, <floating> 1.0, a, d, a, d, beta, c, d)"
  "gram-triangle-drops-last-row|src/_kernels.pyx|        syrk(Lower, Trans, d, m, <floating> 1.0, a, d, beta, c, d)|        syrk(Lower, Trans, d, m - 1, <floating> 1.0, a, d, beta, c, d)"
  "scaled-rows-drop-last-feature|src/gmmfast/moments_typed.h|    for (ptrdiff_t a = 0; a < n_features; a++) {\n        GMMFAST_T diff|    for (ptrdiff_t a = 0; a < n_features - 1; a++) {\n        GMMFAST_T diff"
  "responsibilities-drop-last-row|src/_kernels.pyx|        for i in range(rows):\n            for k in range(K):\n                resp[(start + i)|        for i in range(rows - 1):\n            for k in range(K):\n                resp[(start + i)"
  "entropy-keeps-last-block|src/_kernels.pyx|job.part_entropy[g] += gmmfast_listed_entropy|job.part_entropy[g] = gmmfast_listed_entropy"
  "tied-conditional-covariance-dropped|src/_kernels.pyx|s2[missing[a] * D + missing[b]] += weight * c_ab|s2[missing[a] * D + missing[b]] += 0.0 * weight * c_ab"
  "marginal-log-det-sign|src/gmmfast/missing_typed.h|value[k] = 0.5 * (value[k] - log_det|value[k] = 0.5 * (value[k] + log_det"
  "missing-terms-drop-last-feature|src/gmmfast/missing.h|for (ptrdiff_t q = start[i]; q < start[i + 1]; q++)|for (ptrdiff_t q = start[i]; q < start[i + 1] - 1; q++)"
  "mark-missing-drops-last-feature|src/gmmfast/rows_typed.h|for (ptrdiff_t j = 0; j < width; j++) {\n        uint64_t nan|for (ptrdiff_t j = 0; j < width - 1; j++) {\n        uint64_t nan"
  "mark-missing-lists-four-at-most|src/gmmfast/rows_typed.h|} while (t < n_set);|} while (0);"
  "missing-product-drops-last-term|src/_kernels.pyx|extended[width:width + D] = self.missing_terms|extended[width:width + D - 1] = self.missing_terms[:-1]"
  "missing-diag-sums-drop-odd-terms|src/gmmfast/missing_typed.h|odd[l] += v * b[l];|odd[l] += 0.0 * v * b[l];"
  "missing-diag-sums-drop-last-group|src/gmmfast/missing_typed.h|for (ptrdiff_t j0 = 0; j0 < stride; j0 += GMMFAST_LANES) {|for (ptrdiff_t j0 = 0; j0 < stride - GMMFAST_LANES; j0 += GMMFAST_LANES) {"
  "product-drops-last-indicator-lanes|src/_kernels.pyx|        width += m.absent_rows|        width += m.absent_rows - 8"
  "marginal-row-sums-drop-last-feature|src/gmmfast/missing_typed.h|                for (ptrdiff_t j = missing[a]; j < D; j++) {\n                    const double *uj|                for (ptrdiff_t j = missing[a]; j < D - 1; j++) {\n                    const double *uj"
  "factor-inverse-drops-last-term|src/gmmfast/missing.h|for (ptrdiff_t c = a; c < m; c++) {|for (ptrdiff_t c = a; c < m - 1; c++) {"
  "factor-set-drops-last-cross-term|src/gmmfast/missing.h|                for (ptrdiff_t c = 0; c < b; c++) {|                for (ptrdiff_t c = 1; c < b; c++) {"
  "scan-sums-miss-infinity|src/gmmfast/rows_typed.h|n_infinite += v == v && !finite;|n_infinite += 0;"
  "scan-sums-drop-last-row|src/gmmfast/rows_typed.h|    for (ptrdiff_t i = 0; i < rows; i++) {\n        double wi = w != NULL|    for (ptrdiff_t i = 0; i < rows - 1; i++) {\n        double wi = w != NULL"
  "missing-moments-drop-cross-terms|src/gmmfast/missing_typed.h|row[j] += v * (er * delta[j] + dense[j] * w);|row[j] += v * (dense[j] * w);"
  "small-first-moments-drop-last-feature|src/gmmfast/small_lanes.h|    for (ptrdiff_t a = 0; a < D; a++)\n        s1[k * D + a] +=|    for (ptrdiff_t a = 0; a < D - 1; a++)\n        s1[k * D + a] +="
  "small-diag-log-density-drops-last-feature|src/gmmfast/small_lanes.h|    for (ptrdiff_t j = 0; j < D; j++) {\n        GMMFAST_VD d =|    for (ptrdiff_t j = 0; j < D - 1; j++) {\n        GMMFAST_VD d ="
  "small-full-product-drops-last-term|src/gmmfast/small_lanes.h|for (ptrdiff_t a = 1; a <= j; a++)|for (ptrdiff_t a = 1; a < j; a++)"
  "small-labels-drop-last-row|src/gmmfast/small_lanes.h|l < GMMFAST_W && i0 + l < rows; l++)|l < GMMFAST_W && i0 + l < rows - 1; l++)"
  "small-responsibilities-drop-last-rows|src/gmmfast/small_lanes.h|    for (; i0 < rows; i0++)|    for (; i0 < rows - 1; i0++)"
  "small-tied-gram-drops-last-component|src/gmmfast/small_lanes.h|            for (ptrdiff_t k = 0; k < n_components; k++)\n                u +=|            for (ptrdiff_t k = 0; k < n_components - 1; k++)\n                u +="
  "scan-test-drops-last-entry|src/_kernels.pyx|_any_nonfinite(&X[start, 0], rows * D)|_any_nonfinite(&X[start, 0], rows * D - 1)"
  "small-chunk-skip-misses-last-lane|src/gmmfast/small_width.h|for (int l = 0; l < GMMFAST_W; l++) any|for (int l = 0; l < GMMFAST_W - 1; l++) any"
  "small-transpose-tile-swaps-lanes|src/gmmfast/small_width.h|4, 5, 6, 7, 12, 13, 14, 15);|4, 5, 6, 7, 12, 13, 15, 14);"
  "small-transpose-drops-last-components|src/gmmfast/small_lanes.h|for (ptrdiff_t k = tiles_end; k < K; k++)|for (ptrdiff_t k = tiles_end; k < K - 1; k++)"
  "small-narrow-partials-overlap|src/gmmfast/small_width.h|memcpy(part + h * GMMFAST_W, &v, sizeof v);|memcpy(part, &v, sizeof v);"
  "small-narrow-tile-transposed-twice|src/gmmfast/small_width.h|col[l][k] = a[k * rows + l];|col[l][k] = a[l * rows + k];"
  "small-moments-drop-last-chunk|src/gmmfast/small_lanes.h|for (ptrdiff_t i0 = h * GMMFAST_W; i0 < stride; i0 += GMMFAST_LANES) {\n            GMMFAST_VD v|for (ptrdiff_t i0 = h * GMMFAST_W; i0 < stride - GMMFAST_LANES; i0 += GMMFAST_LANES) {\n            GMMFAST_VD v"
  "small-wide-columns-drop-last-row|src/gmmfast/small.h|        for (ptrdiff_t i = 0; i < rows; i++) {\n            float v;|        for (ptrdiff_t i = 0; i < rows - 1; i++) {\n            float v;"
  "missing-entropy-drops-log-det|src/_kernels.pyx|entropy[0] += weight * (0.5 * log_det - |entropy[0] += weight * (0.0 * log_det - "
  "missing-diag-entropy-drops-log-p|src/gmmfast/missing_typed.h|total += w[j] * (log(p) - |total += w[j] * (0.0 * log(p) - "
  "marginal-vectors-drop-last-components|src/gmmfast/missing_lanes.h|    if (k0 < K)\n        GMMFAST_TYPED(gmmfast_marginal_lanes)|    if (k0 < K - 1)\n        GMMFAST_TYPED(gmmfast_marginal_lanes)"
  "marginal-vectors-back-substitution-skips-a-term|src/gmmfast/missing_lanes.h|for (ptrdiff_t b = a + 1; b < m; e += b, b++)|for (ptrdiff_t b = a + 2; b < m; e += b, b++)"
  "completed-rows-forget-the-offset|src/gmmfast/missing_typed.h|out[j] = (GMMFAST_T) (root * (e[a * K] - (double) o[j]));|out[j] = (GMMFAST_T) (root * e[a * K]);"
  "tied-completed-rows-take-the-next-component|src/_kernels.pyx|root * eps[(first + a) * n_components\n                                                                + k]|root * eps[(first + a) * n_components\n                                                                + (k + 1) % n_components]"
  "completed-rows-first-moment-lost|src/_kernels.pyx|s1k[missing[a]] += v * e[a * K]|s1k[missing[a]] += 0.0 * e[a * K]"
  "tied-marginal-product-skips-first-term|src/gmmfast/missing_lanes.h|for (ptrdiff_t j = missing[a]; j < D; j++) sum += p[j] * (double) y[j];|for (ptrdiff_t j = missing[a] + 1; j < D; j++) sum += p[j] * (double) y[j];"
  "mark-rows-count-nothing|src/gmmfast/rows_typed.h|            found += nan;|            found += 0;"
  "marginal-cases-sixteen-as-eight|src/gmmfast/missing.h|m, n_features, 16, 1, u, t, eps,|m, n_features, 8, 1, u, t, eps,"
  "marginal-second-vector-takes-first-factors|src/gmmfast/missing_lanes.h|    ptrdiff_t step = per_component ? GMMFAST_W : 0;|    ptrdiff_t step = 0;"
  "marginal-second-vector-sum-into-first|src/gmmfast/missing_lanes.h|            total[h] += v[h] * v[h];|            total[0] += v[h] * v[h];"
  "key-slot-compares-counts-only|src/_kernels.pyx|            same = keys[e * key_size + first + a] == missing[a]|            same = True"
  "pattern-list-sets-overlap|src/_kernels.pyx|        offset[p] = total|        offset[p] = total // 2"
  "pattern-list-takes-the-first-set|src/_kernels.pyx|            return job.table_pool + job.table_offset[e]|            return job.table_pool + job.table_offset[0]"
  "float-lanes-conversion-off|src/gmmfast/small_width.h|    return (GMMFAST_VD) _mm512_cvtps_pd((__m256) v);|    return (GMMFAST_VD) _mm512_cvtps_pd((__m256) v) * (1.0 + 1e-12);"
  "conditional-covariance-drops-last-component|src/gmmfast/missing.h|            for (ptrdiff_t k = 0; k < K; k++)\n                out[k] +=|            for (ptrdiff_t k = 0; k < K - 1; k++)\n                out[k] +="
  "group-end-drops-conditional-covariance|src/_kernels.pyx|                s2k[a * D + b] += c[k]|                s2k[a * D + b] += 0.0 * c[k]"
  "unkept-conditional-covariance-lost|src/_kernels.pyx|s.cond_cov[(missing[a] * D + missing[b]) * K + k] += weight * c_ab|s.cond_cov[(missing[a] * D + missing[b]) * K + k] += 0.0 * c_ab"
  "factor-inverse-packed-off-by-one|src/gmmfast/missing.h|(GMMFAST_FACTOR_LOG_DET(m) + 1 + GMMFAST_TRIANGLE(a, b))|(GMMFAST_FACTOR_LOG_DET(m) + GMMFAST_TRIANGLE(a, b))"
  "factor-cache-sets-overlap|src/_kernels.pyx|    s.cache_used += size|    s.cache_used += size // 2"
  "contiguous-columns-shift-of-next-feature|src/gmmfast/small_typed.h|zt[a * stride + i] = (Out) (v - shift[a]);|zt[a * stride + i] = (Out) (v - shift[(a + 1) % (n)]);"
  "contiguous-rows-ignore-row-stride|src/gmmfast/small_typed.h|    return column_stride == (ptrdiff_t) size && row_stride == n_features * (ptrdiff_t) size;|    return column_stride == (ptrdiff_t) size;"
  "evaluation-misses-infinity|src/gmmfast/rows_typed.h|0x7ff0000000000000ULL) == 0x7ff0000000000000ULL;|0x7ff0000000000000ULL) == 1ULL;"
  "tiles-drop-last-feature|src/gmmfast/log_density_lanes.h|    for (; j < n_features; j++) {|    for (; j < n_features - 1; j++) {"
  "tiles-store-first-component-only|src/gmmfast/log_density_lanes.h|memcpy(log_prob + (k0 + l) * rows + i0, &col[l], sizeof col[l]);|memcpy(log_prob + (k0 + l) * rows + i0, &col[0], sizeof col[l]);"
  "tiles-skip-last-rows|src/gmmfast/log_density_lanes.h|    for (ptrdiff_t i = rows_end; i < rows; i++)|    for (ptrdiff_t i = rows_end; i < rows - 1; i++)"
  "tiles-skip-last-component|src/gmmfast/log_density_lanes.h|        if (k_end < K)|        if (k_end < K - 1)"
  "float32-tiles-second-half-stored-over-first|src/gmmfast/log_density_lanes.h|GMMFAST_WN(gmmfast_store_tile)(hi, i0, k0 + GMMFAST_W, rows, K, by_component,|GMMFAST_WN(gmmfast_store_tile)(hi, i0, k0, rows, K, by_component,"
  "float32-tiles-leftover-components-short|src/gmmfast/log_density_lanes.h|gmmfast_sum_squares_run_f(y + (i0 + r) * width, c, D, K, quads, k_end,\n                                          K - k_end, 1,|gmmfast_sum_squares_run_f(y + (i0 + r) * width, c, D, K, quads, k_end,\n                                          K - k_end - 1, 1,"
  "float32-tiles-avx2-second-half-from-first|src/gmmfast/log_density_lanes.h|    __m128 h = half ? _mm256_extractf128_ps((__m256) v, 1)|    __m128 h = half ? _mm256_extractf128_ps((__m256) v, 0)"
  "scratch-not-zeroed|src/_kernels.pyx|    elif zeroed:\n        memset(p, 0, n * size)|    elif zeroed:\n        memset(p, 0xff, n * size)"
  "scratch-one-item-short|src/_kernels.pyx|        p = gmmfast_aligned_malloc(n * size)|        p = gmmfast_aligned_malloc((n - 1) * size)"
  "float32-tiles-second-half-from-first|src/gmmfast/log_density_lanes.h|    __m256 h = half ? _mm256_castpd_ps(_mm512_extractf64x4_pd(both, 1))|    __m256 h = half ? _mm256_castpd_ps(_mm512_extractf64x4_pd(both, 0))"
)

unnoticed=0
for entry in "${breakages[@]}"; do
  IFS='|' read -r name file text replacement <<<"$entry"
  if [ $# -gt 0 ] && [[ ! " $* " =~ " $name " ]]; then continue; fi
  rm -rf "$work/src" "$work/site"
  mkdir -p "$work/src"
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/src")
  python - "$work/src/$file" "$text" "$replacement" <<'PY' || { echo "$name: the text to break is gone from $file: update this script"; unnoticed=1; continue; }
import sys
path, text, replacement = sys.argv[1:]
# "\n" in an entry stands for a line break.
text, replacement = (t.replace("\\n", "\n") for t in (text, replacement))
source = open(path).read()
if text not in source:
    sys.exit(1)
open(path, "w").write(source.replace(text, replacement))
PY
  if ! (cd "$work/src" && python -m pip install -q --no-build-isolation --no-deps --target "$work/site" . \
        >"$work/build.log" 2>&1); then
    echo "$name: the broken build failed"; tail -5 "$work/build.log"; unnoticed=1; continue
  fi
  result=$(cd "$work" && PYTHONPATH="$work/site" python -m pytest -q -p no:cacheprovider \
           "$work/src/tests/test_kernels.py" "$work/src/tests/test_kernel_structures.py" \
           "$work/src/tests/test_kmeans.py" "$work/src/tests/test_missing.py" \
           "$work/src/tests/test_bayesian_missing.py" 2>&1)
  status=$?
  caught=$(grep -c '^FAILED' <<<"$result")
  if [ "$caught" -eq 0 ] && [ "$status" -ne 0 ]; then
    # A crash (a segmentation fault, say) ends the run before any failure is reported:
    # the breakage is noticed all the same.
    echo "$name: the tests did not complete (exit status $status)"
    grep -m2 -E 'Fatal Python error|line [0-9]+ in test_' <<<"$result" | sed 's/^ */    /'
    continue
  fi
  echo "$name: $caught failing tests"
  grep '^FAILED' <<<"$result" | sed 's/ - .*//; s/^FAILED .*tests\//    /' | head -5
  if [ "$caught" -eq 0 ]; then unnoticed=1; fi
done
exit $unnoticed
