"""The covariance types and the shapes of what each one stores, written once.

K is the number of components, D the number of features.
"""

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def covariance_shape(covariance_type, n_components, n_features):
    """Shape of the covariances, the precisions and their Cholesky factors."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def second_moment_shape(covariance_type, n_components, n_features):
    """Shape of the second-moment sums s2 of the statistics pass.

    Spherical sums are taken per feature, as for diagonal covariances; the M-step averages
    them over the features.
    """
    if covariance_type == "spherical":
        covariance_type = "diag"
    return covariance_shape(covariance_type, n_components, n_features)


def n_covariance_parameters(covariance_type, n_components, n_features):
    """Free parameters of the covariances: D (D + 1) / 2 per symmetric matrix, D per
    diagonal, one per spherical variance."""
    return {
        "full": n_components * n_features * (n_features + 1) / 2.0,
        "tied": n_features * (n_features + 1) / 2.0,
        "diag": n_components * n_features,
        "spherical": n_components,
    }[covariance_type]
