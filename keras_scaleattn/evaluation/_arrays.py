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


def valid_class_pixels(label, ignore_label, num_classes, scores_name):
    """The pixels of `label` that count; raises for class ids out of range.

    Args:
        label: int array of class ids.
        ignore_label: int or None. Pixels with this label do not count.
        num_classes: int. Class ids must be in `[0, num_classes)`.
        scores_name: str. The argument whose last axis gives `num_classes`,
            named in the error.

    Returns:
        bool array of `label`'s shape: True where the label is not ignored.
    """
    valid = (label != ignore_label if ignore_label is not None
             else np.ones(label.shape, bool))
    out_of_range = valid & ((label < 0) | (label >= num_classes))
    if out_of_range.any():
        raise ValueError(
            f"`label` values must be in [0, {num_classes}) (the number of "
            f"classes of `{scores_name}`) or {ignore_label}. Received: "
            f"{describe_values(label[out_of_range])}"
        )
    return valid


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
