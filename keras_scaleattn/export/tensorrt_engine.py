"""TensorRT engines from the ONNX export: profiles, precisions, trtexec.

`build_engine` parses an ONNX export, sets one optimisation profile for the
dynamic `images` input (batch, height and width between a minimum and a
maximum, tuned for an "opt" shape) and writes the serialized engine
atomically. TensorRT is imported only when an engine is built, so this
module (profiles, precision plans, `trtexec` command lines) works without it.

Precision differs between major versions (NOTES.md, "TensorRT"):

| precision | TensorRT 10 | TensorRT 11 (always strongly typed) |
|---|---|---|
| float32 | `model.onnx` | `model.onnx` |
| float16 | `model.onnx` + builder flag FP16 | `model_fp16.onnx` (`convert_onnx_to_float16`) |
| int8 | `model_int8.onnx` (Q/DQ) + flags INT8 and FP16 | `model_int8.onnx` (Q/DQ) |

TensorRT 10 also builds the TensorRT 11 files with `strongly_typed=True`.
"""

import dataclasses
import json
import os
import shlex

from keras_scaleattn.export.atomic import write_file_atomic
from keras_scaleattn.export.serving import INPUT_NAME

PRECISIONS = ("float32", "float16", "int8")
DEFAULT_WORKSPACE_MIB = 4096
# The ONNX file each precision is built from, by export format name.
ONNX_FORMAT = {"float32": "onnx", "float16": "onnx_fp16", "int8": "onnx_int8"}


def _positive_triple(value, name):
    try:
        triple = tuple(value)
    except TypeError:
        triple = ()
    if len(triple) != 3 or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0
            for v in triple):
        raise ValueError(
            f"`{name}` must be three positive ints (batch, height, width). "
            f"Received: {name}={value!r}"
        )
    return triple


@dataclasses.dataclass(frozen=True)
class EngineProfile:
    """A TensorRT optimisation profile for the `images` input.

    Each shape is `(batch, height, width)`; the channel axis is always 3.
    TensorRT accepts any input with every dimension between `min_shape` and
    `max_shape` and tunes its kernels for `opt_shape`.

    Args:
        min_shape: tuple of 3 positive ints. Smallest `(batch, height,
            width)`; height and width must be at least the model's
            `min_input_size`.
        opt_shape: tuple of 3 positive ints. The shape to tune for.
        max_shape: tuple of 3 positive ints. Largest shape.
        input_name: str. The ONNX input. Defaults to `"images"`.

    Example:

    >>> profile = EngineProfile.from_sizes(min_size=33, opt_size=513,
    ...                                    max_size=1025, max_batch=4)
    >>> profile.trtexec_args()[0]
    '--minShapes=images:1x33x33x3'
    >>> profile.check(1, 500, 375)
    """

    min_shape: tuple
    opt_shape: tuple
    max_shape: tuple
    input_name: str = INPUT_NAME

    def __post_init__(self):
        shapes = {}
        for name in ("min_shape", "opt_shape", "max_shape"):
            shapes[name] = _positive_triple(getattr(self, name), name)
            object.__setattr__(self, name, shapes[name])
        low, opt, high = (shapes[n] for n in
                          ("min_shape", "opt_shape", "max_shape"))
        if not all(a <= b <= c for a, b, c in zip(low, opt, high)):
            raise ValueError(
                "The profile's shapes must satisfy min_shape <= opt_shape <= "
                f"max_shape in every dimension. Received: min_shape={low}, "
                f"opt_shape={opt}, max_shape={high}"
            )

    @classmethod
    def from_sizes(cls, min_size, opt_size, max_size, min_batch=1,
                   opt_batch=1, max_batch=1, input_name=INPUT_NAME):
        """A profile from square sizes (ints) or `(height, width)` pairs.

        Args:
            min_size: int or pair. Smallest height and width.
            opt_size: int or pair. Height and width to tune for.
            max_size: int or pair. Largest height and width.
            min_batch: int. Defaults to 1.
            opt_batch: int. Defaults to 1.
            max_batch: int. Defaults to 1.
            input_name: str. Defaults to `"images"`.

        Returns:
            `EngineProfile`.
        """
        def pair(size, name):
            if isinstance(size, int) and not isinstance(size, bool):
                return (size, size)
            try:
                height, width = size
            except (TypeError, ValueError):
                raise ValueError(
                    f"`{name}` must be an int or a pair (height, width). "
                    f"Received: {name}={size!r}") from None
            return (height, width)

        return cls((min_batch,) + pair(min_size, "min_size"),
                   (opt_batch,) + pair(opt_size, "opt_size"),
                   (max_batch,) + pair(max_size, "max_size"),
                   input_name)

    def input_shapes(self):
        """The `(min, opt, max)` NHWC shapes, channels included."""
        return tuple(shape + (3,) for shape in
                     (self.min_shape, self.opt_shape, self.max_shape))

    def check(self, batch, height, width):
        """Raises a `ValueError` if an input is outside the profile.

        Args:
            batch: int. Batch size.
            height: int.
            width: int.
        """
        shape = (batch, height, width)
        if not all(a <= v <= b for a, v, b in
                   zip(self.min_shape, shape, self.max_shape)):
            raise ValueError(
                "`images` must fit the engine's optimisation profile: batch, "
                f"height, width between {self.min_shape} and "
                f"{self.max_shape}. Received: images of batch {batch} and "
                f"size {height}x{width}"
            )

    def check_model(self, min_input_size):
        """Raises a `ValueError` if the profile admits too small images.

        Args:
            min_input_size: int or None. The model's smallest side.
        """
        if min_input_size and min(self.min_shape[1:]) < min_input_size:
            raise ValueError(
                "The profile's min_shape height and width must be at least "
                f"the model's min_input_size ({min_input_size}). Received: "
                f"min_shape={self.min_shape}"
            )

    def trtexec_args(self):
        """`--minShapes`, `--optShapes` and `--maxShapes` for trtexec."""
        names = ("--minShapes", "--optShapes", "--maxShapes")
        return [f"{flag}={self.input_name}:" + "x".join(map(str, shape))
                for flag, shape in zip(names, self.input_shapes())]

    def to_dict(self):
        """JSON-friendly form."""
        return {"input_name": self.input_name,
                "min_shape": list(self.min_shape),
                "opt_shape": list(self.opt_shape),
                "max_shape": list(self.max_shape)}


