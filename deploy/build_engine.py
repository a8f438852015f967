"""Build a TensorRT engine (float32, float16 or int8) from the ONNX export.

    python deploy/build_engine.py --onnx exports/model.onnx --precision float16 \
        --min-size 33 --opt-size 513 --max-size 1025 --max-batch 4 \
        --out exports/model_fp16.plan

TensorRT 10 builds float16 from `model.onnx` with the FP16 builder flag;
TensorRT 11 (always strongly typed) builds it from `model_fp16.onnx`, made
next to `model.onnx` if missing. int8 builds from `model_int8.onnx` (Q/DQ),
calibrated on `--images DIR` (or the synthetic set) if it must be made.
`--print-trtexec` prints the equivalent trtexec command lines (for
`--trt-version`, else the installed TensorRT, else both 10 and 11) and
exits; it needs no TensorRT. Every flag is checked, and named in the error,
before anything is read, converted or built.
"""

import argparse
import sys

from keras_scaleattn.cli import check_output_file
from keras_scaleattn.cli import run_script
from keras_scaleattn.data.validation import check_int
from keras_scaleattn.export.images import list_image_files
from keras_scaleattn.export.tensorrt_engine import DEFAULT_WORKSPACE_MIB
from keras_scaleattn.export.tensorrt_engine import PRECISIONS
from keras_scaleattn.export.tensorrt_engine import EngineProfile
from keras_scaleattn.export.tensorrt_engine import build_engine
from keras_scaleattn.export.tensorrt_engine import default_engine_path
from keras_scaleattn.export.tensorrt_engine import derived_onnx_path
from keras_scaleattn.export.tensorrt_engine import onnx_for_plan
from keras_scaleattn.export.tensorrt_engine import onnx_min_input_size
from keras_scaleattn.export.tensorrt_engine import precision_plan
from keras_scaleattn.export.tensorrt_engine import tensorrt_major_version
from keras_scaleattn.export.tensorrt_engine import trtexec_command


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", required=True,
                        help="the float32 ONNX export (model.onnx)")
    parser.add_argument("--out", default=None,
                        help="engine path, in an existing folder (default: "
                             "next to --onnx: model.plan, model_fp16.plan "
                             "or model_int8.plan)")
    parser.add_argument("--precision", choices=PRECISIONS, default="float16",
                        help="default: float16")
    parser.add_argument("--min-size", type=int, default=None,
                        help="smallest height and width, at least the "
                             "model's min_input_size (default: that size "
                             "from the ONNX metadata, else 33)")
    parser.add_argument("--opt-size", type=int, default=513,
                        help="height and width to tune for (default: 513)")
    parser.add_argument("--max-size", type=int, default=1025,
                        help="largest height and width (default: 1025)")
    parser.add_argument("--min-batch", type=int, default=1,
                        help="smallest batch (default: 1)")
    parser.add_argument("--opt-batch", type=int, default=1,
                        help="batch to tune for (default: 1)")
    parser.add_argument("--max-batch", type=int, default=1,
                        help="largest batch (default: 1)")
    parser.add_argument("--workspace-mib", type=int,
                        default=DEFAULT_WORKSPACE_MIB,
                        help="builder workspace limit in MiB (default: "
                             f"{DEFAULT_WORKSPACE_MIB})")
    parser.add_argument("--strongly-typed", action="store_true",
                        help="TensorRT 10: build the strongly typed way "
                             "(as TensorRT 11 always does)")
    parser.add_argument("--trt-version", type=int, default=None,
                        help="TensorRT major version (10 or later) for "
                             "--print-trtexec (default: installed one, else "
                             "both 10 and 11)")
    parser.add_argument("--images", default=None,
                        help="image folder for int8 calibration, when "
                             "model_int8.onnx must be made (default: the "
                             "synthetic set)")
    parser.add_argument("--print-trtexec", action="store_true",
                        help="print the trtexec command(s) and exit")
    return parser.parse_args(argv)


