"""The command line, run as a user runs it."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from gmmfast import GaussianMixture, GaussianMixtureIC, load
from gmmfast.__main__ import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "gmmfast", *args], capture_output=True,
                          text=True, timeout=300, cwd="/")


def test_demo_prints_the_model_and_time():
    result = run("demo", "--n-samples", "20000")
    assert result.returncode == 0, result.stderr
    assert "fit:" in result.stdout and "EM iterations" in result.stdout
    assert "component" in result.stdout and "adjusted Rand index" in result.stdout


def test_bad_arguments_exit_2_without_traceback():
    result = run("demo", "--n-samples", "2")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "error" in result.stderr
    result = run("frobnicate")
    assert result.returncode == 2 and "Traceback" not in result.stderr


# -- fit, select and predict on files ----------------------------------------------------------


def call(capsys, *args):
    """main() in this process: (exit status, stdout, stderr)."""
    try:
        status = main(list(args))
    except SystemExit as exc:
        status = exc.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def data():
    X, labels = make_blobs(n_samples=600, centers=3, cluster_std=[1.0, 2.0, 0.5],
                           random_state=170)
    return X @ np.array([[0.6, -0.64], [-0.41, 0.85]]), labels


@pytest.fixture
def files(tmp_path, data):
    """The same rows as CSV with a header and a text column, bare CSV, TSV and .npy."""
    X, labels = data
    with open(tmp_path / "data.csv", "w") as file:
        file.write("group,x,y\n")
        for label, (x, y) in zip(labels, X):
            file.write(f"g{label},{float(x)!r},{float(y)!r}\n")
    np.savetxt(tmp_path / "bare.csv", X, delimiter=",", fmt="%.17g")
    np.savetxt(tmp_path / "data.tsv", X, delimiter="\t", fmt="%.17g", header="x\ty",
               comments="")
    np.save(tmp_path / "data.npy", X)
    return tmp_path


def test_fit_then_predict_as_a_user_runs_them(files, data):
    X, _ = data
    model_path = files / "model.npz"
    result = run("fit", str(files / "data.csv"), "--columns", "x,y", "--n-components", "3",
                 "--covariance-type", "full", "--output", str(model_path))
    assert result.returncode == 0, result.stderr
    assert "600 rows x 2 features" in result.stdout and "EM iterations" in result.stdout
    model = load(model_path)
    expected = GaussianMixture(3, random_state=0).fit(X)
    np.testing.assert_array_equal(model.means_, expected.means_)
    np.testing.assert_array_equal(model.feature_names_in_, ["x", "y"])

    labels = run("predict", str(model_path), str(files / "data.csv"))
    assert labels.returncode == 0, labels.stderr
    np.testing.assert_array_equal(np.array(labels.stdout.split(), dtype=int),
                                  expected.predict(X))
    proba_path = files / "proba.csv"
    proba = run("predict", str(model_path), str(files / "data.npy"), "--proba",
                "--output", str(proba_path))
    assert proba.returncode == 0, proba.stderr
    np.testing.assert_allclose(np.loadtxt(proba_path, delimiter=","),
                               expected.predict_proba(X), rtol=1e-9, atol=1e-300)
    score = run("predict", str(model_path), str(files / "bare.csv"), "--score",
                "--precision", "17")
    assert score.returncode == 0, score.stderr
    np.testing.assert_array_equal(np.array(score.stdout.split(), dtype=float),
                                  expected.score_samples(X))


def test_bayesian_fit_then_predict(files, data, capsys):
    # The variational mixture from the command line: 8 components allowed, 3 clusters; the
    # saved model is the estimator's fit and predicts as it does.
    from gmmfast import BayesianGaussianMixture

    X, _ = data
    model_path = files / "bayes.npz"
    status, out, err = call(capsys, "fit", str(files / "data.npy"), "-k", "8", "--bayesian",
                            "--weight-concentration-prior", "0.01", "-o", str(model_path))
    assert status == 0, err
    expected = BayesianGaussianMixture(n_components=8, weight_concentration_prior=0.01,
                                       random_state=0).fit(X)
    in_use = int(np.sum(expected.weights_ >= 0.01))
    assert f"{in_use} of 8 components in use" in out and "BIC" not in out
    assert in_use < 8
    model = load(model_path)
    assert isinstance(model, BayesianGaussianMixture)
    np.testing.assert_array_equal(model.weights_, expected.weights_)
    status, out, err = call(capsys, "predict", str(model_path), str(files / "data.npy"))
    assert status == 0, err
    np.testing.assert_array_equal(np.array(out.split(), dtype=int), expected.predict(X))
    # The priors of the variational mixture need --bayesian.
    status, _, err = call(capsys, "fit", str(files / "data.npy"), "-k", "3",
                          "--weight-concentration-prior", "0.5", "-o", str(model_path))
    assert status == 2 and "add --bayesian" in err


def test_select_prints_the_table_and_saves_the_best(files, data):
    X, _ = data
    model_path = files / "best.npz"
    result = run("select", str(files / "data.npy"), "--n-components", "1-5",
                 "--covariance-type", "all", "--output", str(model_path))
    assert result.returncode == 0, result.stderr
    search = GaussianMixtureIC(range(1, 6), covariance_type="all", random_state=0).fit(X)
    lines = result.stdout.splitlines()
    table = lines[lines.index(next(s for s in lines if s.startswith("n_components"))) + 1:]
    rows = [line.split() for line in table[:20]]
    assert [int(row[0]) for row in rows] == list(search.results_["n_components"])
    assert [row[1] for row in rows] == list(search.results_["covariance_type"])
    np.testing.assert_allclose([float(row[2]) for row in rows], search.results_["bic"],
                               atol=0.005)
    assert "<- best BIC" in table[search.best_index_]
    assert "best: 3 components, covariance_type='full'" in result.stdout
    np.testing.assert_array_equal(load(model_path).means_, search.best_estimator_.means_)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_ways_to_name_columns_and_files(files, data, capsys):
    X, _ = data
    # A header row is detected; --no-header reads every line as data.
    assert call(capsys, "fit", str(files / "data.tsv"), "-k", "2", "-o",
                str(files / "a.npz"))[0] == 0
    assert call(capsys, "fit", str(files / "bare.csv"), "-k", "2", "--no-header", "-o",
                str(files / "b.npz"))[0] == 0
    assert call(capsys, "fit", str(files / "data.csv"), "-k", "2", "--columns", "1,-1",
                "-o", str(files / "c.npz"))[0] == 0
    for name in ("a", "b", "c"):
        np.testing.assert_array_equal(load(files / f"{name}.npz").means_,
                                      GaussianMixture(2, random_state=0).fit(X).means_)
    # The model's columns are found by name, whatever their order in the file.
    with open(files / "shuffled.csv", "w") as file:
        file.write("y,note,x\n")
        for x, y in X:
            file.write(f"{float(y)!r},n,{float(x)!r}\n")
    status, out, err = call(capsys, "predict", str(files / "a.npz"),
                            str(files / "shuffled.csv"))
    assert status == 0, err
    np.testing.assert_array_equal(np.array(out.split(), dtype=int),
                                  load(files / "a.npz").predict(X))


def test_parquet(files, data, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    X, labels = data
    table = pa.table({"group": [f"g{k}" for k in labels], "x": X[:, 0], "y": X[:, 1]})
    pq.write_table(table, files / "data.parquet")
    status, out, err = call(capsys, "select", str(files / "data.parquet"), "-k", "2-4",
                            "--columns", "x,y", "-o", str(files / "p.npz"))
    assert status == 0, err
    assert load(files / "p.npz").n_components == 3
    status, _, err = call(capsys, "fit", str(files / "data.parquet"), "-k", "2", "-o",
                          str(files / "q.npz"))
    assert status == 2 and "'group' is not numeric" in err


def test_parquet_without_pyarrow_names_the_extra(files):
    code = ("import sys; sys.modules['pyarrow'] = None; from gmmfast.__main__ import main; "
            f"sys.exit(main(['fit', {str(files / 'x.parquet')!r}, '-k', '2', '-o', 'm.npz']))")
    (files / "x.parquet").write_bytes(b"PAR1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=files)
    assert result.returncode == 2
    assert "gmmfast[parquet]" in result.stderr and "Traceback" not in result.stderr


def test_pictures(files, capsys):
    pytest.importorskip("matplotlib")
    for args in (["demo", "--n-samples", "3000", "--plot", str(files / "demo.png")],
                 ["fit", str(files / "data.npy"), "-k", "3", "-o", str(files / "m.npz"),
                  "--plot", str(files / "fit.png")],
                 ["select", str(files / "data.npy"), "-k", "4", "--plot",
                  str(files / "bic.svg")]):
        status, out, err = call(capsys, *args)
        assert status == 0, err
        assert f"picture: {args[-1]}" in out
    for name in ("demo.png", "fit.png"):
        assert (files / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (files / "bic.svg").read_bytes()[:400]


@pytest.mark.parametrize("command", ["demo", "fit", "select", "predict"])
def test_help(command, capsys):
    status, out, _ = call(capsys, command, "--help")
    assert status == 0 and out.startswith(f"usage: gmmfast {command}")


def test_bad_files_and_arguments_one_line_exit_2(files, capsys):
    csv, model = str(files / "data.csv"), str(files / "model.npz")
    assert call(capsys, "fit", csv, "-k", "3", "--columns", "x,y", "-o", model)[0] == 0
    (files / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (files / "ragged.csv").write_text("1,2\n3\n")
    cases = [
        (["fit", csv, "-k", "3", "-o", model], "could not convert"),
        (["fit", csv, "-k", "3"], "required: --output"),
        (["fit", str(files / "missing.csv"), "-k", "3", "-o", model], "missing.csv"),
        (["fit", str(files / "model.npz"), "-k", "3", "-o", model], "unsupported file type"),
        (["fit", csv, "-k", "3", "--columns", "x,z", "-o", model], "no column named 'z'"),
        (["fit", csv, "-k", "3", "--columns", "1,7", "-o", model], "out of range"),
        (["fit", csv, "-k", "0", "-o", model], "positive integer"),
        (["fit", csv, "-k", "3", "--columns", "x,y", "--max-iter", "-1", "-o", model],
         "max_iter"),
        (["fit", str(files / "ragged.csv"), "-k", "1", "-o", model], "ragged.csv"),
        (["fit", str(files / "data.npy"), "-k", "3", "--header", "-o", model], "text files"),
        (["select", csv, "-k", "3-1"], "invalid --n-components"),
        (["select", csv, "--covariance-type", "full,round"], "invalid covariance type"),
        (["predict", str(files / "broken.npz"), csv], "corrupted"),
        (["predict", model, csv, "--proba", "--score"], "not allowed with"),
        (["predict", model, csv, "--columns", "x"], "1 column(s) but the model takes 2"),
        (["frobnicate"], "invalid choice"),
    ]
    for args, message in cases:
        status, _, err = call(capsys, *args)
        assert status == 2, (args, err)
        assert message in err, (args, err)
        assert len(err.strip().splitlines()) == 1, (args, err)
        assert "Traceback" not in err


def test_errors_in_a_subprocess_have_no_traceback(files):
    result = run("predict", str(files / "data.csv"), str(files / "data.csv"))
    assert result.returncode == 2
    assert result.stderr.startswith("gmmfast: error:") and "Traceback" not in result.stderr
