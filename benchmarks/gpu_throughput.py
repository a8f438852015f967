"""GPU forward throughput under JAX/XLA with bf16 mixed precision, against the GPU's peak.

    KERAS_BACKEND=jax python benchmarks/gpu_throughput.py --size 513 --batches 1,16 --peak-tflops 790 --json runs/bench/gpu_throughput.json

Builds the three-scale attention model (full VGG-16 width, 21 classes)
under the `mixed_bfloat16` dtype policy (`--dtype-policy`), compiles its
forward pass with `jax.jit` (`stateless_call`), and for each batch size in
`--batches` times `--repeats` calls after the compile (each call waits for
its result: `block_until_ready`). Prints latency, images per second and the
achieved FLOP/s (the convolution FLOPs counted by
`keras_scaleattn.profiling.count_flops`) as a fraction of `--peak-tflops`.

The peak is a flag because it depends on the part: ~989 dense bf16
TFLOP/s for an H100 SXM (the data sheet's 1,979 assumes 2:4 sparsity),
~756 for an H100 PCIe; the project's reference machine is quoted at ~790.
Not run on the development machine (no GPU there; see
docs/performance.md). `--previous-ops concat-attention-conv` also times,
in the same run, a second instance with the attention head's previous
convolution (`keras_scaleattn.profiling.previous_ops`; XLA may fuse the
package's three convolutions differently from a CPU runtime). `--quick`
runs a tiny model, and `--allow-cpu` lets the script run without a GPU, for
the smoke test.
"""

import argparse
import sys
import time

from keras_scaleattn.evaluation.report import format_markdown_table
from keras_scaleattn.profiling.cli import add_common_arguments
from keras_scaleattn.profiling.cli import add_previous_ops_argument
from keras_scaleattn.profiling.cli import finish
from keras_scaleattn.profiling.cli import header

DEFAULT_PEAK_TFLOPS = 790.0
QUICK = {"size": 65, "width": 0.0625, "repeats": 2, "batches": "1,2"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, size=513, repeats=20)
    parser.add_argument("--batches", default="1,16",
                        help="comma-separated batch sizes (default 1,16)")
    parser.add_argument("--peak-tflops", type=float,
                        default=DEFAULT_PEAK_TFLOPS,
                        help="the GPU's dense bf16 peak in TFLOP/s "
                             f"(default {DEFAULT_PEAK_TFLOPS:g})")
    parser.add_argument("--dtype-policy", default="mixed_bfloat16",
                        help="Keras dtype policy (default mixed_bfloat16)")
    parser.add_argument("--allow-cpu", action="store_true",
                        help="run even if JAX has no GPU (smoke test)")
    add_previous_ops_argument(
        parser, "comma-separated previous implementations "
                "(keras_scaleattn.profiling.previous_ops) timed together as "
                "a second model")
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    args.batch_sizes = [int(b) for b in str(args.batches).split(",") if b]
    if not args.batch_sizes or min(args.batch_sizes) < 1:
        parser.error(f"--batches must be positive ints; got {args.batches!r}")
    return args


def main(argv=None):
    args = parse_args(argv)
    import keras

    if keras.backend.backend() != "jax":
        sys.exit("Run with KERAS_BACKEND=jax (this benchmark compiles with "
                 f"jax.jit); the backend is {keras.backend.backend()!r}.")
    import jax
    import numpy as np

    from keras_scaleattn import ScaleAttentionSegmenter
    from keras_scaleattn.profiling.flops import count_flops

    device = jax.devices()[0]
    if device.platform != "gpu" and not args.allow_cpu:
        sys.exit(f"No GPU visible to JAX (device: {device}); pass "
                 "--allow-cpu to run anyway.")
    print(header("GPU throughput (JAX/XLA, mixed precision)", args))
    print(f"device: {device} ({getattr(device, 'device_kind', '?')}), "
          f"jax {jax.__version__}, keras {keras.__version__}")

    from keras_scaleattn.profiling.previous_ops import apply_previous_ops

    keras.mixed_precision.set_global_policy(args.dtype_policy)
    variants = {}
    for name, ops in (("package", []), (
            "previous: " + "+".join(args.previous_ops), args.previous_ops)):
        if name != "package" and not ops:
            continue
        keras.utils.set_random_seed(args.seed)
        variants[name] = apply_previous_ops(ScaleAttentionSegmenter(
            num_classes=args.classes, trunk_width=args.width), ops)

    def compiled(model):
        @jax.jit
        def forward(trainable, non_trainable, images):
            outputs, _ = model.stateless_call(trainable, non_trainable,
                                              images, training=False)
            return outputs["logits"]

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        return lambda images: forward(trainable, non_trainable, images)

    rows, results = [], {}
    rng = np.random.default_rng(args.seed)
    for name, model in variants.items():
        forward = compiled(model)
        for batch in args.batch_sizes:
            images = jax.device_put(rng.uniform(
                0, 255, (batch, args.size, args.size, 3)).astype("float32"))
            flops = count_flops(model, images.shape).total
            start = time.perf_counter()
            forward(images).block_until_ready()
            compile_s = time.perf_counter() - start
            for _ in range(args.warmup):
                forward(images).block_until_ready()
            seconds = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                forward(images).block_until_ready()
                seconds.append(time.perf_counter() - start)
            median = float(np.median(seconds))
            achieved = flops / median
            label = f"batch {batch}" + ("" if name == "package"
                                        else f", {name}")
            results[label] = {"flops": flops, "seconds": seconds,
                              "compile_s": compile_s,
                              "achieved_tflops": achieved / 1e12,
                              "fraction_of_peak": achieved
                              / (args.peak_tflops * 1e12)}
            rows.append((label, {
                "median ms": median * 1e3, "min ms": min(seconds) * 1e3,
                "images/s": batch / median, "TFLOP": flops / 1e12,
                "TFLOP/s": achieved / 1e12,
                "of peak": achieved / (args.peak_tflops * 1e12),
                "compile s": compile_s}))
    print(f"\n## {args.size}x{args.size}, {args.dtype_policy}, peak "
          f"{args.peak_tflops:g} TFLOP/s\n")
    print(format_markdown_table(
        rows, ["median ms", "min ms", "images/s", "TFLOP", "TFLOP/s",
               "of peak", "compile s"],
        row_header="batch", float_format="{:.3f}"))
    return finish(args, {"config": vars(args), "device": str(device),
                         "results": results})


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
