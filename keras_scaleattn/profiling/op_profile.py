"""Where a TensorFlow graph spends its time, op by op.

`op_time_breakdown` freezes a `tf.function` (variables become constants),
imports it into a `tf.compat.v1.Session` (same Grappler rewrites as a
`tf.function`: Conv2D + BiasAdd + Relu fusion, constant folding) and runs it
with `FULL_TRACE`, which records the start and end of every executed kernel.
The times are summed by op type (`_FusedConv2D`, `SpaceToBatchND`,
`ResizeBilinear`, `ConcatV2`, `MaxPool`, ...) and by the name scope that the
Keras layers give their ops, so that a latency above the FLOP count can be
blamed on named ops. With two inter-op threads some kernels overlap, so the
sum of kernel times may exceed the wall time of the step.
"""

import collections
import re
import time

import numpy as np

_LABEL = re.compile(r"^\s*(?P<name>[^=]+?)\s*=\s*(?P<op>[A-Za-z0-9_]+)\(")


def _frozen_session(function, input_signature, inter_op_threads=None):
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    concrete = function.get_concrete_function(*input_signature)
    frozen = convert_variables_to_constants_v2(concrete)
    graph_def = frozen.graph.as_graph_def()
    inputs = [t.name for t in frozen.inputs]
    outputs = [t.name for t in frozen.outputs]
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    config = tf.compat.v1.ConfigProto()
    if inter_op_threads:
        config.inter_op_parallelism_threads = inter_op_threads
    session = tf.compat.v1.Session(graph=graph, config=config)
    return session, inputs, outputs


def _scope(node_name, depth):
    parts = [p for p in node_name.split("/") if p]
    # tf.function graphs prefix layer scopes with the model's name.
    return "/".join(parts[:depth]) if len(parts) > depth else parts[0]


def op_time_breakdown(function, inputs, runs=2, scope_depth=2,
                      inter_op_threads=1):
    """Kernel time of a `tf.function` by op type and by name scope.

    Args:
        function: a `tf.function` of one or more tensors.
        inputs: list of NumPy arrays, its arguments (static shapes are taken
            from them).
        runs: int >= 1. Traced runs after one untraced warm-up; each kernel's
            time is its fastest run's (on a shared machine, other jobs only
            ever add time). Defaults to 2.
        scope_depth: int. How many levels of the node names make a scope.
            Defaults to 2 (e.g. `"model/trunk"`).
        inter_op_threads: int or None. Inter-op threads of the session.
            Defaults to 1: one kernel at a time, so each kernel's time is
            its own and not inflated by kernels running beside it. None
            keeps TensorFlow's default (one per core).

    Returns:
        dict with `"wall_s"` (the fastest traced run's wall time),
        `"kernel_s"` (sum of kernel times), `"by_op"` and `"by_scope"`
        (dicts name -> seconds, largest first), and `"top_nodes"` (list of `(node, op, seconds)`,
        the 25 slowest kernels).
    """
    import tensorflow as tf

    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"`runs` must be an int >= 1. Received: runs={runs!r}")
    signature = [tf.TensorSpec(np.shape(x), tf.as_dtype(np.asarray(x).dtype))
                 for x in inputs]
    session, input_names, output_names = _frozen_session(
        function, signature, inter_op_threads)
    feed = dict(zip(input_names, inputs))
    with session:
        session.run(output_names, feed_dict=feed)
        walls, kernels = [], {}
        for _ in range(runs):
            metadata = tf.compat.v1.RunMetadata()
            options = tf.compat.v1.RunOptions(
                trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
            start = time.perf_counter()
            session.run(output_names, feed_dict=feed, options=options,
                        run_metadata=metadata)
            walls.append(time.perf_counter() - start)
            for device in metadata.step_stats.dev_stats:
                for node in device.node_stats:
                    match = _LABEL.match(node.timeline_label or "")
                    if match is None:
                        continue  # bookkeeping entries (_SOURCE, _Recv, ...)
                    key = (node.node_name, match.group("op"))
                    seconds = node.op_end_rel_micros / 1e6
                    # A kernel's fastest run: load spikes only add time.
                    kernels[key] = min(seconds, kernels.get(key, seconds))
    by_op = collections.Counter()
    by_scope = collections.Counter()
    nodes = []
    for (name, op), seconds in kernels.items():
        by_op[op] += seconds
        by_scope[_scope(name, scope_depth)] += seconds
        nodes.append((name, op, seconds))
    nodes.sort(key=lambda item: -item[2])
    return {
        "wall_s": min(walls),
        "kernel_s": float(sum(by_op.values())),
        "by_op": dict(by_op.most_common()),
        "by_scope": dict(by_scope.most_common()),
        "top_nodes": nodes[:25],
    }
