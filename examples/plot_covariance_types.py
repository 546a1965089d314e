"""
The four covariance types
=========================

``covariance_type`` says how much shape each component may have:

- ``'full'``: each component has its own covariance matrix (any ellipse);
- ``'tied'``: all components share one covariance matrix (the same ellipse, moved);
- ``'diag'``: each has its own diagonal covariance (ellipses along the axes);
- ``'spherical'``: each has its own single variance (circles).

A full covariance has D (D + 1) / 2 free numbers per component, a diagonal one D, a
spherical one 1: fewer parameters need fewer rows, but fit less. Here the iris flowers
(4 measurements, 3 species) are fitted with each type, every component started at the
mean of one species, so that each component stands for a species; the ellipses are drawn
on the first two measurements, and the accuracy of the components as a classifier is
measured on flowers held out of the fit.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import StratifiedKFold

from gmmfast import GaussianMixture, plot

iris = load_iris()
X, y = iris.data, iris.target
train, test = next(StratifiedKFold(n_splits=4, shuffle=True, random_state=0).split(X, y))
means = np.array([X[train][y[train] == k].mean(axis=0) for k in range(3)])
K, D = means.shape

# Free parameters: K - 1 weights, K D means, and the covariances' own.
covariance_parameters = {"spherical": K, "diag": K * D, "tied": D * (D + 1) // 2,
                         "full": K * D * (D + 1) // 2}

# %%
# One mixture per covariance type
# -------------------------------

fig, axes = plt.subplots(2, 2, figsize=(10, 8.4), sharex=True, sharey=True)
for ax, covariance_type in zip(axes.flat, ["spherical", "diag", "tied", "full"]):
    gm = GaussianMixture(n_components=3, covariance_type=covariance_type,
                         means_init=means, max_iter=50, random_state=0).fit(X[train])
    train_accuracy = np.mean(gm.predict(X[train]) == y[train])
    test_accuracy = np.mean(gm.predict(X[test]) == y[test])
    n_parameters = K - 1 + K * D + covariance_parameters[covariance_type]
    print(f"{covariance_type:>9}: {n_parameters:3d} parameters, "
          f"train accuracy {train_accuracy:.3f}, test accuracy {test_accuracy:.3f}, "
          f"BIC {gm.bic(X[train]):8.1f}")
    plot.ellipses(gm, X[train], ax=ax)
    ax.scatter(*X[test][:, :2].T, marker="x", c=plt.get_cmap("tab10")(y[test]), s=25)
    ax.set_title(f"{covariance_type}: test accuracy {test_accuracy:.2f}", fontsize="medium")
    ax.set_xlabel(iris.feature_names[0])
    ax.set_ylabel(iris.feature_names[1])
fig.suptitle("dots: training flowers by component; crosses: held-out flowers by species")
fig.tight_layout()
plt.show()
