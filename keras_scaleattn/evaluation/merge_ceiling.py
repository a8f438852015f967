"""How far the best per-pixel merge of each scale's own scores could go."""

import numpy as np
from scipy import ndimage

from keras_scaleattn.evaluation._arrays import as_class_array
from keras_scaleattn.evaluation._arrays import describe_values
from keras_scaleattn.evaluation._arrays import valid_class_pixels
from keras_scaleattn.evaluation.confusion_matrix import (
    SegmentationConfusionMatrix,
)


def mix_interval(scale_scores, label):
    """The weights `w` for which a mix of two scales' scores gets `label`.

    Attention merges two score maps as `w * f1 + (1 - w) * f2` with `w` in
    [0, 1] (Chen et al., CVPR 2016, Eq. 1). At one pixel, the mix's argmax is
    `label` exactly when `w * (f1[y] - f1[c]) + (1 - w) * (f2[y] - f2[c]) > 0`
    for every other class `c`: one linear inequality in `w` per class, so
    the weights that work form one open interval, clipped to [0, 1].

    Args:
        scale_scores: float array `[..., 2, C]`: the two scales' class
            scores (logits) at each pixel.
        label: int array `[...]`: the class to get, in `[0, C)`.

    Returns:
        `(low, high)`: float64 arrays `[...]`. A weight `w` in [0, 1] gets
        `label` iff `low < w < high`; `low` is -inf where no class bounds
        `w` from below, `high` +inf where none bounds it from above, and
        `high` is -inf where some class ties or beats `label` at every
        weight. No weight works where `max(low, 0) >= min(high, 1)`.

    Raises:
        ValueError: for scores that are not `[..., 2, C]` over `label`'s
            shape, or a `label` outside `[0, C)`.

    Example:

    >>> scores = np.array([[3.0, 0.0], [0.0, 1.0]])  # scale 1 says 0, scale 2 says 1
    >>> low, high = mix_interval(scores, np.array(1))
    >>> float(low), float(high)   # w < 0.25 keeps class 1 on top
    (-inf, 0.25)
    """
    scores = np.asarray(scale_scores, np.float64)
    label = np.asarray(label)
    if scores.ndim < 2 or scores.shape[-2] != 2 or scores.shape[:-2] != label.shape:
        raise ValueError(
            "`scale_scores` must be [..., 2, C] (two scales) with the shape "
            "of `label` before its last two axes. Received: "
            f"scale_scores.shape={scores.shape}, label.shape={label.shape}")
    num_classes = scores.shape[-1]
    if label.dtype.kind not in "iu":
        raise ValueError("`label` must be an integer array of class ids. "
                         f"Received: label.dtype={label.dtype}")
    bad = (label < 0) | (label >= num_classes)
    if bad.any():
        raise ValueError(
            f"`label` must hold class ids in [0, {num_classes}) (the last axis "
            f"of `scale_scores`). Received: {describe_values(label[bad])}")
    own = np.take_along_axis(scores, label[..., None, None], axis=-1)
    # margin_s[c] = f_s[label] - f_s[c]: the mix's margin at w = 1 (scale 1)
    # and at w = 0 (scale 2) is linear in between.
    at_one = own[..., 0, :] - scores[..., 0, :]
    at_zero = own[..., 1, :] - scores[..., 1, :]
    others = np.arange(num_classes) != label[..., None]
    slope = at_one - at_zero
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = -at_zero / slope  # where the margin changes sign
    # Margin rising through 0 (slope > 0): w > crossing; falling: w <
    # crossing; flat: every w if positive, none if not.
    rises = others & (slope > 0)
    falls = others & (slope < 0)
    never = others & (slope == 0) & (at_zero <= 0)
    low = np.max(np.where(rises, crossing, -np.inf), axis=-1)
    high = np.min(np.where(falls, crossing, np.inf), axis=-1)
    high = np.where(never.any(axis=-1), -np.inf, high)
    return low, high


