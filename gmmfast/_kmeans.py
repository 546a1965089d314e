"""k-means for the default start: scikit-learn's ``KMeans(K, n_init=1)`` over every row.

The same k-means++ seeding (the same random draws in the same order, so that the same seeds
are chosen), then Lloyd iterations with scikit-learn's stopping rule: strict convergence
(no label changes) or a total squared centre shift within ``1e-4`` times the mean feature
variance, at most 300 iterations, and empty clusters moved to the rows farthest from their
centres. Like scikit-learn, everything is computed around the mean of X, and the seeding
keeps float32 data's distances and running sums in float32 as it does. Unlike it, the Lloyd
iterations take their distances and sums in float64 for float32 data too, and every sum is
added in a fixed order (bit-for-bit the same for any number of threads).

The rows answer what the iterations need (:func:`lloyd`): the nearest-centre sums of every
row, and the rows farthest from their centres; the seeding reads rows in memory
(:func:`kmeans_plusplus`). Nothing with one entry per row and per cluster is allocated; the
seeding keeps each row's distance to its nearest seed and, while they fit in SEEDING_BYTES,
the distances of the step's 2 + ln K trials.
"""

import numpy as np

from . import _kernels, _passes

MAX_ITER = 300
TOL = 1e-4
# Memory the seeding may use to keep every trial's distances (one number per row each).
SEEDING_BYTES = 128 * 1024 * 1024


def kmeans_centres(rows, n_clusters, random_state, seeding_rows=None):
    """Final k-means centres (K, D) in float64: each row's label is its nearest centre.

    ``seeding_rows`` (in memory; default ``rows``) are the rows k-means++ draws its seeds
    from; the Lloyd iterations read ``rows``.
    """
    if rows.dtype == np.float32:
        # scikit-learn centres float32 rows on their float32 column means: the rounding of
        # the centred rows decides near-equal draws of the seeding.
        shift = rows.column_mean()
        _, variance = moments(rows, shift)
    else:
        # float64: around the (weighted) mean, taken in one pass around the first row.
        shift, variance = moments(rows, rows.first_row())
    tol = variance * TOL
    seeding_rows = rows if seeding_rows is None else seeding_rows
    seeds, _ = kmeans_plusplus(
        seeding_rows.X, seeding_rows.sample_weight, shift, n_clusters, random_state,
        fill=getattr(seeding_rows, "fill", None),
    )
    centres = lloyd(rows, shift, seeds, tol)
    return centres + shift.astype(np.float64)


def moments(rows, origin):
    """(weighted mean of the rows, in their dtype; mean over features of their weighted
    variance, in float64), from one pass around ``origin``, a point near the rows.

    One centre at the origin: its inertia is sum_i w_i ||x_i - origin||^2, and its sums
    give the mean. scikit-learn's KMeans takes its tolerance from the unweighted
    variance; with weights, the weighted one keeps integer weights equal to repeated rows.
    """
    n_features = origin.shape[0]
    s0, s1, inertia = rows.nearest_centre_sums(origin, np.zeros((1, n_features)),
                                               inertia=True)
    offset = s1[0] / s0[0]
    variance = max(inertia / s0[0] - float(offset @ offset), 0.0) / n_features
    return (origin + offset).astype(rows.dtype), variance


def filled(rows, fill):
    """rows (in memory) with each NaN in feature j replaced by fill_j (None: as they are)."""
    rows = np.asarray(rows)
    if fill is None:
        return rows
    return np.where(np.isnan(rows), fill, rows).astype(rows.dtype, copy=False)


def _centred(X, indices, shift, fill=None):
    """Rows of X around the shift, rounded as the passes round them, in float64."""
    return (filled(X[indices], fill) - shift).astype(np.float64)


