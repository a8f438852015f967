import keras

from keras_scaleattn.ops.resize import MIN_SCALE
from keras_scaleattn.ops.resize import resize_bilinear_align_corners
from keras_scaleattn.ops.resize import scale_fraction
from keras_scaleattn.ops.resize import scaled_size

# The trunk has output stride 8; below 17 pixels a scaled image gives a
# score map of 3x3 or less, where fc6's 3x3 dilated kernel sees only padding.
MIN_SCALED_SIZE = 17


def validate_scales(scales):
    """Checks and normalises a sequence of scales; returns a tuple of floats.

    Args:
        scales: sequence of numbers in (0, 2] and at least 0.001 (a scale
            `s` needs images of about `16 / s` pixels: 16001 for 0.001), at
            least one, no duplicates.

    Returns:
        The scales as a tuple of floats, in the order given.

    Raises:
        ValueError: if `scales` is empty, not numbers, outside [0.001, 2]
            or has duplicates.
    """
    try:
        values = tuple(float(s) for s in scales)
    except (TypeError, ValueError):
        raise ValueError(
            "`scales` must be a sequence of numbers in (0, 2]. "
            f"Received: scales={scales!r}"
        ) from None
    if not values:
        raise ValueError(
            f"`scales` must hold at least one scale. Received: scales={scales!r}"
        )
    if any(not (0.0 < s <= 2.0) for s in values):
        raise ValueError(
            f"`scales` must be numbers in (0, 2]. Received: scales={scales!r}"
        )
    if min(values) < MIN_SCALE:
        raise ValueError(
            f"`scales` must be numbers in (0, 2] and at least {MIN_SCALE} (a "
            f"scale s needs images of about 16 / s pixels: "
            f"{16 * round(1 / MIN_SCALE) + 1} for {MIN_SCALE}). "
            f"Received: scales={scales!r}"
        )
    if len(set(values)) != len(values):
        raise ValueError(
            f"`scales` must not repeat a value. Received: scales={scales!r}"
        )
    return values


def check_image_batch_shape(shape):
    """Raises ValueError unless `shape` is `[batch, height, width, 3]`."""
    shape = tuple(shape)
    if len(shape) != 4:
        raise ValueError(
            "`images` must be a 4D batch [batch, height, width, 3]. "
            f"Received: images.shape={shape}"
        )
    if shape[-1] not in (None, 3):
        raise ValueError(
            "`images` must have 3 (RGB) channels. "
            f"Received: images.shape={shape}"
        )


def check_image_size(shape, scales):
    """Raises ValueError if a static height or width is too small for `scales`.

    Args:
        shape: `[batch, height, width, 3]`; None sides are not checked.
        scales: sequence of scales.
    """
    scales = validate_scales(scales)
    min_size = min_input_size(scales)
    for name, side in zip(("height", "width"), tuple(shape)[1:3]):
        if side is not None and side < min_size:
            raise ValueError(
                f"Image {name} {side} is too small for scales {scales}: the "
                f"smallest scale would give fewer than {MIN_SCALED_SIZE} "
                "pixels for the stride-8 trunk. Images must be at least "
                f"{min_size} pixels. Received: images.shape={tuple(shape)}"
            )


def min_input_size(scales):
    """Smallest image side the model accepts for `scales`.

    The smallest scale must still give an image of `MIN_SCALED_SIZE` (17)
    pixels, i.e. a score map of at least 3x3 at output stride 8.

    Args:
        scales: sequence of scales (`validate_scales`).

    Returns:
        int, the minimum height and width of an input image (at least 17).

    Raises:
        ValueError: if `scales` are not valid (`validate_scales`).

    Example:

    >>> min_input_size((1.0, 0.75, 0.5))
    33
    """
    # scaled_size(n, p / q) = (n - 1) * p // q + 1 >= 17
    # <=> (n - 1) * p >= 16 q <=> n >= ceil(16 q / p) + 1.
    p, q = scale_fraction(min(validate_scales(scales)))
    needed = -(-(MIN_SCALED_SIZE - 1) * q // p) + 1
    return max(MIN_SCALED_SIZE, needed)


@keras.saving.register_keras_serializable(package="keras_scaleattn")
class ScalePyramid(keras.layers.Layer):
    """Resizes an image batch to each of several scales (Caffe `Interp`).

    Each scale `s` maps an `n`-pixel side to `floor((n - 1) * s) + 1`
    pixels with align-corners bilinear interpolation, as the paper's
    prototxts do (321 -> 241 -> 161 for scales 1, 0.75, 0.5). Scale 1 is
    passed through untouched.

    Args:
        scales: sequence of floats in (0, 2], none below 0.001. The
            scales, in output order. Defaults to `(1.0, 0.75, 0.5)`.
        **kwargs: base layer keyword arguments.

    Input shape:
        `[B, H, W, 3]`; H and W at least `min_input_size(scales)`.

    Output shape:
        A list of `len(scales)` tensors `[B, H_s, W_s, 3]`.

    Example:

    >>> pyramid = ScalePyramid(scales=(1.0, 0.5))
    >>> [tuple(t.shape) for t in pyramid(np.zeros((1, 321, 321, 3)))]
    [(1, 321, 321, 3), (1, 161, 161, 3)]

    Reference:
        [Chen et al., Attention to Scale, CVPR 2016](https://arxiv.org/abs/1511.03339)
    """

    def __init__(self, scales=(1.0, 0.75, 0.5), **kwargs):
        super().__init__(**kwargs)
        self.scales = validate_scales(scales)
        self.min_size = min_input_size(self.scales)

    def _check_shape(self, shape):
        check_image_batch_shape(shape)
        check_image_size(shape, self.scales)

    def build(self, input_shape):
        self._check_shape(input_shape)

    def call(self, images):
        # Static sizes are known in eager calls and in most traced
        # functions, so an image that is too small fails here, clearly.
        self._check_shape(tuple(images.shape))
        in_h, in_w = images.shape[1], images.shape[2]
        if in_h is None or in_w is None:
            dynamic = keras.ops.shape(images)
            in_h = dynamic[1] if in_h is None else in_h
            in_w = dynamic[2] if in_w is None else in_w
        outputs = []
        for scale in self.scales:
            if scale == 1.0:
                outputs.append(images)
                continue
            size = (scaled_size(in_h, scale), scaled_size(in_w, scale))
            outputs.append(resize_bilinear_align_corners(images, size))
        return outputs

    def compute_output_shape(self, input_shape):
        self._check_shape(input_shape)
        shapes = []
        for scale in self.scales:
            h, w = (
                None if side is None else scaled_size(side, scale)
                for side in input_shape[1:3]
            )
            shapes.append((input_shape[0], h, w, input_shape[3]))
        return shapes

    def get_config(self):
        config = super().get_config()
        config.update({"scales": self.scales})
        return config
