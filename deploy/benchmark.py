"""Time every available runtime of one model on the same inputs.

    python deploy/benchmark.py --model runs/model.keras --export-dir exports/ \
        --size 513 --batch 1 --repeats 20 --json benchmark.json

Times the Keras model (eager and as a compiled tf.function) and every
artifact in `--export-dir` (SavedModel, ONNX Runtime, LiteRT float32 /
float16 / int8, TensorRT engines where TensorRT and a GPU exist) on one
random uint8 batch, and prints median and p90 latency and the ratio to the
compiled Keras model. Without `--export-dir`, or with `--export` to
(re)create it, every format is exported first (fixed-size TFLite at
`--size`). Writes the table's numbers to `--json`.
"""

import argparse
import sys

from keras_scaleattn.cli import run_script
import tempfile

from keras_scaleattn.evaluation.report import write_json_atomic
from keras_scaleattn.export.benchmark import benchmark_table
from keras_scaleattn.export.benchmark import run_benchmark


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the .keras model")
    parser.add_argument("--export-dir", default=None,
                        help="artifacts from deploy/export.py")
    parser.add_argument("--export", action="store_true",
                        help="export every format into --export-dir first")
    parser.add_argument("--size", type=int, default=513)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--num-threads", type=int, default=None,
                        help="LiteRT threads")
    parser.add_argument("--json", default="benchmark.json",
                        help="where to write the results")
    return parser.parse_args(argv)


def _export(model_path, out_dir, size):
    import keras

    import keras_scaleattn  # noqa: F401
    from keras_scaleattn.export.exporter import export_artifacts
    from keras_scaleattn.export.images import sample_images

    model = keras.models.load_model(model_path)
    calibration = sample_images(num_images=16, image_size=max(97, size),
                                split="train")
    export_artifacts(model, out_dir, fixed_size=size,
                     representative_images=calibration, log=print)


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        export_dir = args.export_dir
        if export_dir is None or args.export:
            export_dir = export_dir or scratch
            _export(args.model, export_dir, args.size)
        report = run_benchmark(args.model, export_dir, args.size, args.batch,
                               args.repeats, args.warmup, args.num_threads)
    if args.export_dir is None:
        report["config"]["export_dir"] = None
    print(benchmark_table(report), end="")
    write_json_atomic(args.json, report)
    print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
