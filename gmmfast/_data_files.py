"""Numeric tables from files: CSV/TSV text, NumPy ``.npy`` and Parquet (with pyarrow).

What the command line reads. Every reader returns ``(X, names)``: a 2-D float array of the
chosen columns and their names (None where the file has none).
"""

import os

import numpy as np

CSV_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
NPY_SUFFIXES = (".npy",)
PARQUET_SUFFIXES = (".parquet", ".pq")


def file_kind(path):
    """'csv', 'npy' or 'parquet', from the file's suffix."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in NPY_SUFFIXES:
        return "npy"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    known = ", ".join(CSV_SUFFIXES + NPY_SUFFIXES + PARQUET_SUFFIXES)
    raise ValueError(
        f"{path}: unsupported file type {suffix or '(no suffix)'!r}; use one of {known}."
    )


def parse_columns(text):
    """'a,b,3' -> ['a', 'b', 3]: names stay strings, integers become column indices."""
    if text is None:
        return None
    columns = []
    for token in text.split(","):
        token = token.strip()
        if not token:
            raise ValueError(f"--columns {text!r} has an empty entry.")
        try:
            columns.append(int(token))
        except ValueError:
            columns.append(token)
    return columns


def _resolve(columns, names, n_columns, path):
    """Column indices for a list of names and 0-based (possibly negative) indices."""
    if columns is None:
        return list(range(n_columns))
    indices = []
    for column in columns:
        if isinstance(column, str):
            if names is None or column not in names:
                known = (
                    "it has no header row" if names is None
                    else "its columns are " + ", ".join(map(str, names))
                )
                raise ValueError(f"{path}: no column named {column!r}; {known}.")
            indices.append(names.index(column))
        elif -n_columns <= column < n_columns:
            indices.append(column % n_columns)
        else:
            raise ValueError(
                f"{path}: column index {column} is out of range; it has {n_columns} columns "
                "(indices start at 0)."
            )
    if len(set(indices)) != len(indices):
        raise ValueError(f"{path}: --columns names a column twice.")
    return indices


def _split(line, delimiter):
    return [field.strip().strip('"').strip("'") for field in line.rstrip("\r\n").split(delimiter)]


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_first_line(path, header, delimiter):
    """The delimiter, the fields of the first line, and whether that line is a header."""
    if delimiter is None:
        delimiter = "\t" if os.fspath(path).lower().endswith((".tsv", ".tab")) else ","
    with open(path, encoding="utf-8-sig") as file:
        first = file.readline()
    if not first.strip():
        raise ValueError(f"{path}: the file is empty (or starts with a blank line).")
    fields = _split(first, delimiter)
    if header is None:
        header = any(field and not _is_number(field) for field in fields)
    return delimiter, fields, header


def column_names(path, header=None, delimiter=None):
    """The names of the file's columns, or None where it has none (no header row)."""
    kind = file_kind(path)
    if kind == "csv":
        _, fields, header = _csv_first_line(path, header, delimiter)
        return fields if header else None
    if kind == "npy":
        names = np.load(path, allow_pickle=False, mmap_mode="r").dtype.names
        return None if names is None else list(names)
    return read_parquet(path, names_only=True)


def read_csv(path, columns=None, header=None, delimiter=None):
    """Read a delimited text file of numbers.

    ``header`` None detects a header row: the first line is one when a field of it is not a
    number. ``delimiter`` None is a tab for ``.tsv``/``.tab`` files and a comma otherwise.
    """
    delimiter, fields, header = _csv_first_line(path, header, delimiter)
    names = fields if header else None
    indices = _resolve(columns, names, len(fields), path)
    try:
        X = np.loadtxt(
            path, delimiter=delimiter, skiprows=1 if header else 0, usecols=indices,
            dtype=np.float64, ndmin=2, quotechar='"', encoding="utf-8-sig",
        )
    except ValueError as exc:
        hint = "" if columns is not None else " Choose numeric columns with --columns."
        raise ValueError(f"{path}: {exc}{hint}") from None
    if X.shape[0] == 0:
        raise ValueError(f"{path}: the file has no data rows.")
    return X, None if names is None else [names[i] for i in indices]


def read_npy(path, columns=None):
    """Read a 2-D numeric ``.npy`` array (1-D: one column), or a structured one by field."""
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r")
    except ValueError as exc:
        raise ValueError(f"{path}: not a readable .npy array of numbers ({exc}).") from None
    names = None
    if array.dtype.names is not None:
        from numpy.lib import recfunctions

        names = list(array.dtype.names)
        indices = _resolve(columns, names, len(names), path)
        chosen = [names[i] for i in indices]
        try:
            X = recfunctions.structured_to_unstructured(array[chosen], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: the chosen fields are not all numeric ({exc}).") from None
        return np.atleast_2d(X.reshape(len(array), -1)), chosen
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array (rows x features), got shape "
                         f"{array.shape}.")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{path}: expected numbers, got an array of dtype {array.dtype}.")
    indices = _resolve(columns, None, array.shape[1], path)
    if indices != list(range(array.shape[1])):
        array = array[:, indices]
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    return np.asarray(array), None


def read_parquet(path, columns=None, names_only=False):
    """Read numeric columns of a Parquet file (needs pyarrow); or only their names."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(
            "reading Parquet files needs pyarrow, an optional extra of gmmfast; install it "
            "with: pip install \"gmmfast[parquet]\" (or pip install pyarrow)."
        ) from None
    try:
        schema = pq.read_schema(path)
    except pa.ArrowException as exc:
        raise ValueError(f"{path}: not a readable Parquet file ({exc}).") from None
    names = list(schema.names)
    if names_only:
        return names
    chosen = [names[i] for i in _resolve(columns, names, len(names), path)]
    for name in chosen:
        kind = schema.field(name).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                or pa.types.is_decimal(kind) or pa.types.is_boolean(kind)):
            raise ValueError(
                f"{path}: column {name!r} is not numeric ({kind}); choose numeric columns "
                "with --columns."
            )
    table = pq.read_table(path, columns=chosen)
    if table.num_rows == 0:
        raise ValueError(f"{path}: the file has no data rows.")
    X = np.empty((table.num_rows, len(chosen)))
    for j, name in enumerate(chosen):
        column = table.column(name)
        if column.null_count:
            raise ValueError(
                f"{path}: column {name!r} has {column.null_count} missing values; remove or "
                "fill them first."
            )
        X[:, j] = column.cast(pa.float64()).to_numpy()
    return X, chosen


def read_table(path, columns=None, header=None, delimiter=None):
    """``(X, names)`` from a .csv/.tsv/.txt, .npy or .parquet file, by its suffix.

    Parameters
    ----------
    path : str or path-like
    columns : list of str or int, default=None
        The columns to keep, by name or 0-based index; all of them when None.
    header : bool, default=None
        CSV only: whether the first line names the columns; detected when None.
    delimiter : str, default=None
        CSV only: the field separator; a tab for .tsv/.tab, a comma otherwise.

    Returns
    -------
    X : ndarray of shape (n_rows, n_columns)
    names : list of str or None
    """
    kind = file_kind(path)
    if kind != "csv" and (header is not None or delimiter is not None):
        raise ValueError(f"{path}: --header, --no-header and --delimiter apply to text files "
                         "only.")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file.")
    if kind == "csv":
        return read_csv(path, columns, header, delimiter)
    if kind == "npy":
        return read_npy(path, columns)
    return read_parquet(path, columns)
