import keras
from keras import ops

from keras_scaleattn.layers.scale_pyramid import check_image_batch_shape

# Caffe VGG-16's per-channel mean, in BGR order (PAPER.md, "Training").
VGG_MEAN_BGR = (104.008, 116.669, 122.675)


@keras.saving.register_keras_serializable(package="keras_scaleattn")
class VGGPreprocessing(keras.layers.Layer):
    """Caffe VGG-16 input preprocessing: RGB in [0, 255] to mean-free BGR.

    The ImageNet VGG-16 weights that initialise the trunk (Caffe's, also
    shipped by `keras.applications.VGG16`) expect BGR images with the
    ImageNet mean subtracted. Doing it inside the model means applications
    and exported artifacts take plain RGB images.

    Args:
        mean: triple of floats. The per-channel mean in BGR order.
            Defaults to `(104.008, 116.669, 122.675)`.
        **kwargs: base layer keyword arguments.

    Input shape:
        `[B, H, W, 3]` RGB images with values in [0, 255].

    Output shape:
        Same as input; channels are BGR with the mean removed.

    Example:

    >>> layer = VGGPreprocessing()
    >>> tuple(layer(np.full((1, 2, 2, 3), 128.0)).shape)
    (1, 2, 2, 3)
    """

    def __init__(self, mean=VGG_MEAN_BGR, **kwargs):
        super().__init__(**kwargs)
        mean = tuple(float(m) for m in mean)
        if len(mean) != 3:
            raise ValueError(
                f"`mean` must have 3 values (B, G, R). Received: mean={mean}"
            )
        self.mean = mean

    def build(self, input_shape):
        check_image_batch_shape(input_shape)

    def call(self, images):
        check_image_batch_shape(images.shape)
        images = ops.cast(images, self.compute_dtype)
        bgr = ops.flip(images, axis=-1)
        return bgr - ops.convert_to_tensor(self.mean, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"mean": self.mean})
        return config
