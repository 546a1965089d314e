"""
Fit time against the number of rows
===================================

gmmfast and scikit-learn fit the same mixture from the same start: 8 full-covariance
components on 8 features, started from the same 8 random rows
(``init_params="random_from_data"``, ``random_state=0``), for exactly 10 EM iterations
(``tol=0``), so that both do the same work. The time of each fit includes the checks of
the input and the start. The sizes are small enough for this page to be built in
seconds; the :doc:`performance page </performance>` has larger ones.

An EM iteration costs O(n K D^2) for full covariances: on a log-log plot both lines have
slope 1 once the fixed costs are paid; the distance between them is the speed-up.
"""

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn import mixture as sklearn_mixture
from sklearn.exceptions import ConvergenceWarning

import gmmfast
from gmmfast.datasets import make_demo_data

sizes = [2_000, 6_000, 20_000, 60_000, 200_000]
X_all, _ = make_demo_data(n_samples=sizes[-1], n_features=8, n_components=8, random_state=0)
print(f"gmmfast's passes run on {gmmfast.parallel_info()['n_threads']} threads")


def fit(estimator, X):
    """Seconds for one fit of 10 EM iterations, and its final lower bound."""
    model = estimator(n_components=8, covariance_type="full", max_iter=10, tol=0,
                      init_params="random_from_data", random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # 10 iterations with tol=0 never "converge": the point is a fixed amount of work.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return time.perf_counter() - start, model.lower_bound_


# %%
# Time both libraries at each size
# --------------------------------
# Each library fits each size three times, the two libraries taking turns; the fastest of
# the three counts (a shared machine's other work only ever adds time).

libraries = {"gmmfast": gmmfast.GaussianMixture,
             "scikit-learn": sklearn_mixture.GaussianMixture}
times = {name: [] for name in libraries}
for n in sizes:
    X = X_all[:n]
    runs = {name: [] for name in libraries}
    for _ in range(3):
        for name, estimator in libraries.items():
            runs[name].append(fit(estimator, X))
    (t_fast, bound_fast), (t_sklearn, bound_sklearn) = (
        min(runs["gmmfast"]), min(runs["scikit-learn"]))
    times["gmmfast"].append(t_fast)
    times["scikit-learn"].append(t_sklearn)
    print(f"{n:>8,} rows: scikit-learn {t_sklearn:7.3f} s, gmmfast {t_fast:7.3f} s, "
          f"{t_sklearn / t_fast:5.1f}x; lower bounds differ by "
          f"{bound_fast - bound_sklearn:+.1e}")

# %%
# The plot
# --------

fig, (ax, ratio) = plt.subplots(1, 2, figsize=(12, 4.6))
for name, marker in [("scikit-learn", "s"), ("gmmfast", "o")]:
    ax.loglog(sizes, times[name], marker=marker, label=name)
ax.set_xlabel("rows")
ax.set_ylabel("seconds for 10 EM iterations")
ax.set_title("8 features, 8 full-covariance components", fontsize="medium")
ax.legend()
ax.grid(True, which="both", alpha=0.3)
speed_up = np.array(times["scikit-learn"]) / np.array(times["gmmfast"])
ratio.semilogx(sizes, speed_up, marker="o", color="tab:green")
ratio.set_ylim(0, 1.15 * speed_up.max())
ratio.set_xlabel("rows")
ratio.set_ylabel("scikit-learn time / gmmfast time")
ratio.set_title("speed-up", fontsize="medium")
ratio.grid(True, which="both", alpha=0.3)
fig.tight_layout()
plt.show()
