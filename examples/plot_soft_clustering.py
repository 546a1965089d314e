"""
Soft clustering: how sure is each assignment?
=============================================

A mixture does not only say which component a row belongs to: Bayes' rule gives the
probability of each component given the row, the *responsibility*::

    r_k(x) = w_k N(x | m_k, S_k) / sum_j w_j N(x | m_j, S_j)

which :meth:`~gmmfast.GaussianMixture.predict_proba` returns (one row of responsibilities
summing to 1 per row of X; :meth:`~gmmfast.GaussianMixture.predict` is its argmax). Rows
deep inside a cluster have one responsibility near 1; rows between clusters share theirs.
Here each row is drawn with a size proportional to its largest responsibility and a colour
mixed from the components' colours by its responsibilities.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_blobs

from gmmfast import GaussianMixture

X, _ = make_blobs(n_samples=1200, centers=[[-2.0, 0.0], [1.5, 0.5], [0.0, 3.0]],
                  cluster_std=[1.0, 1.2, 0.8], random_state=3)
gm = GaussianMixture(n_components=3, random_state=0).fit(X)
proba = gm.predict_proba(X)
certainty = proba.max(axis=1)

print(f"responsibilities of the first 3 rows:\n{proba[:3].round(3)}")
print(f"rows assigned with probability above 0.99: {np.mean(certainty > 0.99):.0%}")
print(f"rows whose most likely component has below 0.6: {np.mean(certainty < 0.6):.0%}")

# %%
# Points sized by certainty
# -------------------------
# The colour of a row is sum_k r_k(x) c_k for the components' colours c_k: rows shared
# between two components take a colour between theirs.

colours = plt.get_cmap("tab10")(np.arange(3))[:, :3]
mixed = proba @ colours

fig, (ax, hist) = plt.subplots(1, 2, figsize=(11, 4.6),
                               gridspec_kw={"width_ratios": [1.6, 1]})
ax.scatter(X[:, 0], X[:, 1], c=mixed, s=2 + 40 * certainty ** 4, alpha=0.8, linewidths=0)
ax.scatter(*gm.means_.T, marker="x", color="black", s=60)
ax.set_title("size and colour: responsibilities from predict_proba", fontsize="medium")
ax.set_xlabel("feature 0")
ax.set_ylabel("feature 1")

hist.hist(certainty, bins=40, color="0.4")
hist.set_yscale("log")
hist.set_xlabel("largest responsibility of the row")
hist.set_ylabel("rows")
hist.set_title("how sure the assignments are", fontsize="medium")
fig.tight_layout()
plt.show()

# %%
# Certainty also flags where the labelling should not be trusted: the rows with a largest
# responsibility below 0.6 lie on the boundaries between components.

uncertain = certainty < 0.6
fig, ax = plt.subplots(figsize=(6.5, 4.6))
ax.scatter(*X[~uncertain].T, color="0.8", s=4)
ax.scatter(*X[uncertain].T, c=mixed[uncertain], s=16, edgecolors="black", linewidths=0.3)
ax.set_title(f"{uncertain.sum()} rows no component claims with 0.6", fontsize="medium")
fig.tight_layout()
plt.show()
