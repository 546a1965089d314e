"""
Mini-batch fitting: a mixture learnt from a stream
==================================================

:class:`gmmfast.MiniBatchGaussianMixture` fits by stepwise (online) EM: each step reads
one batch, computes its sufficient statistics s (sums of r, r x and r x x^T per unit
weight, r the responsibilities under the current parameters), blends them into running
statistics::

    S <- (1 - rho_t) S + rho_t s        rho_t = (t + learning_offset) ** -learning_decay

and takes the M-step from S. Only one batch is ever in memory, so the rows can come from
a stream: ``partial_fit`` takes one step on the rows it is given. Here 800 chunks of
1,000 rows arrive one after the other, drawn from a mixture of six Gaussians in 5
dimensions; as they arrive, the model's mean log-density on held-out rows is measured
and compared with that of a full-batch :class:`gmmfast.GaussianMixture` fitted on all the
rows at once.
"""

import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from gmmfast import GaussianMixture, MiniBatchGaussianMixture
from gmmfast.datasets import make_demo_data

X, _ = make_demo_data(n_samples=820_000, n_features=5, n_components=6, random_state=2)
X_stream, X_held_out = X[:800_000], X[800_000:]


def chunks(rows, size):
    """The rows as they would arrive from a file or a socket, one chunk at a time."""
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


# %%
# One step per chunk with ``partial_fit``
# ---------------------------------------
# Two streams of the same chunks: one from the default start (k-means on the first
# chunk), one from six random rows of the first chunk as means
# (``init_params="random_from_data"``), a poor start that the steps have to repair.

starts = {"k-means start (default)": "kmeans", "random rows as means": "random_from_data"}
# The held-out rows are scored after 40 steps spread evenly on a log scale.
scored_steps = np.unique(np.geomspace(1, len(X_stream) // 1_000, 40).astype(int))
curves = {}
for label, init_params in starts.items():
    stream = MiniBatchGaussianMixture(n_components=6, init_params=init_params,
                                      random_state=0)
    curves[label] = []
    start = time.perf_counter()
    for chunk in chunks(X_stream, 1_000):
        stream.partial_fit(chunk)
        if stream.n_steps_ in scored_steps:
            curves[label].append(stream.score(X_held_out))
    print(f"{label}: {stream.n_steps_} steps over {stream.n_rows_seen_:,.0f} rows in "
          f"{time.perf_counter() - start:.2f} s (held-out scores included); "
          f"held-out mean log-density {curves[label][-1]:.4f}")

start = time.perf_counter()
batch = GaussianMixture(n_components=6, random_state=0).fit(X_stream)
batch_score = batch.score(X_held_out)
print(f"full-batch EM on all {len(X_stream):,} rows: {time.perf_counter() - start:.2f} s, "
      f"{batch.n_iter_} iterations; held-out mean log-density {batch_score:.4f}")

fig, ax = plt.subplots(figsize=(8, 4.4))
for label, curve in curves.items():
    ax.plot(scored_steps, curve, marker=".", label=f"partial_fit, {label}")
ax.axhline(batch_score, color="black", linestyle="--", label="GaussianMixture on all the rows")
ax.set_xscale("log")
ax.set_ylim(batch_score - 1.0, batch_score + 0.15)
ax.set_xlabel("chunks of 1,000 rows seen")
ax.set_ylabel("mean log-density of held-out rows")
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()

# %%
# ``fit`` on rows larger than memory
# ----------------------------------
# ``fit`` makes passes over X in batches of ``batch_size`` rows, in a new random order each
# pass, and stops when the smoothed per-batch lower bound stops rising. It reads only the
# batch at hand, so X can be a memory-mapped file larger than the machine's memory.

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "rows.npy"
    np.save(path, X_stream)
    X_file = np.load(path, mmap_mode="r")  # nothing is read yet
    start = time.perf_counter()
    mb = MiniBatchGaussianMixture(n_components=6, batch_size=4096, random_state=0).fit(X_file)
    print(f"fit on the memory map: {time.perf_counter() - start:.2f} s, {mb.n_steps_} batches "
          f"of 4,096 rows, converged: {mb.converged_}")
    print(f"held-out mean log-density {mb.score(X_held_out):.4f}")
    del X_file
