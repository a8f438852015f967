"""What the command-line scripts in training/ and deploy/ share."""

import os
import re
import sys

# A `tf.debugging.Assert` message: "assertion failed: [piece] [piece] ...".
_ASSERTION = re.compile(r"assertion failed: (\[.*\])")
# A Python error raised inside a `tf.py_function` / `tf.numpy_function`.
_PY_ERROR = re.compile(r"\b(ValueError|FileNotFoundError): (.+)")


class RunFailedError(RuntimeError):
    """A run failed in a way the user can act on, not from bad input.

    E.g. training diverged. `run_script` prints the message as one line and
    exits 1 (2 is for bad input).
    """


def check_output_file(path, flag):
    """Raises unless `path` names a file a script can write at the end.

    Checked before the work (an export, a benchmark, an engine build), so
    that a misspelt folder is an error at once, not after minutes.

    Args:
        path: str. The output path the user gave.
        flag: str. The flag that gave it (e.g. `"--json"`).

    Raises:
        ValueError: if `path` is a directory or its directory does not
            exist; the message names `flag` and `path`.

    Example:

    >>> check_output_file("results.json", "--json")
    >>> try:
    ...     check_output_file("no/such/folder/r.json", "--json")
    ... except ValueError as error:
    ...     print(error)
    `--json` must be a file in an existing directory. Received: --json='no/such/folder/r.json'
    """
    if os.path.isdir(path) or not os.path.isdir(
            os.path.dirname(os.path.abspath(path))):
        raise ValueError(f"`{flag}` must be a file in an existing directory. "
                         f"Received: {flag}={path!r}")


def check_num_threads_flag(num_threads, flag="--num-threads"):
    """Raises unless a `--num-threads` flag is left out or a positive int.

    The library's `check_num_threads` tells a Python caller to pass None
    for LiteRT's default; at the command line that means leaving the flag
    out, which this says instead.

    Args:
        num_threads: int or None. The parsed flag (None if left out).
        flag: str. The flag as the user typed it.

    Raises:
        ValueError: if `num_threads` is below 1; the message names `flag`.

    Example:

    >>> check_num_threads_flag(None), check_num_threads_flag(2)
    (None, None)
    >>> try:
    ...     check_num_threads_flag(0)
    ... except ValueError as error:
    ...     print(error)
    `--num-threads` must be a positive int (leave the flag out for LiteRT's default). Received: --num-threads=0
    """
    if num_threads is not None and num_threads < 1:
        raise ValueError(
            f"`{flag}` must be a positive int (leave the flag out for "
            f"LiteRT's default). Received: {flag}={num_threads!r}")


# `SegmentationRuntime`'s fit arguments -> the flags `add_fit_arguments`
# adds (its `argument_names`, so that errors name the flags).
FIT_FLAGS = {"fit": "--fit", "max_size": "--max-size",
             "tile_overlap": "--tile-overlap", "tile_blend": "--tile-blend",
             "tile_batch_size": "--tile-batch-size"}


def add_fit_arguments(parser, default_fit, fit_help):
    """Adds `--fit`, `--max-size` and the `--tile-*` flags.

    The flags of `SegmentationRuntime`'s `fit`, `max_size`, `tile_overlap`,
    `tile_blend` and `tile_batch_size`, with its choices and defaults
    (`deploy/predict.py`, `training/evaluate.py`).

    Args:
        parser: `argparse.ArgumentParser`.
        default_fit: str or None. The default of `--fit`.
        fit_help: str. `--fit`'s help (what the default means there).
    """
    from keras_scaleattn.export.segmentation_runtime import FITS
    from keras_scaleattn.export.tiling import BLENDS
    from keras_scaleattn.export.tiling import DEFAULT_OVERLAP
    from keras_scaleattn.export.tiling import DEFAULT_TILE_BATCH_SIZE

    parser.add_argument("--fit", choices=FITS, default=default_fit,
                        help=fit_help)
    parser.add_argument("--max-size", type=int, default=None,
                        help="with --fit letterbox, also shrink images "
                             "larger than this (pixels, each side); with "
                             "--fit tile, the window size")
    parser.add_argument("--tile-overlap", type=float, default=DEFAULT_OVERLAP,
                        help="with --fit tile, the fraction of a window its "
                             "neighbour also covers, in [0, 1) "
                             "(default: 1/3)")
    parser.add_argument("--tile-blend", choices=BLENDS, default=BLENDS[0],
                        help="with --fit tile, weight overlapping windows by "
                             "a Gaussian on each (default) or evenly (mean)")
    parser.add_argument("--tile-batch-size", type=int,
                        default=DEFAULT_TILE_BATCH_SIZE,
                        help="with --fit tile, windows of each image per "
                             "model call: faster on a GPU, at that many "
                             "times the memory (default: "
                             f"{DEFAULT_TILE_BATCH_SIZE})")


def data_error_message(error):
    """The user's message inside a TensorFlow error from the data pipeline.

    The pipeline checks each image and mask inside the `tf.data` graph
    (`tf.debugging.Assert` with the file names, or a `ValueError` raised by
    the Python decoder), so a bad file reaches the script as a TensorFlow
    `InvalidArgumentError` whose message buries that line under the
    iterator's description and op names.

    Args:
        error: an exception.

    Returns:
        str, the check's own message (e.g. "Label values must be in [0, 3)
        ... in image a.jpg, mask a.png"), or None when `error` is not a
        TensorFlow error carrying a data check (a bug, to be shown whole).
    """
    if not type(error).__module__.startswith("tensorflow"):
        return None
    message = getattr(error, "message", None) or str(error)
    match = _ASSERTION.search(message)
    if match:
        # "[a] [b] [c]" -> "a b c"; the pieces are the Assert's data list.
        # TensorFlow prints a string tensor with its quotes escaped.
        pieces = match.group(1)[1:-1].replace("\\'", "'").split("] [")
        return " ".join(pieces).replace(" ;", ";")
    match = _PY_ERROR.search(message)
    if match:
        return match.group(2).strip()
    return None


def run_script(main, argv=None):
    """Runs a script's `main`; a user error exits 2 with one line, no traceback.

    The package raises `FileNotFoundError` and `ValueError` with messages
    naming the argument, file and value; a person at a terminal needs those
    lines, not the stack under them. The same holds for the operating
    system's errors on the user's paths (`OSError`: permission denied, a
    file where a folder was expected) and for a bad image or mask found by
    the data pipeline's checks during training or evaluation (see
    `data_error_message`).

    Args:
        main: callable `argv -> exit status`.
        argv: list of str or None (`sys.argv[1:]`).

    Returns:
        int, the exit status: `main`'s, 2 after a user error, 1 after a
        `RunFailedError`.
    """
    try:
        return main(argv)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RunFailedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        message = data_error_message(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
