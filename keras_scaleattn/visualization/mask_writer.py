"""Writes predicted class maps as VOC-style palette PNGs and overlays."""

import io

import numpy as np
from PIL import Image

from keras_scaleattn.evaluation.report import write_bytes_atomic
from keras_scaleattn.visualization.palette import _check_palette
from keras_scaleattn.visualization.palette import overlay


def save_prediction(path_prefix, image, class_map, palette=None, alpha=0.5):
    """Saves `<prefix>_mask.png` and `<prefix>_overlay.png`, atomically.

    The mask is an 8-bit palette ("P" mode) PNG whose pixel index is the
    class id, as the PASCAL VOC `SegmentationClass` PNGs are: read it back
    with `np.array(PIL.Image.open(path))` to get the ids, while viewers show
    the palette colours. The overlay is an RGB PNG of `overlay(image,
    class_map, alpha)`. Each file is written to a temporary name and renamed.

    Args:
        path_prefix: str or os.PathLike. Output path without the suffix; its
            directory must exist.
        image: uint8 array [H, W, 3], RGB.
        class_map: int array [H, W], class ids in [0, 256) (255 = void).
        palette: [N, 3] uint8 array (N <= 256) or None for `voc_palette()`.
        alpha: float in [0, 1]. Opacity of the overlay colours. Defaults
            to 0.5.

    Returns:
        tuple of str: `(mask_path, overlay_path)`.

    Example:

    >>> import os, tempfile
    >>> prefix = os.path.join(tempfile.mkdtemp(), "2007_000033")
    >>> mask_path, _ = save_prediction(
    ...     prefix, np.zeros((4, 4, 3), np.uint8), np.eye(4, dtype=np.int32))
    >>> np.array(Image.open(mask_path)).tolist()[0]
    [1, 0, 0, 0]
    """
    palette = _check_palette(palette)
    if len(palette) > 256:
        raise ValueError(
            "`palette` must have at most 256 colours (a PNG palette's limit). "
            f"Received: palette.shape={palette.shape}"
        )
    class_map = np.asarray(class_map)
    if class_map.dtype.kind not in "iu" or class_map.ndim != 2:
        raise ValueError(
            "`class_map` must be an integer array [H, W]. Received: "
            f"class_map.shape={class_map.shape}, class_map.dtype={class_map.dtype}"
        )
    # Validates image shape, class range against the palette and alpha.
    blended = overlay(image, class_map, alpha=alpha, palette=palette)

    # An "L" image becomes "P" in putpalette, pixel values unchanged (the
    # `mode` argument of fromarray is deprecated since Pillow 11.3).
    mask = Image.fromarray(class_map.astype(np.uint8))
    # Pad to 256 entries so every index a viewer meets has a colour.
    full_palette = np.zeros((256, 3), np.uint8)
    full_palette[: len(palette)] = palette
    mask.putpalette(full_palette.ravel().tolist())

    prefix = str(path_prefix)
    mask_path = prefix + "_mask.png"
    overlay_path = prefix + "_overlay.png"
    write_bytes_atomic(mask_path, _png_bytes(mask))
    write_bytes_atomic(overlay_path, _png_bytes(Image.fromarray(blended)))
    return mask_path, overlay_path


def _png_bytes(pil_image):
    buffer = io.BytesIO()
    # optimize=False: PIL's optimiser may reorder palette entries, and the
    # index must stay the class id.
    pil_image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
