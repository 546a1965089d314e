"""Draw docs/model-selection.png, the picture of the README's model-selection section.

    python docs/model_selection.py

Three sheared blobs of different spreads (scikit-learn's anisotropic example): the search
over 1-7 components and the four covariance types, and the chosen model's ellipses.
"""

from pathlib import Path

import matplotlib
import numpy as np
from sklearn.datasets import make_blobs

from gmmfast import GaussianMixtureIC, plot

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    X, _ = make_blobs(n_samples=1500, centers=3, cluster_std=[1.0, 2.0, 0.5],
                      random_state=170)
    X = X @ np.array([[0.60834549, -0.63667341], [-0.40887718, 0.85253229]])
    search = GaussianMixtureIC(n_components=range(1, 8), covariance_type="all",
                               random_state=0).fit(X)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    plot.criterion(search, ax=left)
    left.set_title("BIC of every candidate", fontsize="medium")
    plot.ellipses(search, X, ax=right)
    fig.tight_layout()
    path = Path(__file__).with_name("model-selection.png")
    fig.savefig(path, dpi=100)
    print(f"chose {search.n_components_} components, {search.covariance_type_}; wrote {path}")


if __name__ == "__main__":
    main()
