"""Cost of attention to scale: three-scale latency over single-scale, against FLOPs.

    python benchmarks/multiscale_cost.py --size 513 --repeats 5 --json runs/bench/multiscale_cost.json

Builds the paper's three-scale attention model (scales 1, 0.75, 0.5, full
VGG-16 width, 21 classes) and single-scale DeepLab-LargeFOV (`scales=(1.0,)`),
counts their FLOPs (trunk at each scale plus the attention head), and times
one forward pass of each in a compiled TF graph, with and without XLA
(`tf.function(jit_compile=...)`), interleaved round by round. The latency
ratio (three-scale / single-scale) is compared with the FLOP ratio; the
target is agreement within 5%. To find where a gap comes from, the
three-scale model is also timed piece by piece (the trunk at each scale, the
attention head with its resizes and concatenation, the rest), and its graph
profiled op by op (`--no-profile` skips that).

`--previous-ops spacetobatch-dilation,concat-attention-conv` adds graph
variants with the package's previous implementations patched back in (each
alone, then both; see `keras_scaleattn.profiling.previous_ops`): dilated
convolutions through TF's SpaceToBatchND lowering instead of one `Conv2D`
with `dilations`, and the attention head's convolution on the concatenated
3072-channel map instead of one convolution per scale, so that before and
after are timed in one run. `--quick` is a smoke run on a tiny model. Latency is reported in
wall-clock and in process CPU seconds: on a shared machine the CPU seconds
move much less with the load.
"""

import argparse
import os
import sys

# Before TensorFlow loads (the package imports it): no C++ start-up logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_scaleattn.evaluation.report import format_markdown_table  # noqa: E402
from keras_scaleattn.profiling.cli import add_common_arguments  # noqa: E402
from keras_scaleattn.profiling.cli import add_previous_ops_argument  # noqa: E402
from keras_scaleattn.profiling.cli import apply_quick  # noqa: E402
from keras_scaleattn.profiling.cli import build_segmenter  # noqa: E402
from keras_scaleattn.profiling.cli import finish  # noqa: E402
from keras_scaleattn.profiling.cli import header  # noqa: E402
from keras_scaleattn.profiling.cli import random_images  # noqa: E402
from keras_scaleattn.profiling.flops import count_flops  # noqa: E402
from keras_scaleattn.profiling.flops import tf_profiler_flops  # noqa: E402
from keras_scaleattn.profiling.op_profile import op_time_breakdown  # noqa: E402
from keras_scaleattn.profiling.previous_ops import PREVIOUS_OPS  # noqa: E402
from keras_scaleattn.profiling.previous_ops import apply_previous_ops  # noqa: E402
from keras_scaleattn.profiling.timing import interleaved_timings  # noqa: E402
from keras_scaleattn.profiling.timing import paired_ratio  # noqa: E402
from keras_scaleattn.profiling.timing import summarize  # noqa: E402

TARGET_DEVIATION = 0.05


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, size=513, repeats=5)
    parser.add_argument("--no-xla", action="store_true",
                        help="skip the jit_compile=True variants")
    add_previous_ops_argument(
        parser, "comma-separated previous implementations to time too: "
                f"{','.join(PREVIOUS_OPS)}")
    parser.add_argument("--no-components", action="store_true",
                        help="skip timing the three-scale model piece by piece")
    parser.add_argument("--no-profile", action="store_true",
                        help="skip the op-by-op profile and TF's FLOP profiler")
    args = apply_quick(parser.parse_args(argv))
    return args


def previous_op_sets(names):
    """Each previous implementation alone, then all of them together."""
    sets = [(name,) for name in names]
    if len(names) > 1:
        sets.append(tuple(names))
    return sets


def logits_function(model, jit_compile):
    function = tf.function(lambda x: model(x, training=False)["logits"],
                           jit_compile=jit_compile, autograph=False)
    return function


def scale_of_groups(report):
    """Names FLOP groups by what they are: trunk@<side>, attention head."""
    names = {}
    for group, shape in report.group_input_shapes().items():
        if group.startswith("trunk#"):
            names[group] = f"trunk@{shape[1]}"
        elif group.startswith("scale_attention#"):
            names[group] = "attention head"
        else:
            names[group] = group
    return names


