"""One inference API over every format the package exports.

`SegmentationRuntime(path)` loads a `.keras` model, a SavedModel directory, a
`.tflite`, an `.onnx` or a TensorRT `.engine` / `.plan` and returns the same
outputs for a batch of uint8 RGB images: `class_map` int32 `[B, H, W]`,
`probabilities` float32 `[B, H, W, C]` and, for models with scale
attention, `attention` float32 `[B, H, W, S]`. With `fit="letterbox"` it
also takes images of any size on models that allow only some sizes
(`letterbox.py`); with `fit="tile"` it segments large images in overlapping
windows of the model's size at their own resolution (`tiling.py`).
"""

import json
import os
import sys

import numpy as np

from keras_scaleattn.export.images import prepare_images
from keras_scaleattn.export.keras_file import DESCRIPTIONS as _DESCRIPTIONS
from keras_scaleattn.export.keras_file import check_segmenter
from keras_scaleattn.export.keras_file import describe as _describe
from keras_scaleattn.export.keras_file import load_keras_model
from keras_scaleattn.export.keras_file import not_a_keras_archive
from keras_scaleattn.export.keras_file import sniff as _sniff
from keras_scaleattn.export.letterbox import letterbox_images
from keras_scaleattn.export.letterbox import letterbox_plan
from keras_scaleattn.export.letterbox import restore_outputs
from keras_scaleattn.export.letterbox import size_pair
from keras_scaleattn.export.serving import METADATA_KEY
from keras_scaleattn.export.serving import OUTPUT_NAMES
from keras_scaleattn.export.tiling import DEFAULT_OVERLAP
from keras_scaleattn.export.tiling import DEFAULT_TILE_BATCH_SIZE
from keras_scaleattn.export.tiling import check_blend
from keras_scaleattn.export.tiling import check_overlap
from keras_scaleattn.export.tiling import check_tile_batch_size
from keras_scaleattn.export.tiling import segment_in_tiles
from keras_scaleattn.export.tiling import tile_windows

KINDS = ("keras", "saved_model", "tflite", "onnx", "tensorrt")
FITS = ("exact", "letterbox", "tile")
_EXTENSIONS = {".keras": "keras", ".tflite": "tflite", ".onnx": "onnx",
               ".engine": "tensorrt", ".plan": "tensorrt"}


def detect_model_kind(path, argument="path"):
    """Tells which kind of exported model `path` is.

    A directory is a SavedModel if it holds `saved_model.pb`. A file is
    recognised by its extension (`.keras`, `.tflite`, `.onnx`, `.engine`,
    `.plan`), checked against its first bytes where the format has a
    signature (zip for `.keras`, `TFL3` for `.tflite`); a file with another
    extension is recognised by those bytes alone. A `.keras` file that is
    not a zip archive gets `load_keras_model`'s error.

    Args:
        path: str or os.PathLike.
        argument: str. The name errors give `path` (a script passes its
            flag, e.g. `"--model"`). Defaults to `"path"`.

    Returns:
        str: one of `KINDS`.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: for a directory without `saved_model.pb`, an empty file,
            a file whose content contradicts its extension, or a file of
            unknown kind.

    Example:

    >>> detect_model_kind("exports/model_int8.tflite")  # doctest: +SKIP
    'tflite'
    """
    path = os.fspath(path)
    received = f"Received: {argument}={path!r}"
    if not os.path.exists(path):
        raise FileNotFoundError(f"`{argument}` does not exist. {received}")
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            return "saved_model"
        raise ValueError(
            f"`{argument}` is a directory without saved_model.pb, so not a "
            f"SavedModel. {received}")
    if os.path.getsize(path) == 0:
        raise ValueError(f"`{argument}` is an empty file. {received}")
    sniffed = _sniff(path)
    extension = os.path.splitext(path)[1]
    kind = _EXTENSIONS.get(extension.lower())
    if kind is None:
        if sniffed is None:
            raise ValueError(
                f"`{argument}` must be a .keras, .tflite, .onnx, .engine or "
                ".plan file or a SavedModel directory; its extension and "
                f"content match none of them. {received}")
        return sniffed
    if kind == "keras" and sniffed != "keras":
        raise not_a_keras_archive(path, argument, sniffed)
    if kind == "tflite" and sniffed != kind:
        found = (f", it looks like {_DESCRIPTIONS[sniffed]}" if sniffed
                 else " (truncated or another kind of file)")
        raise ValueError(
            f"`{argument}` ends in {extension} but is not "
            f"{_DESCRIPTIONS[kind]}{found}. {received}")
    if kind in ("onnx", "tensorrt") and sniffed is not None:
        raise ValueError(
            f"`{argument}` ends in {extension} but looks like "
            f"{_DESCRIPTIONS[sniffed]}. {received}")
    return kind


