"""Training step time with the real tf.data pipeline over in-memory tensors, and images/s.

    python benchmarks/training_step.py --crop 321 --batch 2 --steps 3 --repeats 2 --json runs/bench/training_step.json

Trains the three-scale attention model (full VGG-16 width, 21 classes,
`model.compile()`'s defaults: SGD with momentum and the 1 + S losses of
extra supervision) with `train_on_batch`, fed either by the package's
training pipeline (`make_pipeline(get_source("synthetic", ...),
training=True, ...)`: random scaling 0.6-1.4, padding, `--crop` crop,
mirror, shuffle, batch, prefetch) or by one batch held in memory as
tensors. The two are timed in alternating blocks of `--steps` steps (a block
per feed, so that the pipeline's background work is charged to its own
steps; the first steps of each pipeline block, which may find batches
prefetched during the other block, are run untimed). Target: pipeline step
time at most 1.05x the in-memory step time. Also prints images per second
and the step's approximate FLOP/s (3x the forward FLOPs: forward, and the
two products of the backward pass).
"""

import argparse
import os
import sys

# Before TensorFlow loads (the package imports it): no C++ start-up logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from keras_scaleattn.evaluation.report import format_markdown_table  # noqa: E402
from keras_scaleattn.profiling.cli import add_common_arguments  # noqa: E402
from keras_scaleattn.profiling.cli import apply_threads  # noqa: E402
from keras_scaleattn.profiling.cli import build_segmenter  # noqa: E402
from keras_scaleattn.profiling.cli import finish  # noqa: E402
from keras_scaleattn.profiling.cli import header  # noqa: E402

TARGET = 1.05
QUICK = {"crop": 65, "width": 0.0625, "batch": 2, "steps": 2, "repeats": 1,
         "source_size": 97, "examples": 4}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, size=321, repeats=2, batch=2)
    parser.add_argument("--crop", type=int, default=321,
                        help="training crop (default 321, the paper's)")
    parser.add_argument("--steps", type=int, default=3,
                        help="timed steps per block (default 3)")
    parser.add_argument("--settle", type=int, default=1,
                        help="untimed steps at the start of each pipeline "
                             "block (default 1)")
    parser.add_argument("--source-size", type=int, default=385,
                        help="side of the synthetic source images (default 385)")
    parser.add_argument("--examples", type=int, default=16,
                        help="synthetic source examples (default 16)")
    parser.add_argument("--no-scaling", action="store_true",
                        help="pipeline without the random 0.6-1.4 scaling")
    parser.add_argument("--jit-compile", action="store_true",
                        help="compile the train step with XLA")
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    args.size = args.crop
    return apply_threads(args)


def timed_steps(step, count):
    import time

    wall, cpu = [], []
    for _ in range(count):
        cpu_start, start = time.process_time(), time.perf_counter()
        step()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return wall, cpu


def main(argv=None):
    args = parse_args(argv)
    print(header("Training: tf.data pipeline over in-memory tensors", args))
    from keras_scaleattn.data import get_source
    from keras_scaleattn.data import make_pipeline
    from keras_scaleattn.profiling.flops import count_flops

    source = get_source("synthetic", split="train",
                        num_examples=args.examples,
                        image_size=args.source_size, seed=args.seed)
    pipeline = make_pipeline(
        source, training=True, batch_size=args.batch, crop_size=args.crop,
        scale_range=None if args.no_scaling else (0.6, 1.4), seed=args.seed)
    iterator = iter(pipeline)
    images, labels = next(iterator)

    model = build_segmenter(args)
    model.compile(jit_compile=args.jit_compile)
    forward_flops = count_flops(model, tuple(images.shape)).total
    step_flops = 3 * forward_flops

    def pipeline_step():
        x, y = next(iterator)
        model.train_on_batch(x, y)

    def memory_step():
        model.train_on_batch(images, labels)

    import time

    start = time.perf_counter()
    memory_step()  # traces and compiles the train function
    print(f"first step (tracing included): {time.perf_counter() - start:.1f} s")
    for _ in range(args.warmup):
        memory_step()
        pipeline_step()

    wall = {"pipeline": [], "in-memory": []}
    cpu = {"pipeline": [], "in-memory": []}
    for round_index in range(args.repeats):
        order = (["pipeline", "in-memory"] if round_index % 2 == 0
                 else ["in-memory", "pipeline"])
        for name in order:
            if name == "pipeline":
                for _ in range(args.settle):
                    pipeline_step()
            w, c = timed_steps(pipeline_step if name == "pipeline"
                               else memory_step, args.steps)
            wall[name] += w
            cpu[name] += c

    rows, results = [], {}
    for name in wall:
        step_s = float(np.median(wall[name]))
        cpu_s = float(np.median(cpu[name]))
        results[name] = {"wall_s": wall[name], "cpu_s": cpu[name],
                         "images_per_s": args.batch / step_s}
        rows.append((name, {"step wall ms": step_s * 1e3,
                            "step cpu ms": cpu_s * 1e3,
                            "images/s": args.batch / step_s,
                            "GFLOP/s (~3x fwd)": step_flops / step_s / 1e9}))
    print(f"\nforward {forward_flops / 1e9:.1f} GFLOP per batch of "
          f"{args.batch} at {args.crop}x{args.crop}; a step "
          f"~{step_flops / 1e9:.0f} GFLOP\n")
    print(format_markdown_table(
        rows, ["step wall ms", "step cpu ms", "images/s", "GFLOP/s (~3x fwd)"],
        row_header="feed", float_format="{:.2f}"))
    ratio_wall = np.median(wall["pipeline"]) / np.median(wall["in-memory"])
    ratio_cpu = np.median(cpu["pipeline"]) / np.median(cpu["in-memory"])
    print(f"\npipeline / in-memory step time: {ratio_wall:.3f} (wall), "
          f"{ratio_cpu:.3f} (cpu); target <= {TARGET}: "
          f"{'met' if ratio_wall <= TARGET else 'not met'} (wall), "
          f"{'met' if ratio_cpu <= TARGET else 'not met'} (cpu)")
    return finish(args, {"config": vars(args), "forward_flops": forward_flops,
                         "results": results,
                         "ratio": {"wall": float(ratio_wall),
                                   "cpu": float(ratio_cpu)}})


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
