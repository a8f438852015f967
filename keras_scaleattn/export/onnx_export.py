"""ONNX export through tf2onnx, and the graph properties it must keep.

The exported graph takes float32 `images` `[batch, height, width, 3]` (RGB
in [0, 255], all three dimensions dynamic) and returns `class_map`,
`probabilities` and `attention` at the input's size. Float input because
ONNX Runtime and TensorRT are fed float tensors (TensorRT takes uint8 only
as a special-cased network input).

Two properties matter to TensorRT and are checked by `onnx_graph_summary`
/ `onnx_graph_problems` (NOTES.md, "ONNX"):

- every dilated convolution is one `Conv` with `dilations` (the trunk runs
  each as one TF Conv2D with `dilations`, `keras_scaleattn.ops.dilated_conv2d`;
  TF's default SpaceToBatchND lowering with dynamic sizes would become
  SpaceToDepth / DepthToSpace chains);
- every `Resize` uses `coordinate_transformation_mode=align_corners`, the
  Caffe `Interp` geometry of the paper.
"""

import collections
import os

import onnx

from keras_scaleattn.export.atomic import atomic_file
from keras_scaleattn.export.serving import METADATA_KEY
from keras_scaleattn.export.serving import export_metadata
from keras_scaleattn.export.serving import float32_model
from keras_scaleattn.export.serving import metadata_json
from keras_scaleattn.export.serving import serving_function

DEFAULT_OPSET = 17
# Ops that show a dilated convolution was not folded into one Conv.
UNFOLDED_DILATION_OPS = ("SpaceToDepth", "DepthToSpace")
DYNAMIC_DIMS = ("batch", "height", "width")


def _attribute(node, name, default=None):
    for attribute in node.attribute:
        if attribute.name == name:
            value = onnx.helper.get_attribute_value(attribute)
            return value.decode() if isinstance(value, bytes) else value
    return default


def onnx_graph_summary(model):
    """Operator histogram, dilated convolutions and resize modes of a graph.

    Args:
        model: `onnx.ModelProto` or a path to an `.onnx` file.

    Returns:
        dict with `"num_nodes"` (int), `"op_histogram"` (dict op -> count,
        most common first), `"dilated_convs"` (list of `(node name,
        dilations)` for every `Conv` with a dilation above 1) and
        `"resize_modes"` (list of `(node name, coordinate_transformation_mode,
        mode)`).

    Example:

    >>> summary = onnx_graph_summary("exports/model.onnx")  # doctest: +SKIP
    >>> summary["op_histogram"]["Conv"]  # doctest: +SKIP
    34
    """
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(os.fspath(model))
    nodes = list(model.graph.node)
    histogram = collections.Counter(node.op_type for node in nodes)
    dilated = []
    resizes = []
    for node in nodes:
        if node.op_type == "Conv":
            dilations = list(_attribute(node, "dilations", []) or [])
            if any(d > 1 for d in dilations):
                dilated.append((node.name, dilations))
        elif node.op_type == "Resize":
            resizes.append((
                node.name,
                _attribute(node, "coordinate_transformation_mode",
                           "half_pixel"),
                _attribute(node, "mode", "nearest"),
            ))
    return {
        "num_nodes": len(nodes),
        "op_histogram": dict(histogram.most_common()),
        "dilated_convs": dilated,
        "resize_modes": resizes,
    }


def onnx_graph_problems(model, expected_dilated_convs=None):
    """Lists the ways a graph breaks the export's structural promises.

    Args:
        model: `onnx.ModelProto` or a path.
        expected_dilated_convs: int or None. If given, the number of `Conv`
            nodes that must carry a dilation above 1 (4 per scale for the
            DeepLab-LargeFOV trunk: conv5_1-3 and fc6).

    Returns:
        list of str, empty when the graph is as promised.
    """
    summary = onnx_graph_summary(model)
    problems = []
    for op in UNFOLDED_DILATION_OPS:
        if summary["op_histogram"].get(op):
            problems.append(
                f"{summary['op_histogram'][op]} {op} nodes: a dilated "
                "convolution was not folded into one Conv")
    for name, mode, _ in summary["resize_modes"]:
        if mode != "align_corners":
            problems.append(
                f"Resize {name} uses coordinate_transformation_mode={mode}, "
                "not align_corners")
    if (expected_dilated_convs is not None
            and len(summary["dilated_convs"]) != expected_dilated_convs):
        problems.append(
            f"{len(summary['dilated_convs'])} Conv nodes with dilations, "
            f"expected {expected_dilated_convs}")
    return problems


