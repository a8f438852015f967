"""Mean attention weight of each scale on small, medium, large objects and background."""

import numpy as np

from keras_scaleattn.evaluation._arrays import as_class_array
from keras_scaleattn.evaluation._arrays import check_thresholds
from keras_scaleattn.evaluation.object_size import SIZE_BUCKETS
from keras_scaleattn.evaluation.object_size import (
    _object_size_masks_and_counts,
)

# A softmax over scales sums to 1; bilinear resizing keeps that (a convex
# combination), so a larger gap means logits or unnormalised maps were passed.
_SUM_TOLERANCE = 1e-2


class AttentionBySize:
    """Mean attention weight per scale over objects of each size.

    Tests the paper's reading of its Fig. 5 (Chen et al., CVPR 2016): the
    attention puts large weights on scale 1 for small objects and on the
    coarse scale (0.5) for large ones. For each bucket (`small`, `medium`,
    `large` objects as in `object_size_masks`, plus `background`, the pixels
    of `background_class`) it averages each scale's weight over all the
    bucket's pixels seen so far (ignored pixels excluded). Every pixel counts
    once, so large objects weigh more than small ones within a bucket.

    Args:
        thresholds: pair of increasing areas in pixels splitting small /
            medium / large. Defaults to `(32**2, 96**2)`.
        ignore_label: int or None. Void label. Defaults to 255.
        background_class: int or None. Class reported as `background`.
            Defaults to 0. With None there is no `background` bucket.

    Example:

    >>> stats = AttentionBySize(thresholds=(10, 20))
    >>> label = np.zeros((8, 8), np.int32)
    >>> label[0:2, 0:2] = 1
    >>> attention = np.full((8, 8, 2), 0.5, np.float32)
    >>> attention[0:2, 0:2] = [0.9, 0.1]
    >>> stats.update(label, attention)
    >>> {s: round(w, 3) for s, w in stats.result([1.0, 0.5])["small"].items()}
    {1.0: 0.9, 0.5: 0.1}
    """

    def __init__(
        self, thresholds=(32**2, 96**2), ignore_label=255, background_class=0
    ):
        self.thresholds = check_thresholds(thresholds)
        self.ignore_label = ignore_label
        self.background_class = background_class
        self.buckets = SIZE_BUCKETS + (
            ("background",) if background_class is not None else ()
        )
        self.reset()

    def reset(self):
        """Forgets everything seen, including the number of scales."""
        self._num_scales = None
        self._weight_sums = None
        self._pixel_counts = dict.fromkeys(self.buckets, 0)

    @property
    def num_pixels(self):
        """dict bucket -> number of pixels averaged so far."""
        return dict(self._pixel_counts)

    def update(self, label, attention):
        """Adds one image's attention weights.

        Args:
            label: int array [H, W] (or a batch [N, H, W]).
            attention: float array [H, W, S] (or [N, H, W, S]): softmax
                weights over the S scales at the label's resolution.
        """
        label = as_class_array(label, "label")
        attention = np.asarray(attention, dtype=np.float64)
        if (
            label.ndim not in (2, 3)
            or attention.ndim != label.ndim + 1
            or attention.shape[:-1] != label.shape
        ):
            raise ValueError(
                "`attention` must be [H, W, S] for a `label` of shape [H, W] "
                "(or [N, H, W, S] for [N, H, W]). Received: "
                f"attention.shape={attention.shape}, label.shape={label.shape}"
            )
        num_scales = attention.shape[-1]
        if self._num_scales is not None and num_scales != self._num_scales:
            raise ValueError(
                f"`attention` must keep the same number of scales "
                f"({self._num_scales}) across updates. Received: "
                f"attention.shape={attention.shape}"
            )
        if not np.all(np.isfinite(attention)):
            raise ValueError("`attention` must be finite. Received NaN or inf.")
        deviation = float(np.max(np.abs(attention.sum(axis=-1) - 1.0)))
        if deviation > _SUM_TOLERANCE:
            raise ValueError(
                "`attention` must be softmax weights summing to 1 over the "
                f"scales at each pixel. Received: largest |sum - 1| = {deviation:.4g}"
            )
        if self._num_scales is None:
            self._num_scales = num_scales
            self._weight_sums = {
                name: np.zeros(num_scales) for name in self.buckets
            }
        if label.ndim == 2:
            label, attention = label[None], attention[None]
        for one_label, one_attention in zip(label, attention):
            masks, _ = _object_size_masks_and_counts(
                one_label,
                self.thresholds,
                self.ignore_label,
                self.background_class,
            )
            if self.background_class is not None:
                masks["background"] = one_label == self.background_class
            for name in self.buckets:
                self._weight_sums[name] += one_attention[masks[name]].sum(axis=0)
                self._pixel_counts[name] += int(masks[name].sum())

    def result(self, scales):
        """Mean weight of each scale per bucket.

        Args:
            scales: sequence of S numbers naming the attention channels in
                order, e.g. `(1.0, 0.75, 0.5)`.

        Returns:
            dict `{bucket: {scale: mean_weight}}` with buckets small, medium,
            large (and background); weights are NaN for a bucket with no
            pixels.
        """
        scales = [float(s) for s in scales]
        if len(set(scales)) != len(scales) or (
            self._num_scales is not None and len(scales) != self._num_scales
        ):
            raise ValueError(
                f"`scales` must be {self._num_scales or 'S'} distinct numbers, "
                f"one per attention channel. Received: scales={scales}"
            )
        results = {}
        for name in self.buckets:
            count = self._pixel_counts[name]
            if count == 0:
                means = [np.nan] * len(scales)
            else:
                means = (self._weight_sums[name] / count).tolist()
            results[name] = dict(zip(scales, means))
        return results
