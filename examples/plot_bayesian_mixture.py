"""
The variational mixture switches off the components it does not need
=====================================================================

:class:`gmmfast.BayesianGaussianMixture` puts a prior on the weights and fits a
posterior distribution over all parameters by variational inference. With the
Dirichlet-process prior (``weight_concentration_prior_type="dirichlet_process"``, a
stick-breaking construction) and a small ``weight_concentration_prior``, components the
data do not need get weights near zero: give it more components than you expect, and it
keeps what the data support. A plain :class:`gmmfast.GaussianMixture` with the same
number of components uses them all, splitting the clusters.

The data: three clusters of different spreads, 3,000 rows.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_blobs

from gmmfast import BayesianGaussianMixture, GaussianMixture, plot

X, _ = make_blobs(n_samples=3000, centers=3, cluster_std=[1.0, 2.0, 0.5], random_state=170)

bgm = BayesianGaussianMixture(n_components=10, weight_concentration_prior=1e-2,
                              max_iter=1000, random_state=0).fit(X)
gm = GaussianMixture(n_components=10, random_state=0).fit(X)
print(f"variational weights: {bgm.weights_.round(3)}")
print(f"components in use (weight >= 0.01): {(bgm.weights_ >= 0.01).sum()} "
      f"after {bgm.n_iter_} iterations")
print(f"plain mixture's weights: {gm.weights_.round(3)}")

# %%
# The weights and the components
# -------------------------------
# :func:`gmmfast.plot.ellipses` draws the variational mixture's switched-off components
# fainter.

fig, axes = plt.subplots(2, 2, figsize=(11, 8.4), gridspec_kw={"height_ratios": [1, 1.8]})
for column, (model, name) in enumerate([(bgm, "BayesianGaussianMixture"),
                                        (gm, "GaussianMixture")]):
    axes[0, column].bar(np.arange(10), model.weights_, color="tab:blue")
    axes[0, column].set_xticks(np.arange(10))
    axes[0, column].set_ylim(0, 0.5)
    axes[0, column].set_xlabel("component")
    axes[0, column].set_ylabel("weight")
    axes[0, column].set_title(f"{name}(n_components=10): weights", fontsize="medium")
    plot.ellipses(model, X, ax=axes[1, column])
    axes[1, column].set_title(f"{name}: components", fontsize="medium")
fig.tight_layout()
plt.show()

# %%
# The prior's type and strength
# -----------------------------
# The weight concentration prior gamma is the prior's belief in many components. The
# Dirichlet distribution (``"dirichlet_distribution"``) treats all components alike: a
# large gamma spreads the weight over all of them. The Dirichlet process breaks a stick,
# each component taking a share of what the ones before it left, and keeps few
# components in use even with a large gamma.

fig, axes = plt.subplots(2, 2, figsize=(11, 5.6), sharex=True, sharey=True)
for row, prior_type in enumerate(["dirichlet_process", "dirichlet_distribution"]):
    for column, prior in enumerate([1e-2, 1e3]):
        model = BayesianGaussianMixture(
            n_components=10, weight_concentration_prior_type=prior_type,
            weight_concentration_prior=prior, max_iter=1000, random_state=0).fit(X)
        n_used = int((model.weights_ >= 0.01).sum())
        print(f"{prior_type}, weight_concentration_prior={prior:g}: {n_used} components "
              f"in use after {model.n_iter_} iterations")
        ax = axes[row, column]
        ax.bar(np.arange(10), model.weights_, color="tab:blue")
        ax.set_title(f"{prior_type}, gamma={prior:g}: {n_used} in use", fontsize="medium")
        ax.set_xticks(np.arange(10))
for ax in axes[1]:
    ax.set_xlabel("component")
for ax in axes[:, 0]:
    ax.set_ylabel("weight")
fig.tight_layout()
plt.show()
