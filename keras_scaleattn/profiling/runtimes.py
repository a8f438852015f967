"""The exported CPU runtimes the benchmarks time, and their parity checks.

Two graphs can be exported:

- `"serving"`: what the package deploys (`keras_scaleattn.export`): uint8 or
  float images in, full-resolution `class_map`, `probabilities` and
  `attention` out (pad to 8k+1, forward pass, x8 align-corners upsampling).
  ONNX through `export_onnx`, LiteRT through `export_tflite`.
- `"logits"`: the forward pass alone, `logits` `[B, h, w, C]` at output
  stride 8 and their `class_map` (arg-max), converted here with tf2onnx and
  the TFLite converter directly; used where the package's exporters are
  missing, and to compare logits.

Converting the full-width model is slow (minutes with tf2onnx on two cores),
so `ArtifactCache` keeps the model and its artifacts in a directory keyed by
the model's configuration, and reuses them across benchmark runs.
"""

import hashlib
import json
import os
import tempfile

import numpy as np

GRAPHS = ("serving", "logits")
CACHE_ENV = "KERAS_SCALEATTN_BENCHMARK_CACHE"


def package_exporters_available():
    """Whether `keras_scaleattn.export` (ONNX and TFLite) can be imported."""
    try:
        import keras_scaleattn.export.onnx_export  # noqa: F401
        import keras_scaleattn.export.tflite  # noqa: F401
    except ImportError:
        return False
    return True


def _check_graph(graph):
    if graph not in GRAPHS:
        raise ValueError(
            f"`graph` must be one of {GRAPHS}. Received: graph={graph!r}")
    return graph


def deployment_function(model, graph="serving", input_dtype="float32",
                        image_size=None):
    """The `tf.function` an artifact of `graph` computes, for TF timing.

    Args:
        model: a `ScaleAttentionSegmenter`.
        graph: str. `"serving"` or `"logits"`.
        input_dtype: str. `"float32"` or `"uint8"`.
        image_size: None (any size) or `(height, width)`.

    Returns:
        `tf.function` of one `images` tensor `[B, H, W, 3]` returning a dict
        of outputs.
    """
    import tensorflow as tf

    _check_graph(graph)
    if graph == "serving":
        from keras_scaleattn.export.serving import serving_function

        return serving_function(model, input_dtype, image_size)
    size = tuple(image_size) if image_size else (None, None)
    batch = 1 if image_size else None
    spec = tf.TensorSpec([batch, size[0], size[1], 3], tf.as_dtype(input_dtype),
                         name="images")

    @tf.function(input_signature=[spec], autograph=False)
    def logits(images):
        values = model(tf.cast(images, tf.float32), training=False)["logits"]
        return {"logits": values,
                "class_map": tf.argmax(values, axis=-1, output_type=tf.int32)}

    return logits


def export_onnx_graph(model, graph, path):
    """Writes `graph` of `model` as ONNX (float32 input); returns `path`."""
    _check_graph(graph)
    if graph == "serving":
        from keras_scaleattn.export.onnx_export import export_onnx

        return export_onnx(model, path)
    import tf2onnx

    function = deployment_function(model, "logits", "float32")
    function.get_concrete_function()
    tf2onnx.convert.from_function(function,
                                  input_signature=function.input_signature,
                                  opset=17, output_path=os.fspath(path))
    return os.fspath(path)


