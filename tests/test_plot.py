"""gmmfast.plot: ellipses where the model puts them, criterion curves from the search."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from gmmfast import GaussianMixture, GaussianMixtureIC, plot

from helpers import COVARIANCE_TYPES, ignore_convergence, make_blobs_data

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def outlines(ax):
    """The unfilled ellipses: one per component and sigma level."""
    return [p for p in ax.patches if isinstance(p, Ellipse) and not p.get_fill()]


def marginal_covariance(model, k, i, j):
    """The 2 x 2 covariance of component k on features i, j, from the model's own layout."""
    c = model.covariances_
    full = {
        "full": lambda: c[k],
        "tied": lambda: c,
        "diag": lambda: np.diag(c[k]),
        "spherical": lambda: c[k] * np.eye(model.means_.shape[1]),
    }[model.covariance_type]()
    return full[np.ix_([i, j], [i, j])]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_ellipses_are_the_one_two_three_sigma_contours(covariance_type):
    X = make_blobs_data(900, 3)
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    ax = plot.ellipses(model, X, features=(2, 0))
    shapes = outlines(ax)
    assert len(shapes) == 3 * 3
    for k in range(3):
        cov = marginal_covariance(model, k, 2, 0)
        for n, ellipse in zip((1, 2, 3), shapes[3 * k: 3 * k + 3]):
            np.testing.assert_allclose(ellipse.center, model.means_[k, [2, 0]])
            # A point on the ellipse's major axis end is at Mahalanobis distance n.
            theta = np.radians(ellipse.angle)
            end = np.array(ellipse.center) + ellipse.width / 2 * np.array(
                [np.cos(theta), np.sin(theta)])
            minor = np.array(ellipse.center) + ellipse.height / 2 * np.array(
                [-np.sin(theta), np.cos(theta)])
            for point in (end, minor):
                d = point - model.means_[k, [2, 0]]
                np.testing.assert_allclose(np.sqrt(d @ np.linalg.solve(cov, d)), n, rtol=1e-8)
            assert ellipse.width >= ellipse.height
    assert ax.get_xlabel() == "feature 2" and ax.get_ylabel() == "feature 0"


def test_points_are_coloured_by_label_and_subsampled():
    X = make_blobs_data(3000, 2)
    model = GaussianMixture(3, random_state=0).fit(X)
    ax = plot.ellipses(model, X, max_points=500)
    (points,) = ax.collections
    assert points.get_offsets().shape == (500, 2)
    colours = points.get_facecolors()[:, :3]
    labels = model.predict(np.asarray(points.get_offsets()))
    for k in range(3):
        assert len(np.unique(colours[labels == k], axis=0)) == 1
    assert len(np.unique(colours, axis=0)) == 3
    ax_all = plot.ellipses(model, X, max_points=None)
    assert ax_all.collections[0].get_offsets().shape == (3000, 2)


def test_shade_follows_the_weight():
    X = np.vstack([make_blobs_data(2000, 2, 1, random_state=1),
                   make_blobs_data(200, 2, 1, random_state=2) + 30.0])
    model = GaussianMixture(2, random_state=0).fit(X)
    ax = plot.ellipses(model, X)
    fills = [p for p in ax.patches if p.get_fill()]
    heavy, light = np.argmax(model.weights_), np.argmin(model.weights_)
    assert fills[3 * heavy].get_alpha() > fills[3 * light].get_alpha()


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_variational_mixture_shades_switched_off_components(covariance_type):
    # Six components allowed on two clusters: the ones the prior switched off are drawn
    # fainter than those in use, and every ellipse is its component's contour.
    from gmmfast import BayesianGaussianMixture

    X = np.vstack([make_blobs_data(1000, 2, 1, random_state=1),
                   make_blobs_data(1000, 2, 1, random_state=2) + 12.0])
    with ignore_convergence():
        model = BayesianGaussianMixture(n_components=6, covariance_type=covariance_type,
                                        weight_concentration_prior=1e-2, max_iter=500,
                                        random_state=0).fit(X)
    ax = plot.ellipses(model, X)
    fills = [p for p in ax.patches if p.get_fill()]
    assert len(fills) == 3 * 6 and len(outlines(ax)) == 3 * 6
    used, off = np.argmax(model.weights_), np.argmin(model.weights_)
    assert model.weights_[off] < 0.01 < model.weights_[used]
    assert fills[3 * used].get_alpha() > fills[3 * off].get_alpha()
    for k in range(6):
        np.testing.assert_allclose(outlines(ax)[3 * k].center, model.means_[k])


