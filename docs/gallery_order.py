"""The order of the examples in the gallery: from the first questions to the largest data."""

EXAMPLES = [
    "plot_kmeans_vs_mixture.py",
    "plot_soft_clustering.py",
    "plot_covariance_types.py",
    "plot_model_selection.py",
    "plot_density_two_moons.py",
    "plot_digits_generative.py",
    "plot_anomaly_detection.py",
    "plot_image_segmentation.py",
    "plot_speed.py",
    "plot_dask.py",
    "plot_bayesian_mixture.py",
    "plot_mini_batch.py",
    "plot_missing_values.py",
]


class GalleryOrder:
    """Sort key for sphinx-gallery's ``within_subsection_order``: the place in EXAMPLES.

    An example missing from the list is an error, so that a new one is placed on purpose.
    """

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename not in EXAMPLES:
            raise ValueError(f"{filename} is not listed in docs/gallery_order.py")
        return EXAMPLES.index(filename)

    def __repr__(self):
        return "GalleryOrder"
