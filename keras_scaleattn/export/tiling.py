"""Segment a large image in overlapping tiles, and blend their outputs.

Letterboxing a 4000 x 3000 photo into a 513 x 513 model shrinks it eightfold,
and the small objects that attention to scale is for vanish with the
detail. Tiling keeps the photo's resolution instead: windows of the model's
size (a fixed-size TFLite model's, a TensorRT profile's largest, or a chosen
`max_size` for a model of any size) cover the image with a chosen overlap,
each window is segmented on its own at full resolution, and where windows
overlap their probabilities and attention weights are averaged, so the class
map (their argmax) has no seams at the windows' edges. This is the
"sliding window" inference of MMSegmentation's `slide` mode (windows along
a side spread evenly, the last one ending at the border, so every window
lies inside the image). By default the average is weighted by a Gaussian
centred on each window (sigma 1/8 of its side, nnU-Net's and MONAI's
`gaussian` mode): a pixel near a window's edge, where that window sees
little context, counts less than the same pixel near the centre of its
neighbour. On the main job's model with 257 x 257 images in 129 x 129
windows that gave 74.77 mIoU against 72.49 for the plain mean
(docs/deployment.md, "Tiling").
"""

import math
import numbers

import numpy as np

DEFAULT_OVERLAP = 1.0 / 3.0
# Windows per model call: one, as MONAI's `sw_batch_size` and MMSegmentation
# (memory like one image's); a GPU runs small windows faster in batches.
DEFAULT_TILE_BATCH_SIZE = 1
BLENDS = ("gaussian", "mean")
# nnU-Net's and MONAI's default: sigma = 1/8 of the window's side.
GAUSSIAN_SIGMA_SCALE = 0.125


def check_overlap(overlap, name="tile_overlap"):
    """Returns `overlap` as a float if it is a number in [0, 1).

    Raises:
        ValueError: naming `name` and the value, for anything else (an
            overlap of 1 would never advance).

    Example:

    >>> check_overlap(0.5)
    0.5
    """
    if (isinstance(overlap, bool) or not isinstance(overlap, numbers.Real)
            or not 0.0 <= float(overlap) < 1.0):
        raise ValueError(
            f"`{name}` must be a number in [0, 1): the fraction of a tile "
            f"that its neighbour also covers. Received: {name}={overlap!r}")
    return float(overlap)


def check_blend(blend, name="tile_blend"):
    """Returns `blend` if it is one of `BLENDS`, else raises naming `name`."""
    if blend not in BLENDS:
        raise ValueError(
            f"`{name}` must be one of {list(BLENDS)}: how overlapping "
            f"windows are averaged. Received: {name}={blend!r}")
    return blend


def check_tile_batch_size(count, name="tile_batch_size"):
    """Returns `count` if it is an int >= 1, else raises naming `name`.

    Example:

    >>> check_tile_batch_size(4)
    4
    """
    if (isinstance(count, bool) or not isinstance(count, numbers.Integral)
            or count < 1):
        raise ValueError(
            f"`{name}` must be an int >= 1: how many windows of each image "
            f"one model call segments. Received: {name}={count!r}")
    return int(count)


def window_weights(height, width, blend="gaussian"):
    """The weight of each pixel of a `height x width` window in the blend.

    Args:
        height: int >= 1.
        width: int >= 1.
        blend: `"gaussian"`: `exp(-dy^2 / (2 sy^2) - dx^2 / (2 sx^2))`, with
            `dy`, `dx` the distance from the window's centre and `sy`, `sx`
            1/8 of its height and width (1 at the centre). `"mean"`: 1
            everywhere. Defaults to `"gaussian"`.

    Returns:
        float32 array `[height, width]`.

    Example:

    >>> w = window_weights(9, 9)
    >>> float(w[4, 4]), round(float(w[4, 0]), 4), float(window_weights(2, 3, "mean").min())
    (1.0, 0.0018, 1.0)
    """
    check_blend(blend, "blend")
    if blend == "mean":
        return np.ones((height, width), np.float32)
    rows = (np.arange(height) - (height - 1) / 2.0) / (
        GAUSSIAN_SIGMA_SCALE * height)
    cols = (np.arange(width) - (width - 1) / 2.0) / (
        GAUSSIAN_SIGMA_SCALE * width)
    return np.exp(-0.5 * (rows[:, None] ** 2 + cols[None, :] ** 2)).astype(
        np.float32)


