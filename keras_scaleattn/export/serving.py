"""The exported computation: uint8 or float images in, full-resolution maps out.

Every artifact (SavedModel, TFLite, ONNX and the TensorRT engines built from
the ONNX) runs the same function: `full_resolution_outputs` (the paper's pad
to `8k + 1` with the mean, one forward pass, x8 align-corners upsampling,
crop) traced into a `tf.function` with one input `"images"` `[B, H, W, 3]`,
RGB in [0, 255], and three outputs:

- `"class_map"`: int32 `[B, H, W]`, the arg-max class of each pixel.
- `"probabilities"`: float32 `[B, H, W, C]`, the class softmax.
- `"attention"`: float32 `[B, H, W, S]`, the weight of every scale (only for
  models that have the output, i.e. attention merge with two or more scales).

Input dtype: uint8 for the SavedModel and TFLite (what cameras and phones
hand over; cast to float32 inside), float32 for ONNX and TensorRT (what
ONNX Runtime and TensorRT engines are fed; values still 0-255 RGB, not
normalised: the VGG mean subtraction is inside the model).
"""

import json

import keras
import numpy as np
import tensorflow as tf

from keras_scaleattn.export.keras_file import check_segmenter
from keras_scaleattn.inference.full_resolution import full_resolution_outputs
from keras_scaleattn.version import __version__

INPUT_NAME = "images"
OUTPUT_NAMES = ("class_map", "probabilities", "attention")
METADATA_KEY = "keras_scaleattn"
INPUT_DTYPES = ("uint8", "float32")


def _is_float32_policy(policy):
    return (policy.compute_dtype == "float32"
            and policy.variable_dtype == "float32")


def is_float32(model):
    """Whether `model` and every layer in it compute and store float32.

    Args:
        model: a `keras.Model`.

    Returns:
        bool: False for a model built with `dtype="mixed_float16"`,
        `"mixed_bfloat16"`, `"float16"`, `"bfloat16"` or `"float64"` (or
        holding a layer with such a policy).
    """
    return all(_is_float32_policy(layer.dtype_policy)
               for layer in model._flatten_layers(include_self=True))


# Float dtype policies whose float32 counterpart is "float32".
_FLOAT_POLICIES = ("mixed_float16", "mixed_bfloat16", "float16", "bfloat16",
                   "float64")


def _float32_config(value):
    """`value` (a model config) with every float dtype policy float32."""
    if isinstance(value, dict):
        if (value.get("class_name") in ("DTypePolicy", "FloatDTypePolicy")
                and isinstance(value.get("config"), dict)
                and value["config"].get("name") in _FLOAT_POLICIES):
            return "float32"
        return {key: ("float32" if key == "dtype" and item in _FLOAT_POLICIES
                      else _float32_config(item))
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_float32_config(item) for item in value)
    return value


