"""
Fitting on a Dask cluster
=========================

``fit`` takes a Dask array (or a Dask DataFrame) and runs where its chunks are: on the
workers of the active ``dask.distributed`` client. Each EM iteration runs gmmfast's
compiled pass on every chunk on the workers; a chunk sends back only its sums
(K + K D + K D^2 numbers for full covariances) and its log-likelihood, and the client
takes the M-step from their total. The rows never leave the workers.

Here the cluster is a ``LocalCluster`` on this machine with two workers of one thread
each. They are threads of this process (``processes=False``), so that the script runs as
it is; on a real cluster, ``Client("tcp://scheduler:8786")`` connects to its scheduler
and nothing else changes.
"""

import time

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client, LocalCluster

from gmmfast import GaussianMixture, plot
from gmmfast.datasets import make_demo_data

cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                       dashboard_address=None)
client = Client(cluster)
print(f"workers: {len(client.scheduler_info()['workers'])}, "
      f"threads: {sum(client.nthreads().values())}")

# %%
# The rows, as chunks on the workers
# ----------------------------------
# 100,000 rows of 4 features in 8 chunks of 12,500 rows, persisted: computed once and
# kept in the workers' memory (otherwise every EM iteration computes them again).

X_local, _ = make_demo_data(n_samples=100_000, n_features=4, n_components=5, random_state=1)
X = da.from_array(X_local, chunks=(12_500, -1)).persist()
print(X)

# %%
# Fit on the cluster, and in memory for comparison
# ------------------------------------------------

start = time.perf_counter()
gm = GaussianMixture(n_components=5, random_state=0).fit(X)
print(f"on the cluster: {time.perf_counter() - start:.2f} s, {gm.n_iter_} iterations, "
      f"lower bound {gm.lower_bound_:.6f}")

start = time.perf_counter()
in_memory = GaussianMixture(n_components=5, random_state=0).fit(X_local)
print(f"in memory:      {time.perf_counter() - start:.2f} s, {in_memory.n_iter_} iterations, "
      f"lower bound {in_memory.lower_bound_:.6f}")
print(f"largest difference of the means: {np.abs(gm.means_ - in_memory.means_).max():.1e}")

# %%
# The k-means start of a Dask fit draws its seeds from a uniform sample of at most 100,000
# rows: on these 100,000 rows the sample is the data, the start is the in-memory one, and
# so is the model, to rounding. On more rows the seeds come from the sample only, and the
# fit may end at another optimum than the in-memory fit from the same ``random_state``.

# %%
# Predictions are lazy
# --------------------
# ``predict``, ``predict_proba`` and ``score_samples`` of a Dask array return Dask arrays,
# computed chunk by chunk on the workers when asked for.

labels = gm.predict(X)
print(labels)
counts = np.bincount(labels.compute(), minlength=5)
print(f"rows per component: {counts}")

plot.ellipses(gm, X_local, max_points=5000)
plt.title("the mixture fitted on the cluster (features 0 and 1)", fontsize="medium")
plt.show()

client.close()
cluster.close()
