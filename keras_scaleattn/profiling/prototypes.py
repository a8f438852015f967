"""Candidate package fixes, applied to a built model for measurement only.

Each function here patches an existing model instance (never the package's
classes), so that a benchmark can time the model with and without the
change in one process. The change a patch stands for is written out in
docs/performance.md with its measured effect.
"""

import keras

from keras_scaleattn.profiling.flops import _sublayers


def dilated_conv2d_layers(model):
    """The `Conv2D` layers of `model` with a dilation rate above 1."""
    return [layer for layer in _sublayers(model)
            if isinstance(layer, keras.layers.Conv2D)
            and max(layer.dilation_rate) > 1]


def native_dilated_convolutions(model):
    """Runs every dilated `Conv2D` of `model` as one TF `Conv2D` op.

    `keras.ops.conv` on TensorFlow calls `tf.nn.convolution`, which lowers a
    dilated convolution to SpaceToBatchND -> Conv2D -> BatchToSpaceND: the
    map is split into `d * d` small images, each padded to a multiple of
    `d` (fc6, d = 12: a 49x49 map is computed as 60x60, 1.5x the FLOPs, on
    144 images of 5x5). `tf.nn.conv2d(..., dilations=d)` emits one Conv2D
    with a `dilations` attribute, which oneDNN runs directly (forward and
    gradients), tf2onnx turns into `Conv(dilations)` and TFLite into
    `CONV_2D` with dilation factors. Same numbers up to float rounding.

    The patch stays on this model instance (build a second instance to
    compare); `restore_dilated_convolutions` removes it.

    Args:
        model: a Keras model or layer (TensorFlow backend).

    Returns:
        The list of patched layers.
    """
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "native_dilated_convolutions patches TensorFlow ops; the backend "
            f"is {keras.backend.backend()!r}.")
    import tensorflow as tf

    layers = dilated_conv2d_layers(model)

    def make_op(layer):
        def convolution_op(inputs, kernel):
            return tf.nn.conv2d(inputs, kernel, strides=list(layer.strides),
                                padding=layer.padding.upper(),
                                dilations=list(layer.dilation_rate))
        return convolution_op

    for layer in layers:
        # An instance attribute shadows the class method, untracked by Keras.
        object.__setattr__(layer, "convolution_op", make_op(layer))
    return layers


def restore_dilated_convolutions(layers):
    """Undoes `native_dilated_convolutions` on the layers it returned."""
    for layer in layers:
        if "convolution_op" in vars(layer):
            object.__delattr__(layer, "convolution_op")


def split_attention_convolution(model):
    """Runs the attention head's 3x3 conv as one conv per scale, summed.

    `ScaleAttention` concatenates the S fc7 maps (S x 1024 channels) and
    applies one 3x3 convolution to 512 filters. oneDNN runs that
    3072-channel convolution (a 57 MB kernel) at about 3/4 of the rate of
    the trunk's convolutions; the same kernel cut along its input channels
    into S convolutions of 1024 channels each, whose outputs are summed,
    is the same linear map (float rounding aside), skips the concatenated
    tensor, and runs at the trunk's rate.

    The patch stays on this model instance; weights are unchanged (the
    kernel is sliced in the call).

    Args:
        model: a `ScaleAttentionSegmenter` with an attention head, or a
            `ScaleAttention` layer.

    Returns:
        The patched `ScaleAttention` layers.
    """
    from keras import ops

    from keras_scaleattn.layers.scale_attention import ScaleAttention
    from keras_scaleattn.ops.resize import resize_bilinear_align_corners

    heads = [layer for layer in _sublayers(model)
             if isinstance(layer, ScaleAttention)]

    def make_call(head):
        def call(features, training=None):
            target = features[head.target_index]
            height, width = target.shape[1], target.shape[2]
            if height is None or width is None:
                dynamic = ops.shape(target)
                height = dynamic[1] if height is None else height
                width = dynamic[2] if width is None else width
            channels = target.shape[-1]
            kernel = ops.cast(head.conv.kernel, head.compute_dtype)
            total = None
            for index, feature in enumerate(features):
                if index != head.target_index:
                    feature = resize_bilinear_align_corners(
                        ops.cast(feature, "float32"), (height, width))
                feature = ops.cast(feature, head.compute_dtype)
                part = kernel[:, :, index * channels:(index + 1) * channels, :]
                out = ops.conv(feature, part, strides=1, padding="same")
                total = out if total is None else total + out
            x = head.conv.activation(
                total + ops.cast(head.conv.bias, head.compute_dtype))
            x = head.drop(x, training=training)
            return head.score(x)
        return call

    for head in heads:
        object.__setattr__(head, "call", make_call(head))
    return heads


PROTOTYPES = {
    "native-dilation": native_dilated_convolutions,
    "split-attention-conv": split_attention_convolution,
}


def apply_prototypes(model, names):
    """Applies the named prototypes (keys of `PROTOTYPES`) to `model`."""
    for name in names:
        if name not in PROTOTYPES:
            raise ValueError(
                f"Unknown prototype {name!r}; known: {sorted(PROTOTYPES)}")
        PROTOTYPES[name](model)
    return model
