"""Digests of a fixed set of fits, to compare builds bit for bit.

Fits every covariance type in float32 and float64 from the default (k-means) start and from
a given start, on 300,000 rows (many blocks and groups), with weights, and with 10 % of the
entries missing (NaN, the marginalising passes), in 6 features (blocks held column by
column, src/gmmfast/small.h) and in 12 (the blocked products); prints one line
per fit with a SHA-256 digest of the fitted parameters, lower bound, iteration count and
the model's per-row outputs (labels, responsibilities, log-densities) on the rows, in JSON.

    python tools/fit_digests.py > a.json          # with one build installed
    python tools/fit_digests.py --compare a.json  # with another: exit 1 on any difference

Two builds that compute the same bits print the same file: compiled versions of the
element-wise loops (tools/compare_variants.sh), or a change that must not move any result.
Digests depend on the machine's BLAS and processor as much as on gmmfast.
"""

import argparse
import hashlib
import json
import sys
import warnings

import numpy as np


def data(n_samples=300_000, n_features=6, n_components=5, seed=0):
    rng = np.random.RandomState(seed)
    centres = rng.uniform(-4, 4, size=(n_components, n_features))
    labels = rng.randint(n_components, size=n_samples)
    X = rng.standard_normal((n_samples, n_features)) * rng.uniform(
        0.5, 1.5, size=(n_components, n_features))[labels] + centres[labels]
    return X, rng.uniform(0.0, 2.0, size=n_samples)


def holes(X, fraction=0.1, seed=1):
    """A copy of X with ``fraction`` of its entries missing (NaN), completely at random."""
    X = X.copy()
    X[np.random.RandomState(seed).uniform(size=X.shape) < fraction] = np.nan
    return X


def digest(model, X):
    h = hashlib.sha256()
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        h.update(np.ascontiguousarray(getattr(model, name)).tobytes())
    h.update(np.float64(model.lower_bound_).tobytes())
    h.update(np.int64(model.n_iter_).tobytes())
    h.update(model.predict(X).astype(np.int64).tobytes())
    h.update(np.ascontiguousarray(model.predict_proba(X)).tobytes())
    h.update(np.ascontiguousarray(model.score_samples(X)).tobytes())
    return h.hexdigest()


def fits():
    from gmmfast import GaussianMixture

    for n_features in (6, 12):
        yield from _fits_of(GaussianMixture, n_features)


def _fits_of(GaussianMixture, n_features):
    X64, weight = data(n_features=n_features)
    width = "" if n_features == 6 else f" {n_features} features"
    for dtype in (np.float64, np.float32):
        X = X64.astype(dtype)
        for covariance_type in ("full", "tied", "diag", "spherical"):
            for start in ("kmeans", "given", "weighted", "holes"):
                kwargs = dict(n_components=5, covariance_type=covariance_type,
                              random_state=0, max_iter=20)
                if start == "given":
                    kwargs.update(weights_init=np.full(5, 0.2), means_init=X64[:5],
                                  init_params="random")
                rows = holes(X) if start == "holes" else X
                model = GaussianMixture(**kwargs).fit(
                    rows, sample_weight=weight if start == "weighted" else None)
                yield (f"{np.dtype(dtype).name} {covariance_type} {start}{width}",
                       digest(model, rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", metavar="FILE", help="digests to compare with")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    result = dict(fits())
    if args.compare is None:
        json.dump(result, sys.stdout, indent=1)
        print()
        return 0
    with open(args.compare) as f:
        expected = json.load(f)
    differ = [name for name in expected if result.get(name) != expected[name]]
    for name in differ:
        print(f"differs: {name}")
    print(f"{len(expected) - len(differ)} of {len(expected)} fits identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
