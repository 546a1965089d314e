"""
Colour image segmentation
=========================

Every pixel of a colour photograph is a row of three numbers, its red, green and blue
levels. A mixture of a few Gaussians in that colour space groups the pixels into
colour regions; painting each pixel with the mean colour of its most likely component
segments the image (and compresses it to a palette of K colours).

The photograph is scikit-image's ``chelsea`` (a cat), which ships inside the
``skimage.data`` module: 300 x 451 pixels, so 135,300 rows. gmmfast and scikit-learn fit
the same mixture, from the same default start (k-means, ``random_state=0``), on the same
pixels.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from skimage import data
from sklearn import mixture as sklearn_mixture

import gmmfast

image = data.chelsea()
X = (image / 255.0).reshape(-1, 3)
print(f"{image.shape[0]} x {image.shape[1]} pixels: X has shape {X.shape}")
print(f"gmmfast's passes run on {gmmfast.parallel_info()['n_threads']} threads")

# %%
# The same fit in both libraries
# ------------------------------

models, seconds = {}, {}
for name, estimator in [("gmmfast", gmmfast.GaussianMixture),
                        ("scikit-learn", sklearn_mixture.GaussianMixture)]:
    start = time.perf_counter()
    models[name] = estimator(n_components=8, covariance_type="full", random_state=0).fit(X)
    seconds[name] = time.perf_counter() - start
    print(f"{name:>12}: {seconds[name]:6.2f} s, {models[name].n_iter_} EM iterations, "
          f"lower bound {models[name].lower_bound_:.6f}")
print(f"gmmfast was {seconds['scikit-learn'] / seconds['gmmfast']:.1f} times faster")

# %%
# Original beside segmented
# -------------------------
# Each pixel takes the mean colour of its most likely component: 8 colours in all.

gm = models["gmmfast"]
labels = gm.predict(X)
segmented = gm.means_[labels].reshape(image.shape)
same = np.mean(labels == models["scikit-learn"].predict(X))
print(f"pixels with the same label in both libraries: {same:.2%}")

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.3))
left.imshow(image)
left.set_title("original", fontsize="medium")
right.imshow(np.clip(segmented, 0, 1))
right.set_title("8 components: each pixel painted with its component's mean",
                fontsize="medium")
for ax in (left, right):
    ax.set_axis_off()
fig.tight_layout()
plt.show()

# %%
# The palette and the timings
# ---------------------------
# The 8 mean colours, by weight (the share of the pixels each component takes), and the
# seconds of each library's fit.

fig, (palette, timing) = plt.subplots(1, 2, figsize=(12, 3),
                                      gridspec_kw={"width_ratios": [1, 1.4]})
order = np.argsort(-gm.weights_)
palette.barh(np.arange(8), gm.weights_[order], color=np.clip(gm.means_[order], 0, 1),
             edgecolor="0.3")
palette.invert_yaxis()
palette.set_yticks([])
palette.set_xlabel("share of the pixels (weight)")
palette.set_title("the palette", fontsize="medium")

names = ["scikit-learn", "gmmfast"]
timing.barh(names, [seconds[name] for name in names], color=["0.6", "tab:blue"])
for i, name in enumerate(names):
    timing.text(seconds[name], i, f" {seconds[name]:.2f} s", va="center")
timing.set_xlim(0, 1.25 * seconds["scikit-learn"])
timing.set_xlabel("seconds for the default fit (k-means start, EM to convergence)")
timing.set_title("the same fit in both libraries", fontsize="medium")
fig.tight_layout()
plt.show()
