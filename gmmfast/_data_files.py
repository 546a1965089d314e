"""Numeric tables from files: CSV/TSV text, NumPy ``.npy`` and Parquet (with pyarrow).

What the command line reads. Every reader returns ``(X, names)``: a 2-D float array of the
chosen columns and their names (None where the file has none).
"""

import os
import warnings

import numpy as np

CSV_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
# Bytes of text pyarrow's streaming reader parses at a time. It reads a few tens of blocks
# ahead, so that this bounds the memory of reading a text file piece by piece (about 3 MB)
# while it parses about as fast as with larger blocks.
STREAM_BLOCK_BYTES = 1 << 16
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


def _pyarrow_csv():
    """pyarrow's CSV module, or None when pyarrow is not installed."""
    try:
        import pyarrow.csv
    except ImportError:
        return None
    return pyarrow.csv


def csv_reader():
    """The reader of text files: 'pyarrow' (multi-threaded, streaming) when pyarrow is
    installed, else 'numpy' (``np.loadtxt``)."""
    return "numpy" if _pyarrow_csv() is None else "pyarrow"


class _CsvLayout:
    """What the first line of a text file says: the delimiter, whether it is a header, the
    column names (None without a header), the number of fields and the chosen columns."""

    def __init__(self, path, columns, header, delimiter):
        self.delimiter, fields, self.header = _csv_first_line(path, header, delimiter)
        self.names = fields if self.header else None
        self.n_fields = len(fields)
        self.indices = _resolve(columns, self.names, self.n_fields, path)
        self.chosen = None if self.names is None else [self.names[i] for i in self.indices]
        self.hint = "" if columns is not None else " Choose numeric columns with --columns."


def _float_or_nan(text):
    """A field as NumPy's reader reads it, an empty field as NaN (a missing value)."""
    return float(text) if text.strip() else np.nan


def _loadtxt(source, layout, skiprows):
    """``np.loadtxt`` of the chosen columns; a second reading with empty fields as NaN
    when the file has some (the per-field conversion is slower, so only when needed)."""
    options = dict(
        delimiter=layout.delimiter, skiprows=skiprows, usecols=layout.indices,
        dtype=np.float64, ndmin=2, quotechar='"', encoding="utf-8-sig",
    )
    with warnings.catch_warnings():
        # A file of no rows gets its own error.
        warnings.filterwarnings("ignore", message="loadtxt: input contained no data")
        try:
            return np.loadtxt(source, **options)
        except ValueError as exc:
            if "could not convert string ''" not in str(exc):
                raise
        return np.loadtxt(source, converters=_float_or_nan, **options)


def _read_csv_numpy(path, layout):
    try:
        return _loadtxt(path, layout, 1 if layout.header else 0)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}{layout.hint}") from None


def _arrow_options(layout, block_size=None):
    """pyarrow's options for the chosen columns as float64: the first line skipped when it
    is a header (the names are ours), empty fields (and nan) as NaN, other text refused."""
    import pyarrow as pa

    pyarrow_csv = _pyarrow_csv()
    names = [f"f{i}" for i in range(layout.n_fields)]
    chosen = [names[i] for i in layout.indices]
    read = dict(column_names=names, skip_rows=1 if layout.header else 0)
    if block_size is not None:
        read["block_size"] = block_size
    return dict(
        read_options=pyarrow_csv.ReadOptions(**read),
        parse_options=pyarrow_csv.ParseOptions(delimiter=layout.delimiter, quote_char='"'),
        convert_options=pyarrow_csv.ConvertOptions(
            include_columns=chosen, column_types=dict.fromkeys(chosen, pa.float64()),
            null_values=[""], quoted_strings_can_be_null=True,
        ),
    )


def _arrow_to_array(table):
    """A table or record batch of float64 columns as a C-ordered (rows, columns) array, the
    nulls (empty fields) as NaN."""
    X = np.empty((table.num_rows, table.num_columns))
    start = 0
    # Batch by batch, so that the rows written at a time stay in the cache.
    for batch in table.to_batches() if hasattr(table, "to_batches") else [table]:
        block = X[start:start + batch.num_rows]
        for j, column in enumerate(batch.columns):
            block[:, j] = column.to_numpy(zero_copy_only=False)
        start += batch.num_rows
    return X


def _arrow_error(path, exc, layout):
    """pyarrow's error as one line that names the file and the column."""
    message = " ".join(str(exc).split())
    names = layout.names
    for i in range(layout.n_fields):
        # pyarrow counts the included columns; say which column of the file it is.
        tag = f"In CSV column #{layout.indices.index(i)}: " if i in layout.indices else None
        if tag and message.startswith(tag):
            label = f"column {i}" + ("" if names is None else f" ({names[i]!r})")
            message = f"{label}: " + message[len(tag):]
            break
    message = message.replace("CSV conversion error to double: invalid value",
                              "could not convert to a number:")
    return ValueError(f"{path}: {message}.{layout.hint}")


