"""TensorRT: profiles, precision plans, trtexec commands, the build's calls.

Everything here runs without TensorRT: the builder is driven through a
stand-in module that records the calls TensorRT 10 and 11 would receive.
The tests that build and run a real engine skip unless TensorRT and an
NVIDIA GPU are present (not on CI).
"""

import os
import shutil
import types

import numpy as np
import pytest

from keras_scaleattn.export.tensorrt_engine import EngineProfile
from keras_scaleattn.export.tensorrt_engine import build_engine
from keras_scaleattn.export.tensorrt_engine import default_engine_path
from keras_scaleattn.export.tensorrt_engine import derived_onnx_path
from keras_scaleattn.export.tensorrt_engine import onnx_for_plan
from keras_scaleattn.export.tensorrt_engine import precision_plan
from keras_scaleattn.export.tensorrt_engine import trtexec_command
from tests.export.export_helpers import assert_no_temporaries


def test_profile_shapes_and_trtexec_args():
    profile = EngineProfile.from_sizes(33, 513, (769, 1025), max_batch=4)
    assert profile.input_shapes() == ((1, 33, 33, 3), (1, 513, 513, 3),
                                      (4, 769, 1025, 3))
    assert profile.trtexec_args() == [
        "--minShapes=images:1x33x33x3", "--optShapes=images:1x513x513x3",
        "--maxShapes=images:4x769x1025x3"]
    assert profile.to_dict()["max_shape"] == [4, 769, 1025]


@pytest.mark.parametrize("shapes, match", [
    (((1, 33, 33), (1, 513, 513), (1, 300, 300)), "min_shape <= opt_shape"),
    (((2, 33, 33), (1, 513, 513), (4, 513, 513)), "min_shape <= opt_shape"),
    (((1, 33), (1, 513, 513), (1, 513, 513)), "three positive ints"),
    (((1, 33, 33), (1, 513.0, 513), (1, 513, 513)), "three positive ints"),
    (((0, 33, 33), (1, 513, 513), (1, 513, 513)), "three positive ints"),
])
def test_profile_rejects_bad_shapes(shapes, match):
    with pytest.raises(ValueError, match=match):
        EngineProfile(*shapes)


def test_profile_check():
    profile = EngineProfile.from_sizes(33, 513, 1025, max_batch=2)
    profile.check(2, 33, 1025)
    for shape in [(3, 100, 100), (1, 32, 100), (1, 100, 1026)]:
        with pytest.raises(ValueError, match="optimisation profile"):
            profile.check(*shape)
    with pytest.raises(ValueError, match="min_input_size \\(49\\)"):
        profile.check_model(49)
    with pytest.raises(ValueError, match="min_size"):
        EngineProfile.from_sizes("big", 513, 1025)


def test_precision_plans():
    assert precision_plan("float32", 10) == {
        "onnx_format": "onnx", "builder_flags": [], "strongly_typed": False}
    assert precision_plan("float16", 10)["builder_flags"] == ["FP16"]
    assert precision_plan("int8", 10) == {
        "onnx_format": "onnx_int8", "builder_flags": ["INT8", "FP16"],
        "strongly_typed": False}
    assert precision_plan("float16", 10, strongly_typed=True) == {
        "onnx_format": "onnx_fp16", "builder_flags": [],
        "strongly_typed": True}
    for precision, name in [("float32", "onnx"), ("float16", "onnx_fp16"),
                            ("int8", "onnx_int8")]:
        plan = precision_plan(precision, 11)
        assert plan == {"onnx_format": name, "builder_flags": [],
                        "strongly_typed": True}
    with pytest.raises(ValueError, match="only build strongly typed"):
        precision_plan("float16", 11, strongly_typed=False)
    with pytest.raises(ValueError, match="major_version"):
        precision_plan("float16", 8)
    with pytest.raises(ValueError, match="precision"):
        precision_plan("bf16", 10)