def kmeans_plusplus(X, sample_weight, shift, n_clusters, random_state, fill=None):
    """scikit-learn's greedy k-means++: seeds (K, D) around ``shift``, and their rows in X.

    The first seed is drawn in proportion to the weights; each next one is the best of
    2 + int(ln K) rows drawn in proportion to w_i times the squared distance to the nearest
    seed so far: the one that most lowers sum_i w_i min_seeds ||x_i - c||^2. The random
    draws are scikit-learn's, in the same order, so that the same rows are chosen up to
    ties in rounding. ``fill`` (D,): the value read in place of a NaN in each feature.
    """
    n_samples, n_features = X.shape
    n_trials = 2 + int(np.log(n_clusters))
    dtype = X.dtype
    if dtype == np.float32 and sample_weight is not None:
        # scikit-learn's KMeans holds float32 data's weights in float32.
        sample_weight = sample_weight.astype(np.float32).astype(np.float64)
    first = _first_seed(n_samples, sample_weight, random_state, dtype)
    centres = np.empty((n_clusters, n_features))
    indices = np.full(n_clusters, first)
    centres[0] = _centred(X, [first], shift, fill)[0]
    # Squared distances to the nearest seed, in the dtype of X as scikit-learn keeps them.
    closest = np.full(n_samples, np.inf, dtype=dtype)
    mass = _passes.seeding_masses(X, sample_weight, shift, centres[:1], closest, seed=0,
                                  fill=fill)[0]
    # Each trial's distances are kept for the next step when they fit in SEEDING_BYTES;
    # otherwise the chosen trial's are computed again (the same numbers).
    keep = n_clusters > 1 and n_trials * n_samples * dtype.itemsize <= SEEDING_BYTES
    minima = np.empty((n_trials, n_samples), dtype=dtype) if keep else None
    for c in range(1, n_clusters):
        # Rows drawn in proportion to w_i closest_i: the first row whose running sum of
        # w_i closest_i reaches u times the total, for u uniform in [0, 1).
        running = np.cumsum(mass)
        total = running[-1]
        if dtype == np.float32:
            total = float(np.float32(total))
        targets = random_state.uniform(size=n_trials) * total
        candidates = _locate(targets, running, closest, sample_weight, _block_rows(X))
        trials = _centred(X, candidates, shift, fill)
        masses = _passes.seeding_masses(X, sample_weight, shift, trials, closest,
                                        minima=minima, fill=fill)
        best = int(np.argmin(np.cumsum(masses, axis=1)[:, -1]))
        centres[c] = trials[best]
        indices[c] = candidates[best]
        mass = masses[best]
        if c == n_clusters - 1:
            break
        if keep:
            closest[:] = minima[best]
        else:
            _passes.seeding_masses(X, sample_weight, shift, trials, closest, seed=best,
                                   fill=fill)
    return centres, indices


def _first_seed(n_samples, sample_weight, random_state, dtype):
    """scikit-learn's first seed, ``random_state.choice(n, p=w / w.sum())`` with w in the
    dtype of X: one uniform draw u, and the first row whose cumulative share of the weight
    exceeds u (the row floor(u n) for equal weights, without making the n shares)."""
    if sample_weight is None:
        return min(int(random_state.random_sample() * n_samples), n_samples - 1)
    weight = sample_weight.astype(dtype)
    cdf = np.cumsum((weight / weight.sum()).astype(np.float64))
    cdf /= cdf[-1]
    return int(cdf.searchsorted(random_state.random_sample(), side="right"))


def _block_rows(X):
    return _kernels.kmeans_layout(X.shape[0])[0]


def _locate(targets, running, closest, sample_weight, block_rows):
    """For each target v, the first row whose running sum of w_i closest_i reaches v (the
    last row when rounding puts v past the total).

    float64: ``running`` holds the running sums at the end of each block of rows, and the
    rows of one block are summed again. float32: scikit-learn's running sum of float32
    products, in float32, over all rows.
    """
    n_samples = closest.shape[0]
    if closest.dtype == np.float32:
        rows = np.searchsorted(np.cumsum(_mass(closest, sample_weight)), targets)
        return np.minimum(rows, n_samples - 1)
    rows = np.empty(len(targets), dtype=np.intp)
    blocks = np.minimum(np.searchsorted(running, targets), len(running) - 1)
    for t, (v, b) in enumerate(zip(targets, blocks)):
        start, stop = b * block_rows, min((b + 1) * block_rows, n_samples)
        w = None if sample_weight is None else sample_weight[start:stop]
        within = np.cumsum(_mass(closest[start:stop], w))
        if b > 0:
            within += running[b - 1]
        rows[t] = min(start + int(np.searchsorted(within, v)), n_samples - 1)
    return rows


