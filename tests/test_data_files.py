"""Reading data files: the fast text reader and NumPy's give the same rows and the same errors;
files read whole or piece by piece (the streams of a mini-batch fit)."""

import numpy as np
import pytest

from gmmfast import _data_files
from gmmfast._data_files import TableStream, csv_reader, read_table
from gmmfast._mini_batch import pooled_batches

READERS = ["pyarrow", "numpy"]


@pytest.fixture(params=READERS)
def reader(request, monkeypatch):
    """Each text reader in turn: pyarrow's (skipped without it) and NumPy's."""
    if request.param == "pyarrow":
        pytest.importorskip("pyarrow.csv")
    else:
        monkeypatch.setattr(_data_files, "_pyarrow_csv", lambda: None)
    assert csv_reader() == request.param
    return request.param


def write_rows(path, X, header=None, fmt="%.17g", delimiter=","):
    np.savetxt(path, X, delimiter=delimiter, fmt=fmt, comments="",
               header="" if header is None else delimiter.join(header))
    return path


def whole_stream(stream, piece_rows=7, seed=0):
    return np.concatenate(list(stream.pieces(piece_rows, np.random.RandomState(seed))))


def test_both_readers_give_numpys_rows_to_the_bit(tmp_path, reader):
    X = np.random.RandomState(0).standard_normal((2000, 5)) * 10.0 ** np.arange(-3, 2)
    path = write_rows(tmp_path / "x.csv", X, header=["a", "b", "c", "d", "e"])
    got, names = read_table(path)
    np.testing.assert_array_equal(got, X)
    assert got.flags.c_contiguous and got.dtype == np.float64
    assert names == ["a", "b", "c", "d", "e"]
    got, names = read_table(path, columns=["d", 1, -1])
    np.testing.assert_array_equal(got, X[:, [3, 1, 4]])
    assert names == ["d", "b", "e"]
    np.testing.assert_array_equal(whole_stream(TableStream(path, columns=["d", 1, -1])),
                                  X[:, [3, 1, 4]])


def test_empty_fields_and_nan_are_read_as_nan(tmp_path, reader):
    text = 'x,y,z\n1,,3\nnan,5,NaN\n"",8,9\n-inf,1e400,\n'
    (tmp_path / "gaps.csv").write_text(text)
    expected = np.array([[1, np.nan, 3], [np.nan, 5, np.nan], [np.nan, 8, 9],
                         [-np.inf, np.inf, np.nan]])
    got, _ = read_table(tmp_path / "gaps.csv")
    np.testing.assert_array_equal(got, expected)
    stream = TableStream(tmp_path / "gaps.csv")
    assert stream.n_rows is None
    np.testing.assert_array_equal(whole_stream(stream, piece_rows=2), expected)
    assert stream.n_rows == 4


def test_header_detection_delimiters_and_a_byte_order_mark(tmp_path, reader):
    X = np.arange(12.0).reshape(4, 3)
    (tmp_path / "bom.csv").write_text("\ufeffa,b,c\n" + "\n".join(
        ",".join(f"{v:g}" for v in row) for row in X) + "\n", encoding="utf-8")
    write_rows(tmp_path / "x.tsv", X, header=["a", "b", "c"], delimiter="\t")
    write_rows(tmp_path / "semi.txt", X, delimiter=";")
    write_rows(tmp_path / "bare.csv", X)
    for path, kwargs, names in [("bom.csv", {}, ["a", "b", "c"]),
                                ("x.tsv", {}, ["a", "b", "c"]),
                                ("semi.txt", dict(delimiter=";"), None),
                                ("bare.csv", {}, None)]:
        got, got_names = read_table(tmp_path / path, **kwargs)
        np.testing.assert_array_equal(got, X, err_msg=path)
        assert got_names == names
        np.testing.assert_array_equal(whole_stream(TableStream(tmp_path / path, **kwargs)), X)
    got, names = read_table(tmp_path / "bare.csv", header=True)
    np.testing.assert_array_equal(got, X[1:])
    assert names == ["0", "1", "2"]


def test_comment_lines_are_read_as_before(tmp_path, reader):
    # pyarrow has no comments: the file is read by NumPy's reader, as it was.
    (tmp_path / "notes.csv").write_text("x,y\n1,2\n# more\n3,4 # by hand\n")
    np.testing.assert_array_equal(read_table(tmp_path / "notes.csv")[0], [[1, 2], [3, 4]])


