"""Shared bookkeeping of the per-scale statistics by object size."""

import numpy as np

from keras_scaleattn.evaluation._arrays import as_class_array
from keras_scaleattn.evaluation._arrays import check_thresholds
from keras_scaleattn.evaluation.object_size import SIZE_BUCKETS
from keras_scaleattn.evaluation.object_size import (
    _object_size_masks_and_counts,
)


class PerScaleBySize:
    """Sums of per-scale statistics over the pixels of each size bucket.

    The buckets are `small`, `medium`, `large` objects (as in
    `object_size_masks`) plus `background`, the pixels of `background_class`.
    A subclass names its statistics in `STATISTICS`, checks its own input,
    and calls `_add(label, per_pixel)` with, for each statistic, an array
    `[..., S]` of per-pixel values at the label's resolution; `_means`
    returns each statistic's mean over a bucket's pixels (every pixel once,
    ignored pixels excluded).
    """

    STATISTICS = ()

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
        self._sums = None
        self._pixel_counts = dict.fromkeys(self.buckets, 0)

    @property
    def num_pixels(self):
        """dict bucket -> number of pixels averaged so far."""
        return dict(self._pixel_counts)

    def _check_label(self, label, values, argument, layout, trailing):
        """Checks `values` is `label`'s shape plus `trailing` axes."""
        label = as_class_array(label, "label")
        if (
            label.ndim not in (2, 3)
            or values.ndim != label.ndim + trailing
            or values.shape[: label.ndim] != label.shape
        ):
            batched = "[N, H, W, " + layout[len("[H, W, "):]
            raise ValueError(
                f"`{argument}` must be {layout} for a `label` of shape [H, W] "
                f"(or {batched} for [N, H, W]). Received: "
                f"{argument}.shape={values.shape}, label.shape={label.shape}"
            )
        if not np.all(np.isfinite(values)):
            raise ValueError(f"`{argument}` must be finite. Received NaN or inf.")
        return label

    def _check_num_scales(self, num_scales, argument, shape):
        if self._num_scales is not None and num_scales != self._num_scales:
            raise ValueError(
                f"`{argument}` must keep the same number of scales "
                f"({self._num_scales}) across updates. Received: "
                f"{argument}.shape={shape}"
            )

    def _add(self, label, per_pixel):
        """Adds the per-pixel statistics of one label map or a batch."""
        num_scales = next(iter(per_pixel.values())).shape[-1]
        if self._sums is None:
            self._num_scales = num_scales
            self._sums = {
                stat: {name: np.zeros(num_scales) for name in self.buckets}
                for stat in self.STATISTICS
            }
        if label.ndim == 2:
            label = label[None]
            per_pixel = {k: v[None] for k, v in per_pixel.items()}
        for i, one_label in enumerate(label):
            masks, _ = _object_size_masks_and_counts(
                one_label,
                self.thresholds,
                self.ignore_label,
                self.background_class,
            )
            if self.background_class is not None:
                masks["background"] = one_label == self.background_class
            for name in self.buckets:
                for stat in self.STATISTICS:
                    self._sums[stat][name] += per_pixel[stat][i][
                        masks[name]].sum(axis=0)
                self._pixel_counts[name] += int(masks[name].sum())

    def _means(self, scales, what):
        """`{bucket: {scale: {statistic: mean}}}`, NaN for an empty bucket."""
        scales = [float(s) for s in scales]
        if len(set(scales)) != len(scales) or (
            self._num_scales is not None and len(scales) != self._num_scales
        ):
            raise ValueError(
                f"`scales` must be {self._num_scales or 'S'} distinct numbers, "
                f"one per {what}. Received: scales={scales}"
            )
        results = {}
        for name in self.buckets:
            count = self._pixel_counts[name]
            results[name] = {
                scale: {
                    stat: (float(self._sums[stat][name][i] / count)
                           if count else float("nan"))
                    for stat in self.STATISTICS
                }
                for i, scale in enumerate(scales)
            }
        return results
