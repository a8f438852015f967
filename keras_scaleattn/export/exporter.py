"""Export a trained model to every deployment format and check parity.

The library behind `deploy/export.py`: `export_artifacts` writes each
requested format into one directory (every file or directory atomically),
`check_artifacts` runs each artifact and the Keras model on the same images
and `export_and_check` does both and writes the JSON parity report.

Artifact names in the output directory:

| format | dynamic size | `fixed_size=513` (TFLite only, in addition) |
|---|---|---|
| saved_model | `saved_model/` | |
| tflite, tflite_fp16, tflite_int8 | `model.tflite`, `model_fp16.tflite`, `model_int8.tflite` | `model_513.tflite`, `model_513_fp16.tflite`, `model_513_int8.tflite` |
| onnx, onnx_fp16, onnx_int8 | `model.onnx`, `model_fp16.onnx`, `model_int8.onnx` | |
"""

import collections.abc
import os
import time

import numpy as np

from keras_scaleattn.evaluation.report import write_json_atomic
from keras_scaleattn.export.keras_file import load_keras_model
from keras_scaleattn.export.onnx_export import convert_onnx
from keras_scaleattn.export.onnx_export import onnx_graph_summary
from keras_scaleattn.export.onnx_precision import convert_onnx_to_float16
from keras_scaleattn.export.onnx_precision import quantize_onnx_int8
from keras_scaleattn.export.onnx_precision import save_onnx_atomic
from keras_scaleattn.export.parity import PARITY_TOLERANCES
from keras_scaleattn.export.parity import measure_parity
from keras_scaleattn.export.parity import within_tolerance
from keras_scaleattn.export.saved_model import export_saved_model
from keras_scaleattn.export.serving import check_class_names
from keras_scaleattn.export.serving import model_num_classes
from keras_scaleattn.export.serving import float32_model
from keras_scaleattn.export.serving import normalize_image_size
from keras_scaleattn.export.serving import serving_function
from keras_scaleattn.export.tflite import export_tflite
from keras_scaleattn.export.tflite import tflite_operator_counts

FORMATS = ("saved_model", "tflite", "tflite_fp16", "tflite_int8", "onnx",
           "onnx_fp16", "onnx_int8")
FORMAT_PRECISION = {"saved_model": "float32", "tflite": "float32",
                    "tflite_fp16": "float16", "tflite_int8": "int8",
                    "onnx": "float32", "onnx_fp16": "float16",
                    "onnx_int8": "int8"}
_SUFFIX = {"float32": "", "float16": "_fp16", "int8": "_int8"}