def test_names_searches_and_given_axes():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(make_blobs_data(600, 3), columns=["a", "b", "c"])
    search = GaussianMixtureIC(4, random_state=0).fit(X)
    fig, given = plt.subplots()
    ax = plot.ellipses(search, X, ax=given, features=("c", "a"))
    assert ax is given
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("c", "a")
    assert len(outlines(ax)) == 3 * search.n_components_
    np.testing.assert_allclose(outlines(ax)[0].center,
                               search.best_estimator_.means_[0, [2, 0]])


def test_ellipses_bad_input():
    X = make_blobs_data(300, 3)
    model = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="two different"):
        plot.ellipses(model, X, features=(1, 1))
    with pytest.raises(ValueError, match="exactly two"):
        plot.ellipses(model, X, features=(0, 1, 2))
    with pytest.raises(ValueError, match="column index"):
        plot.ellipses(model, X, features=(0, 3))
    with pytest.raises(ValueError, match="not a feature"):
        plot.ellipses(model, X, features=("a", 0))
    with pytest.raises(ValueError, match="2 features"):
        plot.ellipses(model, X[:, :2])
    with pytest.raises(NotFittedError):
        plot.ellipses(GaussianMixture(), X)
    with pytest.raises(TypeError, match="GaussianMixture"):
        plot.ellipses(object(), X)
    assert not plt.get_fignums(), "a figure was opened before the input was checked"


def test_criterion_draws_one_line_per_covariance_type():
    X = make_blobs_data(600, 2)
    with ignore_convergence():
        search = GaussianMixtureIC(5, covariance_type=["diag", "full"], random_state=0).fit(X)
    ax = plot.criterion(search)
    lines = {line.get_label(): line for line in ax.get_lines()}
    results = search.results_
    for covariance_type in ("diag", "full"):
        rows = results["covariance_type"] == covariance_type
        np.testing.assert_array_equal(lines[covariance_type].get_xdata(), [1, 2, 3, 4, 5])
        np.testing.assert_array_equal(lines[covariance_type].get_ydata(), results["bic"][rows])
    (star,) = [line for label, line in lines.items() if label.startswith("chosen")]
    assert star.get_ydata()[0] == search.criterion_
    assert ax.get_ylabel().startswith("BIC")
    aic = plot.criterion(search, criterion="aic")
    assert aic.get_ylabel().startswith("AIC")
    assert not any(line.get_label().startswith("chosen") for line in aic.get_lines())


def test_criterion_bad_input():
    X = make_blobs_data(300, 2)
    with pytest.raises(NotFittedError):
        plot.criterion(GaussianMixtureIC())
    with pytest.raises(TypeError, match="GaussianMixtureIC"):
        plot.criterion(GaussianMixture(2).fit(X))
    search = GaussianMixtureIC(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="'bic' or 'aic'"):
        plot.criterion(search, criterion="hqic")


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    X = make_blobs_data(300, 2)
    model = GaussianMixture(2, random_state=0).fit(X)
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"gmmfast\[plot\]"):
        plot.ellipses(model, X)
    search = GaussianMixtureIC(2, random_state=0).fit(X)
    with pytest.raises(ImportError, match=r"gmmfast\[plot\]"):
        plot.criterion(search)


def test_importing_gmmfast_does_not_import_matplotlib():
    code = "import sys, gmmfast, gmmfast.plot; assert 'matplotlib' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