def read_csv(path, columns=None, header=None, delimiter=None):
    """Read a delimited text file of numbers.

    ``header`` None detects a header row: the first line is one when a field of it is not a
    number. ``delimiter`` None is a tab for ``.tsv``/``.tab`` files and a comma otherwise.
    Empty fields (and ``nan``) are read as NaN. pyarrow's reader reads the file when it is
    installed; a file it cannot read (comment lines, ...) is read by NumPy's, whose
    errors say where the file went wrong.
    """
    layout = _CsvLayout(path, columns, header, delimiter)
    pyarrow_csv = _pyarrow_csv()
    X = None
    if pyarrow_csv is not None:
        try:
            X = _arrow_to_array(pyarrow_csv.read_csv(path, **_arrow_options(layout)))
        except ValueError:  # pyarrow's ArrowInvalid is one
            X = None
    if X is None:
        X = _read_csv_numpy(path, layout)
    if X.shape[0] == 0:
        raise ValueError(f"{path}: the file has no data rows.")
    return X, layout.chosen



def _numeric_table(array, path):
    """A plain (not structured) .npy array as rows x features: a vector is one feature;
    anything else but a 2-D array of numbers is an error naming the file."""
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array (rows x features), got shape "
                         f"{array.shape}.")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{path}: expected numbers, got an array of dtype {array.dtype}.")
    return array

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
    array = _numeric_table(array, path)
    indices = _resolve(columns, None, array.shape[1], path)
    if indices != list(range(array.shape[1])):
        array = array[:, indices]
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    return np.asarray(array), None