def _mass(closest, sample_weight):
    """w_i closest_i in the dtype of closest; a row of zero weight has none, even at an
    infinite distance."""
    if sample_weight is None:
        return closest
    weight = sample_weight.astype(closest.dtype)
    return np.multiply(weight, closest, out=np.zeros_like(closest), where=weight != 0)


def lloyd(rows, shift, centres, tol, max_iter=MAX_ITER):
    """Lloyd iterations from ``centres`` (around ``shift``) to scikit-learn's stopping rule.

    Returns the centres whose nearest-centre labels are the result: on strict convergence
    (the same sums as the step before, so the same labels) the centres those labels were
    taken from, otherwise the last updated centres (scikit-learn relabels with them).
    """
    previous = None
    for _ in range(max_iter):
        s0, s1 = rows.nearest_centre_sums(shift, centres)
        if previous is not None and np.array_equal(previous[0], s0) and np.array_equal(
            previous[1], s1
        ):
            return centres
        previous = s0, s1
        updated = _updated_centres(rows, shift, centres, s0, s1)
        # scikit-learn's total shift: the sum of squared (rooted) centre displacements.
        shift_total = np.sum(np.sqrt(np.sum((updated - centres) ** 2, axis=1)) ** 2)
        centres = updated
        if shift_total <= tol:
            break
    return centres


def _updated_centres(rows, shift, centres, s0, s1):
    """New centres from the sums: empty clusters first take the rows farthest from their
    centres (each taken from its cluster), then each centre is its rows' weighted mean; a
    cluster still empty sits where the heaviest one does, as in scikit-learn."""
    weight = s0.copy()
    sums = s1.copy()
    empty = np.flatnonzero(weight == 0)
    if len(empty):
        far = rows.farthest_rows(shift, centres, len(empty))
        if far is not None:
            z, w, labels = far
            for new, row, v, old in zip(empty, z, w, labels):
                sums[old] -= row * v
                sums[new] = row * v
                weight[new] = v
                weight[old] -= v
    heaviest = int(np.argmax(weight))
    for k in range(len(weight)):
        if weight[k] > 0:
            sums[k] *= 1.0 / weight[k]
        else:
            sums[k] = sums[heaviest]
    return sums


def farthest_candidates(X, sample_weight, shift, centres, n_rows, n_threads=0, fill=None):
    """The ``n_rows`` rows of X farthest from their nearest centre (fewer if X has fewer),
    in scikit-learn's order: (their squared distances, the rows around the shift, their
    weights, their nearest centres)."""
    _, _, distance, _ = _passes.nearest_centre_sums(X, sample_weight, shift, centres,
                                                    distances=True, n_threads=n_threads,
                                                    fill=fill)
    n_rows = min(n_rows, len(distance))
    far = np.argpartition(distance, -n_rows)[: -n_rows - 1 : -1]
    weight = np.ones(n_rows) if sample_weight is None else sample_weight[far]
    labels = np.array([nearest_label(filled(X[i : i + 1], fill), shift, centres)
                       for i in far], dtype=int)
    return distance[far], _centred(X, far, shift, fill), weight, labels


def farthest_rows(X, sample_weight, shift, centres, n_rows, fill=None):
    """The ``n_rows`` rows farthest from their nearest centre, as scikit-learn picks them:
    (rows around the shift, their weights, their nearest centres), or None when every row
    sits on its centre."""
    distance, z, weight, labels = farthest_candidates(X, sample_weight, shift, centres,
                                                      n_rows, fill=fill)
    if np.max(distance) == 0:
        return None
    return z, weight, labels


def nearest_label(row, shift, centres):
    """Index of the nearest centre to one row (1, D), computed as the passes compute it."""
    s0, _, _, _ = _passes.nearest_centre_sums(np.asarray(row), None, shift, centres)
    return int(np.flatnonzero(s0)[0])
