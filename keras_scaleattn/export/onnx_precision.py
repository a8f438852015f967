"""Reduced-precision ONNX graphs for strongly typed TensorRT (and ORT).

TensorRT 11 has no FP16 / INT8 builder flags: a network runs in the types its
ONNX file states (NOTES.md, "TensorRT"). This module writes those files:

- `convert_onnx_to_float16`: the convolutions, ReLUs and max pools run in
  float16, with `Cast` nodes at the borders of that region; everything
  else stays float32: the graph's inputs and outputs, the shape arithmetic
  (sizes such as `floor((n - 1) * s) + 1` must stay exact), the align-corners
  resizes and the softmaxes (as under Keras mixed precision, which casts to
  float32 around softmax and resize). A targeted pass rather than
  onnxconverter-common's `convert_float_to_float16`: with keep_io_types that
  converter also rewrites the Casts of the size arithmetic and the graph no
  longer loads in ONNX Runtime (checked with onnxconverter-common 1.16).
  ModelOpt AutoCast (NVIDIA's recommendation) does the same job with a
  large dependency; its output also builds.
- `quantize_onnx_int8`: explicit int8 quantisation (QuantizeLinear /
  DequantizeLinear pairs) of every `Conv`, calibrated on images with ONNX
  Runtime's `quantize_static`, in the form TensorRT wants: symmetric
  activations, symmetric per-channel weights, float biases.

Both keep the float32 `images` input and the output names, so one runtime
and one profile serve all three files.
"""

import copy
import json
import os

import numpy as np
import onnx
from onnx import TensorProto
from onnx import helper
from onnx import numpy_helper

from keras_scaleattn.export.atomic import atomic_file
from keras_scaleattn.export.serving import INPUT_NAME
from keras_scaleattn.export.serving import METADATA_KEY

FLOAT16_OP_TYPES = ("Conv", "Relu", "MaxPool")
_HALF_SUFFIX = "/fp16"


def _load(model):
    if isinstance(model, onnx.ModelProto):
        return copy.deepcopy(model)
    return onnx.load(os.fspath(model))


def _set_precision(model, precision):
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            metadata = json.loads(prop.value)
            metadata["precision"] = precision
            prop.value = json.dumps(metadata, sort_keys=True)


def _element_types(model):
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {}
    graph = inferred.graph
    for value in list(graph.input) + list(graph.output) + list(
            graph.value_info):
        types[value.name] = value.type.tensor_type.elem_type
    for initializer in graph.initializer:
        types[initializer.name] = initializer.data_type
    return types


def _subgraph_inputs(graph):
    """Names read by nodes of subgraphs (If / Loop bodies), recursively."""
    names = set()
    for node in graph.node:
        for attribute in node.attribute:
            subgraphs = list(attribute.graphs)
            if attribute.HasField("g"):
                subgraphs.append(attribute.g)
            for subgraph in subgraphs:
                for inner in subgraph.node:
                    names.update(inner.input)
                names |= _subgraph_inputs(subgraph)
    return names


