"""
Missing values: exact EM, imputation and mixture regression
===========================================================

Rows with holes need neither to be dropped nor to be filled before fitting: with NaN
marking the missing entries, :class:`~gmmfast.GaussianMixture` maximises the likelihood
of the observed values by exact EM for incomplete data. Each row counts through the
density of its observed features, and the M-step reads the conditional expectations of
its missing ones under each component.

Here 3,000 rows from three correlated clusters lose 40 % of their coordinates, completely
at random (rows that lose both are kept too: they carry no information and change
nothing). Three fits are compared with the mixture that made the data: on the rows that
kept both coordinates only, on the rows with each hole filled by its column's mean, and
on the rows with their holes.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer

from gmmfast import GaussianMixture, GaussianMixtureImputer, plot

rng = np.random.default_rng(0)
truth = GaussianMixture(3, covariance_type="full")
truth.weights_ = np.array([0.4, 0.35, 0.25])
truth.means_ = np.array([[-3.0, -2.0], [2.0, 2.5], [3.5, -2.5]])
truth.covariances_ = np.array([[[2.0, 1.6], [1.6, 2.0]], [[1.5, -1.0], [-1.0, 1.5]],
                               [[0.5, 0.0], [0.0, 1.5]]])
truth.precisions_cholesky_ = np.array(
    [np.linalg.cholesky(np.linalg.inv(c)) for c in truth.covariances_])
truth.n_features_in_ = 2
truth.random_state = 0
X, _ = truth.sample(3000)
truth.random_state = 1
held_out, _ = truth.sample(20_000)

holes = X.copy()
holes[rng.random(X.shape) < 0.4] = np.nan
complete = holes[~np.isnan(holes).any(axis=1)]
mean_filled = SimpleImputer().fit_transform(holes)
print(f"{np.isnan(holes).mean():.0%} of the entries missing; "
      f"{len(complete)} of {len(X)} rows complete")

# %%
# Three fits, judged on complete held-out rows
# --------------------------------------------
# The held-out log-likelihood per row measures how close each fit is to the truth.

fits = {
    "rows without holes": GaussianMixture(3, n_init=3, random_state=0).fit(complete),
    "holes filled with column means": GaussianMixture(3, n_init=3, random_state=0).fit(
        mean_filled),
    "rows with their holes (exact EM)": GaussianMixture(3, n_init=3, random_state=0).fit(
        holes),
}
print(f"truth: {truth.score(held_out):.4f}")
for name, model in fits.items():
    print(f"{name}: {model.score(held_out):.4f}")

fig, axes = plt.subplots(1, 3, figsize=(14, 4.6), sharex=True, sharey=True)
data = {"rows without holes": complete, "holes filled with column means": mean_filled,
        "rows with their holes (exact EM)": X[~np.isnan(holes).any(axis=1)]}
for ax, (name, model) in zip(axes, fits.items()):
    plot.ellipses(model, data[name], ax=ax)
    ax.set_title(f"{name}\nheld-out log-likelihood {model.score(held_out):.3f}", fontsize=10)
axes[0].set_ylabel("x1")
for ax in axes:
    ax.set_xlabel("x0")
fig.tight_layout()

# %%
# Mean imputation pulls the filled rows onto two lines through the column means and
# shrinks the clusters' spread; dropping the rows with holes throws away most of the data.
# Exact EM uses every observed value. (The third panel draws the complete rows only: the
# others have no point to place.)
#
# Filling the holes from the mixture
# ----------------------------------
# :class:`~gmmfast.GaussianMixtureImputer` fits the mixture to the rows with their holes,
# then fills each hole with its conditional mean given the row's observed value,
# ``sum_k r_ik E[x_M | x_O, k]``.

mask = np.isnan(holes)
imputers = {
    "column means": SimpleImputer(),
    "IterativeImputer": IterativeImputer(random_state=0),
    "GaussianMixtureImputer (3 components)": GaussianMixtureImputer(
        GaussianMixture(3, n_init=3, random_state=0)),
}
for name, imputer in imputers.items():
    filled = imputer.fit_transform(holes)
    rmse = np.sqrt(np.mean((filled[mask] - X[mask]) ** 2))
    print(f"{name}: error of the filled entries {rmse:.3f}")

# %%
# Mixture regression: the conditional distribution
# ------------------------------------------------
# :meth:`~gmmfast.GaussianMixture.condition` gives the mixture of the other features
# given some of them, a fitted mixture itself. Its weighted mean is the regression
# E[x1 | x0], a curve that bends between the clusters; its spread says how sure it is.

model = fits["rows with their holes (exact EM)"]
grid = np.linspace(-6, 6, 200)
mean, low, high = [], [], []
for x0 in grid:
    given = model.condition([x0], features=[0])
    draws, _ = given.set_params(random_state=0).sample(400)
    mean.append(given.weights_ @ given.means_[:, 0])
    low.append(np.percentile(draws, 5))
    high.append(np.percentile(draws, 95))

fig, ax = plt.subplots(figsize=(7, 5))
ax.scatter(*X.T, s=3, color="0.7", label="rows")
ax.plot(grid, mean, color="C3", label="E[x1 | x0]")
ax.fill_between(grid, low, high, color="C3", alpha=0.2, label="5-95 % of x1 given x0")
ax.set_xlabel("x0")
ax.set_ylabel("x1")
ax.legend(loc="upper left")
ax.set_title("The fitted mixture conditioned on x0")
plt.show()