def expected_dilated_convs(model):
    """Dilated convolutions of a segmenter's graph: 4 per scale.

    Args:
        model: a `ScaleAttentionSegmenter`.

    Returns:
        int: conv5_1, conv5_2, conv5_3 and fc6 for every scale (the trunk
        runs once per scale).
    """
    return 4 * len(getattr(model, "scales", (1.0,)))


def read_onnx_metadata(model):
    """Returns the export metadata JSON string of an ONNX model, or None."""
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(os.fspath(model), load_external_data=False)
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            return prop.value
    return None


def _name_dynamic_dims(model_proto):
    """Names the dynamic dims `batch`, `height`, `width` (tf2onnx: unk__N)."""
    values = list(model_proto.graph.input) + list(model_proto.graph.output)
    for value in values:
        dims = value.type.tensor_type.shape.dim
        for dim, name in zip(dims, DYNAMIC_DIMS):
            if not dim.HasField("dim_value"):
                dim.dim_param = name


def convert_onnx(model, opset=DEFAULT_OPSET, class_names=None):
    """Converts a segmenter to an `onnx.ModelProto` (no file written).

    A mixed-precision model is converted from its float32 copy
    (`float32_model`), so the graph computes in float32, as its metadata
    says (under mixed_bfloat16 tf2onnx would write bfloat16 operators that
    ONNX Runtime cannot load; under mixed_float16 a float16 graph).

    Args:
        model: a `ScaleAttentionSegmenter`. A model just loaded from
            `.keras` works as it is (it is traced through the serving
            function, not `model.export`).
        opset: int. ONNX opset. Defaults to 17.
        class_names: None or one name per class, stored in the metadata.

    Returns:
        `onnx.ModelProto` with input `images` float32 `[batch, height,
        width, 3]`, the outputs of `serving_function`, and the export
        metadata under `metadata_props["keras_scaleattn"]`.

    Raises:
        ValueError: for `class_names` that do not fit the model.
        RuntimeError: if the graph breaks a property of
            `onnx_graph_problems`.
    """
    import tf2onnx

    model = float32_model(model)
    metadata = export_metadata(model, "float32", class_names=class_names)
    serve = serving_function(model, "float32")
    # Trace once in TensorFlow first: a model just reloaded from .keras must
    # have been called before tf2onnx sees it (NOTES.md, "Keras 3").
    serve.get_concrete_function()
    model_proto, _ = tf2onnx.convert.from_function(
        serve, input_signature=serve.input_signature, opset=opset)
    _name_dynamic_dims(model_proto)
    entry = model_proto.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = metadata_json(metadata)
    problems = onnx_graph_problems(model_proto,
                                   expected_dilated_convs(model))
    if problems:
        raise RuntimeError("The ONNX graph is not as expected: "
                           + "; ".join(problems))
    return model_proto


def export_onnx(model, path, opset=DEFAULT_OPSET, class_names=None):
    """Exports a segmenter to an `.onnx` file, atomically.

    Args:
        model: a `ScaleAttentionSegmenter`.
        path: str or os.PathLike. Destination file.
        opset: int. ONNX opset. Defaults to 17.
        class_names: None or one name per class, stored in the metadata.

    Returns:
        str: `path`.

    Example:

    >>> export_onnx(model, "exports/model.onnx")  # doctest: +SKIP
    'exports/model.onnx'
    """
    model_proto = convert_onnx(model, opset, class_names)
    with atomic_file(path) as tmp:
        onnx.save(model_proto, tmp)
    return os.fspath(path)