def parse_formats(formats, argument="formats"):
    """Validates a list (or comma-separated string) of format names.

    Args:
        formats: str like `"onnx,tflite"` or a sequence of names.
        argument: str. The name errors give `formats` (`deploy/export.py`
            passes `"--formats"`). Defaults to `"formats"`.

    Returns:
        tuple of names, in `FORMATS` order, without duplicates.

    Raises:
        ValueError: for an unknown name or an empty list.
    """
    received = formats
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    formats = list(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(
            f"`{argument}` must be a non-empty list of {FORMATS}. "
            f"Received: {argument}={received!r}")
    return tuple(f for f in FORMATS if f in formats)


def check_tensorflow_backend():
    """Raises a `ValueError` unless Keras runs on TensorFlow.

    Every exporter traces TensorFlow graphs (`tf.function`, the TFLite
    converter, tf2onnx), which Keras tensors of another backend cannot
    enter ("Cannot convert a symbolic tf.Tensor" under JAX).

    Raises:
        ValueError: naming the active backend.
    """
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ValueError(
            "Export needs the TensorFlow Keras backend (it traces "
            "TensorFlow graphs): set KERAS_BACKEND=tensorflow before Keras "
            f"is imported. Received: Keras backend {backend!r}")


def artifact_name(format_name, image_size=None):
    """File (or directory) name of an artifact in the output directory.

    Args:
        format_name: str. One of `FORMATS`.
        image_size: None or the fixed `(height, width)` (TFLite only).

    Returns:
        str.

    Example:

    >>> artifact_name("tflite_int8", (513, 513))
    'model_513_int8.tflite'
    """
    if format_name == "saved_model":
        return "saved_model"
    precision = FORMAT_PRECISION[format_name]
    extension = ".tflite" if format_name.startswith("tflite") else ".onnx"
    size = ""
    if image_size is not None:
        height, width = image_size
        size = f"_{height}" if height == width else f"_{height}x{width}"
    return f"model{size}{_SUFFIX[precision]}{extension}"


def split_image_files(paths, num_parity, num_calibration=0):
    """Parity and int8 calibration images from one list, disjoint if possible.

    An int8 model's parity measured on its own calibration images would be
    optimistic, so the two sets do not share a file whenever `paths` has
    more files than `num_parity`: parity takes the first `num_parity`
    files, calibration up to `num_calibration` of the files after them
    (fewer than asked when the list is short). Only a list of at most
    `num_parity` files is used for both.

    Args:
        paths: sequence of str (sorted, e.g. `images.list_image_files`).
        num_parity: int >= 0. Parity images wanted.
        num_calibration: int >= 0. Calibration images wanted (0 without
            int8 formats). Defaults to 0.

    Returns:
        tuple `(parity, calibration)` of lists of paths.

    Example:

    >>> split_image_files(["a", "b", "c", "d"], 2, 5)
    (['a', 'b'], ['c', 'd'])
    >>> split_image_files(["a", "b"], 2, 5)
    (['a', 'b'], ['a', 'b'])
    """
    paths = list(paths)
    parity = paths[:num_parity]
    rest = paths[len(parity):] or parity
    return parity, rest[:num_calibration]


def _named_images(images):
    """`(names or None, images)` of a sequence, or of a dict name -> image."""
    if isinstance(images, collections.abc.Mapping):
        return [str(name) for name in images], list(images.values())
    return None, images


def check_export_arguments(model, out_dir, formats=FORMATS, fixed_size=None,
                           parity_images=None, representative_images=None,
                           report_path=None, argument_names=None,
                           class_names=None):
    """Checks what an export needs before anything is written.

    Every problem that would otherwise surface after some artifacts were
    written (a fixed size below the model's minimum, an image the model
    cannot take, a report path in a missing directory) is a `ValueError`
    here, naming the argument (or the script's flag) and the image.

    Args:
        model: the segmenter to export.
        out_dir: str or os.PathLike. The output directory (created later if
            missing; must not be a file).
        formats: sequence or comma-separated str of `FORMATS`.
        fixed_size: None, an int or `(height, width)`.
        parity_images: None, a sequence of uint8 `[H, W, 3]` images, or a
            dict name (file path) -> image: errors name the image by it.
        representative_images: the same for int8 calibration (only lists,
            tuples and dicts are checked: a generator is not consumed).
        report_path: None or the JSON report's path.
        argument_names: None or a dict argument name -> the name errors
            use (`deploy/export.py` passes its flags, e.g.
            `{"fixed_size": "--fixed-size"}`).
        class_names: None or one name per class of the model.

    Returns:
        The normalised `fixed_size`: None or `(height, width)`.

    Raises:
        ValueError: for unknown formats, a bad `fixed_size` or one below
            the model's `min_input_size`, an `out_dir` that is a file, a
            `report_path` whose directory does not exist, an image that
            is not `[H, W, 3]` or is smaller than `min_input_size`, or
            `class_names` that do not fit the model.
    """
    names = argument_names or {}

    def arg(name):
        return names.get(name, name)

    def fail(name, requirement, value):
        raise ValueError(f"`{arg(name)}` must be {requirement}. "
                         f"Received: {arg(name)}={value!r}")

    formats = parse_formats(formats, arg("formats"))
    check_class_names(class_names, model_num_classes(model),
                      arg("class_names"))
    min_size = getattr(model, "min_input_size", None) or 1
    try:
        size = normalize_image_size(fixed_size)
    except ValueError:
        size = None
        fail("fixed_size", "None, a positive int or (height, width)",
             fixed_size)
    if size is not None and min(size) < min_size:
        fail("fixed_size", f"at least the model's min_input_size "
             f"({min_size}) on each side", fixed_size)
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        fail("out_dir", "a directory (created if missing), not a file",
             out_dir)
    if report_path is not None:
        report_path = os.fspath(report_path)
        if (os.path.isdir(report_path) or not os.path.isdir(
                os.path.dirname(os.path.abspath(report_path)))):
            fail("report_path", "a file in an existing directory",
                 report_path)
    image_sets = [("parity_images", parity_images)]
    if any(FORMAT_PRECISION[f] == "int8" for f in formats):
        image_sets.append(("representative_images", representative_images))
    for argument, images in image_sets:
        image_names, images = _named_images(images)
        if not isinstance(images, (list, tuple, np.ndarray)):
            continue
        for i, image in enumerate(images):
            name = (image_names[i] if image_names
                    else f"{arg(argument)}[{i}]")
            shape = np.shape(image)
            if len(shape) != 3 or shape[-1] != 3:
                raise ValueError(
                    f"`{arg(argument)}` must hold RGB images [H, W, 3]. "
                    f"Received: {name} of shape {shape}")
            if min(shape[:2]) < min_size:
                raise ValueError(
                    f"`{arg(argument)}` must hold images of at least "
                    f"{min_size}x{min_size} pixels (the model's "
                    f"min_input_size). Received: {name} of size "
                    f"{shape[0]}x{shape[1]}")
    return size


def export_artifacts(model, out_dir, formats=FORMATS, fixed_size=None,
                     representative_images=None, num_calibration_images=100,
                     log=None, class_names=None):
    """Writes the requested formats of `model` into `out_dir`.

    A model trained with mixed precision is exported from its float32 copy
    (`serving.float32_model`, made once for all formats): every artifact
    computes at the precision its name and metadata state.

    Args:
        model: a `ScaleAttentionSegmenter` (any float dtype policy).
        out_dir: str or os.PathLike. Created if missing.
        formats: sequence or comma-separated str of `FORMATS`.
            Defaults to all.
        fixed_size: None, an int or `(height, width)`: also write
            fixed-size TFLite models (every dilation a plain CONV_2D).
        representative_images: iterable of uint8 `[H, W, 3]` images, needed
            for `tflite_int8` and `onnx_int8` (a list is reused for both).
        num_calibration_images: int. Defaults to 100.
        log: callable taking a str, or None for silence.
        class_names: None or one name per class, stored in every
            artifact's metadata.

    Returns:
        list of dicts, one per artifact: `"name"`, `"format"`, `"path"`,
        `"precision"`, `"image_size"` (None or `[h, w]`) and `"seconds"`.

    Raises:
        ValueError: before anything is written, for bad arguments
            (`check_export_arguments`), int8 without images, or a Keras
            backend other than TensorFlow (`check_tensorflow_backend`).
    """
    check_tensorflow_backend()
    formats = parse_formats(formats)
    size = check_export_arguments(model, out_dir, formats, fixed_size,
                                  representative_images=representative_images,
                                  class_names=class_names)
    int8 = [f for f in formats if FORMAT_PRECISION[f] == "int8"]
    if int8 and representative_images is None:
        # Checked before anything is written, not after the float formats.
        raise ValueError(
            f"{int8} need `representative_images` (uint8 images for int8 "
            "calibration). Received: representative_images=None")
    model = float32_model(model)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    if not isinstance(representative_images, (type(None), list, tuple)):
        representative_images = list(representative_images)
    log = log or (lambda message: None)
    artifacts = []

    def record(format_name, image_size, write):
        path = os.path.join(out_dir, artifact_name(format_name, image_size))
        start = time.perf_counter()
        write(path)
        seconds = time.perf_counter() - start
        log(f"wrote {path} ({seconds:.1f} s)")
        artifacts.append({
            "name": os.path.basename(path), "format": format_name,
            "path": path, "precision": FORMAT_PRECISION[format_name],
            "image_size": list(image_size) if image_size else None,
            "seconds": seconds})

    if "saved_model" in formats:
        record("saved_model", None,
               lambda p: export_saved_model(model, p, class_names))
    for format_name in ("tflite", "tflite_fp16", "tflite_int8"):
        if format_name not in formats:
            continue
        for image_size in [None] + ([size] if size else []):
            record(format_name, image_size,
                   lambda p, s=image_size, f=format_name: export_tflite(
                       model, p, FORMAT_PRECISION[f], s,
                       representative_images, num_calibration_images,
                       class_names))
    float_onnx = []  # converted once, on first use, for all three files

    def onnx_model():
        if not float_onnx:
            float_onnx.append(convert_onnx(model, class_names=class_names))
        return float_onnx[0]

    if "onnx" in formats:
        record("onnx", None, lambda p: save_onnx_atomic(onnx_model(), p))
    if "onnx_fp16" in formats:
        record("onnx_fp16", None, lambda p: save_onnx_atomic(
            convert_onnx_to_float16(onnx_model()), p))
    if "onnx_int8" in formats:
        record("onnx_int8", None, lambda p: quantize_onnx_int8(
            onnx_model(), p, representative_images, num_calibration_images))
    return artifacts


class KerasReference:
    """The parity reference: the float32 Keras model, as a runtime.

    Calls the same serving function every artifact was traced from, on the
    float32 copy of the model (`serving.float32_model`), so a model trained
    with mixed precision is compared at float32, the precision its float32
    artifacts compute at.

    Args:
        model: a segmenter (any float dtype policy).
    """

    def __init__(self, model):
        self.model = float32_model(model)
        self._serve = serving_function(self.model, "uint8")

    def __call__(self, images):
        """Outputs for a uint8 batch `[B, H, W, 3]`, as NumPy arrays."""
        from keras_scaleattn.export.images import prepare_images

        batch, _ = prepare_images(images)
        return {name: value.numpy()
                for name, value in self._serve(batch).items()}


def check_artifacts(reference, artifacts, images):
    """Measures every artifact's parity with the Keras model.

    Args:
        reference: a segmenter, or the path of its `.keras` file. Its
            float32 copy is the reference (`KerasReference`).
        artifacts: list of dicts from `export_artifacts`.
        images: sequence of uint8 `[H, W, 3]` images.

    Returns:
        list of dicts: each artifact's entry plus the `measure_parity`
        metrics, `"tolerance"` and `"passed"`.
    """
    from keras_scaleattn.export.segmentation_runtime import (
        SegmentationRuntime,
    )

    if not hasattr(reference, "get_config"):
        reference = load_keras_model(reference)
    reference = KerasReference(reference)
    rows = []
    for artifact in artifacts:
        runtime = SegmentationRuntime(artifact["path"])
        metrics = measure_parity(reference, runtime, images,
                                 artifact["image_size"])
        precision = artifact["precision"]
        rows.append(dict(artifact, **metrics,
                         tolerance=PARITY_TOLERANCES[precision],
                         passed=within_tolerance(metrics, precision)))
    return rows


def graph_facts(artifacts):
    """Structural facts of the artifacts, for the report.

    Returns:
        dict by artifact name: the ONNX graph summary (node count, op
        histogram, dilated convolutions, resize modes) or the TFLite
        operator counts.
    """
    facts = {}
    for artifact in artifacts:
        if artifact["format"].startswith("onnx"):
            facts[artifact["name"]] = onnx_graph_summary(artifact["path"])
        elif artifact["format"].startswith("tflite"):
            facts[artifact["name"]] = {
                "operators": dict(tflite_operator_counts(artifact["path"]))}
    return facts


def _image_sets(parity_names, calibration_names, num_calibration, log):
    """The report's image lists, and a log line on their overlap."""
    if calibration_names is not None:
        calibration_names = calibration_names[:num_calibration]
    overlap = sorted(set(parity_names or ()) & set(calibration_names or ()))
    if log and parity_names and calibration_names is not None:
        if overlap:
            log(f"warning: {len(overlap)} of the {len(parity_names)} parity "
                "images are also int8 calibration images, so int8 parity "
                "is measured on images the quantiser saw (more image files "
                f"than parity images keep them apart): {', '.join(overlap)}")
        else:
            log(f"parity on {len(parity_names)} images, disjoint from the "
                f"{len(calibration_names)} int8 calibration images "
                "(parity_images and calibration_images in the report)")
    return {"parity_images": parity_names,
            "calibration_images": calibration_names,
            "parity_calibration_overlap": overlap}


def export_and_check(model_path, out_dir, formats=FORMATS, fixed_size=None,
                     parity_images=None, representative_images=None,
                     num_calibration_images=100, report_path=None, log=None,
                     argument_names=None, class_names=None):
    """Exports a `.keras` model, checks parity and writes the JSON report.

    Everything that can be checked before exporting is (the model file,
    the formats, the fixed size against the model's `min_input_size`, every
    image's size, the report's directory: `check_export_arguments`), so a
    mistake stops the export before any artifact is written.

    Args:
        model_path: str. The trained `.keras` model.
        out_dir: str. Output directory (created if missing).
        formats: sequence or comma-separated str of `FORMATS`.
        fixed_size: None, int or `(height, width)`: also fixed-size TFLite.
        parity_images: sequence of uint8 images, or a dict name (file path)
            -> image, or None / empty to skip the parity check.
        representative_images: iterable of uint8 images for int8, or a dict
            name -> image.
        num_calibration_images: int. Defaults to 100.
        report_path: str or None. Defaults to `<out_dir>/parity_report.json`.
        log: callable taking a str, or None.
        argument_names: None or a dict argument name -> the name errors use
            (`deploy/export.py` passes its flags: `"--fixed-size"`, ...).
        class_names: None or one name per class, stored in every
            artifact's metadata.

    Returns:
        dict: the report (`"model"`, its `"dtype_policy"`, the
        `"class_names"` stored in the artifacts, the names of
        the `"parity_images"` and of the `"calibration_images"` used (None
        when the images had no names, or without int8 formats), the names
        in both (`"parity_calibration_overlap"`), `"artifacts"` with parity
        rows, `"graphs"`, `"tolerances"`, `"passed"`), also written as
        JSON. The parity reference is the Keras model in float32 (its
        float32 copy if it was trained with mixed precision).

    Raises:
        FileNotFoundError: if `model_path` does not exist.
        ValueError: for a file that is not a loadable `.keras` model, bad
            arguments or images (`check_export_arguments`), or a Keras
            backend other than TensorFlow (`check_tensorflow_backend`).
    """
    check_tensorflow_backend()
    names = argument_names or {}
    formats = parse_formats(formats, names.get("formats", "formats"))
    model = load_keras_model(model_path, names.get("model_path", "model_path"))
    check_export_arguments(model, out_dir, formats, fixed_size, parity_images,
                           representative_images, report_path, names,
                           class_names)
    parity_names, parity_images = _named_images(parity_images)
    calibration_names, representative_images = _named_images(
        representative_images)
    if not any(FORMAT_PRECISION[f] == "int8" for f in formats):
        calibration_names = None
    images = _image_sets(parity_names, calibration_names,
                         num_calibration_images, log)
    policy = model.dtype_policy.name
    model = float32_model(model)
    artifacts = export_artifacts(model, out_dir, formats, fixed_size,
                                 representative_images,
                                 num_calibration_images, log, class_names)
    rows = artifacts
    if parity_images is not None and len(parity_images):
        rows = check_artifacts(model, artifacts, parity_images)
    report = {
        "model": os.fspath(model_path),
        "dtype_policy": policy,
        "class_names": list(class_names) if class_names else None,
        "num_parity_images": len(parity_images) if parity_images is not None
        else 0,
        **images,
        "artifacts": rows,
        "graphs": graph_facts(artifacts),
        "tolerances": PARITY_TOLERANCES,
        "passed": all(row.get("passed", True) for row in rows),
    }
    report_path = report_path or os.path.join(out_dir, "parity_report.json")
    write_json_atomic(report_path, report)
    report["report_path"] = report_path
    return report