def check_precision(precision):
    """Returns `precision` if it is one of `PRECISIONS`, else raises."""
    if precision not in PRECISIONS:
        raise ValueError(
            f"`precision` must be one of {PRECISIONS}. "
            f"Received: precision={precision!r}"
        )
    return precision


def tensorrt_major_version(trt=None):
    """Major version of the installed TensorRT (imported lazily).

    Args:
        trt: the `tensorrt` module, or None to import it.

    Returns:
        int.

    Raises:
        ImportError: if TensorRT is not installed.
    """
    if trt is None:
        import tensorrt as trt
    return int(str(trt.__version__).split(".")[0])


def precision_plan(precision, major_version, strongly_typed=None):
    """Which ONNX file and builder settings give `precision`.

    Args:
        precision: str. `"float32"`, `"float16"` or `"int8"`.
        major_version: int. TensorRT major version (10 or 11+).
        strongly_typed: bool or None. Build a strongly typed network (the
            precision comes from the ONNX types). None: False for TensorRT
            10, True for 11+ (which is always strongly typed).

    Returns:
        dict with `"onnx_format"` (`"onnx"`, `"onnx_fp16"` or
        `"onnx_int8"`: the export to build from), `"builder_flags"` (list
        of `BuilderFlag` names) and `"strongly_typed"` (bool).

    Example:

    >>> precision_plan("float16", 10)["builder_flags"]
    ['FP16']
    >>> precision_plan("float16", 11)["onnx_format"]
    'onnx_fp16'
    """
    check_precision(precision)
    if not isinstance(major_version, int) or major_version < 10:
        raise ValueError(
            "`major_version` must be an int >= 10 (TensorRT 10 or later). "
            f"Received: major_version={major_version!r}"
        )
    if strongly_typed is None:
        strongly_typed = major_version >= 11
    if major_version >= 11 and not strongly_typed:
        raise ValueError(
            "TensorRT 11 and later only build strongly typed networks. "
            "Received: strongly_typed=False"
        )
    if strongly_typed:
        return {"onnx_format": ONNX_FORMAT[precision], "builder_flags": [],
                "strongly_typed": True}
    flags = {"float32": [], "float16": ["FP16"],
             # FP16 lets the layers left unquantised run in half precision.
             "int8": ["INT8", "FP16"]}[precision]
    onnx_format = "onnx_int8" if precision == "int8" else "onnx"
    return {"onnx_format": onnx_format, "builder_flags": flags,
            "strongly_typed": False}