def test_bad_text_files_have_one_line_errors_naming_the_file(tmp_path, reader):
    (tmp_path / "words.csv").write_text("name,x\nann,1\nbob,2\n")
    (tmp_path / "ragged.csv").write_text("1,2\n3\n")
    (tmp_path / "head.csv").write_text("x,y\n")
    for name, message in [("words.csv", "could not convert"), ("ragged.csv", "ragged.csv"),
                          ("head.csv", "no data rows")]:
        with pytest.raises(ValueError, match=message) as whole:
            read_table(tmp_path / name)
        with pytest.raises(ValueError, match=name) as streamed:
            whole_stream(TableStream(tmp_path / name))
        for error in (whole, streamed):
            assert str(tmp_path / name) in str(error.value)
            assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="could not convert.*--columns"):
        whole_stream(TableStream(tmp_path / "words.csv"))
    np.testing.assert_array_equal(whole_stream(TableStream(tmp_path / "words.csv",
                                                           columns=["x"])), [[1], [2]])


def test_npy_stream_visits_blocks_in_a_random_order(tmp_path):
    X = np.arange(110.0).reshape(55, 2)
    np.save(tmp_path / "x.npy", X)
    stream = TableStream(tmp_path / "x.npy")
    assert (stream.n_rows, stream.n_features, stream.dtype) == (55, 2, np.float64)
    pieces = list(stream.pieces(10, np.random.RandomState(3)))
    order = np.random.RandomState(3).permutation(6)
    for piece, block in zip(pieces, order):
        np.testing.assert_array_equal(piece, X[10 * block:10 * block + 10])
    # Every row once; float32 stays float32; a structured array by field.
    np.save(tmp_path / "f.npy", X.astype(np.float32))
    piece = next(TableStream(tmp_path / "f.npy", columns=[1]).pieces(100,
                                                                    np.random.RandomState(0)))
    assert piece.dtype == np.float32 and piece.shape == (55, 1)
    records = np.zeros(55, dtype=[("a", "f8"), ("b", "i4"), ("c", "U3")])
    records["a"], records["b"] = X[:, 0], X[:, 1]
    np.save(tmp_path / "r.npy", records)
    stream = TableStream(tmp_path / "r.npy", columns=["b", "a"])
    assert stream.names == ["b", "a"]
    got = whole_stream(stream, piece_rows=55)
    np.testing.assert_array_equal(got, X[:, ::-1])
    with pytest.raises(ValueError, match="field 'c' is not a number"):
        TableStream(tmp_path / "r.npy")


def test_parquet_stream(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    X = np.random.RandomState(0).standard_normal((100, 2))
    pq.write_table(pa.table({"x": X[:, 0], "y": X[:, 1], "s": ["a"] * 100}),
                   tmp_path / "x.parquet", row_group_size=30)
    stream = TableStream(tmp_path / "x.parquet", columns=["y", "x"])
    assert (stream.n_rows, stream.names) == (100, ["y", "x"])
    got = whole_stream(stream, piece_rows=100, seed=1)
    groups = np.random.RandomState(1).permutation(4)
    expected = np.concatenate([X[30 * g:30 * g + 30, ::-1] for g in groups])
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="'s' is not numeric"):
        TableStream(tmp_path / "x.parquet")


def test_pooled_batches_hold_every_row_once():
    pieces = [np.arange(n, dtype=float)[:, np.newaxis] + 1000 * i
              for i, n in enumerate([7, 0, 30, 5, 1, 19])]
    rows = np.concatenate(pieces)
    batches = list(pooled_batches(iter(pieces), 8, 2, np.random.RandomState(0)))
    assert [len(b) for b in batches][:-1] == [8] * (len(batches) - 1)
    assert 0 < len(batches[-1]) <= 8
    np.testing.assert_array_equal(np.sort(np.concatenate(batches), axis=0), np.sort(rows,
                                                                                   axis=0))
    # Rows more than a pool apart in the stream are never in the same batch.
    first = set(batches[0][:, 0])
    assert first <= set(np.concatenate(pieces[:3])[:, 0])
