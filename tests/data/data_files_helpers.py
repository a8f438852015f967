"""Helpers for the data tests: small image and mask files written with PIL."""

import os

import numpy as np
from PIL import Image


def voc_colormap():
    """PASCAL VOC's 256-colour palette (bit-interleaved), as flat RGB list."""
    palette = []
    for index in range(256):
        r = g = b = 0
        c = index
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        palette += [r, g, b]
    return palette


def write_image(path, array, fmt=None):
    """Writes uint8 [H, W, 3] as JPEG or PNG (by extension); makes folders."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = Image.fromarray(np.asarray(array, np.uint8), mode="RGB")
    if str(path).endswith(".jpg"):
        image.save(path, quality=95)
    else:
        image.save(path)


def write_palette_png(path, ids):
    """Writes class ids [H, W] as a palette ('P') PNG with the VOC colours."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = Image.fromarray(np.asarray(ids, np.uint8), mode="P")
    image.putpalette(voc_colormap())
    image.save(path)


def write_gray_png(path, ids):
    """Writes class ids [H, W] as a grayscale ('L') PNG."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(ids, np.uint8), mode="L").save(path)


def random_example(rng, height, width, num_classes):
    """A random RGB image and a label with ids < num_classes and some 255."""
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    label = rng.integers(0, num_classes, size=(height, width), dtype=np.uint8)
    label[0, :] = 255
    return image, label
