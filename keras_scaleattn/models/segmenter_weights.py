"""Initialisation from another trained segmenter: fine-tuning and transfer.

The paper fine-tunes its MS-COCO model on PASCAL VOC (PAPER.md, "Results");
a user fine-tunes a VOC model on their own classes, or starts an attention
model from a trained single-scale one. Every weight of the new model whose
path (`trunk/block1_conv1/kernel`, `scale_attention/att_fc/bias`, ...) and
shape the source model shares is copied; the rest keep their
initialisation: the classifier `trunk/fc8` where the number of classes
differs, the attention head where the number of scales differs (its first
layer reads every scale's fc7) or where the source has none. The trunk must
match as a whole (the same `trunk_width`), or nothing is copied.
"""

import numpy as np

# The classifier: the only trunk weights whose shape depends on the classes.
CLASSIFIER_PREFIX = "trunk/fc8/"
TRUNK_PREFIX = "trunk/"


def segmenter_weight_arrays(source, argument="source"):
    """The weights of a trained segmenter as NumPy arrays, by path.

    Args:
        source: str or os.PathLike, a `.keras` segmenter file; or a
            segmenter `keras.Model`.
        argument: str. The name errors give `source` (the trainer passes
            `"model.init_from"`). Defaults to `"source"`.

    Returns:
        dict weight path (e.g. `"trunk/fc6/kernel"`) -> NumPy array.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if it is not a Keras segmenter (see
            `keras_scaleattn.export.keras_file.load_keras_model`).
    """
    import keras

    from keras_scaleattn.export.keras_file import check_segmenter
    from keras_scaleattn.export.keras_file import load_keras_model

    if isinstance(source, keras.Model):
        model = check_segmenter(source)
    else:
        model = load_keras_model(source, argument)
    return {weight.path: keras.ops.convert_to_numpy(weight)
            for weight in model.weights}


def load_segmenter_weights(model, source, argument="source"):
    """Copies every weight `source` shares with `model` (same path, shape).

    Args:
        model: the `ScaleAttentionSegmenter` to initialise (built).
        source: a `.keras` segmenter file, a segmenter `keras.Model`, or the
            dict of `segmenter_weight_arrays` (which a trainer reads before
            entering a distribution scope).
        argument: str. The name errors give `source`. Defaults to
            `"source"`.

    Returns:
        dict: `"copied"`, the list of copied weight paths, and `"kept"`, a
        dict weight path -> why it keeps its initialisation (`"not in the
        source"`, `"shape (1, 1, 1024, 21) there, (1, 1, 1024, 3) here"`,
        or, for a weight that fits in a layer with one that does not,
        `"its layer's other weights do not fit"`: layers are copied whole).

    Raises:
        ValueError: if a trunk weight other than the classifier's is
            missing from `source` or has another shape there (another
            `trunk_width`): a different network, of which nothing is copied.

    Example:

    ```python
    voc = "runs/voc2012_attention_3scales/model.keras"  # 21 classes
    model = ScaleAttentionSegmenter(num_classes=3)
    report = load_segmenter_weights(model, voc)
    report["kept"]  # {'trunk/fc8/kernel': 'shape (1, 1, 1024, 21) there, ...
    ```
    """
    arrays = (source if isinstance(source, dict)
              else segmenter_weight_arrays(source, argument))
    kept = {}
    for weight in model.weights:
        array = arrays.get(weight.path)
        if array is None:
            kept[weight.path] = "not in the source"
        elif tuple(array.shape) != tuple(weight.shape):
            kept[weight.path] = (f"shape {tuple(array.shape)} there, "
                                 f"{tuple(weight.shape)} here")
    # A layer is copied whole or not at all: a bias that fits is no use
    # under a kernel that does not.
    misfit_layers = {_layer_of(path) for path in kept}
    copied, updates = [], []
    for weight in model.weights:
        if weight.path in kept:
            continue
        if _layer_of(weight.path) in misfit_layers:
            kept[weight.path] = "its layer's other weights do not fit"
            continue
        updates.append((weight, arrays[weight.path]))
        copied.append(weight.path)
    kept = {weight.path: kept[weight.path] for weight in model.weights
            if weight.path in kept}
    trunk_misfits = {path: why for path, why in kept.items()
                     if path.startswith(TRUNK_PREFIX)
                     and not path.startswith(CLASSIFIER_PREFIX)}
    if trunk_misfits:
        path, why = next(iter(trunk_misfits.items()))
        shown = source if not isinstance(source, dict) else "the weights given"
        raise ValueError(
            f"`{argument}` has another trunk than this model ({path}: "
            f"{why}; {len(trunk_misfits)} trunk weights differ): it must be a "
            "segmenter of the same model.trunk_width. Nothing was copied. "
            f"Received: {argument}={shown!r}")
    for weight, array in updates:
        weight.assign(np.asarray(array, dtype=weight.dtype))
    return {"copied": copied, "kept": kept}


def _layer_of(path):
    """`"trunk/fc8/kernel"` -> `"trunk/fc8"`."""
    return path.rsplit("/", 1)[0]


def describe_loaded(report):
    """One line saying what `load_segmenter_weights` copied and kept.

    Example:

    >>> describe_loaded({"copied": ["trunk/fc6/kernel"],
    ...                  "kept": {"trunk/fc8/kernel": "not in the source"}})
    'copied 1 weights; kept their initialisation: trunk/fc8/kernel (not in the source)'
    """
    text = f"copied {len(report['copied'])} weights"
    if report["kept"]:
        text += "; kept their initialisation: " + ", ".join(
            f"{path} ({why})" for path, why in report["kept"].items())
    return text
