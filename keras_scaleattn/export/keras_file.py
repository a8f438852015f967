"""The package's one loader of trained `.keras` segmenters.

`load_keras_model` is what every script loads a user's `.keras` file with
(deploy/export.py, predict.py, benchmark.py through `SegmentationRuntime`;
training/evaluate.py, markings.py and compare.py), so a truncated or corrupt
file, another file named `.keras` or a Keras model that is not a segmenter
gets the same one-line message everywhere. This module imports only the
standard library (Keras when a model is loaded), so that a training script
can import it without the export machinery (TensorFlow serving functions,
Pillow); `segmentation_runtime` re-exports its names.
"""

import os
import zipfile

DESCRIPTIONS = {"keras": "a .keras archive (zip)",
                "tflite": "a TFLite flatbuffer",
                "onnx": "an ONNX model", "tensorrt": "a TensorRT engine",
                "saved_model": "a SavedModel directory"}


def sniff(path):
    """The kind a file's first bytes show (`"keras"`, `"tflite"`), or None."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK\x03\x04"):
        return "keras"
    if head[4:8] == b"TFL3":
        return "tflite"
    return None


def describe(error):
    """`"Type: message"` on one line (a script prints it as one error line),
    at most 300 characters of the message."""
    return f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"


def keras_load_error(path, argument, reason):
    """The one wording of "this file is no loadable Keras model", whichever
    check found it (`detect_model_kind`, `load_keras_model`)."""
    return ValueError(
        f"`{argument}` could not be loaded as a Keras model (truncated, "
        f"corrupt or another kind of file): {reason}. "
        f"Received: {argument}={path!r}")


def not_a_keras_archive(path, argument, sniffed=None):
    """`keras_load_error` for a `.keras` file that is not a zip archive."""
    found = (f", it looks like {DESCRIPTIONS[sniffed]}"
             if sniffed not in (None, "keras") else "")
    return keras_load_error(
        path, argument, "it is not a .keras archive (a zip file with the "
        f"model's config and weights){found}")


def check_segmenter(model):
    """Checks that `model` is a Keras model with a `"logits"` output.

    Args:
        model: a `keras.Model`, normally a `ScaleAttentionSegmenter`.

    Returns:
        The model.

    Raises:
        ValueError: if `model` is not a Keras model with dict outputs that
            include `"logits"`.
    """
    import keras

    names = getattr(model, "output_names", None) or []
    if not isinstance(model, keras.Model) or "logits" not in names:
        raise ValueError(
            "`model` must be a Keras segmenter with a 'logits' output (a "
            "ScaleAttentionSegmenter). Received: "
            f"model of type {type(model).__name__} with outputs {list(names)}"
        )
    return model


def load_keras_model(path, argument="model_path"):
    """Loads a trained `.keras` segmenter, with errors that name the file.

    The one loader of `.keras` files in this package: `export_and_check`
    (`deploy/export.py`), `SegmentationRuntime` (`deploy/predict.py`,
    `deploy/benchmark.py`) and the training scripts that read trained
    models (`training/evaluate.py`, `training/markings.py`,
    `run_comparison`) all use it, so a bad file gets the same message from
    every script. Keras reports a truncated or corrupt `.keras` file as
    "File not found" although the file exists; this says what is wrong
    instead.

    Args:
        path: str or os.PathLike. A `.keras` file (another file Keras
            loads, such as `.h5`, is passed to Keras as it is).
        argument: str. The name errors give the path (a script passes its
            flag, `"--model"`). Defaults to `"model_path"`.

    Returns:
        The `keras.Model`, a segmenter (see `check_segmenter`).

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if it is a directory, a `.keras` file that is not a zip
            archive, a file Keras cannot load ("could not be loaded as a
            Keras model"), or a Keras model that is not a segmenter.
    """
    import keras

    import keras_scaleattn  # noqa: F401  (registers the layers)

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"`{argument}` does not exist. Received: {argument}={path!r}")
    if os.path.isdir(path):
        raise keras_load_error(path, argument, "it is a directory, not a "
                               ".keras file")
    if (path.lower().endswith(".keras")
            and not zipfile.is_zipfile(path)):
        raise not_a_keras_archive(path, argument, sniff(path))
    try:
        model = keras.models.load_model(path)
    except Exception as error:  # Keras raises many kinds
        raise keras_load_error(path, argument, describe(error)) from error
    try:
        return check_segmenter(model)
    except ValueError:
        outputs = list(getattr(model, "output_names", None) or [])
        found = f"a {type(model).__name__}" + (
            f" with outputs {outputs}" if outputs else "")
        raise ValueError(
            f"`{argument}` must be a segmenter, a Keras model with a "
            "'logits' output (a ScaleAttentionSegmenter). Received: "
            f"{argument}={path!r}, {found}") from None
