"""Full-resolution outputs of a segmenter, as the paper evaluates.

The model's outputs have output stride 8. The paper pads each image (to
513 x 513 for VOC), runs one forward pass, upsamples the merged fc8 8x with
bilinear interpolation and crops back. With align-corners geometry the
upsampling is exact only when a side has `8k + 1` pixels (output pixel `i`
sits on input pixel `8i`), and at every scale `s` only when the scaled side
`(n - 1) * s + 1` is `8j + 1` too (`alignment_step`), so images are padded
at the bottom and right to the next such side (`m k + 1`: 16k + 1 for scales
{1, 0.5}, 32k + 1 for {1, 0.75, 0.5}, which VOC's 513 is) with the mean
colour (zero after preprocessing, as Caffe pads), upsampled to that size and
cropped. An image smaller than the model's `min_input_size` is padded up to
it the same way.

Written with `keras.ops` only, so the same function serves evaluation,
applications and the exported graphs (SavedModel, TFLite, ONNX).
"""

import keras
import numpy as np
from keras import ops

from keras_scaleattn.models.scale_attention_segmenter import scale_output_name
from keras_scaleattn.ops.resize import resize_bilinear_align_corners
from keras_scaleattn.ops.resize import spatial_size

# The pad colour: the VGG mean in RGB order, zero after preprocessing.
MEAN_RGB = (122.675, 116.669, 104.008)
OUTPUT_STRIDE = 8


def alignment_step(scales):
    """The side step that keeps every scale's score map on the labels.

    A side of `8k + 1` puts the stride-8 score map's pixels exactly on every
    8th pixel (TensorFlow's "same" pooling centres them elsewhere on other
    sides), but only at scale 1: the image scaled by `s` has
    `(n - 1) * s + 1` pixels, which must be `8j + 1` too. So sides are
    `m k + 1` with the smallest `m`, a multiple of 8, for which every
    `m * s` is a multiple of 8: 16 for scales {1, 0.5}, 32 for {1, 0.75,
    0.5} (the paper's 321 and 513 are both). A 41-pixel image, say, gives
    scale 0.5 a 21-pixel image whose three score-map pixels sit on its
    pixels 4, 12 and 20, not 0, 10 and 20 as upsampling assumes.

    Args:
        scales: sequence of scales.

    Returns:
        int, the step `m` (8 when no multiple of 8 up to 512 aligns every
        scale, for unusual scales: then only scale 1 is exact).

    Example:

    >>> alignment_step((1.0,)), alignment_step((1.0, 0.5)), alignment_step(
    ...     (1.0, 0.75, 0.5))
    (8, 16, 32)
    """
    for step in range(OUTPUT_STRIDE, 64 * OUTPUT_STRIDE + 1, OUTPUT_STRIDE):
        if all(abs(step * s / OUTPUT_STRIDE - round(step * s / OUTPUT_STRIDE))
               < 1e-6 for s in scales):
            return step
    return OUTPUT_STRIDE


