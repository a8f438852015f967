"""Build a TensorRT engine (float32, float16 or int8) from the ONNX export.

    python deploy/build_engine.py --onnx exports/model.onnx --precision float16 \
        --min-size 33 --opt-size 513 --max-size 1025 --max-batch 4 \
        --out exports/model_fp16.plan

TensorRT 10 builds float16 from `model.onnx` with the FP16 builder flag;
TensorRT 11 (always strongly typed) builds it from `model_fp16.onnx`, made
next to `model.onnx` if missing. int8 builds from `model_int8.onnx` (Q/DQ),
calibrated on `--images DIR` (or the synthetic set) if it must be made.
`--print-trtexec` prints the equivalent trtexec command lines (for TensorRT
10 and 11, or for `--trt-version`) and exits; it needs no TensorRT.
"""

import argparse
import sys

from keras_scaleattn.cli import run_script
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
                        help="engine path (default: next to the ONNX, "
                             "model_<precision>.plan)")
    parser.add_argument("--precision", choices=PRECISIONS, default="float16")
    parser.add_argument("--min-size", type=int, default=None,
                        help="smallest side (default: the model's "
                             "min_input_size from the ONNX metadata)")
    parser.add_argument("--opt-size", type=int, default=513)
    parser.add_argument("--max-size", type=int, default=1025)
    parser.add_argument("--min-batch", type=int, default=1)
    parser.add_argument("--opt-batch", type=int, default=1)
    parser.add_argument("--max-batch", type=int, default=1)
    parser.add_argument("--workspace-mib", type=int,
                        default=DEFAULT_WORKSPACE_MIB)
    parser.add_argument("--strongly-typed", action="store_true",
                        help="TensorRT 10: build the strongly typed way "
                             "(as TensorRT 11 always does)")
    parser.add_argument("--trt-version", type=int, default=None,
                        help="TensorRT major version for --print-trtexec "
                             "(default: installed one, else both 10 and 11)")
    parser.add_argument("--images", default=None,
                        help="image folder for int8 calibration")
    parser.add_argument("--print-trtexec", action="store_true",
                        help="print the trtexec command(s) and exit")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    strongly_typed = True if args.strongly_typed else None
    model_min = onnx_min_input_size(args.onnx)
    profile = EngineProfile.from_sizes(
        args.min_size or model_min or 33, args.opt_size, args.max_size,
        args.min_batch, args.opt_batch, args.max_batch)
    profile.check_model(model_min)
    out = args.out or default_engine_path(args.onnx, args.precision)
    if args.print_trtexec:
        versions = [args.trt_version] if args.trt_version else None
        if versions is None:
            try:
                versions = [tensorrt_major_version()]
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
        major = tensorrt_major_version()
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