def check_num_threads(num_threads, argument="num_threads"):
    """Returns `num_threads` if it is None or a positive int, else raises.

    Args:
        num_threads: int or None. LiteRT interpreter threads.
        argument: str. The name errors give it (a script passes its flag,
            `"--num-threads"`). Defaults to `"num_threads"`.

    Returns:
        int or None: `num_threads`.

    Raises:
        ValueError: for anything else (0, a negative number, a bool or a
            float).

    Example:

    >>> check_num_threads(4), check_num_threads(None)
    (4, None)
    """
    if num_threads is not None and (
            isinstance(num_threads, bool) or not isinstance(num_threads, int)
            or num_threads < 1):
        raise ValueError(
            f"`{argument}` must be None (LiteRT's default) or a positive "
            f"int. Received: {argument}={num_threads!r}")
    return num_threads


def _corrupt(path, kind, error, argument="path"):
    return ValueError(
        f"`{argument}` could not be loaded as {_DESCRIPTIONS[kind]} "
        f"(truncated, corrupt or another kind of file): {_describe(error)}. "
        f"Received: {argument}={path!r}")


def _backend_serving_function(model):
    """`full_resolution_outputs` compiled for Keras's backend (not TF).

    The TensorFlow serving function traces the model into a `tf.function`,
    whose symbolic tensors JAX (or torch) layers cannot take. On those
    backends the same computation runs on the backend's own arrays:
    `jax.jit` on JAX (traced once per input shape), eagerly otherwise.
    """
    import keras

    from keras_scaleattn.inference.full_resolution import (
        full_resolution_outputs,
    )

    def serve(images):
        outputs = full_resolution_outputs(model, images)
        return {name: outputs[name] for name in OUTPUT_NAMES
                if name in outputs}

    if keras.backend.backend() == "jax":
        import jax

        serve = jax.jit(serve)
    return serve


class _KerasBackend:
    input_dtype = np.uint8

    def __init__(self, path, argument, model=None):
        import keras

        from keras_scaleattn.export.serving import export_metadata
        from keras_scaleattn.export.serving import serving_function

        self.model = (check_segmenter(model) if model is not None
                      else load_keras_model(path, argument))
        self.metadata = export_metadata(self.model, "uint8")
        if keras.backend.backend() == "tensorflow":
            self._serve = serving_function(self.model, "uint8")
        else:
            self._serve = _backend_serving_function(self.model)

    def run(self, batch):
        from keras import ops

        return {k: ops.convert_to_numpy(v)
                for k, v in self._serve(batch).items()}


class _SavedModelBackend:
    input_dtype = np.uint8

    def __init__(self, path, argument):
        import tensorflow as tf

        from keras_scaleattn.export.saved_model import METADATA_PATH
        from keras_scaleattn.export.saved_model import SIGNATURE_KEY

        try:
            loaded = tf.saved_model.load(path)
            self._serve = loaded.signatures[SIGNATURE_KEY]
        except Exception as error:
            raise _corrupt(path, "saved_model", error, argument) from error
        self._loaded = loaded
        self.metadata = None
        metadata_path = os.path.join(path, METADATA_PATH)
        if os.path.isfile(metadata_path):
            with open(metadata_path) as f:
                self.metadata = json.load(f)

    def run(self, batch):
        import tensorflow as tf

        outputs = self._serve(images=tf.constant(batch))
        return {k: v.numpy() for k, v in outputs.items()}


