"""Run-time checks of `(image, label)` examples with errors that name the file.

tf.data decodes lazily, so a bad file only shows up while iterating. The
checks here are graph ops (`tf.debugging.Assert`) that carry a `name` tensor
(a file path, a tfds id, or an example index) into the error message, so a
user reads *which* file has a mask of the wrong size or an unexpected class id
instead of a bare shape error from a later batch or loss.
"""

import numbers

import tensorflow as tf

from keras_scaleattn.data.constants import IGNORE_LABEL


def check_int(value, arg_name, *, minimum=None, allow_none=False):
    """Checks an int argument and returns it as a Python int (or None).

    Bools are refused (`True` is an `int` to Python, never a count here), and
    NumPy integers are accepted.

    Args:
        value: the argument's value.
        arg_name: str. The argument's name, for the error message.
        minimum: int or None. The smallest value allowed; None for any int.
            Defaults to None.
        allow_none: bool. Whether None is allowed (and returned as is).
            Defaults to False.

    Returns:
        `value` as an int, or None.

    Raises:
        ValueError: naming `arg_name`, the value received and what is
            allowed, if `value` is not such an int.

    Example:

    >>> check_int(8, "batch_size", minimum=1)
    8
    >>> check_int(0, "batch_size", minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: `batch_size` must be a positive int. Received: batch_size=0
    """
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or (minimum is not None and value < minimum)
    ):
        if minimum == 1:
            allowed = "a positive int"
        elif minimum is not None:
            allowed = f"an int >= {minimum}"
        else:
            allowed = "an int"
        if allow_none:
            allowed += " or None"
        raise ValueError(
            f"`{arg_name}` must be {allowed}. Received: {arg_name}={value!r}"
        )
    return int(value)


def check_num_classes(num_classes):
    """Checks a `num_classes` argument and returns it as an int (or None).

    Args:
        num_classes: int in [1, 255] or None. 255 itself is the ignore label,
            so at most 255 classes (ids 0..254) can be stored in uint8 masks.

    Returns:
        `num_classes` as an int, or None.

    Raises:
        ValueError: if `num_classes` is not an int in [1, 255].

    Example:

    >>> check_num_classes(21)
    21
    """
    if num_classes is None:
        return None
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise ValueError(
            "`num_classes` must be an int in [1, 255] or None. "
            f"Received: num_classes={num_classes!r}"
        )
    if not 1 <= num_classes <= IGNORE_LABEL:
        raise ValueError(
            "`num_classes` must be an int in [1, 255] (255 is the ignore "
            f"label). Received: num_classes={num_classes}"
        )
    return num_classes


