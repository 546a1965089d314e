"""
Density estimation: two moons and new points drawn from the mixture
===================================================================

With enough components a Gaussian mixture approximates any smooth density, whatever the
shape of the clusters: here 16 full-covariance components model two interleaved half
circles. The fitted density is::

    p(x) = sum_k w_k N(x | m_k, S_k)

whose logarithm :meth:`~gmmfast.GaussianMixture.score_samples` returns for any point, and
:meth:`~gmmfast.GaussianMixture.sample` draws new points from it: a component k with
probability w_k, then a point from N(m_k, S_k).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons

from gmmfast import GaussianMixture

X, _ = make_moons(n_samples=2000, noise=0.06, random_state=0)
gm = GaussianMixture(n_components=16, covariance_type="full", random_state=0).fit(X)
print(f"converged: {gm.converged_} after {gm.n_iter_} iterations; "
      f"mean log-density of the rows {gm.score(X):.3f}")

# %%
# The density as a contour plot
# -----------------------------
# ``score_samples`` on a grid gives log p(x) at every grid point.

xx, yy = np.meshgrid(np.linspace(-1.6, 2.6, 300), np.linspace(-1.1, 1.6, 200))
grid = np.column_stack([xx.ravel(), yy.ravel()])
log_density = gm.score_samples(grid).reshape(xx.shape)

# %%
# New points
# ----------
# ``sample`` returns the new points and the component each was drawn from.

X_new, components = gm.sample(600)

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4), sharex=True, sharey=True)
levels = np.linspace(-8.0, log_density.max(), 16)
filled = left.contourf(xx, yy, np.maximum(log_density, -8.0), levels=levels, cmap="viridis")
left.scatter(*X.T, s=1.5, color="white", alpha=0.5)
left.scatter(*gm.means_.T, marker="x", color="red", s=30)
fig.colorbar(filled, ax=left, label="log p(x)")
left.set_title("training rows on log p(x); crosses: the 16 means", fontsize="medium")
right.contour(xx, yy, log_density, levels=levels[::3], colors="0.6", linewidths=0.7)
right.scatter(*X_new.T, c=components, cmap="tab20", s=6)
right.set_title("600 new points drawn with gm.sample, coloured by component",
                fontsize="medium")
for ax in (left, right):
    ax.set_aspect("equal")
fig.tight_layout()
plt.show()
