"""
Choosing the number of components with BIC and AIC
===================================================

The likelihood of the training data only grows with more components, so it cannot choose
their number. Information criteria charge each free parameter::

    BIC = -2 log L + p log n        AIC = -2 log L + 2 p

(L the likelihood, p the number of free parameters, n the number of rows); the model with
the lowest value is kept. BIC charges more than AIC as soon as n > e^2 and tends to the
true number of components as n grows; AIC prefers models that predict new rows well, and
is happier with more components.

:class:`gmmfast.GaussianMixtureIC` fits every candidate (numbers of components times
covariance types), records both criteria and keeps the best. k-means runs once per number
of components and every covariance type starts from its centres, so each candidate is the
model ``GaussianMixture`` would fit on its own.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import make_blobs

from gmmfast import GaussianMixtureIC, plot

X, _ = make_blobs(n_samples=1500, centers=3, cluster_std=[1.0, 2.0, 0.5], random_state=170)
X = X @ np.array([[0.60834549, -0.63667341], [-0.40887718, 0.85253229]])

search = GaussianMixtureIC(n_components=range(1, 9), covariance_type="all",
                           criterion="bic", random_state=0).fit(X)
print(f"BIC chose {search.n_components_} components, {search.covariance_type_} covariance")

# %%
# Every candidate, one row each
# -----------------------------
# ``results_`` holds one entry per candidate; pandas makes it a table.

results = pd.DataFrame(search.results_)
columns = ["n_components", "covariance_type", "bic", "aic", "n_parameters", "n_iter"]
print(results.sort_values("bic")[columns].head(8).to_string(index=False, float_format="%.1f"))

best_aic = results.loc[results["aic"].idxmin()]
print(f"AIC would choose {best_aic['n_components']} components, "
      f"{best_aic['covariance_type']} covariance")

# %%
# The curves and the chosen model
# -------------------------------
# :func:`gmmfast.plot.criterion` draws a criterion against the number of components, one
# line per covariance type, and stars the chosen model; :func:`gmmfast.plot.ellipses`
# draws that model.

fig, (bic, aic, chosen) = plt.subplots(1, 3, figsize=(15, 4.6))
plot.criterion(search, ax=bic)
bic.set_title("BIC (the criterion minimised)", fontsize="medium")
plot.criterion(search, ax=aic, criterion="aic")
aic.set_title("AIC of the same candidates", fontsize="medium")
plot.ellipses(search, X, ax=chosen)
chosen.set_title(f"chosen: {search.n_components_} components, {search.covariance_type_}",
                 fontsize="medium")
fig.tight_layout()
plt.show()