def check_example(image, label, *, name, num_classes=None):
    """Checks one example's shapes and (optionally) its class ids.

    Checks, in this order: `image` is `[H, W, 3]`; `label` is `[H, W]` with the
    image's H and W; if `num_classes` is given, every label value is in
    `[0, num_classes)` or is 255 (ignore). A failing check raises
    `tf.errors.InvalidArgumentError` when the example is computed, with a
    message naming `name` and the offending sizes or value range.

    Args:
        image: tensor `[H, W, C]`.
        label: integer tensor `[H, W]`.
        name: str or scalar string tensor. What to name in errors: a file
            path, a tfds id, an example index.
        num_classes: int or None. Number of classes; None skips the value
            check. Defaults to None.

    Returns:
        `(image, label)`, unchanged, with the checks as control dependencies.

    Raises:
        ValueError: if `num_classes` is not an int in [1, 255].
        tf.errors.InvalidArgumentError: at run time, on a failed check.

    Example:

    >>> image = tf.zeros([4, 5, 3], tf.uint8)
    >>> label = tf.zeros([4, 5], tf.uint8)
    >>> image, label = check_example(image, label, name="a.png", num_classes=2)
    >>> label.shape
    TensorShape([4, 5])
    """
    num_classes = check_num_classes(num_classes)
    image = tf.convert_to_tensor(image)
    label = tf.convert_to_tensor(label)
    name = tf.convert_to_tensor(name, dtype=tf.string)

    image_shape = tf.shape(image)
    label_shape = tf.shape(label)
    rank_ok = tf.logical_and(
        tf.equal(tf.rank(image), 3), tf.equal(tf.rank(label), 2)
    )
    channels_ok = tf.logical_and(rank_ok, tf.equal(image_shape[-1], 3))
    # Each check depends on the previous one, so that a [H, W, 1] mask is
    # reported as a wrong shape, not as a size mismatch or bad class ids.
    shape_check = tf.debugging.Assert(
        channels_ok,
        [
            "Expected an RGB image [H, W, 3] and a mask [H, W] in",
            name,
            "; got image shape",
            image_shape,
            "and mask shape",
            label_shape,
        ],
        summarize=8,
    )
    with tf.control_dependencies([shape_check]):
        size_ok = tf.reduce_all(tf.equal(image_shape[:2], label_shape[:2]))
        size_check = tf.debugging.Assert(
            size_ok,
            [
                "Mask size differs from image size in",
                name,
                "; image HxW:",
                image_shape[:2],
                "mask HxW:",
                label_shape,
            ],
            summarize=8,
        )
    checks = [size_check]
    if num_classes is not None:
        with tf.control_dependencies([size_check]):
            values = tf.cast(label, tf.int32)
            bad = tf.logical_and(
                tf.logical_or(values < 0, values >= num_classes),
                tf.not_equal(values, IGNORE_LABEL),
            )
            int_max = tf.int32.max
            bad_min = tf.reduce_min(tf.where(bad, values, int_max))
            bad_max = tf.reduce_max(tf.where(bad, values, -int_max))
            value_check = tf.debugging.Assert(
                tf.logical_not(tf.reduce_any(bad)),
                [
                    f"Label values must be in [0, {num_classes}) or "
                    f"{IGNORE_LABEL} (ignore) for num_classes={num_classes}; "
                    "found values in [min, max] =",
                    tf.stack([bad_min, bad_max]),
                    "in",
                    name,
                ],
                summarize=8,
            )
        checks.append(value_check)
    with tf.control_dependencies(checks):
        return tf.identity(image), tf.identity(label)


def validate_labels(source, num_classes):
    """Adds shape and class-id checks to every example of a source dataset.

    For sources that are not file-backed (a file-backed loader's own
    `num_classes=` argument names the file instead). Errors name the example
    by its position in `source`.

    Args:
        source: `tf.data.Dataset` of `(image [H, W, 3], label [H, W])`.
        num_classes: int in [1, 255]. Valid ids are `0..num_classes-1` and
            255 (ignore).

    Returns:
        The same examples, checked when they are produced.

    Raises:
        ValueError: if `num_classes` is not an int in [1, 255].
        tf.errors.InvalidArgumentError: while iterating, for an example with
            a label id outside `[0, num_classes)` other than 255, or a mask
            whose size differs from its image.

    Example:

    >>> ds = tf.data.Dataset.from_tensors(
    ...     (tf.zeros([2, 2, 3], tf.uint8), tf.fill([2, 2], tf.constant(7, tf.uint8))))
    >>> ds = validate_labels(ds, num_classes=5)
    >>> try:
    ...     next(iter(ds))
    ... except tf.errors.InvalidArgumentError as e:
    ...     print("found values in [min, max]" in e.message)
    True
    """
    num_classes = check_num_classes(num_classes)
    if num_classes is None:
        raise ValueError(
            "`num_classes` must be an int in [1, 255]. "
            "Received: num_classes=None"
        )

    def check(index, example):
        image, label = example
        name = tf.strings.format("example #{} of the source dataset", index)
        return check_example(image, label, name=name, num_classes=num_classes)

    return source.enumerate().map(
        check, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
