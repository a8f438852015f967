"""SavedModel export with a uint8 serving signature.

Written with `tf.saved_model.save` on a `tf.Module` that tracks the model and
holds the serving `tf.function`, rather than `keras.export.ExportArchive`:
the endpoint is not the model's `call` but the full-resolution function
around it (pad, upsample, crop, argmax), which is a plain `tf.function`
either way, and the same module feeds the TFLite converter. ExportArchive
would add a Keras-version-dependent wrapper and nothing the serving
signature needs.
"""

import os

import tensorflow as tf

from keras_scaleattn.export.atomic import atomic_directory
from keras_scaleattn.export.atomic import write_file_atomic
from keras_scaleattn.export.serving import METADATA_KEY
from keras_scaleattn.export.serving import export_metadata
from keras_scaleattn.export.serving import float32_model
from keras_scaleattn.export.serving import metadata_json
from keras_scaleattn.export.serving import serving_function

SIGNATURE_KEY = "serving_default"
# The SavedModel convention for files the graph does not reference (TF
# Serving reads its warm-up requests from there too).
METADATA_PATH = os.path.join("assets.extra", METADATA_KEY + ".json")


def export_saved_model(model, path, class_names=None):
    """Exports `model` as a SavedModel with a `serving_default` signature.

    The signature takes `images`: uint8 `[B, H, W, 3]` RGB of any batch and
    size (at least `model.min_input_size`) and returns `class_map` int32
    `[B, H, W]`, `probabilities` float32 `[B, H, W, C]` and, when the model
    has it, `attention` float32 `[B, H, W, S]`. The export metadata goes to
    `assets.extra/keras_scaleattn.json`. The directory is written under a
    temporary name and renamed when complete. A mixed-precision model is
    exported from its float32 copy (`float32_model`).

    Args:
        model: a `ScaleAttentionSegmenter` (or a model with its outputs).
        path: str or os.PathLike. The SavedModel directory to create (or
            replace); its parent must exist.
        class_names: None or one name per class, stored in the metadata.

    Returns:
        str: `path`.

    Example:

    >>> export_saved_model(model, "exports/saved_model")  # doctest: +SKIP
    >>> serve = tf.saved_model.load("exports/saved_model").signatures[
    ...     "serving_default"]  # doctest: +SKIP
    >>> serve(images=tf.zeros((1, 65, 65, 3), tf.uint8))["class_map"].shape  # doctest: +SKIP
    TensorShape([1, 65, 65])
    """
    model = float32_model(model)
    metadata = export_metadata(model, "uint8", class_names=class_names)
    serve = serving_function(model, "uint8")
    module = tf.Module()
    module.model = model
    module.serve = serve
    with atomic_directory(path) as tmp:
        tf.saved_model.save(
            module, tmp,
            signatures={SIGNATURE_KEY: serve.get_concrete_function()})
        os.mkdir(os.path.join(tmp, "assets.extra"))
        write_file_atomic(os.path.join(tmp, METADATA_PATH),
                          metadata_json(metadata).encode())
    return os.fspath(path)