def _parquet():
    """pyarrow.parquet, or an ImportError that names the extra."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(
            "reading Parquet files needs pyarrow, an optional extra of gmmfast; install it "
            "with: pip install \"gmmfast[parquet]\" (or pip install pyarrow)."
        ) from None
    return pq


def _check_no_nulls(path, name, column):
    if column.null_count:
        raise ValueError(
            f"{path}: column {name!r} has {column.null_count} missing values; remove or "
            "fill them first."
        )


def read_parquet(path, columns=None, names_only=False, chosen_only=False):
    """Read numeric columns of a Parquet file (needs pyarrow); or only the names of its
    columns (``names_only``), or of the chosen ones, checked numeric (``chosen_only``)."""
    pq = _parquet()
    import pyarrow as pa

    try:
        schema = pq.read_schema(path)
    except pa.ArrowException as exc:
        raise ValueError(f"{path}: not a readable Parquet file ({exc}).") from None
    names = list(schema.names)
    if names_only and not chosen_only:
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
    if chosen_only:
        return chosen
    table = pq.read_table(path, columns=chosen)
    if table.num_rows == 0:
        raise ValueError(f"{path}: the file has no data rows.")
    X = np.empty((table.num_rows, len(chosen)))
    for j, name in enumerate(chosen):
        column = table.column(name)
        _check_no_nulls(path, name, column)
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
    kind = _checked_kind(path, header, delimiter)
    if kind == "csv":
        return read_csv(path, columns, header, delimiter)
    if kind == "npy":
        return read_npy(path, columns)
    return read_parquet(path, columns)


def _checked_kind(path, header, delimiter):
    kind = file_kind(path)
    if kind != "csv" and (header is not None or delimiter is not None):
        raise ValueError(f"{path}: --header, --no-header and --delimiter apply to text files "
                         "only.")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file.")
    return kind


###############################################################################
# Reading a file piece by piece


class TableStream:
    """The chosen columns of a data file, read a piece at a time and never whole: what a
    mini-batch fit of a file larger than memory reads.

    Each call of :meth:`pieces` is one pass over every row. A ``.npy`` file (a memory map)
    is read in blocks of consecutive rows visited in a random order; a text file
    (pyarrow's streaming reader, or NumPy's on a number of lines at a time) and a Parquet
    file (its row groups in a random order) in the order of their rows.

    Parameters
    ----------
    path : str or path-like
    columns, header, delimiter
        As for :func:`read_table`.

    Attributes
    ----------
    names : list of str or None
        The names of the chosen columns.
    n_features : int
    n_rows : int or None
        The number of rows; for a text file, None until a pass has counted them.
    dtype : numpy.dtype
        float32 for a float32 ``.npy`` array, float64 otherwise.
    """

    def __init__(self, path, columns=None, header=None, delimiter=None):
        self.path = path
        self.kind = _checked_kind(path, header, delimiter)
        self.dtype = np.dtype(np.float64)
        self.n_rows = None
        if self.kind == "csv":
            self._layout = _CsvLayout(path, columns, header, delimiter)
            self.names = self._layout.chosen
            self.n_features = len(self._layout.indices)
        elif self.kind == "npy":
            self._open_npy(columns)
        else:
            self._open_parquet(columns)
        if self.n_rows == 0:
            raise ValueError(f"{path}: the file has no data rows.")

    def _open_npy(self, columns):
        path = self.path
        try:
            array = np.load(path, allow_pickle=False, mmap_mode="r")
        except ValueError as exc:
            raise ValueError(f"{path}: not a readable .npy array of numbers ({exc}).") from None
        self.names = None
        if array.dtype.names is not None:
            names = list(array.dtype.names)
            self.names = [names[i] for i in _resolve(columns, names, len(names), path)]
            for name in self.names:
                if array.dtype[name].kind not in "biuf" or array.dtype[name].shape:
                    raise ValueError(f"{path}: field {name!r} is not a number "
                                     f"({array.dtype[name]}).")
            self._indices = None
            self.n_features = len(self.names)
        else:
            array = _numeric_table(array, path)
            indices = _resolve(columns, None, array.shape[1], path)
            self._indices = None if indices == list(range(array.shape[1])) else indices
            self.n_features = len(indices)
            if array.dtype.kind == "f":
                self.dtype = array.dtype
        self._array = array
        self.n_rows = len(array)

    def _open_parquet(self, columns):
        pq = _parquet()
        path = self.path
        self.names = read_parquet(path, columns, names_only=True, chosen_only=True)
        self._parquet_file = pq.ParquetFile(path)
        self.n_rows = self._parquet_file.metadata.num_rows
        self.n_features = len(self.names)

    def pieces(self, piece_rows, random_state):
        """One pass over the rows: 2-D arrays of ``dtype``, about ``piece_rows`` rows each
        (a text file: as many as its reader gives at a time)."""
        if self.kind == "npy":
            return self._npy_pieces(piece_rows, random_state)
        if self.kind == "parquet":
            return self._parquet_pieces(piece_rows, random_state)
        if _pyarrow_csv() is not None:
            return self._counted(self._arrow_pieces())
        return self._counted(self._numpy_pieces(piece_rows))

    def _npy_pieces(self, piece_rows, random_state):
        array = self._array
        n_blocks = -(-len(array) // piece_rows)
        for block in random_state.permutation(n_blocks):
            piece = array[block * piece_rows:(block + 1) * piece_rows]
            if array.dtype.names is not None:
                from numpy.lib import recfunctions

                piece = recfunctions.structured_to_unstructured(
                    piece[self.names], dtype=np.float64
                ).reshape(len(piece), -1)
            elif self._indices is not None:
                piece = piece[:, self._indices]
            yield np.asarray(piece, dtype=self.dtype)

    def _parquet_pieces(self, piece_rows, random_state):
        import pyarrow as pa

        file = self._parquet_file
        order = list(random_state.permutation(file.num_row_groups))
        for batch in file.iter_batches(batch_size=piece_rows, row_groups=order,
                                       columns=self.names):
            for name, column in zip(self.names, batch.columns):
                _check_no_nulls(self.path, name, column)
            yield _arrow_to_array(pa.table(
                [c.cast(pa.float64()) for c in batch.columns], names=self.names))

    def _arrow_pieces(self):
        layout = self._layout
        options = _arrow_options(layout, block_size=STREAM_BLOCK_BYTES)
        try:
            # Opening reads the first block.
            reader = _pyarrow_csv().open_csv(self.path, **options)
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                yield _arrow_to_array(batch)
        except ValueError as exc:  # pyarrow's ArrowInvalid is one
            raise _arrow_error(self.path, exc, layout) from None

    def _numpy_pieces(self, piece_rows):
        import itertools

        layout = self._layout
        with open(self.path, encoding="utf-8-sig") as file:
            if layout.header:
                file.readline()
            line = 1 + layout.header
            while True:
                lines = list(itertools.islice(file, piece_rows))
                if not lines:
                    return
                try:
                    yield _loadtxt(lines, layout, 0)
                except ValueError as exc:
                    raise ValueError(
                        f"{self.path}: {exc} (in the lines {line}-{line + len(lines) - 1} "
                        f"of the file){layout.hint}"
                    ) from None
                line += len(lines)

    def _counted(self, pieces):
        """The pieces of a text file; the rows counted once a pass has read them all."""
        n_rows = 0
        for piece in pieces:
            n_rows += len(piece)
            yield piece
        if n_rows == 0:
            raise ValueError(f"{self.path}: the file has no data rows.")
        self.n_rows = n_rows
