"""Analytic FLOP counts of a model's convolutions and dense layers.

`count_flops(model, input_shape)` traces the model once on an abstract
input of that shape (no arithmetic is done: a `tf.function` trace on
TensorFlow, `jax.eval_shape` on JAX), records every call of every
convolution and dense layer with its input and output shapes, and counts

    conv: 2 * B * H_out * W_out * C_out * K_h * K_w * C_in / groups
    dense: 2 * (elements of the input / C_in) * C_in * C_out

floating-point operations (a multiply-add is 2), the convention of TF's
profiler and of published FLOP tables. Bias additions and activations are
reported apart (`bias_flops`): they are memory-bound and small. A layer
called several times (the trunk shared by every scale) is counted at every
call, with that call's shapes, which is what makes the count of a
multi-scale model right. Dilation does not change the count: a dilated
kernel still has K_h * K_w taps.

Layers that do arithmetic but are not counted (pooling, resizing, softmax)
are memory-bound; the benchmarks time them instead.
"""

import collections
import dataclasses
import math

import keras


@dataclasses.dataclass(frozen=True)
class LayerCall:
    """One call of a counted layer, with its shapes and FLOPs.

    Attributes:
        path: str. The layer's path relative to the counted model
            (`"trunk/block1_conv1"`).
        call_index: int. 0 for the layer's first call in the trace, 1 for
            the second... (the scale index for the shared trunk).
        kind: str. `"conv"` or `"dense"`.
        input_shape: tuple of ints.
        output_shape: tuple of ints.
        kernel_shape: tuple of ints, the kernel variable's shape.
        dilation_rate: tuple of ints (all 1 for dense layers).
        flops: int. 2 x multiply-adds.
        bias_flops: int. One addition per output element if the layer has
            a bias, else 0.
    """

    path: str
    call_index: int
    kind: str
    input_shape: tuple
    output_shape: tuple
    kernel_shape: tuple
    dilation_rate: tuple
    flops: int
    bias_flops: int

    @property
    def group(self):
        """`"<top-level layer>#<call index>"`, e.g. `"trunk#1"`."""
        return f"{self.path.split('/')[0]}#{self.call_index}"


@dataclasses.dataclass(frozen=True)
class FlopReport:
    """The FLOPs of one forward pass of a model at one input shape.

    Attributes:
        input_shape: tuple of ints.
        calls: tuple of `LayerCall`, in execution order.
    """

    input_shape: tuple
    calls: tuple

    @property
    def total(self):
        """FLOPs of every counted call (2 x multiply-adds), biases excluded."""
        return sum(call.flops for call in self.calls)

    @property
    def bias_total(self):
        """FLOPs of the bias additions of every counted call."""
        return sum(call.bias_flops for call in self.calls)

    def by_group(self):
        """FLOPs per `LayerCall.group`, in first-call order.

        Returns:
            `collections.OrderedDict` group -> FLOPs; for a segmenter
            `{"trunk#0": ..., "trunk#1": ..., "scale_attention#0": ...}`.
        """
        groups = collections.OrderedDict()
        for call in self.calls:
            groups[call.group] = groups.get(call.group, 0) + call.flops
        return groups

    def group_input_shapes(self):
        """Input shape of the first counted call of every group.

        Tells which scale a trunk call ran at (`"trunk#0"` is the trunk's
        first call in the trace, not necessarily the first scale).
        """
        shapes = collections.OrderedDict()
        for call in self.calls:
            shapes.setdefault(call.group, call.input_shape)
        return shapes

    def by_layer(self):
        """FLOPs per layer path, summed over its calls, in first-call order."""
        layers = collections.OrderedDict()
        for call in self.calls:
            layers[call.path] = layers.get(call.path, 0) + call.flops
        return layers


def conv_flops(input_shape, output_shape, kernel_shape, groups=1):
    """FLOPs (2 x multiply-adds) of a channels-last convolution.

    Args:
        input_shape: `[B, *spatial, C_in]`.
        output_shape: `[B, *spatial_out, C_out]`.
        kernel_shape: `[*kernel_size, C_in / groups, C_out]` (Keras layout).
        groups: int. Defaults to 1 (the kernel shape already holds
            `C_in / groups`, so `groups` is only checked against it).

    Returns:
        int.

    Example:

    >>> conv_flops((1, 8, 8, 3), (1, 8, 8, 4), (3, 3, 3, 4))
    13824
    """
    input_shape, output_shape = tuple(input_shape), tuple(output_shape)
    kernel_shape = tuple(kernel_shape)
    if any(not isinstance(d, int) for d in input_shape + output_shape):
        raise ValueError(
            "Shapes must be fully known to count FLOPs. Received: "
            f"input_shape={input_shape}, output_shape={output_shape}")
    if kernel_shape[-2] * groups != input_shape[-1]:
        raise ValueError(
            f"`kernel_shape` {kernel_shape} with groups={groups} does not "
            f"match the input's {input_shape[-1]} channels.")
    taps = math.prod(kernel_shape[:-1])  # K_h * K_w * C_in / groups
    return 2 * math.prod(output_shape) * taps


def dense_flops(input_shape, units):
    """FLOPs (2 x multiply-adds) of a dense layer on `input_shape`.

    Example:

    >>> dense_flops((4, 10), 3)
    240
    """
    input_shape = tuple(input_shape)
    if any(not isinstance(d, int) for d in input_shape):
        raise ValueError(
            "Shapes must be fully known to count FLOPs. Received: "
            f"input_shape={input_shape}")
    return 2 * math.prod(input_shape) * int(units)


