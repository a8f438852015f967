"""Crash-safe writes of export artifacts: a file or a whole directory.

Every artifact is written under a hidden temporary name in the destination's
own directory (same file system, so the final rename is atomic) and renamed
into place only once it is complete. A converter that raises half-way, a
full disk or a Ctrl-C leaves the destination as it was (absent, or the
previous artifact) and removes the temporary file or directory.
"""

import contextlib
import os
import secrets
import shutil

from keras_scaleattn.evaluation.report import fsync_directory
from keras_scaleattn.evaluation.report import write_bytes_atomic


def _temp_name(path, kind):
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(os.path.normpath(path))
    return os.path.join(directory, f".{base}.{secrets.token_hex(6)}.{kind}")


def _check_parent(path):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(
            "The directory of `path` must exist. "
            f"Received: path={os.fspath(path)!r}"
        )
    return directory


@contextlib.contextmanager
def atomic_file(path, suffix="tmp"):
    """Yields a temporary path to write; renames it to `path` on success.

    Args:
        path: str or os.PathLike. The destination file; its directory must
            exist. An existing file is replaced only on success.
        suffix: str. Ending of the temporary name, for writers that check
            the extension (`model.save` needs `"tmp.keras"`). Defaults to
            `"tmp"`.

    Yields:
        str: a hidden temporary path next to `path`, which the body must
        create (any writer that takes a path: `onnx.save`, `open`).

    Raises:
        ValueError: if the directory of `path` does not exist, or if the
            body finished without creating the temporary file.

    Example:

    >>> import tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "model.onnx")
    >>> with atomic_file(out) as tmp:
    ...     with open(tmp, "wb") as f:
    ...         _ = f.write(b"bytes")
    >>> open(out, "rb").read()
    b'bytes'
    """
    path = os.fspath(path)
    directory = _check_parent(path)
    tmp = _temp_name(path, suffix)
    try:
        yield tmp
        if not os.path.isfile(tmp):
            raise ValueError(
                f"The export wrote nothing to the temporary file for {path!r}."
            )
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    fsync_directory(directory)


def write_file_atomic(path, data):
    """Writes bytes to `path` atomically (`evaluation.report.write_bytes_atomic`).

    Args:
        path: str or os.PathLike. Destination; its directory must exist.
        data: bytes.

    Returns:
        str: `path`.

    Example:

    >>> import tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "model.tflite")
    >>> write_file_atomic(out, b"TFL3") == out
    True
    """
    _check_parent(path)
    return write_bytes_atomic(os.fspath(path), data)


@contextlib.contextmanager
def atomic_directory(path):
    """Yields an empty temporary directory; renames it to `path` on success.

    A directory cannot be renamed over a non-empty one, so an existing
    `path` is first renamed aside, the new directory renamed into place and
    the old one deleted: `path` is never a half-written directory (a crash
    between the two renames leaves the old artifact under its hidden
    `.<name>.<hex>.old` name instead).

    Args:
        path: str or os.PathLike. The destination directory; its parent must
            exist.

    Yields:
        str: a new, empty, hidden directory next to `path`.

    Raises:
        ValueError: if the parent of `path` does not exist.

    Example:

    >>> import tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "saved_model")
    >>> with atomic_directory(out) as tmp:
    ...     open(os.path.join(tmp, "saved_model.pb"), "wb").close()
    >>> os.listdir(out)
    ['saved_model.pb']
    """
    path = os.fspath(path)
    directory = _check_parent(path)
    tmp = _temp_name(path, "tmpdir")
    os.mkdir(tmp)
    try:
        yield tmp
        if os.path.lexists(path):
            old = _temp_name(path, "old")
            os.rename(path, old)
            os.rename(tmp, path)
            if os.path.isdir(old) and not os.path.islink(old):
                shutil.rmtree(old)
            else:
                os.unlink(old)
        else:
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_directory(directory)