def convert_onnx_to_float16(model, op_types=FLOAT16_OP_TYPES):
    """Runs the heavy operators of an ONNX graph in float16.

    Every node whose type is in `op_types` and whose inputs and outputs are
    all float32 computes in float16: its float32 initializers are stored as
    float16, a float32 activation entering it gets a `Cast` to float16 and
    a float16 result read by any other node (or a graph output) gets a
    `Cast` back. Graph inputs and outputs keep their types.

    Args:
        model: `onnx.ModelProto` or path to an `.onnx` file (not modified).
        op_types: sequence of str. Operator types to run in float16.
            Defaults to `("Conv", "Relu", "MaxPool")`.

    Returns:
        `onnx.ModelProto`, checked with `onnx.checker`, with the export
        metadata's `precision` set to `"float16"`.

    Example:

    >>> half = convert_onnx_to_float16("exports/model.onnx")  # doctest: +SKIP
    >>> onnx.save(half, "exports/model_fp16.onnx")  # doctest: +SKIP
    """
    model = _load(model)
    graph = model.graph
    types = _element_types(model)
    initializers = {init.name: init for init in graph.initializer}
    op_types = tuple(op_types)

    def is_float(name):
        return types.get(name) == TensorProto.FLOAT

    half_nodes = set()
    for index, node in enumerate(graph.node):
        if node.op_type not in op_types:
            continue
        inputs = [name for name in node.input if name]
        # MaxPool's optional second output holds int64 indices.
        outputs = [name for name in node.output[:1] if name]
        if inputs and all(is_float(n) for n in inputs + outputs):
            half_nodes.add(index)
    if not half_nodes:
        return model

    produced_half = {graph.node[i].output[0] for i in half_nodes}
    # Every reader of a float16 result that is not itself float16 needs a
    # Cast back: other nodes, graph outputs and subgraph bodies.
    float_readers = set(_subgraph_inputs(graph))
    float_readers.update(output.name for output in graph.output)
    for index, node in enumerate(graph.node):
        if index not in half_nodes:
            float_readers.update(node.input)

    half_initializers = {}
    casts_in = set()
    new_nodes = []
    for index, node in enumerate(graph.node):
        if index not in half_nodes:
            new_nodes.append(node)
            continue
        inputs = []
        for name in node.input:
            if not name:
                inputs.append(name)
            elif name in produced_half:
                inputs.append(name + _HALF_SUFFIX)
            elif name in initializers:
                if name not in half_initializers:
                    array = numpy_helper.to_array(initializers[name])
                    half = numpy_helper.from_array(
                        array.astype(np.float16), name + _HALF_SUFFIX)
                    half_initializers[name] = half
                inputs.append(name + _HALF_SUFFIX)
            else:
                if name not in casts_in:
                    casts_in.add(name)
                    new_nodes.append(helper.make_node(
                        "Cast", [name], [name + _HALF_SUFFIX],
                        to=TensorProto.FLOAT16,
                        name=name + "/cast_to_fp16"))
                inputs.append(name + _HALF_SUFFIX)
        output = node.output[0]
        half_node = copy.deepcopy(node)
        del half_node.input[:]
        half_node.input.extend(inputs)
        half_node.output[0] = output + _HALF_SUFFIX
        new_nodes.append(half_node)
        if output in float_readers:
            new_nodes.append(helper.make_node(
                "Cast", [output + _HALF_SUFFIX], [output],
                to=TensorProto.FLOAT, name=output + "/cast_to_fp32"))

    del graph.node[:]
    graph.node.extend(new_nodes)
    still_read = set(float_readers)
    for node in new_nodes:
        still_read.update(node.input)
    kept = [init for init in graph.initializer if init.name in still_read]
    del graph.initializer[:]
    graph.initializer.extend(kept + list(half_initializers.values()))
    # The old shapes and types of renamed tensors are stale.
    del graph.value_info[:]
    _set_precision(model, "float16")
    onnx.checker.check_model(model)
    return model


class _ImageReader:
    """ONNX Runtime calibration reader over uint8 images."""

    def __init__(self, images):
        self._images = iter(images)

    def get_next(self):
        image = next(self._images, None)
        if image is None:
            return None
        return {INPUT_NAME: np.asarray(image, np.float32)[None]}


def quantize_onnx_int8(model, output_path, representative_images,
                       num_calibration_images=100):
    """Writes an explicitly quantised (Q/DQ) int8 copy of an ONNX export.

    Args:
        model: `onnx.ModelProto` or path to the float32 `.onnx` export (not
            modified).
        output_path: str or os.PathLike. Destination `.onnx`, written
            atomically.
        representative_images: iterable of uint8 `[H, W, 3]` images (any
            sizes) for calibration (see `tflite.calibration_images`).
        num_calibration_images: int. At most this many are used.
            Defaults to 100.

    Returns:
        str: `output_path`.

    Example:

    >>> quantize_onnx_int8("exports/model.onnx", "exports/model_int8.onnx",
    ...                    images)  # doctest: +SKIP
    'exports/model_int8.onnx'
    """
    import onnxruntime.quantization as ortq

    from keras_scaleattn.export.tflite import calibration_images

    images = calibration_images(representative_images,
                                limit=num_calibration_images)
    model = _load(model)
    _set_precision(model, "int8")
    with atomic_file(output_path) as tmp:
        ortq.quantize_static(
            model, tmp, _ImageReader(images),
            quant_format=ortq.QuantFormat.QDQ,
            op_types_to_quantize=["Conv"],
            per_channel=True,
            activation_type=ortq.QuantType.QInt8,
            weight_type=ortq.QuantType.QInt8,
            calibrate_method=ortq.CalibrationMethod.MinMax,
            extra_options={"ActivationSymmetric": True,
                           "WeightSymmetric": True,
                           "QuantizeBias": False},
        )
    return os.fspath(output_path)


def save_onnx_atomic(model, path):
    """Saves an `onnx.ModelProto` through a temporary file and a rename.

    Args:
        model: `onnx.ModelProto`.
        path: str or os.PathLike.

    Returns:
        str: `path`.
    """
    with atomic_file(path) as tmp:
        onnx.save(model, tmp)
    return os.fspath(path)