def float32_model(model):
    """`model` itself if it is float32, else a float32 copy to export from.

    A model trained with mixed precision (`dtype="mixed_float16"` or
    `"mixed_bfloat16"`, `optimization.mixed_precision`) computes in half
    precision, which the TFLite converter rejects, tf2onnx turns into
    bfloat16 graphs ONNX Runtime cannot load, and which would make a
    "float32" artifact compute in float16. Every exporter therefore traces
    this copy: the same config with the float32 dtype policy, the weights
    copied and cast to float32. Each artifact's precision is then the one
    its name and metadata state (float16 and int8 come from the artifact's
    own conversion, not from the training policy).

    Args:
        model: a segmenter (see `check_segmenter`).

    Returns:
        A float32 `keras.Model` with the same weights (cast to float32).

    Raises:
        ValueError: if `model` is not a segmenter, or its dtype policy has
            no float32 counterpart (e.g. a quantized `"int8"` policy).

    Example:

    >>> from keras_scaleattn import ScaleAttentionSegmenter
    >>> model = ScaleAttentionSegmenter(
    ...     num_classes=3, scales=(1.0, 0.5), trunk_width=0.0625,
    ...     attention_filters=8, dtype="mixed_bfloat16")
    >>> float32_model(model).dtype_policy.name
    'float32'
    """
    check_segmenter(model)
    if is_float32(model):
        return model
    policy = model.dtype_policy.name
    try:
        copy = type(model).from_config(_float32_config(model.get_config()))
    except Exception as error:  # from_config raises many kinds
        raise ValueError(
            f"`model` (dtype policy {policy!r}) could not be rebuilt in "
            f"float32 from its config for export: {type(error).__name__}: "
            f"{str(error)[:300]}") from error
    if not is_float32(copy):
        raise ValueError(
            "`model` must have a float dtype policy (float32, "
            f"{', '.join(_FLOAT_POLICIES)}) to be exported. Received: a "
            f"model with dtype policy {policy!r}")
    source, target = model.weights, copy.weights
    if [tuple(v.shape) for v in source] != [tuple(v.shape) for v in target]:
        raise ValueError(
            f"`model` (dtype policy {policy!r}) rebuilt in float32 has other "
            "weights than the original, so it cannot be exported from a "
            "float32 copy. Received: a model of type "
            f"{type(model).__name__}")
    for src, dst in zip(source, target):
        value = keras.ops.convert_to_numpy(src)
        if "float" in str(src.dtype):
            value = value.astype(np.float32)
        dst.assign(value)
    return copy


def normalize_image_size(image_size):
    """Returns `None` or an `(height, width)` pair of positive ints.

    Args:
        image_size: None, an int (square) or a pair of ints.

    Returns:
        None or tuple `(height, width)`.

    Raises:
        ValueError: for anything else.

    Example:

    >>> normalize_image_size(513), normalize_image_size((321, 481))
    ((513, 513), (321, 481))
    """
    if image_size is None:
        return None
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        height, width = image_size
    except (TypeError, ValueError):
        height = width = None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
               for v in (height, width)):
        raise ValueError(
            "`image_size` must be None, a positive int or a pair of positive "
            f"ints (height, width). Received: image_size={image_size!r}"
        )
    return (height, width)


def segmentation_outputs(model, images):
    """Full-resolution outputs of `model`, in ops every exporter supports.

    Args:
        model: a segmenter (see `check_segmenter`).
        images: uint8 or float tensor `[B, H, W, 3]`, RGB in [0, 255].

    Returns:
        dict of `"class_map"`, `"probabilities"` and (if the model has it)
        `"attention"` tensors, as `full_resolution_outputs`.
    """
    outputs = full_resolution_outputs(model, tf.cast(images, tf.float32))
    # keras.ops.argmax on TensorFlow adds a -0.0 fix built on BitwiseAnd,
    # which TFLite's builtin ops lack (the conversion fails). Probabilities
    # are >= 0, so tf.argmax gives the same classes; the unused ops are
    # pruned by every converter.
    outputs["class_map"] = tf.argmax(
        outputs["probabilities"], axis=-1, output_type=tf.int32)
    return {name: outputs[name] for name in OUTPUT_NAMES if name in outputs}