def test_trtexec_commands():
    profile = EngineProfile.from_sizes(33, 513, 1025, max_batch=4)
    shapes = ("--minShapes=images:1x33x33x3 --optShapes=images:1x513x513x3 "
              "--maxShapes=images:4x1025x1025x3 --memPoolSize=workspace:4096M")
    assert trtexec_command("m.onnx", "m_fp16.plan", profile, "float16", 10) \
        == f"trtexec --onnx=m.onnx --saveEngine=m_fp16.plan {shapes} --fp16"
    assert trtexec_command("m_int8.onnx", "m.plan", profile, "int8", 10) \
        == (f"trtexec --onnx=m_int8.onnx --saveEngine=m.plan {shapes} "
            "--int8 --fp16")
    assert trtexec_command("m_fp16.onnx", "m.plan", profile, "float16", 11) \
        == f"trtexec --onnx=m_fp16.onnx --saveEngine=m.plan {shapes}"
    assert trtexec_command("m_fp16.onnx", "m.plan", profile, "float16", 10,
                           strongly_typed=True).endswith("--stronglyTyped")
    assert "'--onnx=my dir/m.onnx'" in trtexec_command(
        "my dir/m.onnx", "m.plan", profile)


def test_derived_paths():
    assert derived_onnx_path("e/model.onnx", "float32") == "e/model.onnx"
    assert derived_onnx_path("e/model.onnx", "float16") == "e/model_fp16.onnx"
    assert default_engine_path("e/model.onnx", "float32") == "e/model.plan"
    assert default_engine_path("e/model.onnx", "int8") == "e/model_int8.plan"


class _Recorder:
    """Stand-in for the parts of the `tensorrt` module the builder uses."""

    def __init__(self, version, parse_ok=True, build_ok=True,
                 input_name="images"):
        self.calls = []
        recorder = self
        self.__version__ = version
        self.Logger = type("Logger", (), {
            "WARNING": 2, "__init__": lambda s, level=None: None})
        self.MemoryPoolType = types.SimpleNamespace(WORKSPACE="WORKSPACE")
        flags = {"STRONGLY_TYPED": 0}
        if version.startswith("10"):
            flags.update(FP16="FP16", INT8="INT8")
        self.BuilderFlag = types.SimpleNamespace(
            **{k: v for k, v in flags.items() if k != "STRONGLY_TYPED"})
        self.NetworkDefinitionCreationFlag = types.SimpleNamespace(
            STRONGLY_TYPED=0)

        class Network:
            num_inputs = 1

            def get_input(self, i):
                return types.SimpleNamespace(name=input_name)

        class Parser:
            num_errors = 0 if parse_ok else 1

            def __init__(self, network, logger):
                pass

            def parse(self, data):
                recorder.calls.append(("parse", len(data)))
                return parse_ok

            def get_error(self, i):
                return "Unsupported ONNX op Foo"

        class Config:
            def set_memory_pool_limit(self, pool, size):
                recorder.calls.append(("workspace", pool, size))

            def set_flag(self, flag):
                recorder.calls.append(("flag", flag))

            def add_optimization_profile(self, profile):
                recorder.calls.append(("add_profile",))

        class Profile:
            def set_shape(self, *args):
                recorder.calls.append(("set_shape",) + args)

        class Builder:
            def __init__(self, logger):
                pass

            def create_network(self, flags):
                recorder.calls.append(("create_network", flags))
                return Network()

            def create_builder_config(self):
                return Config()

            def create_optimization_profile(self):
                return Profile()

            def build_serialized_network(self, network, config):
                recorder.calls.append(("build",))
                return b"ftrt-engine" if build_ok else None

        self.Builder = Builder
        self.OnnxParser = Parser


@pytest.fixture
def onnx_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x08\x07")
    return path


PROFILE = EngineProfile.from_sizes(33, 129, 257, max_batch=2)
SHAPE_CALL = ("set_shape", "images", (1, 33, 33, 3), (1, 129, 129, 3),
              (2, 257, 257, 3))