def trtexec_command(onnx_path, engine_path, profile, precision="float32",
                    major_version=10, strongly_typed=None,
                    workspace_mib=DEFAULT_WORKSPACE_MIB):
    """The `trtexec` command line equivalent to `build_engine`.

    Args:
        onnx_path: str. The ONNX file the plan for `precision` names (see
            `precision_plan`: e.g. `model_fp16.onnx` for TensorRT 11).
        engine_path: str. Where trtexec saves the engine.
        profile: `EngineProfile`.
        precision: str. Defaults to `"float32"`.
        major_version: int. TensorRT major version. Defaults to 10.
        strongly_typed: bool or None, as in `precision_plan`.
        workspace_mib: int. Workspace memory pool limit in MiB.
            Defaults to 4096.

    Returns:
        str: a shell-quoted command line.

    Example:

    >>> profile = EngineProfile.from_sizes(33, 513, 513)
    >>> print(trtexec_command("model.onnx", "model_fp16.plan", profile,
    ...                       "float16", major_version=10))
    trtexec --onnx=model.onnx --saveEngine=model_fp16.plan --minShapes=images:1x33x33x3 --optShapes=images:1x513x513x3 --maxShapes=images:1x513x513x3 --memPoolSize=workspace:4096M --fp16
    """
    plan = precision_plan(precision, major_version, strongly_typed)
    args = ["trtexec", f"--onnx={os.fspath(onnx_path)}",
            f"--saveEngine={os.fspath(engine_path)}"]
    args += profile.trtexec_args()
    args.append(f"--memPoolSize=workspace:{int(workspace_mib)}M")
    if plan["strongly_typed"] and major_version < 11:
        # TensorRT 11 is always strongly typed and dropped the flag's use.
        args.append("--stronglyTyped")
    args += ["--" + flag.lower() for flag in plan["builder_flags"]]
    return " ".join(shlex.quote(a) for a in args)


def derived_onnx_path(onnx_path, precision):
    """Where the float16 / int8 copy of a float32 ONNX export lives.

    Example:

    >>> derived_onnx_path("exports/model.onnx", "float16")
    'exports/model_fp16.onnx'
    """
    check_precision(precision)
    root, extension = os.path.splitext(os.fspath(onnx_path))
    suffix = {"float32": "", "float16": "_fp16", "int8": "_int8"}[precision]
    return root + suffix + (extension or ".onnx")


def default_engine_path(onnx_path, precision):
    """`model.onnx` -> `model.plan`, `model_fp16.plan`, `model_int8.plan`.

    Example:

    >>> default_engine_path("exports/model.onnx", "int8")
    'exports/model_int8.plan'
    """
    return os.path.splitext(derived_onnx_path(onnx_path, precision))[0] + ".plan"


def _check_onnx_file(onnx_path, argument="onnx_path"):
    """Raises unless `onnx_path` is an existing file (not a directory)."""
    received = f"Received: {argument}={onnx_path!r}"
    if os.path.isdir(onnx_path):
        raise ValueError(f"`{argument}` is a directory, not an ONNX file "
                         f"(e.g. model.onnx). {received}")
    if not os.path.isfile(onnx_path):
        raise FileNotFoundError(f"`{argument}` does not exist. {received}")


def onnx_min_input_size(onnx_path, argument="onnx_path"):
    """The `min_input_size` in an ONNX export's metadata, checking the file.

    Loads the graph without its external data (the weights are not
    needed), so it is quick even for a large model.

    Args:
        onnx_path: str or os.PathLike. An ONNX file.
        argument: str. The name errors give `onnx_path`
            (`deploy/build_engine.py` passes `"--onnx"`). Defaults to
            `"onnx_path"`.

    Returns:
        int or None: the model's smallest height and width, or None for an
        ONNX model without this package's metadata.

    Raises:
        FileNotFoundError: if `onnx_path` does not exist.
        ValueError: if `onnx_path` is a directory or not an ONNX model
            (truncated, corrupt or another kind of file, e.g. a `.tflite`),
            or its metadata is not JSON.
    """
    import onnx

    from keras_scaleattn.export.onnx_export import read_onnx_metadata

    onnx_path = os.fspath(onnx_path)
    received = f"Received: {argument}={onnx_path!r}"
    _check_onnx_file(onnx_path, argument)
    try:
        model = onnx.load(onnx_path, load_external_data=False)
    except Exception as error:  # protobuf's DecodeError, among others
        raise ValueError(
            f"`{argument}` could not be loaded as an ONNX model (truncated, "
            f"corrupt or another kind of file): {type(error).__name__}: "
            f"{str(error)[:300]}. {received}") from error
    if not model.graph.input:
        # An empty file, or bytes protobuf happens to parse, gives an
        # empty ModelProto rather than an error.
        raise ValueError(
            f"`{argument}` is not an ONNX model: it has no graph inputs "
            f"(empty, truncated or another kind of file). {received}")
    metadata = read_onnx_metadata(model)
    if not metadata:
        return None
    try:
        return json.loads(metadata).get("min_input_size")
    except (ValueError, AttributeError) as error:
        raise ValueError(
            f"`{argument}`'s keras_scaleattn metadata is not a JSON object "
            f"({error}). {received}") from error