def component_variants(model, images):
    """The three-scale model cut into pieces, each a compiled function."""
    preprocessing = model.get_layer("preprocessing")
    pyramid = model.get_layer("scale_pyramid")
    trunk = model.get_layer("trunk")
    attention = model.get_layer("scale_attention")
    resize = model.get_layer("resize_scores")
    merge = model.get_layer("merge_scores")
    finest = model.scales.index(max(model.scales))

    scaled = pyramid(preprocessing(images))
    outputs = [trunk(image, training=False) for image in scaled]
    fc7 = [o[0] for o in outputs]
    fc8 = [o[1] for o in outputs]
    attention_logits = attention(fc7, training=False)

    def compiled(function):
        return tf.function(function, autograph=False)

    pieces = {}
    pyramid_fn = compiled(lambda x: pyramid(preprocessing(x)))
    pieces["preprocess + pyramid"] = lambda: [
        t.numpy() for t in pyramid_fn(images)]
    trunk_fn = compiled(lambda x: trunk(x, training=False)[1])
    for image in scaled:
        pieces[f"trunk@{image.shape[1]}"] = (
            lambda image=image: trunk_fn(image).numpy())
    attention_fn = compiled(lambda f: attention(f, training=False))
    pieces["attention head"] = lambda: attention_fn(fc7).numpy()

    def merge_scores(scores, logits):
        resized = [s if i == finest else resize(s, scores[finest])
                   for i, s in enumerate(scores)]
        return merge(resized, logits)

    merge_fn = compiled(merge_scores)
    pieces["resize scores + merge"] = (
        lambda: merge_fn(fc8, attention_logits).numpy())
    return pieces