def serving_function(model, input_dtype="uint8", image_size=None,
                     batch_size=None):
    """The `tf.function` every artifact is exported from.

    Args:
        model: a segmenter (see `check_segmenter`).
        input_dtype: str. `"uint8"` or `"float32"`. Defaults to `"uint8"`.
        image_size: None for any size (dynamic height and width), or an int
            or `(height, width)` for a fixed size. Defaults to None.
        batch_size: None for a dynamic batch, or a positive int.
            Defaults to None.

    Returns:
        A `tf.function` with one input signature, `images` of shape
        `[batch_size, height, width, 3]`, returning the output dict.

    Example:

    >>> from keras_scaleattn import ScaleAttentionSegmenter
    >>> model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
    ...                                 trunk_width=0.0625, attention_filters=8)
    >>> serve = serving_function(model)
    >>> sorted(serve(np.zeros((1, 40, 50, 3), np.uint8)))
    ['attention', 'class_map', 'probabilities']
    """
    check_segmenter(model)
    if input_dtype not in INPUT_DTYPES:
        raise ValueError(
            f"`input_dtype` must be one of {INPUT_DTYPES}. "
            f"Received: input_dtype={input_dtype!r}"
        )
    size = normalize_image_size(image_size) or (None, None)
    if batch_size is not None and (
            not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(
            "`batch_size` must be None or a positive int. "
            f"Received: batch_size={batch_size!r}"
        )
    spec = tf.TensorSpec([batch_size, size[0], size[1], 3],
                         tf.as_dtype(input_dtype), name=INPUT_NAME)

    @tf.function(input_signature=[spec])
    def serve(images):
        return segmentation_outputs(model, images)

    return serve


def check_class_names(class_names, num_classes, argument="class_names"):
    """Validates the class names stored with an export.

    Args:
        class_names: None, or a sequence of `num_classes` distinct,
            non-empty str (class id `i` is named `class_names[i]`).
        num_classes: int. The model's number of classes.
        argument: str. The name errors give `class_names` (a script's
            flag). Defaults to `"class_names"`.

    Returns:
        None or a list of str.

    Raises:
        ValueError: for a str, a wrong count, an empty, non-str or repeated
            name.

    Example:

    >>> check_class_names(("background", "cat"), 2)
    ['background', 'cat']
    """
    if class_names is None:
        return None
    names = None
    if not isinstance(class_names, (str, bytes)):
        try:
            names = list(class_names)
        except TypeError:
            names = None
    if (names is None or len(names) != num_classes
            or not all(isinstance(n, str) and n for n in names)
            or len(set(names)) != len(names)):
        raise ValueError(
            f"`{argument}` must be None or {num_classes} distinct, non-empty "
            "str (one per class of the model). "
            f"Received: {argument}={class_names!r}")
    return names


def export_metadata(model, input_dtype, image_size=None, precision="float32",
                    batch_size=None, class_names=None):
    """The description stored inside every artifact (under `METADATA_KEY`).

    Args:
        model: the exported segmenter.
        input_dtype: str. The artifact's input dtype.
        image_size: None or the fixed `(height, width)`.
        precision: str. `"float32"`, `"float16"` or `"int8"`.
        batch_size: None or the fixed batch size.
        class_names: None or one name per class (see `check_class_names`).

    Returns:
        dict, JSON-serialisable: producer and version, `num_classes`,
        `class_names` (None when not given; artifacts written before it
        existed lack the key), `scales`, `merge`, `min_input_size`,
        `has_attention`, the input's name, dtype, layout and range,
        `image_size`, `batch_size`, `precision` and `outputs`.

    Raises:
        ValueError: for `class_names` that do not fit the model.
    """
    has_attention = "attention" in model.output_names
    scales = getattr(model, "scales", None)
    min_size = getattr(model, "min_input_size", None)
    size = normalize_image_size(image_size)
    num_classes = model_num_classes(model)
    return {
        "producer": "keras_scaleattn",
        "version": __version__,
        "num_classes": num_classes,
        "class_names": check_class_names(class_names, num_classes),
        "scales": [float(s) for s in scales] if scales else None,
        "merge": getattr(model, "merge", None),
        "min_input_size": int(min_size) if min_size else None,
        "has_attention": has_attention,
        "input": {"name": INPUT_NAME, "dtype": input_dtype,
                  "layout": "NHWC", "channels": "RGB", "range": [0, 255]},
        "image_size": list(size) if size else None,
        "batch_size": batch_size,
        "precision": precision,
        "outputs": [n for n in OUTPUT_NAMES
                    if n != "attention" or has_attention],
    }


def model_num_classes(model):
    """The number of classes of a segmenter (its `"logits"` channels)."""
    num_classes = getattr(model, "num_classes", None)
    if num_classes is None:
        spec = model.compute_output_spec(
            keras.KerasTensor((1, 65, 65, 3), dtype="float32"))
        num_classes = spec["logits"].shape[-1]
    return int(num_classes)


def metadata_json(metadata):
    """Serialises export metadata (sorted keys, so artifacts are stable)."""
    return json.dumps(metadata, sort_keys=True)
