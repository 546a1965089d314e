"""
Anomaly detection with the log-density
======================================

A fitted mixture gives every row its log-density log p(x)
(:meth:`~gmmfast.GaussianMixture.score_samples`): rows where the model puts little mass
are unusual. Flag the rows below a low percentile of the training rows' log-densities;
the same threshold then flags new rows. The percentile is the share of training rows one
accepts to flag, the false-alarm rate on data like the training data.

Here 3,000 regular rows from three stretched clusters are mixed with 60 rows drawn
uniformly over the whole square; the mixture is fitted on all of them, as one would on
data whose anomalies are unknown.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_blobs

from gmmfast import GaussianMixture

rng = np.random.RandomState(0)
regular, _ = make_blobs(n_samples=3000, centers=[[-4, -2], [2, 3], [4, -3]],
                        cluster_std=[1.0, 1.4, 0.7], random_state=0)
regular = regular @ np.array([[1.0, 0.4], [0.0, 0.8]])
outliers = rng.uniform(-10, 10, size=(60, 2))
X = np.vstack([regular, outliers])
is_outlier = np.r_[np.zeros(len(regular), bool), np.ones(len(outliers), bool)]

gm = GaussianMixture(n_components=3, random_state=0).fit(X)
log_density = gm.score_samples(X)

# %%
# The threshold: the 2nd percentile of the log-densities
# ------------------------------------------------------

threshold = np.percentile(log_density, 2)
flagged = log_density < threshold
true_flags = np.sum(flagged & is_outlier)
print(f"threshold log p(x) = {threshold:.2f}: {flagged.sum()} rows flagged")
print(f"{true_flags} of the {is_outlier.sum()} uniform rows flagged "
      f"(recall {true_flags / is_outlier.sum():.0%}); "
      f"{true_flags / flagged.sum():.0%} of the flagged rows are uniform ones")

# %%
# Draw them, with the threshold's contour
# ---------------------------------------
# The contour log p(x) = threshold is the boundary of the region the mixture considers
# normal: inside it lies 98% of the training rows.

xx, yy = np.meshgrid(np.linspace(-11, 11, 300), np.linspace(-11, 11, 300))
grid_log_density = gm.score_samples(np.column_stack([xx.ravel(), yy.ravel()]))

fig, (ax, hist) = plt.subplots(1, 2, figsize=(12, 5.2),
                               gridspec_kw={"width_ratios": [1.2, 1]})
ax.contourf(xx, yy, grid_log_density.reshape(xx.shape), levels=20, cmap="Blues", alpha=0.6)
ax.contour(xx, yy, grid_log_density.reshape(xx.shape), levels=[threshold], colors="red")
ax.scatter(*X[~flagged].T, s=3, color="0.3", label="normal")
ax.scatter(*X[flagged].T, s=30, facecolors="none", edgecolors="red",
           label="flagged: log p(x) below the 2nd percentile")
ax.scatter(*outliers.T, s=8, marker="x", color="orange", label="drawn uniformly")
ax.legend(loc="lower left", fontsize="small")
ax.set_title("rows outside the red contour are flagged", fontsize="medium")

bins = np.linspace(log_density.min(), log_density.max(), 60)
hist.hist(log_density[~is_outlier], bins=bins, color="0.5", label="cluster rows")
hist.hist(log_density[is_outlier], bins=bins, color="orange", label="uniform rows")
hist.axvline(threshold, color="red", label="2nd percentile")
hist.set_yscale("log")
hist.set_xlabel("log p(x) from score_samples")
hist.set_ylabel("rows")
hist.legend(fontsize="small")
fig.tight_layout()
plt.show()