class _TFLiteBackend:
    input_dtype = np.uint8

    def __init__(self, path, num_threads, argument):
        from ai_edge_litert.interpreter import Interpreter

        from keras_scaleattn.export.tflite import read_tflite_metadata

        try:
            metadata = read_tflite_metadata(path)
            self.interpreter = Interpreter(model_path=path,
                                           num_threads=num_threads)
            self._runner = self.interpreter.get_signature_runner()
        except Exception as error:
            raise _corrupt(path, "tflite", error, argument) from error
        self.metadata = json.loads(metadata) if metadata else None
        details = self._runner.get_input_details()
        (self._input_name, detail), = details.items()
        shape = [int(d) for d in detail["shape_signature"]]
        self.input_dtype = np.dtype(detail["dtype"])
        self.fixed_size = tuple(shape[1:3]) if min(shape[1:3]) > 0 else None
        self.max_batch = shape[0] if shape[0] > 0 else None

    def run(self, batch):
        outputs = self._runner(**{self._input_name: batch})
        details = self._runner.get_output_details()
        result = {}
        for name, value in outputs.items():
            scale, zero_point = details[name].get("quantization", (0.0, 0))
            if scale and value.dtype in (np.int8, np.uint8):
                value = (value.astype(np.float32) - zero_point) * scale
            result[name] = value
        return result


class _OnnxBackend:
    input_dtype = np.float32

    def __init__(self, path, providers, argument):
        import onnxruntime as ort

        if providers is None:
            available = ort.get_available_providers()
            providers = [p for p in ("CUDAExecutionProvider",
                                     "CPUExecutionProvider")
                         if p in available]
        try:
            self.session = ort.InferenceSession(path, providers=providers)
        except Exception as error:
            raise _corrupt(path, "onnx", error, argument) from error
        meta = self.session.get_modelmeta().custom_metadata_map
        self.metadata = (json.loads(meta[METADATA_KEY])
                         if METADATA_KEY in meta else None)
        self._input_name = self.session.get_inputs()[0].name
        self._output_names = [o.name for o in self.session.get_outputs()]

    def run(self, batch):
        values = self.session.run(
            self._output_names,
            {self._input_name: batch.astype(np.float32)})
        return dict(zip(self._output_names, values))


class _TensorRTBackend:
    input_dtype = np.float32

    def __init__(self, path):
        from keras_scaleattn.export.tensorrt_runner import TensorRTRunner

        try:
            self.runner = TensorRTRunner(path)
        except ImportError as error:
            raise ImportError(
                "Running a TensorRT engine needs the `tensorrt` and "
                "`cuda-python` packages and an NVIDIA GPU "
                f"(pip install -e '.[tensorrt]'): {error}") from error
        self.metadata = None
        self.profile = self.runner.profile

    def run(self, batch):
        return self.runner.run(batch.astype(np.float32))