def onnx_for_plan(onnx_path, plan, representative_images=None):
    """The ONNX file a precision plan builds from, made if missing.

    Args:
        onnx_path: str. The float32 export (`model.onnx`).
        plan: dict from `precision_plan`.
        representative_images: iterable of uint8 images; needed only when
            the int8 file must be made.

    Returns:
        str: `onnx_path` itself, or its `_fp16` / `_int8` sibling, written
        (atomically) by `convert_onnx_to_float16` / `quantize_onnx_int8`
        when it does not exist yet.
    """
    from keras_scaleattn.export import onnx_precision

    onnx_path = os.fspath(onnx_path)
    precision = {"onnx": "float32", "onnx_fp16": "float16",
                 "onnx_int8": "int8"}[plan["onnx_format"]]
    path = derived_onnx_path(onnx_path, precision)
    if os.path.exists(path):
        return path
    _check_onnx_file(onnx_path)
    if precision == "float16":
        onnx_precision.save_onnx_atomic(
            onnx_precision.convert_onnx_to_float16(onnx_path), path)
    else:
        onnx_precision.quantize_onnx_int8(onnx_path, path,
                                          representative_images)
    return path


def _parse_errors(parser):
    return "; ".join(str(parser.get_error(i))
                     for i in range(parser.num_errors))


def build_serialized_engine(onnx_path, profile, precision="float32",
                            strongly_typed=None,
                            workspace_mib=DEFAULT_WORKSPACE_MIB, trt=None,
                            logger=None):
    """Builds a serialized TensorRT engine from an ONNX file.

    Args:
        onnx_path: str or os.PathLike. The ONNX file the precision plan
            names (`precision_plan(...)["onnx_format"]`).
        profile: `EngineProfile`.
        precision: str. `"float32"`, `"float16"` or `"int8"`.
        strongly_typed: bool or None, as in `precision_plan`.
        workspace_mib: int. Workspace limit in MiB. Defaults to 4096.
        trt: the `tensorrt` module, or None to import it (tests pass a
            stand-in).
        logger: a `trt.ILogger`, or None for a WARNING-level logger.

    Returns:
        bytes: the serialized engine.

    Raises:
        ImportError: without TensorRT.
        ValueError: if the ONNX file does not parse, has no input named
            `profile.input_name`, or the build fails.
    """
    if trt is None:
        import tensorrt as trt
    plan = precision_plan(precision, tensorrt_major_version(trt),
                          strongly_typed)
    onnx_path = os.fspath(onnx_path)
    _check_onnx_file(onnx_path)
    logger = logger or trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if plan["strongly_typed"]:
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    with open(onnx_path, "rb") as f:
        data = f.read()
    if not parser.parse(data):
        raise ValueError(
            f"TensorRT could not parse {onnx_path!r}: {_parse_errors(parser)}")
    input_names = [network.get_input(i).name
                   for i in range(network.num_inputs)]
    if profile.input_name not in input_names:
        raise ValueError(
            f"The profile's input {profile.input_name!r} is not an input of "
            f"{onnx_path!r} (inputs: {input_names})")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE,
                                 int(workspace_mib) << 20)
    for flag in plan["builder_flags"]:
        config.set_flag(getattr(trt.BuilderFlag, flag))
    optimization_profile = builder.create_optimization_profile()
    optimization_profile.set_shape(profile.input_name, *profile.input_shapes())
    config.add_optimization_profile(optimization_profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ValueError(
            f"TensorRT failed to build an engine from {onnx_path!r} "
            f"({precision}, profile {profile.to_dict()}); see its log above.")
    return bytes(serialized)


def build_engine(onnx_path, engine_path, profile, precision="float32",
                 strongly_typed=None, workspace_mib=DEFAULT_WORKSPACE_MIB,
                 trt=None):
    """Builds an engine (see `build_serialized_engine`) and writes it atomically.

    Args:
        onnx_path: str or os.PathLike. The ONNX file for the precision.
        engine_path: str or os.PathLike. Destination `.engine` / `.plan`.
        profile: `EngineProfile`.
        precision: str. Defaults to `"float32"`.
        strongly_typed: bool or None, as in `precision_plan`.
        workspace_mib: int. Defaults to 4096.
        trt: the `tensorrt` module or None.

    Returns:
        str: `engine_path`.

    Example:

    >>> build_engine("exports/model.onnx", "exports/model_fp16.plan",
    ...              EngineProfile.from_sizes(33, 513, 1025),
    ...              "float16")  # doctest: +SKIP
    'exports/model_fp16.plan'
    """
    data = build_serialized_engine(onnx_path, profile, precision,
                                   strongly_typed, workspace_mib, trt)
    return write_file_atomic(engine_path, data)
