"""The command line, run as a user runs it."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from gmmfast import GaussianMixture, GaussianMixtureIC, _data_files, load
from gmmfast.__main__ import main

from helpers import peak_traced_memory, write_npy


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


# -- fit --mini-batch: files streamed in batches ----------------------------------------------


def mixture_rows(n_samples, n_features=4, n_components=4, seed=0):
    rng = np.random.RandomState(seed)
    centres = rng.normal(scale=8.0, size=(n_components, n_features))
    labels = rng.randint(n_components, size=n_samples)
    return centres[labels] + rng.standard_normal((n_samples, n_features))


@pytest.fixture(scope="module")
def stream_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream")
    X = mixture_rows(60_000)
    np.save(folder / "rows.npy", X)
    np.savetxt(folder / "rows.csv", X, delimiter=",", fmt="%.17g", header="a,b,c,d",
               comments="")
    return folder, X


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.parametrize("name", ["rows.npy", "rows.csv"])
def test_mini_batch_fit_streams_the_file_and_saves_a_model(stream_files, capsys, name):
    from gmmfast import MiniBatchGaussianMixture

    folder, X = stream_files
    model_path = folder / f"{name}.npz"
    args = ["fit", str(folder / name), "-k", "4", "--mini-batch", "--batch-size", "2000",
            "--max-iter", "3", "-o", str(model_path)]
    status, out, err = call(capsys, *args)
    assert status == 0, err
    assert "streamed in batches of 2,000 rows" in out and "steps over" in out
    model = load(model_path)
    assert type(model) is MiniBatchGaussianMixture and model.batch_size == 2000
    assert model.n_rows_seen_ == 2000 * model.n_steps_ or model.n_iter_ > 1
    full = GaussianMixture(4, random_state=0).fit(X)
    assert abs(model.score(X) - full.score(X)) < 0.01 * abs(full.score(X))
    # The same command gives the same model; predict reads it.
    assert call(capsys, *args)[0] == 0
    np.testing.assert_array_equal(load(model_path).means_, model.means_)
    status, out, err = call(capsys, "predict", str(model_path), str(folder / name))
    assert status == 0, err
    np.testing.assert_array_equal(np.array(out.split(), dtype=int), model.predict(X))
    if name.endswith(".csv"):
        np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c", "d"])


def test_mini_batch_fit_options(stream_files, capsys):
    folder, X = stream_files
    model_path = folder / "options.npz"
    status, out, err = call(
        capsys, "fit", str(folder / "rows.csv"), "-k", "3", "--mini-batch", "--columns",
        "d,b", "--float32", "--covariance-type", "diag", "--batch-size", "1000",
        "--learning-offset", "2", "--learning-decay", "0.9", "--max-no-improvement", "0",
        "--max-iter", "1", "--shuffle-batches", "4", "-o", str(model_path))
    assert status == 0, err
    model = load(model_path)
    assert model.means_.dtype == np.float32 and model.means_.shape == (3, 2)
    assert (model.learning_offset, model.learning_decay, model.max_no_improvement) == (
        2.0, 0.9, None)
    # No early stopping: one whole pass of 60 batches.
    assert model.n_steps_ == 60 and model.n_rows_seen_ == len(X) and model.n_iter_ == 1
    np.testing.assert_array_equal(model.feature_names_in_, ["d", "b"])


def test_mini_batch_fit_never_reads_a_npy_file_whole(tmp_path, capsys):
    X = write_npy(tmp_path / "big.npy", 600_000)  # 38 MB
    args = ["fit", str(tmp_path / "big.npy"), "-k", "3", "--mini-batch", "--batch-size",
            "4000", "--shuffle-batches", "4", "--max-iter", "1", "--max-no-improvement", "0",
            "-o", str(tmp_path / "m.npz")]
    assert call(capsys, *args)[0] == 0  # first-call caches are not part of a fit's memory
    peak = peak_traced_memory(call, capsys, *args)
    # A pool of 4 batches (1 MB), its shuffled copy and a block; no copy of the file.
    assert peak < X.nbytes / 8
    assert load(tmp_path / "m.npz").n_rows_seen_ == len(X)


def write_csv_rows(path, n_rows, n_features=8):
    rng = np.random.default_rng(0)
    with open(path, "w") as file:
        for start in range(0, n_rows, 50_000):
            rows = rng.normal(size=(min(50_000, n_rows - start), n_features))
            np.savetxt(file, rows, delimiter=",", fmt="%.17g")
    return path


def test_mini_batch_fit_never_reads_a_text_file_whole_with_pyarrow(tmp_path):
    pytest.importorskip("pyarrow")
    path = write_csv_rows(tmp_path / "big.csv", 350_000)  # 56 MB of text
    # In a fresh process: Python's allocations (traced) and pyarrow's (its memory pool).
    code = (
        "import sys, tracemalloc, warnings; warnings.simplefilter('ignore')\n"
        "import pyarrow as pa\n"
        "from gmmfast.__main__ import main\n"
        "tracemalloc.start()\n"
        "status = main(sys.argv[1:])\n"
        "print(status, tracemalloc.get_traced_memory()[1], "
        "pa.default_memory_pool().max_memory())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "fit", str(path), "-k", "3", "--mini-batch",
         "--batch-size", "2000", "--shuffle-batches", "4", "--max-iter", "1",
         "--max-no-improvement", "0", "-o", str(tmp_path / "m.npz")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    status, traced, arrow = map(int, result.stdout.split()[-3:])
    assert status == 0, result.stderr
    assert traced + arrow < path.stat().st_size / 5, (traced, arrow)
    assert load(tmp_path / "m.npz").n_rows_seen_ == 350_000


def test_mini_batch_fit_never_reads_a_text_file_whole_with_numpy(tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.setattr(_data_files, "_pyarrow_csv", lambda: None)
    path = write_csv_rows(tmp_path / "big.csv", 150_000)  # 24 MB of text
    args = ["fit", str(path), "-k", "3", "--mini-batch", "--batch-size", "2000",
            "--shuffle-batches", "4", "--max-iter", "1", "--max-no-improvement", "0",
            "-o", str(tmp_path / "m.npz")]
    assert call(capsys, *args)[0] == 0  # first-call caches are not part of a fit's memory
    peak = peak_traced_memory(call, capsys, *args)
    assert peak < path.stat().st_size / 8
    assert load(tmp_path / "m.npz").n_rows_seen_ == 150_000


def test_mini_batch_fit_bad_input_one_line_exit_2(files, stream_files, capsys):
    folder, _ = stream_files
    (files / "head.csv").write_text("x,y\n")
    (files / "ragged.csv").write_text("1,2\n3,4\n5\n")
    csv, npy, model = str(files / "data.csv"), str(folder / "rows.npy"), str(files / "m.npz")
    mini = ["--mini-batch", "-o", model]
    cases = [
        (["fit", npy, "-k", "3", "--batch-size", "2", *mini],
         "batch_size = 2 is smaller than n_components = 3"),
        (["fit", str(files / "data.npy"), "-k", "700", *mini], "n_samples >= n_components"),
        (["fit", npy, "-k", "3", "--bayesian", *mini], "leave out --bayesian"),
        (["fit", npy, "-k", "3", "--n-init", "2", *mini], "leave out --n-init"),
        (["fit", npy, "-k", "3", "--batch-size", "10", "-o", model], "add --mini-batch"),
        (["fit", npy, "-k", "3", "--learning-decay", "2", *mini], "learning_decay"),
        (["fit", csv, "-k", "3", *mini], "could not convert"),
        (["fit", str(files / "head.csv"), "-k", "1", *mini], "no data rows"),
        (["fit", str(files / "ragged.csv"), "-k", "1", *mini], "ragged.csv"),
        (["fit", str(files / "missing.npy"), "-k", "1", *mini], "no such file"),
        (["fit", npy, "-k", "3", "--columns", "9", *mini], "out of range"),
    ]
    for args, message in cases:
        status, _, err = call(capsys, *args)
        assert status == 2, (args, err)
        assert message in err, (args, err)
        assert len(err.strip().splitlines()) == 1, (args, err)


# -- progress on a terminal --------------------------------------------------------------------


@pytest.fixture
def terminal(monkeypatch):
    """The standard error taken for a terminal (it is captured in the tests)."""
    pytest.importorskip("tqdm")
    from gmmfast import __main__

    monkeypatch.setattr(__main__, "_is_terminal", lambda stream: True)


def test_progress_bars_on_a_terminal(files, stream_files, capsys, terminal):
    folder, _ = stream_files
    status, out, err = call(capsys, "fit", str(files / "data.npy"), "-k", "3", "--n-init",
                            "2", "-o", str(files / "m.npz"))
    assert status == 0 and "EM, initialisation 2/2" in err and "lower bound" in err
    assert "EM iterations" in out and "\r" not in out
    status, _, err = call(capsys, "select", str(files / "data.npy"), "-k", "1-3")
    assert status == 0 and "candidates" in err and "3/3" in err
    assert "best BIC" in err and "(3 components, full)" in err
    status, _, err = call(capsys, "fit", str(folder / "rows.csv"), "-k", "4", "--mini-batch",
                          "--max-iter", "2", "--max-no-improvement", "0", "-o",
                          str(files / "m.npz"))
    # The text file's rows are known after the first pass: 120k rows of 2 passes.
    assert status == 0 and "rows" in err and "pass 2/2" in err and "/120k" in err
    assert "lower bound" in err


def test_no_progress_bar_with_quiet_off_a_terminal_or_without_tqdm(files, capsys, terminal,
                                                                   monkeypatch):
    args = ["fit", str(files / "data.npy"), "-k", "3", "-o", str(files / "m.npz")]
    assert call(capsys, *args, "--quiet")[2] == ""
    assert call(capsys, "select", str(files / "data.npy"), "-k", "2", "-q")[2] == ""
    monkeypatch.setitem(sys.modules, "tqdm", None)
    status, _, err = call(capsys, *args)
    assert status == 0 and err == ""
    monkeypatch.undo()
    status, _, err = call(capsys, *args)  # not a terminal: captured
    assert status == 0 and err == ""


@pytest.mark.parametrize("mini_batch", [False, True])
def test_empty_fields_and_nan_are_missing_values(files, capsys, mini_batch):
    """An empty CSV field and NaN are missing values: the fit marginalises them, and the
    model predicts rows with holes."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-3, 1, (300, 3)), rng.normal(3, 1, (300, 3))])
    X[rng.random(X.shape) < 0.2] = np.nan
    lines = ["a,b,c"] + [",".join("" if np.isnan(v) else repr(float(v)) for v in row)
                         for row in X[:400]]
    lines += [",".join("NaN" if np.isnan(v) else repr(float(v)) for v in row) for row in X[400:]]
    (files / "holes.csv").write_text("\n".join(lines) + "\n")
    model = files / "holes.npz"
    extra = ["--mini-batch", "--batch-size", "200"] if mini_batch else []
    status, _, err = call(capsys, "fit", str(files / "holes.csv"), "-k", "2", "-o", str(model),
                          *extra)
    assert status == 0, err
    fitted = load(model)
    if not mini_batch:
        reference = GaussianMixture(2, random_state=0).fit(X)
        np.testing.assert_allclose(np.sort(fitted.means_[:, 0]),
                                   np.sort(reference.means_[:, 0]), rtol=1e-6)
    status, out, err = call(capsys, "predict", str(model), str(files / "holes.csv"))
    assert status == 0, err