def check_flags(args):
    """Raises a `ValueError` naming the flag, for flags no build can use.

    Checked before anything is read, converted or built (the library's
    `EngineProfile` and `precision_plan` would name their own arguments,
    `min_shape` or `major_version`, which the user never typed).
    """
    for flag, minimum in (("--min-size", 1), ("--opt-size", 1),
                          ("--max-size", 1), ("--min-batch", 1),
                          ("--opt-batch", 1), ("--max-batch", 1),
                          ("--workspace-mib", 1), ("--trt-version", 10)):
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:  # --min-size and --trt-version have defaults
            check_int(value, flag, minimum=minimum)
    batches = ("--min-batch", "--opt-batch", "--max-batch")
    values = [getattr(args, flag[2:].replace("-", "_")) for flag in batches]
    _check_order(batches, values)
    if args.out is not None and not args.print_trtexec:
        check_output_file(args.out, "--out")
    if args.images is not None:
        list_image_files(args.images, argument="--images")


def _check_order(flags, values, note=""):
    if not values[0] <= values[1] <= values[2]:
        received = ", ".join(f"{flag}={value}"
                             for flag, value in zip(flags, values))
        raise ValueError(
            f"`{flags[0]}`, `{flags[1]}` and `{flags[2]}` must satisfy "
            f"{flags[0]} <= {flags[1]} <= {flags[2]}. Received: "
            f"{received}{note}")


def engine_profile(args, model_min):
    """The `EngineProfile` of the flags, checked against the model.

    Args:
        args: the parsed flags (`check_flags` passed).
        model_min: int or None. The model's `min_input_size` from the
            `--onnx` metadata; the default of `--min-size` (else 33).

    Raises:
        ValueError: naming `--min-size` if it is below `model_min`, or the
            size flags if they are not in order.
    """
    min_size = args.min_size or model_min or 33
    if model_min and min_size < model_min:
        raise ValueError(
            "`--min-size` must be at least the model's min_input_size "
            f"({model_min}) in the --onnx metadata. Received: "
            f"--min-size={min_size}")
    note = ""
    if args.min_size is None:
        note = (" (--min-size not given: the model's min_input_size)"
                if model_min else " (--min-size not given: 33)")
    _check_order(("--min-size", "--opt-size", "--max-size"),
                 (min_size, args.opt_size, args.max_size), note)
    return EngineProfile.from_sizes(
        min_size, args.opt_size, args.max_size,
        args.min_batch, args.opt_batch, args.max_batch)


def installed_tensorrt():
    """The installed TensorRT major version (ImportError without one)."""
    major = tensorrt_major_version()
    if major < 10:
        raise ValueError(
            f"TensorRT {major} is installed; deploy/build_engine.py needs "
            "TensorRT 10 or later (pip install -e '.[tensorrt]').")
    return major


def main(argv=None):
    args = parse_args(argv)
    check_flags(args)
    strongly_typed = True if args.strongly_typed else None
    profile = engine_profile(args, onnx_min_input_size(args.onnx, "--onnx"))
    out = args.out or default_engine_path(args.onnx, args.precision)
    if args.print_trtexec:
        versions = ([args.trt_version] if args.trt_version is not None
                    else None)
        if versions is None:
            try:
                versions = [installed_tensorrt()]
            except ImportError:
                versions = [10, 11]
        for major in versions:
            plan = precision_plan(args.precision, major, strongly_typed)
            onnx_path = derived_onnx_path(
                args.onnx, {"onnx": "float32", "onnx_fp16": "float16",
                            "onnx_int8": "int8"}[plan["onnx_format"]])
            print(f"# TensorRT {major}, {args.precision}"
                  + (f" (needs {onnx_path})" if onnx_path != args.onnx
                     else ""))
            print(trtexec_command(onnx_path, out, profile, args.precision,
                                  major, strongly_typed, args.workspace_mib))
        return 0
    try:
        major = installed_tensorrt()
    except ImportError:
        print("TensorRT is not installed (pip install -e '.[tensorrt]' on a "
              "machine with an NVIDIA GPU); --print-trtexec shows the "
              "trtexec commands instead.", file=sys.stderr)
        return 2
    plan = precision_plan(args.precision, major, strongly_typed)
    images = None
    if plan["onnx_format"] == "onnx_int8":
        from keras_scaleattn.export.images import sample_images

        images = sample_images(args.images, 100, split="train")
    onnx_path = onnx_for_plan(args.onnx, plan, images)
    build_engine(onnx_path, out, profile, args.precision, strongly_typed,
                 args.workspace_mib)
    print(f"wrote {out} (TensorRT {major}, {args.precision}, from "
          f"{onnx_path}, profile {profile.to_dict()})")
    print("trtexec equivalent: " + trtexec_command(
        onnx_path, out, profile, args.precision, major, strongly_typed,
        args.workspace_mib))
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
