"""Mean attention weight of each scale on small, medium, large objects and background."""

import numpy as np

from keras_scaleattn.evaluation._per_scale_by_size import PerScaleBySize

# A softmax over scales sums to 1; bilinear resizing keeps that (a convex
# combination), so a larger gap means logits or unnormalised maps were passed.
_SUM_TOLERANCE = 1e-2


class AttentionBySize(PerScaleBySize):
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

    STATISTICS = ("weight",)

    def update(self, label, attention):
        """Adds one image's attention weights.

        Args:
            label: int array [H, W] (or a batch [N, H, W]).
            attention: float array [H, W, S] (or [N, H, W, S]): softmax
                weights over the S scales at the label's resolution.
        """
        attention = np.asarray(attention, dtype=np.float64)
        label = self._check_label(label, attention, "attention", "[H, W, S]", 1)
        self._check_num_scales(attention.shape[-1], "attention", attention.shape)
        deviation = float(np.max(np.abs(attention.sum(axis=-1) - 1.0)))
        if deviation > _SUM_TOLERANCE:
            raise ValueError(
                "`attention` must be softmax weights summing to 1 over the "
                f"scales at each pixel. Received: largest |sum - 1| = {deviation:.4g}"
            )
        self._add(label, {"weight": attention})

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
        means = self._means(scales, "attention channel")
        return {bucket: {scale: values["weight"]
                         for scale, values in per_scale.items()}
                for bucket, per_scale in means.items()}
