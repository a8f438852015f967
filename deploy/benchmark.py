"""Time every available runtime of one model on the same inputs.

    python deploy/benchmark.py --model runs/model.keras --export-dir exports/ \
        --size 513 --batch 1 --repeats 20 --json benchmark.json

Times the Keras model (eager and as a compiled tf.function) and every
artifact in `--export-dir` (SavedModel, ONNX Runtime, LiteRT float32 /
float16 / int8, TensorRT engines where TensorRT and a GPU exist) on one
random uint8 batch, and prints median and p90 latency and the ratio to the
compiled Keras model. A file in `--export-dir` that does not load is listed
as an error; the others are still timed. Without `--export-dir`, every
format is exported into a temporary directory first (fixed-size TFLite at
`--size`, int8 calibrated on the synthetic set); `--export --export-dir DIR`
exports into DIR and keeps it, but only into a new or empty DIR: it never
overwrites an export (e.g. int8 models that deploy/export.py calibrated on
your `--images`). Writes the table's numbers to `--json`. Every flag is
checked, and named in the error, before the model loads.
"""

import argparse
import os
import sys
import tempfile

from keras_scaleattn.cli import check_num_threads_flag
from keras_scaleattn.cli import check_output_file
from keras_scaleattn.cli import run_script
from keras_scaleattn.evaluation.report import write_json_atomic
from keras_scaleattn.export.benchmark import benchmark_table
from keras_scaleattn.export.benchmark import check_benchmark_settings
from keras_scaleattn.export.benchmark import find_artifacts
from keras_scaleattn.export.benchmark import load_keras_runtime
from keras_scaleattn.export.benchmark import run_benchmark
from keras_scaleattn.export.exporter import check_tensorflow_backend


# The flags errors name instead of the library's arguments.
FLAGS = {"model_path": "--model", "export_dir": "--export-dir",
         "size": "--size", "batch": "--batch", "repeats": "--repeats",
         "warmup": "--warmup", "num_threads": "--num-threads"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the .keras model")
    parser.add_argument("--export-dir", default=None,
                        help="artifacts from deploy/export.py (must exist "
                             "and hold one, unless --export; default: "
                             "export every format into a temporary folder)")
    parser.add_argument("--export", action="store_true",
                        help="export every format into --export-dir first "
                             "(a new or empty directory)")
    parser.add_argument("--size", type=int, default=513,
                        help="height and width of the random images, at "
                             "least the model's min_input_size (default: "
                             "513)")
    parser.add_argument("--batch", type=int, default=1,
                        help="images per call (default: 1)")
    parser.add_argument("--repeats", type=int, default=10,
                        help="timed calls per runtime (default: 10)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed calls first (default: 1)")
    parser.add_argument("--num-threads", type=int, default=None,
                        help="LiteRT threads (default: LiteRT's)")
    parser.add_argument("--json", default="benchmark.json",
                        help="where to write the results, in an existing "
                             "folder (default: benchmark.json)")
    return parser.parse_args(argv)


def check_export_dir(export_dir, export):
    """Raises if `--export-dir` cannot be benchmarked or exported into.

    Args:
        export_dir: str or None. The `--export-dir` flag.
        export: bool. The `--export` flag.

    Raises:
        FileNotFoundError: without `--export`, if `export_dir` is not an
            existing directory (a misspelled path).
        ValueError: without `--export`, if `export_dir` holds no artifact;
            with `--export`, if `export_dir` is a file or a directory that
            is not empty (exporting would overwrite an earlier export and
            leave its parity_report.json stale).
    """
    if export_dir is None:
        return
    if not export:
        if not os.path.isdir(export_dir):
            raise FileNotFoundError(
                "`--export-dir` is not an existing directory (pass --export "
                "to export every format into it first). Received: "
                f"--export-dir={export_dir!r}")
        find_artifacts(export_dir, FLAGS["export_dir"])
        return
    if os.path.exists(export_dir) and (
            not os.path.isdir(export_dir) or os.listdir(export_dir)):
        raise ValueError(
            "`--export` exports into a new or empty --export-dir only: "
            "it would overwrite the export there (int8 models calibrated "
            "on its own images, parity_report.json). Pass another "
            "--export-dir, or drop --export to benchmark what is there. "
            f"Received: --export-dir={export_dir!r}")


def _export(model, out_dir, size):
    from keras_scaleattn.export.exporter import export_artifacts
    from keras_scaleattn.export.images import sample_images

    calibration = sample_images(num_images=16, image_size=max(97, size),
                                split="train")
    export_artifacts(model, out_dir, fixed_size=size,
                     representative_images=calibration, log=print)


def main(argv=None):
    args = parse_args(argv)
    # Every flag is checked before the model loads, and named in errors.
    check_num_threads_flag(args.num_threads)
    check_benchmark_settings(args.size, args.batch, args.repeats,
                             args.warmup, args.num_threads,
                             argument_names=FLAGS)
    check_output_file(args.json, "--json")
    check_export_dir(args.export_dir, args.export)
    if args.export_dir is None or args.export:
        # Checked before the model loads: exporting traces TensorFlow graphs.
        # Timing an existing --export-dir works under any backend.
        check_tensorflow_backend()
    keras_runtime = load_keras_runtime(args.model, FLAGS["model_path"])
    check_benchmark_settings(args.size, args.batch, args.repeats,
                             args.warmup, args.num_threads,
                             keras_runtime.min_input_size,
                             argument_names=FLAGS)
    with tempfile.TemporaryDirectory() as scratch:
        export_dir = args.export_dir
        if export_dir is None or args.export:
            export_dir = export_dir or scratch
            _export(keras_runtime.keras_model, export_dir, args.size)
        report = run_benchmark(args.model, export_dir, args.size, args.batch,
                               args.repeats, args.warmup, args.num_threads,
                               keras_runtime=keras_runtime)
    if args.export_dir is None:
        report["config"]["export_dir"] = None
    print(benchmark_table(report), end="")
    write_json_atomic(args.json, report)
    print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