def padded_size(size, step=OUTPUT_STRIDE):
    """The smallest `step * k + 1` at or above `size` (int or integer tensor).

    Args:
        size: int or integer tensor.
        step: int, a multiple of 8 (`alignment_step`). Defaults to 8.

    Example:

    >>> padded_size(500), padded_size(513), padded_size(500, step=32)
    (505, 513, 513)
    """
    if isinstance(size, int):
        return -(-(size - 1) // step) * step + 1
    blocks = (size - 1 + step - 1) // step
    return blocks * step + 1


def evaluation_size(size, min_size=1, step=OUTPUT_STRIDE):
    """The side an image is padded to for the full-resolution pass.

    The smallest `step * k + 1` at or above both `size` and the model's
    `min_input_size` (a smaller image is padded like any other, as the paper
    pads every VOC image to 513).

    Args:
        size: int or integer tensor, the image's side.
        min_size: int, the model's `min_input_size`. Defaults to 1.
        step: int, the model's `alignment_step(scales)`. Defaults to 8.

    Returns:
        int (or integer tensor), `step * k + 1 >= max(size, min_size)`.

    Example:

    >>> evaluation_size(20, min_size=33), evaluation_size(40, min_size=33)
    (33, 41)
    >>> evaluation_size(40, min_size=33, step=16)
    49
    """
    if isinstance(size, int):
        return padded_size(max(size, min_size), step)
    return padded_size(ops.maximum(size, min_size), step)


def model_evaluation_size(model, height, width):
    """The `(H, W)` that `model`'s full-resolution pass pads an image to.

    `evaluation_size` of each side with the model's `min_input_size` and
    `alignment_step(model.scales)`: what evaluation, the exported graphs
    and the validation losses pad to.

    Args:
        model: a segmenter (`min_input_size` and `scales`; a model without
            them is taken as single-scale, with no minimum size).
        height: int or integer tensor.
        width: int or integer tensor.

    Returns:
        pair of ints (or integer tensors).

    Example:

    >>> from keras_scaleattn import ScaleAttentionSegmenter
    >>> model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
    ...                                 trunk_width=0.0625)
    >>> model_evaluation_size(model, 40, 70)
    (49, 81)
    """
    min_size = getattr(model, "min_input_size", 1)
    step = alignment_step(getattr(model, "scales", (1.0,)))
    return (evaluation_size(height, min_size, step),
            evaluation_size(width, min_size, step))


def pad_images(images, size):
    """Pads `[B, H, W, 3]` RGB images at the bottom and right to `size`
    (height, width) with the mean colour (zero after preprocessing)."""
    height, width = spatial_size(images)
    mean = ops.convert_to_tensor(MEAN_RGB, dtype="float32")
    padded = ops.pad(images - mean, [[0, 0], [0, size[0] - height],
                                     [0, size[1] - width], [0, 0]])
    return padded + mean


def pad_to_evaluation_size(model, images):
    """NumPy `[B, H, W, 3]` images padded as `full_resolution_outputs` pads
    them (bottom and right, mean colour, to `model_evaluation_size`).

    The padding inside `full_resolution_outputs` is then a no-op, and its
    outputs cropped to `[:H, :W]` are those of the unpadded images, flipped
    or not (the mirrored pass flips the padded image either way). On JAX,
    whose `jit` compiles once per input shape, padding first means one
    compile per evaluation size (a few `m k + 1` sides) rather than one per
    image size.

    Args:
        model: a segmenter (see `model_evaluation_size`).
        images: array `[B, H, W, 3]`, RGB in [0, 255].

    Returns:
        float32 array `[B, H', W', 3]`, `(H', W') =
        model_evaluation_size(model, H, W)`.

    Example:

    >>> from keras_scaleattn import ScaleAttentionSegmenter
    >>> model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
    ...                                 trunk_width=0.0625)
    >>> pad_to_evaluation_size(model, np.zeros((1, 40, 70, 3))).shape
    (1, 49, 81, 3)
    """
    images = np.asarray(images, "float32")
    height, width = images.shape[1:3]
    size = tuple(int(v) for v in model_evaluation_size(model, height, width))
    padded = np.empty((images.shape[0], *size, images.shape[3]), "float32")
    padded[:] = np.asarray(MEAN_RGB, "float32")
    padded[:, :height, :width] = images
    return padded


def full_resolution_outputs(model, images, flip=False, scale_logits=False):
    """Class map, probabilities and attention at the images' resolution.

    Args:
        model: a `ScaleAttentionSegmenter` (or any model with the same
            `"logits"` / `"attention"` outputs).
        images: float tensor `[B, H, W, 3]`, RGB in [0, 255].
        flip: bool. Also run the mirrored images and average the
            probabilities (the paper does not; off by default).
        scale_logits: bool. Also return each scale's own class scores,
            upsampled the same way (models with extra supervision, whose
            outputs include them). Defaults to False.

    Returns:
        dict with `"class_map"` int32 `[B, H, W]`, `"probabilities"` float32
        `[B, H, W, C]` (softmax over classes), if the model has it,
        `"attention"` float32 `[B, H, W, S]`, and with `scale_logits=True`,
        `"scale_logits"` float32 `[B, H, W, S, C]`.

    Example:

    >>> from keras_scaleattn import ScaleAttentionSegmenter
    >>> model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
    ...                                 trunk_width=0.0625, attention_filters=8)
    >>> out = full_resolution_outputs(model, np.zeros((1, 50, 70, 3)))
    >>> tuple(out["class_map"].shape), tuple(out["attention"].shape)
    ((1, 50, 70), (1, 50, 70, 2))
    """
    scale_names = [scale_output_name(i) for i in range(len(model.scales))] \
        if scale_logits else []
    missing = [n for n in scale_names if n not in model.output_names]
    if missing:
        raise ValueError(
            "`scale_logits=True` needs a model with extra supervision (its "
            f"outputs {scale_names}). Received a model with outputs "
            f"{list(model.output_names)}"
        )
    images = ops.cast(images, "float32")
    height, width = spatial_size(images)
    size = model_evaluation_size(model, height, width)
    padded = pad_images(images, size)

    def run(batch):
        outputs = model(batch, training=False)
        logits = resize_bilinear_align_corners(
            ops.cast(outputs["logits"], "float32"), size)
        result = {"probabilities": ops.softmax(logits, axis=-1)}
        if "attention" in outputs:
            result["attention"] = resize_bilinear_align_corners(
                ops.cast(outputs["attention"], "float32"), size)
        if scale_names:
            result["scale_logits"] = ops.stack([
                resize_bilinear_align_corners(
                    ops.cast(outputs[name], "float32"), size)
                for name in scale_names
            ], axis=-2)
        return result

    result = run(padded)
    if flip:
        mirrored = run(ops.flip(padded, axis=2))
        result = {k: (v + ops.flip(mirrored[k], axis=2)) / 2.0
                  for k, v in result.items()}
    result = {k: v[:, :height, :width] for k, v in result.items()}
    result["class_map"] = _argmax(result["probabilities"])
    return result


def _argmax(probabilities):
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # keras.ops.argmax adds a BitwiseAnd on TensorFlow, which TFLite has
        # no builtin for; tf.argmax converts everywhere.
        return tf.argmax(probabilities, axis=-1, output_type=tf.int32)
    return ops.cast(ops.argmax(probabilities, axis=-1), "int32")


def predict_full_resolution(model, images, flip=False, scale_logits=False):
    """NumPy convenience over `full_resolution_outputs` for one batch.

    Args:
        model: a `ScaleAttentionSegmenter`.
        images: array `[B, H, W, 3]` or `[H, W, 3]`, RGB, uint8 or float in
            [0, 255].
        flip: bool. Average with the mirrored image. Defaults to False.
        scale_logits: bool. Also return each scale's own scores (models
            with extra supervision). Defaults to False.

    Returns:
        dict of NumPy arrays as `full_resolution_outputs` (without the batch
        axis if `images` had none).
    """
    single = len(images.shape) == 3
    if single:
        images = images[None]
    if len(images.shape) != 4 or images.shape[-1] != 3:
        raise ValueError(
            "`images` must be [B, H, W, 3] or [H, W, 3] RGB. "
            f"Received: images.shape={tuple(images.shape)}"
        )
    outputs = full_resolution_outputs(model, images, flip=flip,
                                      scale_logits=scale_logits)
    outputs = {k: keras.ops.convert_to_numpy(v) for k, v in outputs.items()}
    return {k: v[0] for k, v in outputs.items()} if single else outputs
