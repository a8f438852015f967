"""The package's previous implementations, patched onto a model to compare.

Two changes made the model faster without changing its numbers
(docs/performance.md, "Applied changes"): dilated convolutions run as one
backend op (`keras_scaleattn.ops.dilated_conv2d`), and the attention head's
`att_conv1` runs as one convolution per scale. The functions here put the
previous implementation back on one model instance (never on the package's
classes), so that a benchmark can time before and after in one process.
"""

import functools

import keras

from keras_scaleattn.profiling.flops import _sublayers


def dilated_conv2d_layers(model):
    """The `Conv2D` layers of `model` with a dilation rate above 1."""
    return [layer for layer in _sublayers(model)
            if isinstance(layer, keras.layers.Conv2D)
            and max(layer.dilation_rate) > 1]


def spacetobatch_dilated_convolutions(model):
    """Runs every dilated `Conv2D` of `model` through `keras.ops.conv`.

    The previous implementation: on TensorFlow `keras.ops.conv` calls
    `tf.nn.convolution`, which lowers a dilation to SpaceToBatchND ->
    Conv2D -> BatchToSpaceND and pads each of the `d * d` sub-images to a
    multiple of `d` (fc6 at 513 px: 49x49 computed as 60x60).
    `restore_dilated_convolutions` undoes it.

    Args:
        model: a Keras model or layer.

    Returns:
        The list of patched layers.
    """
    layers = dilated_conv2d_layers(model)
    for layer in layers:
        # An instance attribute shadows the class method, untracked by Keras.
        object.__setattr__(
            layer, "convolution_op",
            functools.partial(keras.layers.Conv2D.convolution_op, layer))
    return layers


def restore_dilated_convolutions(layers):
    """Undoes `spacetobatch_dilated_convolutions` on the layers it returned."""
    for layer in layers:
        if "convolution_op" in vars(layer):
            object.__delattr__(layer, "convolution_op")


def concatenated_attention_convolution(model):
    """Runs the attention head's att_conv1 on the concatenated fc7 maps.

    The previous implementation: the S resized fc7 maps are concatenated
    (S x C channels) and one 3x3 convolution is applied, which oneDNN runs at
    about 3/4 of the rate of the same kernel cut into S convolutions of C
    channels. Weights are unchanged.

    Args:
        model: a `ScaleAttentionSegmenter` with an attention head, or a
            `ScaleAttention` layer.

    Returns:
        The patched `ScaleAttention` layers.
    """
    from keras import ops

    from keras_scaleattn.layers.scale_attention import ScaleAttention

    heads = [layer for layer in _sublayers(model)
             if isinstance(layer, ScaleAttention)]

    def make_call(head):
        def call(features, training=None):
            resized = head.resized_features(features)
            x = head.conv(ops.concatenate(resized, axis=-1))  # one tensor
            x = head.drop(x, training=training)
            return head.score(x)
        return call

    for head in heads:
        object.__setattr__(head, "call", make_call(head))
    return heads


PREVIOUS_OPS = {
    "spacetobatch-dilation": spacetobatch_dilated_convolutions,
    "concat-attention-conv": concatenated_attention_convolution,
}


def apply_previous_ops(model, names):
    """Puts the named previous implementations (keys of `PREVIOUS_OPS`) back."""
    for name in names:
        if name not in PREVIOUS_OPS:
            raise ValueError(
                f"`names` must be keys of PREVIOUS_OPS {sorted(PREVIOUS_OPS)}. "
                f"Received: {name!r}")
        PREVIOUS_OPS[name](model)
    return model
