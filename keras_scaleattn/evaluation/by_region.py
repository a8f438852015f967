"""Pixel accuracy and mean attention weight per scale over named regions."""

import numpy as np

from keras_scaleattn.evaluation._arrays import as_class_array


class AccuracyByRegion:
    """Pixel accuracy and mean attention of each scale per region.

    Labels say which class a pixel is; a region map says which kind of
    pixel it is (for the synthetic dataset, `synthetic_region_maps`: a decoy
    and a bare disc share a label but not a region). Accumulated over
    images, each region's accuracy is `#(prediction == label) / #pixels`
    and its attention the mean weight of each scale over its pixels (every
    pixel counts once). Ignored pixels (`ignore_label`) are left out.

    Args:
        region_names: sequence of str. Name of region `i` of the maps.
        ignore_label: int or None. Void label. Defaults to 255.

    Example:

    >>> stats = AccuracyByRegion(["rest", "decoy"])
    >>> regions = np.array([[0, 1], [1, 1]])
    >>> labels = np.array([[0, 3], [3, 3]])
    >>> predictions = np.array([[0, 3], [1, 3]])
    >>> attention = np.array([[[1.0, 0.0], [0.2, 0.8]], [[0.5, 0.5], [0.2, 0.8]]])
    >>> stats.update(regions, labels, predictions, attention)
    >>> result = stats.result([1.0, 0.5])
    >>> round(result["decoy"]["accuracy"], 3), result["decoy"]["pixels"]
    (0.667, 3)
    >>> {s: round(w, 3) for s, w in result["decoy"]["attention"].items()}
    {1.0: 0.3, 0.5: 0.7}
    """

    def __init__(self, region_names, ignore_label=255):
        self.region_names = tuple(str(name) for name in region_names)
        if not self.region_names:
            raise ValueError(
                "`region_names` must name at least one region. "
                f"Received: region_names={region_names!r}"
            )
        self.ignore_label = ignore_label
        self.reset()

    def reset(self):
        """Forgets everything seen."""
        count = len(self.region_names)
        self._pixels = np.zeros(count, np.int64)
        self._correct = np.zeros(count, np.int64)
        self._weights = None

    def update(self, regions, labels, predictions, attention=None):
        """Adds images.

        Args:
            regions: int array `[..., H, W]` of region ids in
                `[0, len(region_names))`.
            labels: int array of the same shape: ground-truth class ids.
            predictions: int array of the same shape: predicted class ids.
            attention: float array `[..., H, W, S]` of attention weights,
                or None (a model without attention). Defaults to None.

        Raises:
            ValueError: for mismatched shapes or region ids out of range.
        """
        regions = as_class_array(regions, "regions")
        labels = as_class_array(labels, "labels")
        predictions = as_class_array(predictions, "predictions")
        if not regions.shape == labels.shape == predictions.shape:
            raise ValueError(
                "`regions`, `labels` and `predictions` must have the same "
                f"shape. Received: regions.shape={regions.shape}, "
                f"labels.shape={labels.shape}, "
                f"predictions.shape={predictions.shape}"
            )
        count = len(self.region_names)
        if regions.size and (regions.min() < 0 or regions.max() >= count):
            raise ValueError(
                f"`regions` must hold ids in [0, {count}) "
                f"({len(self.region_names)} region names). Received ids from "
                f"{regions.min()} to {regions.max()}"
            )
        valid = np.ones(labels.shape, bool)
        if self.ignore_label is not None:
            valid = labels != self.ignore_label
        ids = regions[valid]
        self._pixels += np.bincount(ids, minlength=count)
        self._correct += np.bincount(
            ids, weights=(predictions[valid] == labels[valid]), minlength=count
        ).astype(np.int64)
        if attention is not None:
            attention = np.asarray(attention, np.float64)
            if attention.shape[:-1] != regions.shape:
                raise ValueError(
                    "`attention` must be `regions.shape + (num_scales,)`. "
                    f"Received: attention.shape={attention.shape}, "
                    f"regions.shape={regions.shape}"
                )
            sums = np.stack([
                np.bincount(ids, weights=attention[..., s][valid], minlength=count)
                for s in range(attention.shape[-1])
            ], axis=-1)
            if self._weights is None:
                self._weights = np.zeros((count, attention.shape[-1]))
            elif self._weights.shape[-1] != attention.shape[-1]:
                raise ValueError(
                    f"`attention` has {attention.shape[-1]} scales, earlier "
                    f"updates had {self._weights.shape[-1]}."
                )
            self._weights += sums

    def result(self, scales=None):
        """Accuracy, pixel count and (with attention) mean weights per region.

        Args:
            scales: sequence of scale factors naming the attention channels,
                or None for their indices. Defaults to None.

        Returns:
            dict region name -> `{"pixels", "accuracy"}` plus `"attention"`
            (dict scale -> mean weight) when attention was given; accuracy
            and weights are NaN for a region with no pixels.
        """
        out = {}
        for i, name in enumerate(self.region_names):
            pixels = int(self._pixels[i])
            entry = {
                "pixels": pixels,
                "accuracy": (float(self._correct[i] / pixels) if pixels
                             else float("nan")),
            }
            if self._weights is not None:
                keys = (list(scales) if scales is not None
                        else list(range(self._weights.shape[-1])))
                entry["attention"] = {
                    key: (float(self._weights[i, s] / pixels) if pixels
                          else float("nan"))
                    for s, key in enumerate(keys)
                }
            out[name] = entry
        return out


def accuracy_by_region(model, images, labels, regions, region_names,
                       batch_size=8, scales=None):
    """Runs `model` at full resolution and returns `AccuracyByRegion` results.

    Args:
        model: a `ScaleAttentionSegmenter`.
        images: array `[N, H, W, 3]`, RGB in [0, 255].
        labels: int array `[N, H, W]`.
        regions: int array `[N, H, W]` of region ids.
        region_names: sequence of str, one per region id.
        batch_size: positive int. Defaults to 8.
        scales: scale factors naming the attention channels; None takes
            `model.scales` when the model has them. Defaults to None.

    Returns:
        dict, as `AccuracyByRegion.result`.

    Example:

    ```python
    images, labels = synthetic_scale_arrays("val", 100)
    regions = synthetic_region_maps("val", 100)
    accuracy_by_region(model, images, labels, regions, SYNTHETIC_REGION_NAMES)
    ```
    """
    # Imported here: `evaluator` needs Keras ops, the metric above does not.
    from keras_scaleattn.evaluation.evaluator import compiled_full_resolution

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            "`batch_size` must be a positive int. "
            f"Received: batch_size={batch_size!r}"
        )
    if len(images) != len(labels) or len(images) != len(regions):
        raise ValueError(
            "`images`, `labels` and `regions` must hold the same number of "
            f"images. Received: {len(images)}, {len(labels)} and {len(regions)}"
        )
    run = compiled_full_resolution(model)
    stats = AccuracyByRegion(region_names)
    for start in range(0, len(images), batch_size):
        stop = start + batch_size
        out = run(np.asarray(images[start:stop], np.float32))
        attention = out.get("attention")
        stats.update(np.asarray(regions[start:stop]), np.asarray(labels[start:stop]),
                     np.asarray(out["class_map"]),
                     None if attention is None else np.asarray(attention))
    if scales is None:
        scales = getattr(model, "scales", None)
    return stats.result(scales)
