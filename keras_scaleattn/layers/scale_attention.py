import numbers

import keras

from keras_scaleattn.ops.resize import resize_bilinear_align_corners


def _is_int(value):
    """An int or NumPy integer, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class _ConcatConv2D(keras.layers.Conv2D):
    """`Conv2D` over the channel concatenation of a list of inputs.

    Computed as one convolution per input with that input's slice of the
    kernel, summed: the same linear map as concatenating and convolving, and
    the same variables (`kernel` `[kh, kw, sum of C_in, filters]`), without
    the concatenated tensor. oneDNN runs S convolutions of C input channels
    12-25% faster than one of S * C (docs/performance.md, "Applied changes",
    A). A single tensor is convolved as by `Conv2D`.
    """

    def build(self, input_shape):
        super().build(input_shape)
        # Conv2D's spec wants one tensor with all the channels; the inputs
        # here are a list whose channels add up to that.
        self.input_spec = None

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        outputs, offset = None, 0
        for x in inputs:
            channels = x.shape[-1]
            part = self.kernel[:, :, offset:offset + channels, :]
            y = self.convolution_op(x, part)
            outputs = y if outputs is None else outputs + y
            offset += channels
        if self.use_bias:
            outputs = outputs + keras.ops.reshape(
                self.bias, (1,) * (len(outputs.shape) - 1) + (self.filters,))
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and isinstance(
                input_shape[0], (list, tuple)):
            channels = sum(shape[-1] for shape in input_shape)
            input_shape = tuple(input_shape[0][:-1]) + (channels,)
        return super().compute_output_shape(input_shape)


@keras.saving.register_keras_serializable(package="keras_scaleattn")
class ScaleAttention(keras.layers.Layer):
    """The attention model of Attention to Scale: per-pixel scale logits.

    Reads the fc7 features of every scale, resizes them (align-corners
    bilinear) to the size of the finest scale's map, concatenates them and
    applies `att_conv1` (3x3, `filters`, ReLU, dropout; computed as one
    convolution per scale on its slice of the kernel, summed) and `att_fc`
    (1x1, one output per scale). The result is the logit `h_i^s` of Eq. (2); a
    softmax over the last axis gives the weight `w_i^s` of each scale at
    each position (done by `MergeScores`).

    Args:
        num_scales: int. Number of scales S, at least 1.
        filters: int. Filters of att_conv1. Defaults to `512` (paper).
        dropout: float. Dropout rate after att_conv1. Defaults to `0.5`.
        target_index: int. Index of the feature map whose size every map is
            resized to (the finest scale). Defaults to `0`.
        **kwargs: base layer keyword arguments.

    Input shape:
        A list of S tensors `[B, H_s, W_s, C]`, one per scale.

    Output shape:
        `[B, H, W, S]` where `H, W` are the target map's size.

    Example:

    >>> head = ScaleAttention(num_scales=2, filters=8)
    >>> tuple(head([np.zeros((1, 41, 41, 16)), np.zeros((1, 21, 21, 16))]).shape)
    (1, 41, 41, 2)

    Reference:
        [Chen et al., Attention to Scale, CVPR 2016](https://arxiv.org/abs/1511.03339)
    """

    def __init__(self, num_scales, filters=512, dropout=0.5, target_index=0,
                 **kwargs):
        super().__init__(**kwargs)
        if not _is_int(num_scales) or num_scales < 1:
            raise ValueError(
                "`num_scales` must be an integer >= 1. "
                f"Received: num_scales={num_scales!r}"
            )
        if not _is_int(filters) or filters < 1:
            raise ValueError(
                f"`filters` must be an integer >= 1. Received: filters={filters!r}"
            )
        num_scales, filters = int(num_scales), int(filters)
        if not (0 <= target_index < num_scales):
            raise ValueError(
                f"`target_index` must be in [0, {num_scales}). "
                f"Received: target_index={target_index!r}"
            )
        self.num_scales = num_scales
        self.filters = filters
        self.dropout = float(dropout)
        self.target_index = target_index
        self.conv = _ConcatConv2D(
            filters, 3, padding="same", activation="relu", name="att_conv1",
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.005),
            dtype=self.dtype_policy,
        )
        self.drop = keras.layers.Dropout(dropout, name="att_drop",
                                         dtype=self.dtype_policy)
        self.score = keras.layers.Conv2D(
            num_scales, 1, name="att_fc",
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
            dtype=self.dtype_policy,
        )

    def _check(self, features_shape):
        if not isinstance(features_shape, (list, tuple)) or len(
            features_shape
        ) != self.num_scales or not all(
            isinstance(s, (list, tuple)) for s in features_shape
        ):
            raise ValueError(
                f"`features` must be a list of {self.num_scales} tensors "
                f"(one per scale). Received shapes: {features_shape}"
            )
        channels = {s[-1] for s in features_shape}
        if len(channels) != 1 or any(len(s) != 4 for s in features_shape):
            raise ValueError(
                "`features` must be 4D tensors with the same channel count. "
                f"Received shapes: {features_shape}"
            )

    def build(self, features_shape):
        features_shape = [tuple(s) for s in features_shape]
        self._check(features_shape)
        target = features_shape[self.target_index]
        concat = target[:3] + (target[3] * self.num_scales,)
        self.conv.build(concat)
        self.score.build(self.conv.compute_output_shape(concat))

    def resized_features(self, features):
        """The S maps resized to the target map's size, in compute dtype."""
        target = features[self.target_index]
        height, width = target.shape[1], target.shape[2]
        if height is None or width is None:
            dynamic = keras.ops.shape(target)
            height = dynamic[1] if height is None else height
            width = dynamic[2] if width is None else width
        resized = []
        for index, feature in enumerate(features):
            if index != self.target_index:
                # Resize in float32: bilinear weights lose precision in float16.
                feature = resize_bilinear_align_corners(
                    keras.ops.cast(feature, "float32"), (height, width)
                )
            resized.append(keras.ops.cast(feature, self.compute_dtype))
        return resized

    def call(self, features, training=None):
        # att_conv1 on the concatenation of the S maps (`_ConcatConv2D`).
        x = self.conv(self.resized_features(features))
        x = self.drop(x, training=training)
        return self.score(x)

    def compute_output_shape(self, features_shape):
        target = tuple(features_shape[self.target_index])
        return target[:3] + (self.num_scales,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_scales": self.num_scales,
            "filters": self.filters,
            "dropout": self.dropout,
            "target_index": self.target_index,
        })
        return config