def export_tflite_graph(model, graph, path, quantization, image_size,
                        representative_images=None):
    """Writes `graph` of `model` as a fixed-size, uint8-input `.tflite`.

    Args:
        model: a segmenter.
        graph: str. `"serving"` or `"logits"`.
        path: destination file.
        quantization: str. `"float32"` or `"int8"` (full integer, calibrated
            on `representative_images`).
        image_size: `(height, width)`; a fixed size folds every dilated
            convolution into one CONV_2D.
        representative_images: list of uint8 `[H, W, 3]` images (int8).

    Returns:
        str: `path`.
    """
    _check_graph(graph)
    if graph == "serving":
        from keras_scaleattn.export.tflite import export_tflite

        return export_tflite(model, path, quantization, image_size=image_size,
                             representative_images=representative_images)
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    function = deployment_function(model, "logits", "uint8", image_size)
    concrete = function.get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    structure = concrete.structured_outputs

    # Weights frozen to constants (LiteRT leaves resource variables
    # uninitialised); the tf.Module gives the model a signature, so that
    # outputs keep their names.
    @tf.function(input_signature=function.input_signature)
    def serve(images):
        return tf.nest.pack_sequence_as(structure, frozen(images))

    module = tf.Module()
    module.serve = serve
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [serve.get_concrete_function()], module)
    if quantization == "int8":
        def representative_dataset():
            for image in representative_images:
                yield [image[None].astype(np.uint8)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    elif quantization != "float32":
        raise ValueError(
            "`quantization` must be 'float32' or 'int8'. "
            f"Received: quantization={quantization!r}")
    data = converter.convert()
    with open(path, "wb") as f:
        f.write(data)
    return os.fspath(path)


class OnnxRunner:
    """Runs an `.onnx` file on ONNX Runtime's CPU provider.

    Args:
        path: str. The model.
        threads: int or None. Intra-op threads (None: ONNX Runtime's default,
            one per physical core).

    Call with a float32 batch `[B, H, W, 3]`; returns a dict of outputs.
    """

    def __init__(self, path, threads=None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            os.fspath(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    def __call__(self, batch):
        values = self.session.run(
            self.output_names,
            {self.input_name: np.asarray(batch, np.float32)})
        return dict(zip(self.output_names, values))


class LiteRTRunner:
    """Runs a `.tflite` file with the LiteRT interpreter (XNNPACK on CPU).

    Args:
        path: str. The model.
        threads: int or None. Interpreter threads.

    Call with a uint8 batch of the model's fixed size; returns a dict of
    outputs, int8 outputs dequantised to float32.
    """

    def __init__(self, path, threads=None):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=os.fspath(path),
                                       num_threads=threads)
        self.runner = self.interpreter.get_signature_runner()
        (self.input_name, detail), = self.runner.get_input_details().items()
        self.input_dtype = np.dtype(detail["dtype"])
        self.output_details = self.runner.get_output_details()

    def __call__(self, batch):
        outputs = self.runner(**{self.input_name:
                                 np.asarray(batch).astype(self.input_dtype)})
        result = {}
        for name, value in outputs.items():
            scale, zero_point = self.output_details[name].get(
                "quantization", (0.0, 0))
            if scale and value.dtype in (np.int8, np.uint8):
                value = (value.astype(np.float32) - zero_point) * scale
            result[name] = value
        return result


def parity(reference, outputs):
    """Compares a runtime's outputs with the reference's, name by name.

    Args:
        reference: dict name -> array (the compiled TF graph's outputs).
        outputs: dict name -> array, same names (missing ones are skipped).

    Returns:
        dict name -> `{"max_abs_delta": float}` for float outputs, or
        `{"agreement": fraction of equal values}` for integer outputs (the
        class map).

    Example:

    >>> parity({"class_map": np.array([1, 2]), "logits": np.zeros(2)},
    ...        {"class_map": np.array([1, 3]), "logits": np.ones(2)})
    {'class_map': {'agreement': 0.5}, 'logits': {'max_abs_delta': 1.0}}
    """
    result = {}
    for name, expected in reference.items():
        if name not in outputs:
            continue
        expected = np.asarray(expected)
        actual = np.asarray(outputs[name])
        if expected.shape != actual.shape:
            raise ValueError(
                f"Output {name!r} has shape {actual.shape}, the reference "
                f"{expected.shape}.")
        if np.issubdtype(expected.dtype, np.integer):
            result[name] = {"agreement": float(np.mean(expected == actual))}
        else:
            delta = np.abs(actual.astype(np.float64) - expected)
            result[name] = {"max_abs_delta": float(delta.max())}
    return result


class ArtifactCache:
    """A model and its exports in one directory, reused across runs.

    The directory is named after the model's configuration (classes,
    width, scales, seed) under `root`, so two benchmarks of the same model
    share one conversion. The model is saved there as `model.keras` the
    first time and loaded afterwards: artifacts and model keep the same
    weights.

    Args:
        config: dict of what identifies the model (JSON-serialisable).
        root: str or None. Defaults to `$KERAS_SCALEATTN_BENCHMARK_CACHE` or
            `<tempdir>/keras_scaleattn_benchmarks`.
    """

    def __init__(self, config, root=None):
        root = root or os.environ.get(CACHE_ENV) or os.path.join(
            tempfile.gettempdir(), "keras_scaleattn_benchmarks")
        key = hashlib.sha1(
            json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
        self.directory = os.path.join(root, key)
        os.makedirs(self.directory, exist_ok=True)
        with open(os.path.join(self.directory, "config.json"), "w") as f:
            json.dump(config, f, sort_keys=True)

    def path(self, name):
        """The path of artifact `name` in the cache directory."""
        return os.path.join(self.directory, name)

    def model(self, build):
        """Loads `model.keras`, or builds it with `build()` and saves it."""
        import keras

        import keras_scaleattn  # noqa: F401  (registers the layers)

        path = self.path("model.keras")
        if os.path.exists(path):
            return keras.models.load_model(path), True
        model = build()
        model.save(path)
        return model, False

    def get(self, name, make):
        """Returns `(path, reused)`; `make(tmp_path)` writes a missing one."""
        path = self.path(name)
        if os.path.exists(path):
            return path, True
        tmp = path + ".partial"
        make(tmp)
        os.replace(tmp, path)
        return path, False