def _counted(layer):
    if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D,
                          keras.layers.Conv3D)):
        return "conv"
    if isinstance(layer, keras.layers.Dense):
        return "dense"
    return None


def _sublayers(layer, seen=None):
    """Every layer reachable from `layer`'s attributes, depth first."""
    seen = set() if seen is None else seen
    found = []

    def visit(value):
        if isinstance(value, keras.layers.Layer):
            if id(value) in seen:
                return
            seen.add(id(value))
            found.append(value)
            for attribute in vars(value).values():
                visit(attribute)
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)

    visit(layer)
    return found


def _static_shape(tensor):
    return tuple(None if d is None else int(d) for d in tensor.shape)


def _trace(model, input_shape, dtype):
    """Runs `model` on an abstract input: shapes only, no arithmetic."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        function = tf.function(lambda x: model(x, training=False),
                               autograph=False)
        function.get_concrete_function(tf.TensorSpec(input_shape, dtype))
    elif backend == "jax":
        import jax

        jax.eval_shape(lambda x: model(x, training=False),
                       jax.ShapeDtypeStruct(input_shape, dtype))
    else:  # Other backends: a real call on zeros (slower, same shapes).
        model(keras.ops.zeros(input_shape, dtype), training=False)


def count_flops(model, input_shape, dtype="float32"):
    """Counts the FLOPs of one forward pass of `model` on `input_shape`.

    Args:
        model: a Keras model or layer taking one tensor (built by the
            trace if it is not yet).
        input_shape: tuple of ints, e.g. `(1, 513, 513, 3)`.
        dtype: str. The input dtype. Defaults to `"float32"`.

    Returns:
        `FlopReport`.

    Raises:
        ValueError: if `input_shape` is not fully known.

    Example:

    >>> model = keras.Sequential([keras.Input((8, 8, 3)),
    ...                           keras.layers.Conv2D(4, 3, padding="same")])
    >>> count_flops(model, (1, 8, 8, 3)).total
    13824
    """
    input_shape = tuple(input_shape)
    if not input_shape or any(
            isinstance(d, bool) or not isinstance(d, int) or d < 1
            for d in input_shape):
        raise ValueError(
            "`input_shape` must be a tuple of positive ints. "
            f"Received: input_shape={input_shape!r}")
    calls = []
    counts = collections.Counter()
    patched = []
    # Paths relative to `model` ("fc6", not "vgg16_large_fov/fc6").
    root = (getattr(model, "path", None) or model.name) + "/"

    def wrap(layer, kind):
        original = layer.call

        def call(inputs, *args, **kwargs):
            outputs = original(inputs, *args, **kwargs)
            if isinstance(inputs, (list, tuple)):
                # A convolution over the channel concatenation of its inputs
                # (the attention head's att_conv1): counted as one.
                shapes = [_static_shape(x) for x in inputs]
                in_shape = shapes[0][:-1] + (sum(s[-1] for s in shapes),)
            else:
                in_shape = _static_shape(inputs)
            out_shape = _static_shape(outputs)
            kernel_shape = tuple(int(d) for d in layer.kernel.shape)
            if kind == "conv":
                groups = getattr(layer, "groups", 1)
                flops = conv_flops(in_shape, out_shape, kernel_shape, groups)
                dilation = tuple(layer.dilation_rate)
            else:
                flops = dense_flops(in_shape, layer.units)
                dilation = (1,)
            bias = math.prod(out_shape) if layer.use_bias else 0
            path = getattr(layer, "path", None) or layer.name
            if path.startswith(root):
                path = path[len(root):]
            calls.append(LayerCall(path, counts[path], kind, in_shape,
                                   out_shape, kernel_shape, dilation, flops,
                                   bias))
            counts[path] += 1
            return outputs

        # object.__setattr__: an instance attribute shadows the class's
        # `call` without Keras tracking it; deleted again below.
        object.__setattr__(layer, "call", call)
        patched.append(layer)

    if not model.built:
        # Building an unbuilt layer calls it once more, symbolically; build
        # first so that only the traced call is recorded.
        _trace(model, input_shape, dtype)
    try:
        for layer in _sublayers(model):
            kind = _counted(layer)
            if kind is not None:
                wrap(layer, kind)
        _trace(model, input_shape, dtype)
    finally:
        for layer in patched:
            object.__delattr__(layer, "call")
    return FlopReport(input_shape, tuple(calls))


def tf_profiler_flops(function, input_signature):
    """Float operations of a `tf.function` by TensorFlow's own profiler.

    `tf.compat.v1.profiler` with `float_operation()` sums the FLOP
    statistics registered for each op type (Conv2D: 2 x multiply-adds, as
    `count_flops`; BiasAdd: one per element; ...), over the graph with its
    variables frozen to constants. An independent cross-check of
    `count_flops`. Note that `keras.ops.conv` on TF lowers a dilated
    convolution to SpaceToBatchND -> Conv2D -> BatchToSpaceND: the profiler
    counts that Conv2D on the padded, batch-expanded tensor, so it also
    shows the work the padding wastes (the package's trunk avoids it,
    `keras_scaleattn.ops.dilated_conv2d`).

    Args:
        function: a `tf.function`.
        input_signature: list of `tf.TensorSpec` with fully known shapes.

    Returns:
        dict op type -> float operations, and `"total"`.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    concrete = function.get_concrete_function(*input_signature)
    frozen = convert_variables_to_constants_v2(concrete)
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    profile = tf.compat.v1.profiler.profile(frozen.graph, cmd="op",
                                            options=options)
    result = {child.name: int(child.float_ops) for child in profile.children
              if child.float_ops}
    result["total"] = sum(result.values())
    return result
