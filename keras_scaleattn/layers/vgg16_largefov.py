import math
import numbers

import keras

from keras_scaleattn.ops.conv import dilated_conv2d

# VGG-16's convolution blocks: (number of 3x3 convolutions, filters).
VGG16_BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
FC_FILTERS = 1024
# Standard deviation of Caffe-preprocessed pixels (0-255 range, mean removed):
# He initialisation assumes unit-variance inputs, so block1_conv1's initial
# weights are divided by it to keep activations at unit scale.
INPUT_PIXEL_STD = 60.0


def _he_normal(input_std=1.0):
    return keras.initializers.VarianceScaling(
        scale=2.0 / input_std**2, mode="fan_in", distribution="truncated_normal")


def _scaled(filters, width):
    return max(1, int(round(filters * width)))


class _DilatedConv2D(keras.layers.Conv2D):
    """A "valid" dilated `Conv2D` computed as one backend convolution.

    Same variables, configuration and numbers as `keras.layers.Conv2D`; only
    the op differs on TensorFlow (`keras_scaleattn.ops.dilated_conv2d`:
    no SpaceToBatchND lowering, docs/performance.md "Applied changes", B).
    """

    def convolution_op(self, inputs, kernel):
        if self.padding != "valid" or max(self.strides) != 1:
            return super().convolution_op(inputs, kernel)
        return dilated_conv2d(inputs, kernel, self.dilation_rate)


