"""PASCAL VOC colour map, class-map colouring and image overlays."""

import numpy as np


def voc_palette(num_colors=256):
    """The PASCAL VOC colour map (the devkit's `VOClabelcolormap.m`).

    Colour i spreads the bits of i over the three channels, most significant
    bit first: bit 3k of i goes to bit 7-k of red, bit 3k+1 to green, bit
    3k+2 to blue. So 0 is black, 1 (128, 0, 0), 2 (0, 128, 0), 15 (person)
    (192, 128, 128) and 255 (void) (224, 224, 192).

    Args:
        num_colors: int in [1, 256]. Number of entries. Defaults to 256.

    Returns:
        uint8 array [num_colors, 3].

    Example:

    >>> voc_palette()[15].tolist()
    [192, 128, 128]
    """
    if (
        isinstance(num_colors, bool)
        or not isinstance(num_colors, (int, np.integer))
        or not 1 <= num_colors <= 256
    ):
        raise ValueError(
            "`num_colors` must be an integer in [1, 256]. "
            f"Received: num_colors={num_colors}"
        )
    ids = np.arange(num_colors)
    palette = np.zeros((num_colors, 3), np.int64)
    for k in range(8):
        for channel in range(3):
            bit = (ids >> (3 * k + channel)) & 1
            palette[:, channel] |= bit << (7 - k)
    return palette.astype(np.uint8)


def _check_palette(palette):
    if palette is None:
        return voc_palette()
    palette = np.asarray(palette)
    if (
        palette.ndim != 2
        or palette.shape[1] != 3
        or palette.shape[0] < 1
        or np.any(palette < 0)
        or np.any(palette > 255)
    ):
        raise ValueError(
            "`palette` must be an [N, 3] array of RGB values in [0, 255]. "
            f"Received: palette.shape={palette.shape}"
        )
    return palette.astype(np.uint8)


def colorize(class_map, palette=None):
    """Paints a class map with a palette.

    Args:
        class_map: int array of any shape (e.g. [H, W]) with values in
            `[0, len(palette))`.
        palette: [N, 3] uint8 array, or None for `voc_palette()`.

    Returns:
        uint8 array `class_map.shape + (3,)`.

    Example:

    >>> colorize(np.array([[0, 1], [2, 255]])).tolist()
    [[[0, 0, 0], [128, 0, 0]], [[0, 128, 0], [224, 224, 192]]]
    """
    palette = _check_palette(palette)
    class_map = np.asarray(class_map)
    if class_map.dtype.kind not in "iu":
        raise ValueError(
            "`class_map` must be an integer array. "
            f"Received: class_map.dtype={class_map.dtype}"
        )
    if class_map.size and (
        class_map.min() < 0 or class_map.max() >= len(palette)
    ):
        raise ValueError(
            f"`class_map` values must be in [0, {len(palette)}) (the palette "
            f"size). Received values in [{class_map.min()}, {class_map.max()}]"
        )
    return palette[class_map]


def overlay(image, class_map, alpha=0.5, palette=None):
    """Blends a colourised class map over an image.

    `out = round((1 - alpha) * image + alpha * colorize(class_map))` at every
    pixel (background and void included, as the VOC figures show them).

    Args:
        image: uint8 array [H, W, 3], RGB.
        class_map: int array [H, W].
        alpha: float in [0, 1]. Opacity of the colours. Defaults to 0.5.
        palette: [N, 3] uint8 array, or None for `voc_palette()`.

    Returns:
        uint8 array [H, W, 3].

    Example:

    >>> image = np.full((1, 1, 3), 100, np.uint8)
    >>> overlay(image, np.array([[1]]), alpha=0.5).tolist()
    [[[114, 50, 50]]]
    """
    image = np.asarray(image)
    class_map = np.asarray(class_map)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(
            "`image` must be a uint8 RGB array [H, W, 3]. "
            f"Received: image.shape={image.shape}, image.dtype={image.dtype}"
        )
    if class_map.shape != image.shape[:2]:
        raise ValueError(
            "`class_map` must be [H, W] with the image's H and W. Received: "
            f"class_map.shape={class_map.shape}, image.shape={image.shape}"
        )
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"`alpha` must be in [0, 1]. Received: alpha={alpha}")
    colors = colorize(class_map, palette).astype(np.float64)
    blended = (1.0 - alpha) * image.astype(np.float64) + alpha * colors
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)