def mix_can_label(scale_scores, label):
    """Where some convex mix of two scales' scores gets `label`.

    Args:
        scale_scores: float array `[..., 2, C]`.
        label: int array `[...]` in `[0, C)`.

    Returns:
        bool array `[...]`: True where a weight `w` in [0, 1] exists whose
        mix `w * f1 + (1 - w) * f2` has its argmax (strictly) at `label`.

    Example:

    >>> scores = np.array([[[3.0, 0.0, 0.0], [0.0, 1.0, 0.0]],   # 0 or 1
    ...                    [[3.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    >>> mix_can_label(scores, np.array([1, 2])).tolist()   # class 2: no weight
    [True, False]
    """
    low, high = mix_interval(scale_scores, label)
    # The weights that work are (low, high) within [0, 1]: some exist iff
    # the clipped interval is not empty (an endpoint 0 or 1 that works lies
    # strictly inside (low, high), so it passes the same test).
    return np.maximum(low, 0.0) < np.minimum(high, 1.0)


class MergeCeiling:
    """The mIoU a perfect choice of scale per pixel would reach.

    A merge of the scales' own score maps (max, average, attention) can only
    be right where those maps allow it. With extra supervision each scale's
    map is a segmentation of its own, and this asks, pixel by pixel, how far
    the best merge of a model's own maps could go:

    - `best_scale`: the label wherever some scale's own argmax is right (a
      perfect hard choice of scale per pixel), the model's prediction
      elsewhere;
    - `best_mix` (two scales): the label wherever some convex mix `w * f1 +
      (1 - w) * f2` has its argmax at the label (a perfect attention weight
      per pixel, `mix_can_label`), the model's prediction elsewhere. Between
      two scales this includes `best_scale` (`w` = 0 or 1) and the pixels
      that only a mix gets right. `None` for three or more scales (the
      weights then form a polygon; the hard choice is still reported).
    - `best_scale_off_edges`, `best_mix_off_edges`: the same, fixing only
      the pixels at least `edge_band` pixels from a label edge. Near an
      edge the scales' upsampled maps (strides 8 and 16 for scales 1 and
      0.5) place the boundary a few pixels apart, so an oracle that picks per pixel the
      scale whose boundary happens to fall right gains there a lot that no
      attention head, whose weights live on the stride-8 grid, can: the
      off-edge ceilings leave that out. (DeepLab measures accuracy near
      boundaries the same way, in a band of pixels around label edges:
      its "trimap".)

    Each is scored as the model's own prediction is (`SegmentationConfusionMatrix`),
    so the gap between a ceiling and the model's mIoU is what a better
    attention head could still add on top of the same score maps, and the
    gap between the ceiling and a max or average model's mIoU is all any
    per-pixel weighting of *that* model's maps could add. (A ceiling holds
    the maps fixed: a model trained with another merge has other maps.)

    Args:
        num_classes: int. Number of classes.
        ignore_label: int or None. Defaults to 255.
        class_names: optional sequence of names (`per_class_iou` keys).
        edge_band: int >= 1. Pixels closer than this (Euclidean distance,
            in pixels) to a label edge are left as the model predicts them
            in the off-edge ceilings; a label edge lies between two
            4-neighbours with different labels (255 included). Defaults to
            3.

    Example:

    >>> ceiling = MergeCeiling(num_classes=2)
    >>> label = np.array([[0, 1]])
    >>> scores = np.array([[[[2.0, 0.0], [0.0, 1.0]],     # [H, W, S, C]
    ...                     [[2.0, 0.0], [0.0, 1.0]]]])
    >>> ceiling.update(label, scores, prediction=np.array([[0, 0]]))
    >>> result = ceiling.result()
    >>> result["best_scale"]["pixel_accuracy"], result["best_mix"]["recovered"]
    (1.0, 1.0)
    >>> result["best_mix_off_edges"]["recovered"]   # both pixels lie on the edge
    0.0

    Reference:
        Chen et al., "Semantic Image Segmentation with Deep Convolutional
        Nets and Fully Connected CRFs", ICLR 2015 (trimap accuracy).
    """

    NAMES = ("best_scale", "best_mix", "best_scale_off_edges",
             "best_mix_off_edges")

    def __init__(self, num_classes, ignore_label=255, class_names=None,
                 edge_band=3):
        if (isinstance(edge_band, bool)
                or not isinstance(edge_band, (int, np.integer))
                or edge_band < 1):
            raise ValueError("`edge_band` must be an int >= 1 (pixels). "
                             f"Received: edge_band={edge_band!r}")
        self.num_classes = num_classes
        self.ignore_label = ignore_label
        self.class_names = class_names
        self.edge_band = int(edge_band)
        self.reset()

    def reset(self):
        """Forgets everything seen."""
        self._matrices = {
            name: SegmentationConfusionMatrix(
                self.num_classes, ignore_label=self.ignore_label,
                class_names=self.class_names)
            for name in self.NAMES}
        self._num_scales = None
        self._wrong = 0
        self._recovered = dict.fromkeys(self.NAMES, 0)

    def update(self, label, scale_scores, prediction):
        """Adds one label map (or a batch) with the model's maps and output.

        Args:
            label: int array `[H, W]` (or `[N, H, W]`).
            scale_scores: float array `[H, W, S, C]` (or `[N, H, W, S, C]`):
                each scale's own class scores at the label's resolution.
            prediction: int array like `label`: the model's merged class map.
        """
        label = as_class_array(label, "label")
        prediction = as_class_array(prediction, "prediction")
        scores = np.asarray(scale_scores, np.float32)
        if (label.ndim not in (2, 3) or scores.ndim != label.ndim + 2
                or scores.shape[:label.ndim] != label.shape
                or prediction.shape != label.shape):
            raise ValueError(
                "`scale_scores` must be [H, W, S, C] and `prediction` [H, W] "
                "for a `label` of shape [H, W] (or with a leading batch axis "
                f"N). Received: scale_scores.shape={scores.shape}, "
                f"prediction.shape={prediction.shape}, label.shape={label.shape}")
        num_scales, num_classes = scores.shape[-2:]
        if num_classes != self.num_classes:
            raise ValueError(
                f"`scale_scores` must have {self.num_classes} classes (the "
                f"last axis). Received: scale_scores.shape={scores.shape}")
        if self._num_scales not in (None, num_scales):
            raise ValueError(
                f"`scale_scores` must keep {self._num_scales} scales across "
                f"updates. Received: scale_scores.shape={scores.shape}")
        self._num_scales = num_scales
        valid = valid_class_pixels(label, self.ignore_label, num_classes,
                                   "scale_scores")
        target = np.where(valid, label, 0)
        wrong = valid & (prediction != label)
        self._wrong += int(wrong.sum())
        off_edges = self._off_edges(label)
        any_scale = (np.argmax(scores, axis=-1) == target[..., None]).any(-1)
        reachable = {"best_scale": any_scale}
        if num_scales == 2:
            reachable["best_mix"] = mix_can_label(scores, target)
        for name in list(reachable):
            reachable[f"{name}_off_edges"] = reachable[name] & off_edges
        for name, can in reachable.items():
            can = can & valid
            self._matrices[name].update(label, np.where(can, label, prediction))
            self._recovered[name] += int((wrong & can).sum())

    def _off_edges(self, label):
        """True at pixels `edge_band` or more pixels from a label edge."""
        batch = label if label.ndim == 3 else label[None]
        edge = np.zeros(batch.shape, bool)
        rows = batch[:, 1:] != batch[:, :-1]
        cols = batch[:, :, 1:] != batch[:, :, :-1]
        edge[:, 1:] |= rows
        edge[:, :-1] |= rows
        edge[:, :, 1:] |= cols
        edge[:, :, :-1] |= cols
        far = np.stack([
            ndimage.distance_transform_edt(~one) >= self.edge_band
            if one.any() else np.ones(one.shape, bool)
            for one in edge])
        return far if label.ndim == 3 else far[0]

    def result(self):
        """`{"best_scale": {...}, "best_mix": {...} or None, ...}`.

        Each (see the class) holds `miou`, `pixel_accuracy`, `per_class_iou`
        (as `SegmentationConfusionMatrix.result`) and `recovered`: the
        fraction of the model's wrong pixels that the ceiling gets right
        (NaN if the model made no mistake). The `best_mix` ones are None for
        three or more scales.
        """
        results = {}
        for name, matrix in self._matrices.items():
            if name.startswith("best_mix") and self._num_scales != 2:
                results[name] = None
                continue
            scores = matrix.result()
            results[name] = {
                "miou": scores["miou"],
                "pixel_accuracy": scores["pixel_accuracy"],
                "per_class_iou": scores["per_class_iou"],
                "recovered": (self._recovered[name] / self._wrong
                              if self._wrong else float("nan")),
            }
        return results
