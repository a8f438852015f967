"""Private array checks shared by the evaluation metrics."""

import numpy as np


def as_class_array(x, name):
    """Returns `x` as an int64 array of class ids.

    Integer arrays pass through; float arrays are accepted only when every
    value is a whole number (label maps are often decoded as float32).

    Args:
        x: array-like of class ids (NumPy array, list, or eager tensor).
        name: str. The argument's name, used in error messages.

    Returns:
        An int64 NumPy array with the shape of `x`.
    """
    array = np.asarray(x)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise ValueError(
                f"`{name}` must hold whole-number class ids. Received a "
                f"{array.dtype} array with non-integer or non-finite values."
            )
        return array.astype(np.int64)
    raise ValueError(
        f"`{name}` must be an integer array of class ids. "
        f"Received: {name}.dtype={array.dtype}"
    )


def describe_values(values, limit=10):
    """Formats up to `limit` distinct values for an error message."""
    values = np.unique(values)
    shown = ", ".join(str(v) for v in values[:limit].tolist())
    if values.size > limit:
        shown += f", ... ({values.size} distinct values)"
    return f"[{shown}]"


def check_thresholds(thresholds):
    """Validates a (small/medium, medium/large) pair of pixel-area bounds."""
    try:
        t0, t1 = (float(t) for t in thresholds)
    except (TypeError, ValueError):
        raise ValueError(
            "`thresholds` must be two numbers (small/medium and medium/large "
            f"area bounds in pixels). Received: thresholds={thresholds}"
        ) from None
    if not (0 < t0 < t1) or not np.isfinite(t1):
        raise ValueError(
            "`thresholds` must be two finite, positive, increasing areas. "
            f"Received: thresholds={thresholds}"
        )
    return (t0, t1)
