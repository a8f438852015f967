"""TFLite (LiteRT) export: float32, float16 and full int8, any or one size.

Facts this module relies on (NOTES.md, "TFLite / LiteRT", checked with
TF 2.21 and ai-edge-litert 2.3.0):

- Converting from the SavedModel path keeps Keras variables as resource
  variables (VAR_HANDLE / READ_VARIABLE ops) that LiteRT 2.3 never
  initialises: the outputs are NaN. The serving function is therefore frozen
  (`convert_variables_to_constants_v2`) before conversion.
- The trunk runs each dilated convolution as one TF Conv2D with
  `dilations` (`keras_scaleattn.ops.dilated_conv2d`), which the converter
  turns into one CONV_2D with dilation factors at any size (what mobile
  delegates need). TF's default lowering (SpaceToBatchND / BatchToSpaceND
  around the convolution) would survive in a dynamic-size model; a model
  built from other layers may carry it, so `export_tflite` checks that a
  fixed-size model has none left.
- Every variant takes uint8 `[B, H, W, 3]` RGB, as the SavedModel does.
  Full int8 quantises everything after the input cast (weights and
  activations int8, calibrated on `representative_images`); class maps are
  int32 and probabilities / attention are dequantised to float32 outputs.
"""

import collections
import warnings

import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)

from keras_scaleattn.export.atomic import write_file_atomic
from keras_scaleattn.export.serving import METADATA_KEY
from keras_scaleattn.export.serving import export_metadata
from keras_scaleattn.export.serving import float32_model
from keras_scaleattn.export.serving import metadata_json
from keras_scaleattn.export.serving import normalize_image_size
from keras_scaleattn.export.serving import serving_function

QUANTIZATIONS = ("float32", "float16", "int8")
# The ops TF wraps around a dilated convolution when the padding depends on
# the input size.
DILATION_OPS = ("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")
DEFAULT_CALIBRATION_IMAGES = 100


def _schema():
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def _read_bytes(model):
    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    with open(model, "rb") as f:
        return f.read()


def tflite_operator_counts(model):
    """Counts the builtin operators of a TFLite flatbuffer.

    Reads the operator codes directly (no interpreter, no TensorFlow), so it
    also works on models that do not load.

    Args:
        model: path to a `.tflite` file, or its bytes.

    Returns:
        `collections.Counter` of operator names (`"CONV_2D"`, ...); custom
        operators count under `"CUSTOM:<name>"`.

    Example:

    >>> tflite_operator_counts("model_513.tflite")["SPACE_TO_BATCH_ND"]  # doctest: +SKIP
    0
    """
    schema = _schema()
    data = _read_bytes(model)
    fb = schema.Model.GetRootAs(data, 0)
    names = {value: name for name, value in vars(schema.BuiltinOperator).items()
             if not name.startswith("_")}
    codes = []
    for i in range(fb.OperatorCodesLength()):
        code = fb.OperatorCodes(i)
        # Codes >= 127 live in BuiltinCode, older ones in the deprecated byte.
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = names.get(builtin, str(builtin))
        if name == "CUSTOM":
            name = "CUSTOM:" + (code.CustomCode() or b"").decode()
        codes.append(name)
    counts = collections.Counter()
    for s in range(fb.SubgraphsLength()):
        subgraph = fb.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            counts[codes[subgraph.Operators(o).OpcodeIndex()]] += 1
    return counts


def tflite_operator_details(model):
    """Per-operator facts the export promises, read from the flatbuffer.

    Args:
        model: path to a `.tflite` file, or its bytes.

    Returns:
        list of dicts in execution order, one per operator of the main
        subgraph: `"op"` (name), `"input_type"` (the first input's tensor
        type, e.g. `"INT8"`), and for CONV_2D `"dilation"` `(h, w)`, for
        RESIZE_BILINEAR `"align_corners"` and `"half_pixel_centers"`.

    Example:

    >>> [d["dilation"] for d in tflite_operator_details("model_513.tflite")
    ...  if d["op"] == "CONV_2D"][10]  # doctest: +SKIP
    (2, 2)
    """
    schema = _schema()
    data = _read_bytes(model)
    fb = schema.Model.GetRootAs(data, 0)
    names = {value: name for name, value in vars(schema.BuiltinOperator).items()
             if not name.startswith("_")}
    types = {value: name for name, value in vars(schema.TensorType).items()
             if not name.startswith("_")}
    codes = [names.get(max(fb.OperatorCodes(i).BuiltinCode(),
                           fb.OperatorCodes(i).DeprecatedBuiltinCode()))
             for i in range(fb.OperatorCodesLength())]
    subgraph = fb.Subgraphs(0)
    details = []
    for o in range(subgraph.OperatorsLength()):
        op = subgraph.Operators(o)
        detail = {"op": codes[op.OpcodeIndex()], "input_type": None}
        if op.InputsLength() and op.Inputs(0) >= 0:
            detail["input_type"] = types.get(
                subgraph.Tensors(op.Inputs(0)).Type())
        table = op.BuiltinOptions()
        if detail["op"] == "CONV_2D" and table is not None:
            options = schema.Conv2DOptions()
            options.Init(table.Bytes, table.Pos)
            detail["dilation"] = (options.DilationHFactor(),
                                  options.DilationWFactor())
        elif detail["op"] == "RESIZE_BILINEAR" and table is not None:
            options = schema.ResizeBilinearOptions()
            options.Init(table.Bytes, table.Pos)
            detail["align_corners"] = bool(options.AlignCorners())
            detail["half_pixel_centers"] = bool(options.HalfPixelCenters())
        details.append(detail)
    return details


