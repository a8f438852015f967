"""ONNX: one Conv per dilated convolution, align-corners resizes, ORT parity."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto
from onnx import helper

from keras_scaleattn.export.onnx_export import onnx_graph_problems
from keras_scaleattn.export.onnx_export import onnx_graph_summary
from keras_scaleattn.export.onnx_export import read_onnx_metadata
from keras_scaleattn.export.segmentation_runtime import SegmentationRuntime

# Every test here reads the session's exports (about 25 s to make).
pytestmark = pytest.mark.slow


def _attributes(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def test_dynamic_float_input_and_named_outputs(exports):
    graph = onnx.load(exports["onnx"]).graph
    (inp,) = graph.input
    assert inp.name == "images"
    assert inp.type.tensor_type.elem_type == TensorProto.FLOAT
    dims = inp.type.tensor_type.shape.dim
    assert [d.dim_param for d in dims[:3]] == ["batch", "height", "width"]
    assert dims[3].dim_value == 3
    outputs = {o.name: o.type.tensor_type.elem_type for o in graph.output}
    assert outputs == {"class_map": TensorProto.INT32,
                       "probabilities": TensorProto.FLOAT,
                       "attention": TensorProto.FLOAT}


def test_each_dilated_convolution_is_one_conv(exports):
    graph = onnx.load(exports["onnx"]).graph
    ops = {node.op_type for node in graph.node}
    assert not ops & {"SpaceToDepth", "DepthToSpace", "SpaceToBatchND",
                      "BatchToSpaceND", "Loop", "If"}
    convs = [_attributes(n) for n in graph.node if n.op_type == "Conv"]
    # 16 per scale x 2 + the attention head's 3 (att_conv1 once per scale).
    assert len(convs) == 35
    dilated = sorted((tuple(c["dilations"]), tuple(c["pads"]))
                     for c in convs if max(c.get("dilations", [1])) > 1)
    # Per scale: conv5_1-3 (dilation 2, the ZeroPadding2D folded into the
    # Conv's pads) and fc6 (dilation 12).
    assert dilated == [((2, 2), (2, 2, 2, 2))] * 6 + [
        ((12, 12), (12, 12, 12, 12))] * 2
    # The explicit zero padding is folded: the only Pad is the mean pad.
    assert sum(n.op_type == "Pad" for n in graph.node) == 1


def test_every_resize_is_align_corners(exports):
    resizes = [_attributes(n) for n in onnx.load(exports["onnx"]).graph.node
               if n.op_type == "Resize"]
    assert len(resizes) == 5
    for attributes in resizes:
        assert attributes["coordinate_transformation_mode"] == b"align_corners"
        assert attributes["mode"] == b"linear"


def test_graph_summary_and_no_problems(exports):
    summary = onnx_graph_summary(exports["onnx"])
    assert summary["num_nodes"] == sum(summary["op_histogram"].values())
    assert len(summary["dilated_convs"]) == 8
    assert onnx_graph_problems(exports["onnx"], 8) == []


def test_problems_are_found_in_a_bad_graph():
    nodes = [
        helper.make_node("SpaceToDepth", ["x"], ["a"], blocksize=2),
        helper.make_node("DepthToSpace", ["a"], ["b"], blocksize=2),
        helper.make_node("Resize", ["b", "", "s"], ["y"], mode="linear",
                         coordinate_transformation_mode="half_pixel"),
    ]
    graph = helper.make_graph(
        nodes, "bad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [helper.make_tensor("s", TensorProto.FLOAT, [4], [1, 1, 2, 2])])
    problems = onnx_graph_problems(helper.make_model(graph), 8)
    assert len(problems) == 4
    assert "SpaceToDepth" in problems[0] and "DepthToSpace" in problems[1]
    assert "half_pixel" in problems[2]
    assert "0 Conv nodes with dilations, expected 8" in problems[3]


def test_onnxruntime_parity(exports, keras_runtime, test_images, rng):
    runtime = SegmentationRuntime(exports["onnx"])
    batch = rng.integers(0, 256, size=(2, 45, 38, 3), dtype=np.uint8)
    for images in test_images + [batch]:
        ref, out = keras_runtime(images), runtime(images)
        np.testing.assert_allclose(out["probabilities"],
                                   ref["probabilities"], atol=1e-5)
        np.testing.assert_allclose(out["attention"], ref["attention"],
                                   atol=1e-5)
        assert np.mean(out["class_map"] == ref["class_map"]) >= 0.999


def test_raw_session_takes_float32(exports, rng):
    session = ort.InferenceSession(exports["onnx"],
                                   providers=["CPUExecutionProvider"])
    images = rng.uniform(0, 255, size=(1, 33, 40, 3)).astype(np.float32)
    class_map, = session.run(["class_map"], {"images": images})
    assert class_map.shape == (1, 33, 40) and class_map.dtype == np.int32


def test_metadata(exports):
    metadata = json.loads(read_onnx_metadata(exports["onnx"]))
    assert metadata["input"]["dtype"] == "float32"
    assert metadata["min_input_size"] == 33
    assert metadata["has_attention"] is True

