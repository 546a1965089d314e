"""
A generative model of handwritten digits
========================================

A mixture is a model of where the rows are, so it can make new ones. The 1,797 digits of
scikit-learn's ``load_digits`` are 8 x 8 images: 64 pixels, each a grey level from 0 to
16. The pixels are strongly correlated, so a principal component analysis keeps 99% of
their variance in about 40 dimensions; a mixture fitted there, with its number of
components chosen by BIC, draws new points that the inverse PCA maps back to images: new
digits, of no hand.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from gmmfast import GaussianMixtureIC, plot

digits = load_digits()
pca = PCA(n_components=0.99, whiten=True, random_state=0)
Z = pca.fit_transform(digits.data)
print(f"{digits.data.shape[1]} pixels -> {Z.shape[1]} principal components "
      f"({pca.explained_variance_ratio_.sum():.1%} of the variance)")

# %%
# The number of components, by BIC
# ---------------------------------

search = GaussianMixtureIC(n_components=range(1, 21), covariance_type="full",
                           random_state=0).fit(Z)
print(f"BIC chose {search.n_components_} full-covariance components")
ax = plot.criterion(search)
ax.set_title("BIC of mixtures of the digits' principal components", fontsize="medium")
plt.show()

# %%
# 100 new digits
# --------------
# ``sample`` draws 100 points from the chosen mixture (it returns them grouped by
# component, so that neighbouring digits in the grid mostly share theirs);
# ``inverse_transform`` undoes the whitening and the projection, and the grey levels are
# clipped to the data's range.

Z_new, _ = search.sample(100)
images = np.clip(pca.inverse_transform(Z_new), 0, 16).reshape(-1, 8, 8)


def draw(images, title):
    fig, axes = plt.subplots(10, 10, figsize=(6, 6.3))
    for ax, image in zip(axes.flat, images):
        ax.imshow(image, cmap="binary", interpolation="nearest", vmin=0, vmax=16)
        ax.set_axis_off()
    fig.suptitle(title)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.93, wspace=0.1,
                        hspace=0.1)
    plt.show()


draw(digits.images[:100], "100 digits of the data")
# sphinx_gallery_thumbnail_number = 3
draw(images, f"100 new digits drawn from the {search.n_components_}-component mixture")