def read_tflite_metadata(model, name=METADATA_KEY):
    """Returns the bytes of the metadata entry `name` of a TFLite model.

    Args:
        model: path to a `.tflite` file, or its bytes.
        name: str. The entry's name. Defaults to `"keras_scaleattn"`.

    Returns:
        bytes, or None if the model has no such entry.
    """
    schema = _schema()
    data = _read_bytes(model)
    fb = schema.Model.GetRootAs(data, 0)
    for i in range(fb.MetadataLength()):
        entry = fb.Metadata(i)
        if (entry.Name() or b"").decode() == name:
            return fb.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return None


def add_tflite_metadata(model_bytes, name, data):
    """Returns `model_bytes` with a metadata entry `name` holding `data`.

    Args:
        model_bytes: bytes of a TFLite flatbuffer.
        name: str. The entry's name.
        data: bytes.

    Returns:
        bytes: the new flatbuffer (file identifier `TFL3`).
    """
    import flatbuffers

    schema = _schema()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(model_bytes, 0))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(data, dtype=np.uint8)
    model.buffers = list(model.buffers or []) + [buffer]
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata = list(model.metadata or []) + [entry]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _fit_to_size(image, size):
    """Resizes a uint8 [H, W, 3] image to `size` for calibration."""
    if image.shape[:2] == tuple(size):
        return image
    resized = Image.fromarray(image).resize((size[1], size[0]),
                                            Image.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


def calibration_images(images, image_size=None,
                       limit=DEFAULT_CALIBRATION_IMAGES):
    """Collects up to `limit` uint8 RGB images for int8 calibration.

    Args:
        images: an iterable of uint8 images `[H, W, 3]` (a list, an array
            `[N, H, W, 3]`, a generator, or a `tf.data.Dataset` of images or
            of `(image, label)` pairs).
        image_size: None, or the `(height, width)` every image is resized
            to (for a fixed-size model).
        limit: int. At most this many images are taken. Defaults to 100.

    Returns:
        list of uint8 arrays `[H, W, 3]`.

    Raises:
        ValueError: if `images` is None or empty, or holds something that is
            not an `[H, W, 3]` image.
    """
    if images is None:
        raise ValueError(
            "int8 quantisation needs `representative_images` (an iterable "
            "of uint8 [H, W, 3] images). Received: representative_images=None"
        )
    if isinstance(images, tf.data.Dataset):
        images = images.as_numpy_iterator()
    out = []
    for item in images:
        if len(out) >= limit:
            break
        if isinstance(item, (tuple, list)):
            item = item[0]
        image = np.asarray(item)
        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(
                "`representative_images` must yield RGB images [H, W, 3]. "
                f"Received an item of shape {image.shape}"
            )
        if image.dtype != np.uint8:
            image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
        if image_size is not None:
            image = _fit_to_size(image, image_size)
        out.append(image)
    if not out:
        raise ValueError(
            "`representative_images` must hold at least one image. "
            "Received: an empty iterable"
        )
    return out


def frozen_serving_module(model, image_size=None, batch_size=None,
                          input_dtype="uint8"):
    """A `tf.Module` whose `serve` runs the model with weights as constants.

    Args:
        model: a segmenter.
        image_size: None or the fixed `(height, width)`.
        batch_size: None or the fixed batch size.
        input_dtype: str. `"uint8"` or `"float32"`.

    Returns:
        `tf.Module` with a `serve` `tf.function` of the same signature and
        outputs as `serving_function`.
    """
    serve = serving_function(model, input_dtype, image_size, batch_size)
    concrete = serve.get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    structure = concrete.structured_outputs
    spec = serve.input_signature[0]

    @tf.function(input_signature=[spec])
    def frozen_serve(images):
        return tf.nest.pack_sequence_as(structure, frozen(images),
                                        expand_composites=True)

    module = tf.Module()
    module.serve = frozen_serve
    return module


def convert_tflite(model, quantization="float32", image_size=None,
                   representative_images=None,
                   num_calibration_images=DEFAULT_CALIBRATION_IMAGES,
                   class_names=None):
    """Converts a segmenter to TFLite flatbuffer bytes (no file written).

    A mixed-precision model is converted from its float32 copy
    (`float32_model`): `quantization` alone sets the precision.

    Args:
        model: a `ScaleAttentionSegmenter`.
        quantization: str. `"float32"`, `"float16"` (weights stored in
            float16) or `"int8"` (full integer quantisation).
            Defaults to `"float32"`.
        image_size: None for any size (input `[None, None, None, 3]`), or an
            int or `(height, width)`: input `[1, height, width, 3]` and every
            dilated convolution a plain CONV_2D. Defaults to None.
        representative_images: iterable of uint8 `[H, W, 3]` images for
            int8 calibration (required for `"int8"`, ignored otherwise);
            resized to `image_size` when that is set.
        num_calibration_images: int. How many of them to use. Defaults to
            100.
        class_names: None or one name per class, stored in the metadata.

    Returns:
        bytes: the flatbuffer, with the export metadata as entry
        `"keras_scaleattn"`.

    Raises:
        ValueError: for an unknown `quantization`, a bad `image_size`, int8
            without images, an `image_size` below the model's minimum, or
            `class_names` that do not fit the model.
        RuntimeError: if a fixed-size model still has SPACE_TO_BATCH_ND /
            BATCH_TO_SPACE_ND operators.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"`quantization` must be one of {QUANTIZATIONS}. "
            f"Received: quantization={quantization!r}"
        )
    size = normalize_image_size(image_size)
    min_size = getattr(model, "min_input_size", None)
    if size is not None and min_size and min(size) < min_size:
        raise ValueError(
            f"`image_size` must be at least the model's min_input_size "
            f"({min_size}). Received: image_size={image_size!r}"
        )
    batch_size = 1 if size is not None else None
    model = float32_model(model)
    # Checked before the (slow) conversion.
    metadata = export_metadata(model, "uint8", size, quantization, batch_size,
                               class_names)
    module = frozen_serving_module(model, size, batch_size)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.serve.get_concrete_function()], module)
    if quantization == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "int8":
        images = calibration_images(representative_images, size,
                                    num_calibration_images)

        def representative_dataset():
            for image in images:
                yield {"images": image[None]}

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with warnings.catch_warnings():
        # TF's own int8 calibrator builds a `tf.lite.Interpreter`, whose
        # deprecation warning (use ai_edge_litert) is not ours to act on:
        # this package runs TFLite models with ai_edge_litert.
        warnings.filterwarnings("ignore", message=r"(?s).*tf\.lite\.Interpreter is deprecated",
                                category=UserWarning)
        data = converter.convert()
    if size is not None:
        counts = tflite_operator_counts(data)
        left = {op: counts[op] for op in DILATION_OPS if counts[op]}
        if left:
            raise RuntimeError(
                "The fixed-size TFLite model still has dilation operators "
                f"{left}; every dilated convolution should be one CONV_2D."
            )
    return add_tflite_metadata(data, METADATA_KEY,
                               metadata_json(metadata).encode())


def export_tflite(model, path, quantization="float32", image_size=None,
                  representative_images=None,
                  num_calibration_images=DEFAULT_CALIBRATION_IMAGES,
                  class_names=None):
    """Exports a segmenter to a `.tflite` file, atomically.

    See `convert_tflite` for the arguments; the file is written under a
    temporary name next to `path` and renamed when complete.

    Args:
        model: a `ScaleAttentionSegmenter`.
        path: str or os.PathLike. Destination `.tflite` file.
        quantization: str. `"float32"`, `"float16"` or `"int8"`.
        image_size: None (any size) or an int / `(height, width)`.
        representative_images: iterable of uint8 images (int8 only).
        num_calibration_images: int. Defaults to 100.
        class_names: None or one name per class, stored in the metadata.

    Returns:
        str: `path`.

    Example:

    >>> export_tflite(model, "exports/model_513_int8.tflite", "int8",
    ...               image_size=513, representative_images=images)  # doctest: +SKIP
    'exports/model_513_int8.tflite'
    """
    data = convert_tflite(model, quantization, image_size,
                          representative_images, num_calibration_images,
                          class_names)
    return write_file_atomic(path, data)