def tile_starts(length, tile, overlap=DEFAULT_OVERLAP):
    """Where the windows along one side of the image begin.

    Windows advance by `stride = max(1, floor(tile * (1 - overlap)))` from 0,
    and the last is moved back to end at the border (MMSegmentation's
    `slide` inference places them the same way). A side no longer than the
    tile gets one window, at 0.

    Args:
        length: int >= 1, the image's side.
        tile: int >= 1, the window's side.
        overlap: float in [0, 1). Defaults to 1/3.

    Returns:
        list of ints, increasing, the first 0 and the last
        `max(0, length - tile)`.

    Example:

    >>> tile_starts(1000, 513), tile_starts(400, 513)
    ([0, 342, 487], [0])
    >>> tile_starts(1026, 513, overlap=0.0)
    [0, 513]
    """
    overlap = check_overlap(overlap, "overlap")
    if length <= tile:
        return [0]
    stride = max(1, int(math.floor(tile * (1.0 - overlap))))
    count = -(-(length - tile) // stride) + 1
    return [min(i * stride, length - tile) for i in range(count)]


def tile_windows(height, width, tile_size, overlap=DEFAULT_OVERLAP):
    """The windows `(top, left, height, width)` that cover an image.

    Args:
        height: int >= 1.
        width: int >= 1.
        tile_size: `(height, width)` of a window. A window is cut to the
            image on a side where the image is smaller.
        overlap: float in [0, 1). Defaults to 1/3.

    Returns:
        list of `(top, left, window_height, window_width)`, row by row.

    Example:

    >>> tile_windows(600, 400, (513, 513))
    [(0, 0, 513, 400), (87, 0, 513, 400)]
    """
    rows = tile_starts(height, tile_size[0], overlap)
    cols = tile_starts(width, tile_size[1], overlap)
    tile_h, tile_w = min(height, tile_size[0]), min(width, tile_size[1])
    return [(top, left, tile_h, tile_w) for top in rows for left in cols]


def segment_in_tiles(segment, batch, tile_size, overlap=DEFAULT_OVERLAP,
                     blend="gaussian",
                     windows_per_call=DEFAULT_TILE_BATCH_SIZE):
    """Segments a batch in windows and blends the windows' outputs.

    Args:
        segment: callable taking uint8 `[k * B, h, w, 3]` (`k` windows of
            every image, window by window) and returning a dict with
            `"probabilities"` `[k * B, h, w, C]` and optionally
            `"attention"` `[k * B, h, w, S]` in the same order (as
            `SegmentationRuntime` does).
        batch: uint8 `[B, H, W, 3]`.
        tile_size: `(height, width)` of the windows.
        overlap: float in [0, 1), the fraction of a window its neighbour
            also covers. Defaults to 1/3.
        blend: `"gaussian"` or `"mean"`, the weights of the average
            (`window_weights`). Defaults to `"gaussian"`.
        windows_per_call: int >= 1, the `k` above: how many windows of each
            image one call of `segment` takes (the last call may take
            fewer). More windows per call run faster on a GPU, at `k` times
            the memory. The result does not depend on it. Defaults to 1.

    Returns:
        dict: `"class_map"` int32 `[B, H, W]` (the argmax of the blended
        probabilities), `"probabilities"` float32 `[B, H, W, C]`, the
        weighted mean over the windows that cover each pixel, and
        `"attention"` likewise if `segment` returns it. A pixel only one
        window covers keeps that window's output.

    Example:

    >>> def segment(window):  # a made-up model: class 1 where red > 127
    ...     p = (window[..., :1] > 127).astype(np.float32)
    ...     return {"probabilities": np.concatenate([1 - p, p], axis=-1)}
    >>> image = np.zeros((1, 5, 7, 3), np.uint8)
    >>> image[0, :, 4:, 0] = 255
    >>> out = segment_in_tiles(segment, image, (3, 3))
    >>> out["class_map"][0].tolist()[0]
    [0, 0, 0, 0, 1, 1, 1]
    """
    batch = np.asarray(batch)
    windows_per_call = check_tile_batch_size(windows_per_call,
                                              "windows_per_call")
    size, height, width = batch.shape[0], batch.shape[1], batch.shape[2]
    windows = tile_windows(height, width, tile_size, overlap)
    weights = window_weights(windows[0][2], windows[0][3], blend)
    sums, total = {}, np.zeros((height, width), np.float32)
    for first in range(0, len(windows), windows_per_call):
        group = windows[first:first + windows_per_call]
        # Every window has the same size, so the group stacks into one
        # batch: window 0 of every image, then window 1, ...
        outputs = segment(np.concatenate(
            [batch[:, top:top + tile_h, left:left + tile_w]
             for top, left, tile_h, tile_w in group]))
        if "probabilities" not in outputs:
            raise ValueError(
                "Tiling blends the windows' class probabilities, but the "
                f"model returned only {sorted(outputs)}.")
        for name in ("probabilities", "attention"):
            if name not in outputs:
                continue
            value = np.asarray(outputs[name], np.float32)
            if name not in sums:
                sums[name] = np.zeros((size, height, width, value.shape[-1]),
                                      np.float32)
            for index, (top, left, tile_h, tile_w) in enumerate(group):
                sums[name][:, top:top + tile_h, left:left + tile_w] += (
                    value[index * size:(index + 1) * size]
                    * weights[None, :, :, None])
        for top, left, tile_h, tile_w in group:
            total[top:top + tile_h, left:left + tile_w] += weights
    blended = {name: value / total[None, :, :, None]
               for name, value in sums.items()}
    blended["class_map"] = np.argmax(
        blended["probabilities"], axis=-1).astype(np.int32)
    return blended