@keras.saving.register_keras_serializable(package="keras_scaleattn")
class VGG16LargeFOV(keras.layers.Layer):
    """The DeepLab-LargeFOV VGG-16 trunk, shared by every scale.

    VGG-16 with output stride 8 as in DeepLab-LargeFOV and the paper's
    released prototxts: pool1-pool3 are 3x3 max pools of stride 2, pool4 and
    pool5 3x3 max pools of stride 1; conv5_x use dilation 2; fc6 is a 3x3
    convolution with dilation 12 and 1024 filters, fc7 a 1x1 convolution
    with 1024 filters, each followed by ReLU and dropout; fc8 maps to the
    class scores. A side of `n` pixels gives `ceil(n / 8)` (321 -> 41,
    513 -> 65).

    Dilated convolutions are written as explicit zero padding followed by a
    "valid" dilated convolution, run as one backend op
    (`keras_scaleattn.ops.dilated_conv2d`): the same numbers as "same"
    padding, with padding that stays constant for any input size, so that
    each exports as one ONNX `Conv` with `dilations` and one TFLite
    `CONV_2D`, and TensorFlow runs it without the SpaceToBatchND lowering.

    Without ImageNet weights (`load_vgg16_imagenet_weights`), convolutions
    start from He-normal initialisation, the usual choice for training a
    deep ReLU network without batch normalisation from scratch; fc8 starts
    from N(0, 0.01) as in the paper.

    Calling one instance on several inputs shares its weights between them,
    which is how the segmenter runs one trunk at every scale.

    Args:
        num_classes: int. Number of classes predicted by fc8.
        width: float. Multiplier of every layer's number of filters; 1.0 is
            the paper's network, smaller values give cheap configurations for
            tests and CPU demos. Defaults to `1.0`.
        dropout: float. Dropout rate after fc6 and fc7. Defaults to `0.5`.
        **kwargs: base layer keyword arguments.

    Input shape:
        `[B, H, W, 3]` VGG-preprocessed (BGR, mean-free) images.

    Output shape:
        A list `[fc7, fc8]`: features `[B, ceil(H/8), ceil(W/8), 1024 * width]`
        and class scores `[B, ceil(H/8), ceil(W/8), num_classes]`.

    Example:

    >>> trunk = VGG16LargeFOV(num_classes=21, width=0.125)
    >>> fc7, fc8 = trunk(np.zeros((1, 65, 65, 3)))
    >>> tuple(fc7.shape), tuple(fc8.shape)
    ((1, 9, 9, 128), (1, 9, 9, 21))

    Reference:
        [Chen et al., Semantic Image Segmentation with Deep Convolutional Nets
        and Fully Connected CRFs (DeepLab), ICLR 2015](https://arxiv.org/abs/1412.7062)
    """

    def __init__(self, num_classes, width=1.0, dropout=0.5, **kwargs):
        super().__init__(**kwargs)
        if (isinstance(num_classes, bool)
                or not isinstance(num_classes, numbers.Integral)
                or num_classes < 1):
            raise ValueError(
                "`num_classes` must be an integer >= 1. "
                f"Received: num_classes={num_classes!r}"
            )
        if (isinstance(width, bool) or not isinstance(width, numbers.Real)
                or not math.isfinite(width) or width <= 0):
            raise ValueError(
                f"`width` must be a positive number. Received: width={width!r}"
            )
        if (isinstance(dropout, bool) or not isinstance(dropout, numbers.Real)
                or not 0.0 <= dropout < 1.0):
            raise ValueError(
                f"`dropout` must be in [0, 1). Received: dropout={dropout!r}"
            )
        num_classes = int(num_classes)
        self.num_classes = num_classes
        self.width = float(width)
        self.dropout = float(dropout)

        self.feature_layers = []
        for block, (repeats, filters) in enumerate(VGG16_BLOCKS, start=1):
            # DeepLab-LargeFOV: conv5 is dilated by 2 (pool4 keeps stride 1).
            dilation = 2 if block == 5 else 1
            for index in range(1, repeats + 1):
                name = f"block{block}_conv{index}"
                if dilation > 1:
                    self.feature_layers.append(
                        keras.layers.ZeroPadding2D(dilation, name=f"{name}_pad",
                                                   dtype=self.dtype_policy)
                    )
                conv_class = (_DilatedConv2D if dilation > 1
                              else keras.layers.Conv2D)
                self.feature_layers.append(
                    conv_class(
                        _scaled(filters, width), 3,
                        padding="valid" if dilation > 1 else "same",
                        dilation_rate=dilation, activation="relu", name=name,
                        kernel_initializer=_he_normal(
                            INPUT_PIXEL_STD if name == "block1_conv1" else 1.0),
                        dtype=self.dtype_policy,
                    )
                )
            stride = 2 if block <= 3 else 1
            self.feature_layers.append(
                keras.layers.MaxPooling2D(3, strides=stride, padding="same",
                                          name=f"pool{block}",
                                          dtype=self.dtype_policy)
            )
        fc_filters = _scaled(FC_FILTERS, width)
        self.feature_layers += [
            keras.layers.ZeroPadding2D(12, name="fc6_pad",
                                       dtype=self.dtype_policy),
            _DilatedConv2D(fc_filters, 3, dilation_rate=12,
                           padding="valid", activation="relu", name="fc6",
                           kernel_initializer=_he_normal(),
                           dtype=self.dtype_policy),
            keras.layers.Dropout(dropout, name="drop6",
                                 dtype=self.dtype_policy),
            keras.layers.Conv2D(fc_filters, 1, activation="relu", name="fc7",
                                kernel_initializer=_he_normal(),
                                dtype=self.dtype_policy),
            keras.layers.Dropout(dropout, name="drop7",
                                 dtype=self.dtype_policy),
        ]
        self.classifier = keras.layers.Conv2D(
            num_classes, 1, name="fc8",
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.feature_layers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.classifier.build(shape)

    def call(self, images, training=None):
        x = images
        for layer in self.feature_layers:
            if isinstance(layer, keras.layers.Dropout):
                x = layer(x, training=training)
            else:
                x = layer(x)
        return [x, self.classifier(x)]

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.feature_layers:
            shape = layer.compute_output_shape(shape)
        return [shape, self.classifier.compute_output_shape(shape)]

    def get_layer(self, name):
        """Returns the sublayer called `name` (e.g. "block1_conv1", "fc8")."""
        for layer in self.feature_layers + [self.classifier]:
            if layer.name == name:
                return layer
        raise ValueError(
            f"`name` must be a layer of the trunk. Received: name={name!r}"
        )

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_classes": self.num_classes,
            "width": self.width,
            "dropout": self.dropout,
        })
        return config
