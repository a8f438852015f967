"""float16 and int8 ONNX graphs: structure, and numbers against references."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto
from onnx import helper
from onnx import numpy_helper

from keras_scaleattn.export.onnx_export import read_onnx_metadata
from keras_scaleattn.export.onnx_precision import convert_onnx_to_float16
from keras_scaleattn.export.parity import PARITY_TOLERANCES
from keras_scaleattn.export.segmentation_runtime import SegmentationRuntime


def _conv_relu_softmax():
    """x [1, 2, 5, 5] -> Conv 3x3 (pad 1) -> Relu -> Softmax over channels."""
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    bias = rng.normal(size=(4,)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Softmax", ["r"], ["y"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 5, 5])],
        [numpy_helper.from_array(weights, "w"),
         numpy_helper.from_array(bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model, weights, bias


def _numpy_reference(x, weights, bias):
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((1, 4, 5, 5))
    for i in range(3):
        for j in range(3):
            out += np.einsum("bchw,oc->bohw", padded[:, :, i:i + 5, j:j + 5],
                             weights[:, :, i, j])
    out = np.maximum(out + bias[None, :, None, None], 0)
    exp = np.exp(out - out.max(1, keepdims=True))
    return exp / exp.sum(1, keepdims=True)


def test_float16_pass_on_a_small_graph_matches_numpy():
    model, weights, bias = _conv_relu_softmax()
    half = convert_onnx_to_float16(model)
    ops = [(n.op_type, dict((a.name, a.i) for a in n.attribute).get("to"))
           for n in half.graph.node]
    # Cast in, Conv and Relu in float16, Cast back before the softmax.
    assert ops == [("Cast", TensorProto.FLOAT16), ("Conv", None),
                   ("Relu", None), ("Cast", TensorProto.FLOAT),
                   ("Softmax", None)]
    types = {i.name: i.data_type for i in half.graph.initializer}
    assert set(types.values()) == {TensorProto.FLOAT16}
    assert half.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT
    x = np.random.default_rng(1).normal(size=(1, 2, 5, 5)).astype(np.float32)
    session = ort.InferenceSession(half.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": x})
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, _numpy_reference(x, weights, bias),
                               atol=5e-3)
    # The input model is left as it was.
    assert model.graph.initializer[0].data_type == TensorProto.FLOAT


@pytest.mark.slow
def test_float16_export_structure(exports):
    model = onnx.load(exports["onnx_fp16"])
    graph = model.graph
    assert graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT
    assert {o.name: o.type.tensor_type.elem_type for o in graph.output} == {
        "class_map": TensorProto.INT32, "probabilities": TensorProto.FLOAT,
        "attention": TensorProto.FLOAT}
    initializers = {i.name: i.data_type for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Conv":
            assert initializers[node.input[1]] == TensorProto.FLOAT16
    # Shape arithmetic, resizes and softmaxes stay float32: no float16
    # tensor feeds them.
    half = {n.output[0] for n in graph.node
            if n.op_type in ("Conv", "Relu", "MaxPool")}
    for node in graph.node:
        if node.op_type in ("Resize", "Softmax", "Floor", "Mul", "Shape"):
            assert not set(node.input) & half, node.name
    assert json.loads(read_onnx_metadata(model))["precision"] == "float16"


@pytest.mark.slow
def test_float16_parity_in_onnxruntime(exports, test_images):
    full = SegmentationRuntime(exports["onnx"])
    half = SegmentationRuntime(exports["onnx_fp16"])
    tolerance = PARITY_TOLERANCES["float16"]
    for image in test_images:
        ref, out = full(image), half(image)
        delta = np.abs(out["probabilities"] - ref["probabilities"])
        assert delta.max() <= tolerance["max_probability_delta"]
        assert delta.mean() <= tolerance["mean_probability_delta"]
        assert (np.mean(out["class_map"] == ref["class_map"])
                >= tolerance["min_pixel_agreement"])


@pytest.mark.slow
def test_int8_export_is_symmetric_qdq(exports):
    model = onnx.load(exports["onnx_int8"])
    graph = model.graph
    ops = [n.op_type for n in graph.node]
    # 16 per scale x 2 + the attention head's 3 (att_conv1 once per scale).
    assert ops.count("Conv") == 35
    assert ops.count("QuantizeLinear") > 0
    initializers = {i.name: i for i in graph.initializer}
    producers = {o: n for n in graph.node for o in n.output}
    for node in graph.node:
        if node.op_type == "Conv":
            # Data and weights arrive through DequantizeLinear.
            assert producers[node.input[0]].op_type == "DequantizeLinear"
            assert producers[node.input[1]].op_type == "DequantizeLinear"
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            zero_point = numpy_helper.to_array(initializers[node.input[2]])
            assert zero_point.dtype == np.int8 and not zero_point.any()
    assert json.loads(read_onnx_metadata(model))["precision"] == "int8"


@pytest.mark.slow
def test_int8_parity_in_onnxruntime(exports, keras_runtime, test_images):
    from keras_scaleattn.export.parity import measure_parity
    from keras_scaleattn.export.parity import within_tolerance

    runtime = SegmentationRuntime(exports["onnx_int8"])
    metrics = measure_parity(keras_runtime, runtime, test_images)
    assert within_tolerance(metrics, "int8"), metrics


def test_float16_without_candidates_is_unchanged():
    graph = helper.make_graph(
        [helper.make_node("Softmax", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    model = helper.make_model(graph)
    assert convert_onnx_to_float16(model) == model


@pytest.mark.slow
def test_int8_needs_images(exports, tmp_path):
    from keras_scaleattn.export.onnx_precision import quantize_onnx_int8

    with pytest.raises(ValueError, match="representative_images"):
        quantize_onnx_int8(exports["onnx"], tmp_path / "x.onnx", None)
    assert list(tmp_path.iterdir()) == []
