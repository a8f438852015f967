import keras

from keras_scaleattn.ops.resize import resize_bilinear_align_corners


@keras.saving.register_keras_serializable(package="keras_scaleattn")
class ResizeLike(keras.layers.Layer):
    """Resizes a feature map to the spatial size of a reference tensor.

    Align-corners bilinear (Caffe `Interp`), the paper's way of bringing
    each scale's fc7 features and fc8 score maps to the finest scale's
    resolution. The size is read from `reference` at run time, so one model
    serves every input size.

    Args:
        **kwargs: base layer keyword arguments.

    Input shape:
        `inputs`: `[B, h, w, C]`; `reference`: `[B, H, W, ...]`.

    Output shape:
        `[B, H, W, C]`.

    Example:

    >>> tuple(ResizeLike()(np.zeros((1, 21, 21, 4)), np.zeros((1, 41, 41, 1))).shape)
    (1, 41, 41, 4)
    """

    def call(self, inputs, reference):
        height, width = reference.shape[1], reference.shape[2]
        if height is None or width is None:
            dynamic = keras.ops.shape(reference)
            height = dynamic[1] if height is None else height
            width = dynamic[2] if width is None else width
        # Resize in float32: bilinear weights lose precision in float16.
        resized = resize_bilinear_align_corners(
            keras.ops.cast(inputs, "float32"), (height, width)
        )
        return keras.ops.cast(resized, self.compute_dtype)

    def compute_output_shape(self, inputs_shape, reference_shape):
        return (inputs_shape[0], reference_shape[1], reference_shape[2],
                inputs_shape[3])