def main(argv=None):
    args = parse_args(argv)
    print(header("Multi-scale cost: three scales over one", args))
    images = tf.constant(random_images(args))
    input_shape = tuple(images.shape)

    single = build_segmenter(args, scales=(1.0,))
    multi = build_segmenter(args)
    flops = {"single": count_flops(single, input_shape),
             "multi": count_flops(multi, input_shape)}
    flop_ratio = flops["multi"].total / flops["single"].total
    group_names = scale_of_groups(flops["multi"])
    group_flops = {group_names[g]: v for g, v in flops["multi"].by_group().items()}

    rows = [(name, {"GFLOP": value / 1e9,
                    "share": value / flops["multi"].total})
            for name, value in group_flops.items()]
    rows.append(("three-scale total", {"GFLOP": flops["multi"].total / 1e9,
                                       "share": 1.0}))
    rows.append(("single-scale total",
                 {"GFLOP": flops["single"].total / 1e9}))
    print("\n## FLOPs (2 x multiply-adds of every convolution call)\n")
    print(format_markdown_table(rows, ["GFLOP", "share"], row_header="part",
                                float_format="{:.3f}"))
    print(f"FLOP ratio three-scale / single-scale: {flop_ratio:.3f}")

    result = {"config": vars(args), "flops": {
        "single": flops["single"].total, "multi": flops["multi"].total,
        "ratio": flop_ratio, "multi_by_part": group_flops}}

    if not args.no_profile:
        signature = [tf.TensorSpec(input_shape, tf.float32)]
        profiled = {name: tf_profiler_flops(logits_function(model, False),
                                            signature)
                    for name, model in (("single", single), ("multi", multi))}
        conv = {name: profiled[name].get("Conv2D", 0) for name in profiled}
        print("\nTF profiler (tf.compat.v1.profiler float ops) Conv2D: "
              + ", ".join(
                  f"{name} {conv[name] / 1e9:.3f} GFLOP "
                  f"({conv[name] / flops[name].total - 1:+.1%} vs count)"
                  for name in profiled))
        print("(an excess would be the padding of TF's SpaceToBatchND lowering "
              "of dilated convolutions, `--previous-ops spacetobatch-dilation`"
              ": each map padded to a multiple of the dilation)")
        result["tf_profiler_flops"] = profiled

    models = {"single": single, "multi": multi}
    pairs = []  # (label, multi variant, single variant)
    for engine in (("graph",) if args.no_xla else ("graph", "xla")):
        pairs.append((engine, f"multi {engine}", f"single {engine}"))
    for chosen in previous_op_sets(args.previous_ops):
        label = "+".join(chosen)
        patched = apply_previous_ops(build_segmenter(args), chosen)
        models[f"multi +{label}"] = patched
        # Only the previous ops that change the single-scale model.
        single_names = tuple(
            n for n in chosen
            if PREVIOUS_OPS[n](build_segmenter(args, scales=(1.0,))))
        single_label = "+".join(single_names)
        if single_names and f"single +{single_label}" not in models:
            models[f"single +{single_label}"] = apply_previous_ops(
                build_segmenter(args, scales=(1.0,)), single_names)
        pairs.append((f"graph +{label}", f"multi +{label} graph",
                      f"single +{single_label} graph" if single_names
                      else "single graph"))
    variants = {}
    for engine, jit in (("graph", False), ("xla", True)):
        if jit and args.no_xla:
            continue
        for name, model in models.items():
            if jit and "+" in name:
                continue
            function = logits_function(model, jit)
            variants[f"{name} {engine}"] = (
                lambda function=function: function(images).numpy())
    if not args.no_components:
        variants.update({f"part: {k}": v for k, v in
                         component_variants(multi, images).items()})

    times = interleaved_timings(variants, args.repeats, args.warmup)
    rows = []
    for name in variants:
        wall, cpu = summarize(times[name]), summarize(times.cpu[name])
        part_flops = group_flops.get(name.replace("part: ", ""))
        model_flops = (flops["multi" if name.startswith("multi") else "single"]
                       .total if not name.startswith("part") else part_flops)
        rows.append((name, {
            "wall median ms": wall["median_ms"], "wall min ms": wall["min_ms"],
            "cpu median ms": cpu["median_ms"],
            "GFLOP/cpu-s": (model_flops / (cpu["median_ms"] / 1e3) / 1e9
                            if model_flops else None)}))
    print("\n## Latency (batch 1, interleaved rounds)\n")
    print(format_markdown_table(
        rows, ["wall median ms", "wall min ms", "cpu median ms", "GFLOP/cpu-s"],
        row_header="variant", float_format="{:.1f}"))

    ratios = {}
    rows = []
    for label, num, den in pairs:
        wall = paired_ratio(times[num], times[den])
        cpu = paired_ratio(times.cpu[num], times.cpu[den])
        ratios[label] = {"wall": wall, "cpu": cpu}
        rows.append((label, {
            "wall ratio": wall["median"], "wall range": (
                f"{wall['min']:.2f}-{wall['max']:.2f}"),
            "cpu ratio": cpu["of_medians"], "FLOP ratio": flop_ratio,
            "wall vs FLOPs": f"{wall['median'] / flop_ratio - 1:+.1%}",
            "cpu vs FLOPs": f"{cpu['of_medians'] / flop_ratio - 1:+.1%}",
            "target met (cpu)": abs(cpu["of_medians"] / flop_ratio - 1)
            <= TARGET_DEVIATION}))
    print("\n## Three-scale / single-scale latency against FLOPs "
          f"(target: within {TARGET_DEVIATION:.0%})\n")
    print(format_markdown_table(
        rows, ["wall ratio", "wall range", "cpu ratio", "FLOP ratio",
               "wall vs FLOPs", "cpu vs FLOPs", "target met (cpu)"],
        row_header="engine", float_format="{:.3f}"))
    for label, num, den in pairs:
        print(f"- {label}: '{num}' / '{den}'")
    result["ratios"] = ratios
    result["times"] = {"wall": dict(times), "cpu": times.cpu}

    if not args.no_components:
        whole = np.median(times.cpu["multi graph"])
        parts = {k[len("part: "):]: np.median(times.cpu[k])
                 for k in variants if k.startswith("part: ")}
        rows = []
        for name, seconds in parts.items():
            share_flops = group_flops.get(name, 0) / flops["multi"].total
            rows.append((name, {"cpu ms": seconds * 1e3,
                                "time share": seconds / whole,
                                "FLOP share": share_flops,
                                "time - FLOP share": seconds / whole
                                - share_flops}))
        rows.append(("sum of parts", {"cpu ms": sum(parts.values()) * 1e3,
                                      "time share": sum(parts.values())
                                      / whole, "FLOP share": 1.0}))
        print("\n## Three-scale model piece by piece (graph, CPU time; share "
              "of the whole model's time)\n")
        print(format_markdown_table(
            rows, ["cpu ms", "time share", "FLOP share", "time - FLOP share"],
            row_header="part", float_format="{:.3f}"))
        result["parts_cpu_s"] = parts

    if not args.no_profile:
        profiles = {}
        for name in ("single", "multi"):
            profiles[name] = op_time_breakdown(
                logits_function(models[name], False), [images.numpy()],
                runs=3 if not args.quick else 1)
        print("\n## Kernel time by op type (graph, one op at a time)\n")
        op_names = []
        for profile in profiles.values():
            for op in profile["by_op"]:
                if op not in op_names:
                    op_names.append(op)
        rows = []
        for op in op_names[:12]:
            rows.append((op, {
                f"{name} ms": profiles[name]["by_op"].get(op, 0.0) * 1e3
                for name in profiles} | {
                f"{name} share": profiles[name]["by_op"].get(op, 0.0)
                / profiles[name]["kernel_s"] for name in profiles}))
        print(format_markdown_table(
            rows, ["single ms", "single share", "multi ms", "multi share"],
            row_header="op type", float_format="{:.3f}"))
        print("slowest kernels of the three-scale graph:")
        for node, op, seconds in profiles["multi"]["top_nodes"][:10]:
            print(f"  {seconds * 1e3:8.1f} ms  {op:22s} {node}")
        result["op_profile"] = profiles
    finish(args, result)
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