class SegmentationRuntime:
    """Segments uint8 RGB images with any exported model.

    The format is detected from `path` (see `detect_model_kind`). Every
    format runs the same full-resolution computation (the paper's pad, one
    forward pass, x8 align-corners upsampling and crop), so the outputs agree
    up to each format's numerical precision.

    Images: `[B, H, W, 3]` or one `[H, W, 3]`, uint8 RGB; integers and
    floats in [0, 255] are accepted and floats rounded (see
    `prepare_images`). Height and width must be at least the model's
    `min_input_size` (stored in the export's metadata), equal the size of a
    fixed-size TFLite model, and lie inside a TensorRT engine's
    optimisation profile; with `fit="letterbox"`, images that do not are
    resized (aspect ratio kept) and padded to fit, and the outputs are
    mapped back to the images' own size (`letterbox.py`). With
    `fit="tile"`, images larger than the tile (a fixed-size model's size, a
    TensorRT profile's largest, or `max_size`) are segmented in overlapping
    windows of it at their own resolution, the windows' probabilities and
    attention averaged where they overlap (Gaussian-weighted by default,
    `tiling.py`); windows the model does not take (an image smaller than
    the tile) are letterboxed. A batch
    larger than a model's fixed or maximum batch is run in chunks.

    Args:
        path: str or os.PathLike. A `.keras` file, a SavedModel directory, a
            `.tflite`, an `.onnx`, or a TensorRT `.engine` / `.plan`. Or a
            segmenter already in memory (a `keras.Model`, e.g. from
            `keras.models.load_model`): kind `"keras"`, `path` None.
        num_threads: positive int or None. LiteRT interpreter threads
            (checked for every format, used by TFLite only).
            Defaults to None (LiteRT's default).
        providers: list of str or None. ONNX Runtime execution providers;
            None picks CUDA when available, then CPU.
        fit: str. `"exact"`: images of a size the model does not take are
            an error. `"letterbox"`: they are fitted (see above). `"tile"`:
            large images are segmented in overlapping windows (see above).
            Defaults to `"exact"`.
        max_size: int, `(height, width)` or None. With `fit="letterbox"`,
            images larger than this are also shrunk to fit inside it (to
            bound the memory and time a large photo takes on a dynamic
            model). With `fit="tile"`, the window size: needed for a model
            of any size, at most a TensorRT profile's largest, and not
            allowed for a fixed-size model (whose size is the window).
            Defaults to None.
        tile_overlap: float in [0, 1). With `fit="tile"`, the fraction of
            a window that its neighbour also covers. Defaults to 1/3.
        tile_blend: `"gaussian"` or `"mean"`. With `fit="tile"`, how
            overlapping windows are averaged: weighted by a Gaussian on
            each window (sigma 1/8 of its side), or evenly. Defaults to
            `"gaussian"`.
        tile_batch_size: int >= 1. With `fit="tile"`, how many windows of
            each image one model call segments (a batch larger than the
            model's fixed or largest batch still runs in chunks). Larger
            is faster on a GPU, at that many times the memory; the outputs
            do not depend on it. Defaults to 1.
        argument_names: None or a dict argument name -> the name errors
            use for it (`deploy/predict.py` passes its flags, e.g.
            `{"path": "--model", "fit": "--fit"}`). Defaults to None.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: for a truncated file, a file of another kind, a
            directory that is not a SavedModel, an unknown `fit`, a
            `max_size` with `fit="exact"`, `fit="tile"` without a window
            size, a `tile_overlap` outside [0, 1), an unknown `tile_blend`,
            a `tile_batch_size` below 1, or a `num_threads` that
            is not None or a positive int.
        ImportError: for a TensorRT engine without TensorRT.

    Example:

    >>> runtime = SegmentationRuntime("exports/model.onnx")  # doctest: +SKIP
    >>> out = runtime(np.zeros((2, 65, 97, 3), np.uint8))  # doctest: +SKIP
    >>> out["class_map"].shape, out["probabilities"].dtype  # doctest: +SKIP
    ((2, 65, 97), dtype('float32'))
    """

    def __init__(self, path, num_threads=None, providers=None, fit="exact",
                 max_size=None, argument_names=None,
                 tile_overlap=DEFAULT_OVERLAP, tile_blend="gaussian",
                 tile_batch_size=DEFAULT_TILE_BATCH_SIZE):
        names = dict(argument_names or {})
        self._names = names
        fit_name, size_name = self._arg("fit"), self._arg("max_size")
        if fit not in FITS:
            raise ValueError(
                f"`{fit_name}` must be one of {list(FITS)}. "
                f"Received: {fit_name}={fit!r}")
        if max_size is not None and fit == "exact":
            raise ValueError(
                f"`{size_name}` needs {fit_name}='letterbox' (larger images "
                f"are shrunk to it) or {fit_name}='tile' (the window size). "
                f"Received: {size_name}={max_size!r}, {fit_name}={fit!r}")
        check_num_threads(num_threads, self._arg("num_threads"))
        self.fit = fit
        self.max_size = size_pair(max_size, size_name)
        self.tile_overlap = check_overlap(tile_overlap,
                                          self._arg("tile_overlap"))
        self.tile_blend = check_blend(tile_blend, self._arg("tile_blend"))
        self.tile_batch_size = check_tile_batch_size(
            tile_batch_size, self._arg("tile_batch_size"))
        argument = self._arg("path")
        keras_module = sys.modules.get("keras")
        if keras_module is not None and isinstance(path, keras_module.Model):
            self.path, self.kind = None, "keras"
            self._backend = _KerasBackend(None, argument, model=path)
        else:
            self.path = os.fspath(path)
            self.kind = detect_model_kind(self.path, argument)
            self._backend = self._load(num_threads, providers, argument)
        self.metadata = self._backend.metadata or {}
        if fit == "tile":
            self._check_tile_size(max_size)

    def _load(self, num_threads, providers, argument):
        """The backend that runs `self.path`, a file of kind `self.kind`."""
        if self.kind == "keras":
            return _KerasBackend(self.path, argument)
        if self.kind == "saved_model":
            return _SavedModelBackend(self.path, argument)
        if self.kind == "tflite":
            return _TFLiteBackend(self.path, num_threads, argument)
        if self.kind == "onnx":
            return _OnnxBackend(self.path, providers, argument)
        return _TensorRTBackend(self.path)

    def _check_tile_size(self, max_size):
        """Raises a `ValueError` if `fit="tile"` has no usable window
        (`max_size` as given, for the message)."""
        fit_name, size_name = self._arg("fit"), self._arg("max_size")
        if self.fixed_size is not None and self.max_size not in (
                None, tuple(self.fixed_size)):
            raise ValueError(
                f"A fixed-size model's windows are its size, "
                f"{self.fixed_size[0]}x{self.fixed_size[1]}: leave "
                f"`{size_name}` unset with {fit_name}='tile'. Received: "
                f"{size_name}={max_size!r}")
        if self.tile_size is None:
            raise ValueError(
                f"{fit_name}='tile' needs `{size_name}`, the window size, for "
                "a model that takes any size (e.g. 513, or the size it was "
                f"trained or exported at). Received: {size_name}=None")
        low = self.min_input_size or 1
        if min(self.tile_size) < low:
            raise ValueError(
                f"`{size_name}` must be at least the model's smallest input, "
                f"{low}, to be a window. Received: {size_name}="
                f"{max_size!r}")

    def _arg(self, name):
        """The name errors give argument `name` (a script's flag)."""
        return self._names.get(name, name)

    @property
    def input_dtype(self):
        """The dtype the underlying model is fed (uint8 or float32)."""
        return np.dtype(self._backend.input_dtype)

    @property
    def keras_model(self):
        """The loaded `keras.Model` of a `.keras` model, else None."""
        return getattr(self._backend, "model", None)

    @property
    def min_input_size(self):
        """Smallest height and width, from the export metadata (or None)."""
        return self.metadata.get("min_input_size")

    @property
    def fixed_size(self):
        """`(height, width)` of a fixed-size TFLite model, else None."""
        return getattr(self._backend, "fixed_size", None)

    @property
    def profile(self):
        """The `EngineProfile` of a TensorRT engine, else None."""
        return getattr(self._backend, "profile", None)

    @property
    def tile_size(self):
        """`(height, width)` of the windows with `fit="tile"`, else None:
        a fixed-size model's size, else `max_size` (at most a TensorRT
        profile's largest), else the profile's largest."""
        if self.fit != "tile":
            return None
        if self.fixed_size is not None:
            return tuple(self.fixed_size)
        high = (self.profile.max_shape[1:3] if self.profile is not None
                else None)
        if self.max_size is None:
            return tuple(high) if high is not None else None
        if high is None:
            return self.max_size
        return (min(self.max_size[0], high[0]), min(self.max_size[1], high[1]))

    def fit_plan(self, height, width):
        """How `fit="letterbox"` fits a `height x width` image (or, with
        `fit="tile"`, a window), or None.

        Returns:
            None if the image is taken as it is (always, with
            `fit="exact"`), else `(resized, padded)` as `letterbox_plan`.
        """
        if self.fit == "exact":
            return None
        min_size = self.min_input_size
        max_size = self.max_size
        if self.profile is not None:
            low, high = self.profile.min_shape, self.profile.max_shape
            min_size = (max(low[1], min_size or 1), max(low[2], min_size or 1))
            if max_size is not None:
                max_size = (min(high[1], max_size[0]), min(high[2], max_size[1]))
            else:
                max_size = (high[1], high[2])
        return letterbox_plan(height, width, fixed_size=self.fixed_size,
                              min_size=min_size, max_size=max_size)

    def fit_note(self, height, width):
        """How a `height x width` image is fitted, in words, or None.

        Example: `"letterboxed: 50x70 resized to 29x41, padded to 41x41"`,
        or with `fit="tile"`, `"tiled: 6 windows of 41x41"`.
        """
        if self.fit == "tile":
            windows = tile_windows(height, width, self.tile_size,
                                   self.tile_overlap)
            if len(windows) > 1:
                return (f"tiled: {len(windows)} windows of "
                        f"{windows[0][2]}x{windows[0][3]}")
        plan = self.fit_plan(height, width)
        if plan is None:
            return None
        return (f"letterboxed: {height}x{width} resized to "
                f"{plan[0][0]}x{plan[0][1]}, padded to "
                f"{plan[1][0]}x{plan[1][1]}")

    def check_size(self, height, width):
        """Raises a `ValueError` if this model cannot take `height x width`.

        Args:
            height: int.
            width: int.
        """
        min_size = self.min_input_size
        if min_size and min(height, width) < min_size:
            raise ValueError(
                f"`images` must be at least {min_size}x{min_size} for this "
                f"model (its smallest scale needs 17 pixels). Received: "
                f"images of size {height}x{width} ({self._arg('fit')}="
                "'letterbox' pads them)")
        if self.fixed_size and (height, width) != self.fixed_size:
            raise ValueError(
                "`images` must be "
                f"{self.fixed_size[0]}x{self.fixed_size[1]} for this "
                f"fixed-size TFLite model. Received: images of size "
                f"{height}x{width} ({self._arg('fit')}='letterbox' resizes "
                "and pads them to fit)")
        if self.profile is not None:
            low, high = self.profile.min_shape, self.profile.max_shape
            if not (low[1] <= height <= high[1] and low[2] <= width <= high[2]):
                raise ValueError(
                    "`images` must fit the TensorRT engine's profile: height "
                    f"{low[1]}-{high[1]}, width {low[2]}-{high[2]}. "
                    f"Received: images of size {height}x{width} "
                    f"({self._arg('fit')}='letterbox' resizes and pads them "
                    "to fit)")

    def _max_batch(self):
        if self.profile is not None:
            return self.profile.max_shape[0]
        return getattr(self._backend, "max_batch", None)

    def __call__(self, images):
        """Segments images.

        Args:
            images: `[B, H, W, 3]` or `[H, W, 3]` RGB, uint8 (or numbers in
                [0, 255]).

        Returns:
            dict of NumPy arrays `"class_map"` int32 `[B, H, W]`,
            `"probabilities"` float32 `[B, H, W, C]` and, if the model has
            it, `"attention"` float32 `[B, H, W, S]`; without the batch
            axis for a single `[H, W, 3]` image.
        """
        batch, single = prepare_images(images)
        if self.fit == "tile":
            blended = segment_in_tiles(self._segment, batch, self.tile_size,
                                       self.tile_overlap, self.tile_blend,
                                       self.tile_batch_size)
            outputs = {name: blended[name] for name in OUTPUT_NAMES
                       if name in blended}
        else:
            outputs = self._segment(batch)
        if single:
            outputs = {k: v[0] for k, v in outputs.items()}
        return outputs

    def _segment(self, batch):
        """The outputs of a prepared uint8 batch, fitted if need be."""
        size = batch.shape[1:3]
        plan = self.fit_plan(*size)
        if plan is not None:
            batch = letterbox_images(batch, *plan)
        self.check_size(*batch.shape[1:3])
        step = self._max_batch() or len(batch)
        if self.profile is not None and len(batch) < self.profile.min_shape[0]:
            raise ValueError(
                "`images` must hold at least "
                f"{self.profile.min_shape[0]} images for this engine's "
                f"profile. Received: a batch of {len(batch)}")
        chunks = [self._backend.run(batch[i:i + step])
                  for i in range(0, len(batch), step)]
        outputs = {}
        for name in OUTPUT_NAMES:
            if name in chunks[0]:
                value = np.concatenate([c[name] for c in chunks])
                dtype = np.int32 if name == "class_map" else np.float32
                outputs[name] = value.astype(dtype, copy=False)
        if plan is not None:
            outputs = restore_outputs(outputs, plan[0], size)
        return outputs

    predict = __call__

    def __repr__(self):
        text = (f"SegmentationRuntime(kind={self.kind!r}, path={self.path!r}, "
                f"fit={self.fit!r}, max_size={self.max_size!r}")
        if self.fit == "tile":
            text += (f", tile_overlap={self.tile_overlap!r}, "
                     f"tile_blend={self.tile_blend!r}, "
                     f"tile_batch_size={self.tile_batch_size!r}")
        return text + ")"
