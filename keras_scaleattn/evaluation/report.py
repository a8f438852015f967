"""Result tables in Markdown and crash-safe writes of result files.

No table library: `tabulate` is not installed and `rich` (a Keras dependency)
renders for a terminal of a given width, not plain Markdown; a pipe table is
a few lines of string formatting.
"""

import json
import math
import numbers
import os
import secrets

import numpy as np


def format_markdown_table(
    rows, columns, row_header="model", float_format="{:.2f}", missing="-"
):
    """Formats results as a GitHub Markdown pipe table.

    Args:
        rows: mapping `row name -> {column: value}` (in display order) or a
            sequence of `(row name, {column: value})` pairs.
        columns: sequence of column names, in display order. A column a row
            lacks shows `missing`.
        row_header: str. Header of the first column. Defaults to `"model"`.
        float_format: str. `str.format` pattern for real numbers. Defaults
            to `"{:.2f}"`.
        missing: str. Text for absent, None or NaN values. Defaults to `"-"`.

    Returns:
        str: the table, one line per row, ending with a newline. Numeric
        columns are right-aligned.

    Example:

    >>> print(format_markdown_table(
    ...     {"single": {"mIoU": 51.91}, "attention": {"mIoU": 53.12}},
    ...     ["mIoU"]), end="")
    | model | mIoU |
    |---|---:|
    | single | 51.91 |
    | attention | 53.12 |
    """
    items = list(rows.items()) if hasattr(rows, "items") else list(rows)
    for item in items:
        if len(item) != 2 or not hasattr(item[1], "get"):
            raise ValueError(
                "`rows` must map row names to {column: value} dicts. "
                f"Received an entry: {item!r}"
            )
    columns = [str(c) for c in columns]

    def is_number(value):
        return isinstance(value, numbers.Real) and not isinstance(value, bool)

    def cell(value):
        if value is None or (is_number(value) and math.isnan(value)):
            return missing
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return str(int(value))
        if is_number(value):
            return float_format.format(float(value))
        # A pipe would end the cell; Markdown escapes it with a backslash.
        return str(value).replace("|", "\\|").replace("\n", " ")

    numeric = [
        any(is_number(values.get(c)) for _, values in items) for c in columns
    ]
    lines = [
        "| " + " | ".join([cell(row_header)] + [cell(c) for c in columns]) + " |",
        "|---|" + "".join("---:|" if n else "---|" for n in numeric),
    ]
    for name, values in items:
        cells = [cell(name)] + [cell(values.get(c)) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def size_table_row(miou, size_result, percent=True):
    """Builds one table row `{"mIoU", "small", "medium", "large"}`.

    Args:
        miou: float. The model's overall mIoU (a fraction in [0, 1]).
        size_result: the dict returned by `ObjectSizeMIoU.result()`.
        percent: bool. Scale fractions to percent, as the paper reports.
            Defaults to True.

    Returns:
        dict column -> float, for `format_markdown_table`.

    Example:

    >>> size_table_row(0.5, {"small": {"miou": 0.25}, "medium": {"miou": 0.5},
    ...                      "large": {"miou": 0.75}})
    {'mIoU': 50.0, 'small': 25.0, 'medium': 50.0, 'large': 75.0}
    """
    factor = 100.0 if percent else 1.0
    row = {"mIoU": float(miou) * factor}
    for bucket in ("small", "medium", "large"):
        if bucket not in size_result:
            raise ValueError(
                "`size_result` must be the result of ObjectSizeMIoU, with "
                "small, medium and large buckets. Received keys: "
                f"{sorted(size_result)}"
            )
        row[bucket] = float(size_result[bucket]["miou"]) * factor
    return row


def write_bytes_atomic(path, data):
    """Writes `data` so that `path` holds either the old or the new content.

    The bytes go to a temporary file in the same directory (same file
    system, so the rename is atomic), are flushed and fsynced, and the file
    is renamed over `path` with `os.replace`. A crash or an exception leaves
    any earlier file intact and removes the temporary file.

    Args:
        path: str or os.PathLike. Destination; its directory must exist.
        data: bytes.

    Returns:
        str: `path`.

    Example:

    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "x.bin")
    >>> write_bytes_atomic(out, b"abc") == out
    True
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = _create_temp_file(directory, os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)
        raise
    fsync_directory(directory)
    return path


def write_text_atomic(path, text, encoding="utf-8"):
    """Writes a str atomically (see `write_bytes_atomic`).

    Args:
        path: str or os.PathLike. Destination.
        text: str.
        encoding: str. Defaults to `"utf-8"`.

    Returns:
        str: `path`.

    Example:

    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "table.md")
    >>> _ = write_text_atomic(out, "| a |\\n")
    """
    if not isinstance(text, str):
        raise ValueError(
            f"`text` must be a str. Received: text of type {type(text).__name__}"
        )
    return write_bytes_atomic(path, text.encode(encoding))


def write_json_atomic(path, obj, indent=2):
    """Writes `obj` as JSON atomically (see `write_bytes_atomic`).

    NumPy scalars and arrays become numbers and lists, NaN and infinities
    become `null` (strict JSON has no NaN; an mIoU of a class with no pixels
    is NaN), tuples become lists. Keys must be str, int, float or bool (they
    become strings, as in `json.dumps`).

    Args:
        path: str or os.PathLike. Destination.
        obj: JSON-like object (dicts, lists, numbers, str, NumPy values).
        indent: int or None. Defaults to 2.

    Returns:
        str: `path`.

    Example:

    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "result.json")
    >>> _ = write_json_atomic(out, {"miou": np.float32(0.5), "bus": float("nan")})
    >>> open(out).read().split()
    ['{', '"miou":', '0.5,', '"bus":', 'null', '}']
    """
    # Serialise first: an object JSON cannot hold fails before any file is touched.
    text = json.dumps(_to_json(obj), indent=indent, allow_nan=False)
    return write_text_atomic(path, text + "\n")


def _to_json(value):
    """Converts NumPy values and non-finite floats to strict-JSON types."""
    if isinstance(value, dict):
        return {_to_json_key(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return _to_json(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _to_json_key(key):
    if isinstance(key, np.generic):
        key = key.item()
    if isinstance(key, float) and not math.isfinite(key):
        raise ValueError(f"JSON keys must be finite. Received key: {key}")
    return key


def _create_temp_file(directory, basename):
    """Opens a new hidden file next to the destination.

    Not `tempfile.mkstemp`: it creates files with mode 0600, so results would
    end up unreadable by others. `os.open(..., 0o666)` lets the umask decide,
    as a plain `open()` would.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp_path = os.path.join(
            directory, f".{basename}.{secrets.token_hex(6)}.tmp"
        )
        try:
            return os.open(tmp_path, flags, 0o666), tmp_path
        except FileExistsError:
            continue


def fsync_directory(directory):
    """Makes the rename itself durable (POSIX); a no-op where unsupported."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