def test_tensorrt10_float16_uses_the_builder_flag(onnx_file, tmp_path):
    trt = _Recorder("10.13.0")
    out = build_engine(onnx_file, tmp_path / "m.plan", PROFILE, "float16",
                       workspace_mib=1024, trt=trt)
    assert open(out, "rb").read() == b"ftrt-engine"
    assert trt.calls == [("create_network", 0), ("parse", 2),
                         ("workspace", "WORKSPACE", 1024 << 20),
                         ("flag", "FP16"), SHAPE_CALL, ("add_profile",),
                         ("build",)]
    assert_no_temporaries(tmp_path)


def test_tensorrt10_int8_sets_int8_and_fp16(onnx_file, tmp_path):
    trt = _Recorder("10.13.0")
    build_engine(onnx_file, tmp_path / "m.plan", PROFILE, "int8", trt=trt)
    flags = [c[1] for c in trt.calls if c[0] == "flag"]
    assert flags == ["INT8", "FP16"]


def test_tensorrt11_is_strongly_typed_without_flags(onnx_file, tmp_path):
    trt = _Recorder("11.4.1")
    build_engine(onnx_file, tmp_path / "m.plan", PROFILE, "float16", trt=trt)
    assert ("create_network", 1) in trt.calls
    assert not [c for c in trt.calls if c[0] == "flag"]


def test_build_errors_leave_no_engine(onnx_file, tmp_path):
    for trt, match in [(_Recorder("10.0", parse_ok=False),
                        "could not parse .*Unsupported ONNX op Foo"),
                       (_Recorder("10.0", build_ok=False), "failed to build"),
                       (_Recorder("10.0", input_name="x"),
                        "'images' is not an input")]:
        with pytest.raises(ValueError, match=match):
            build_engine(onnx_file, tmp_path / "m.plan", PROFILE, trt=trt)
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]
    with pytest.raises(FileNotFoundError, match="onnx_path"):
        build_engine(tmp_path / "none.onnx", tmp_path / "m.plan", PROFILE,
                     trt=_Recorder("10.0"))


@pytest.mark.slow
def test_onnx_for_plan_makes_the_float16_file(exports, tmp_path):
    onnx_path = tmp_path / "model.onnx"
    shutil.copy(exports["onnx"], onnx_path)
    assert onnx_for_plan(onnx_path, precision_plan("float16", 10)) == str(
        onnx_path)
    made = onnx_for_plan(onnx_path, precision_plan("float16", 11))
    assert made == str(tmp_path / "model_fp16.onnx") and os.path.isfile(made)
    assert_no_temporaries(tmp_path)


def _tensorrt_with_gpu():
    import importlib.util
    import subprocess

    if (importlib.util.find_spec("tensorrt") is None
            or importlib.util.find_spec("cuda") is None
            or shutil.which("nvidia-smi") is None):
        return False
    return subprocess.run(["nvidia-smi"], capture_output=True).returncode == 0


requires_tensorrt = pytest.mark.skipif(
    not _tensorrt_with_gpu(),
    reason="needs TensorRT, cuda-python and an NVIDIA GPU (absent on CI and "
           "the development machines)")


@requires_tensorrt
@pytest.mark.parametrize("precision", ["float32", "float16"])
def test_engine_matches_onnxruntime(exports, tmp_path, test_images,
                                    precision):
    from keras_scaleattn.export.segmentation_runtime import (
        SegmentationRuntime,
    )
    from keras_scaleattn.export.tensorrt_engine import tensorrt_major_version

    onnx_path = tmp_path / "model.onnx"
    shutil.copy(exports["onnx"], onnx_path)
    plan = precision_plan(precision, tensorrt_major_version())
    engine = build_engine(onnx_for_plan(onnx_path, plan),
                          tmp_path / "model.plan",
                          EngineProfile.from_sizes(33, 49, 65, max_batch=2),
                          precision)
    runtime = SegmentationRuntime(engine)
    reference = SegmentationRuntime(exports["onnx"])
    atol = 1e-4 if precision == "float32" else 1e-2
    for image in test_images:
        np.testing.assert_allclose(runtime(image)["probabilities"],
                                   reference(image)["probabilities"],
                                   atol=atol)
    with pytest.raises(ValueError, match="profile"):
        runtime(np.zeros((80, 80, 3), np.uint8))
