"""Each scale's own score map by object size: how right it is, how hard it bids."""

import numpy as np
from scipy import special

from keras_scaleattn.evaluation._arrays import valid_class_pixels
from keras_scaleattn.evaluation._per_scale_by_size import PerScaleBySize


class ScaleScoresBySize(PerScaleBySize):
    """Accuracy and score level of each scale's own score map, by object size.

    With extra supervision every scale's own score map (its fc8) gets a
    loss of its own (Chen et al., CVPR 2016, "extra supervision"). This
    reads those maps one scale at a time, for each bucket (`small`,
    `medium`, `large` objects as in `object_size_masks`, plus `background`,
    the pixels of `background_class`):

    - `accuracy`: the fraction of the bucket's pixels that the scale's own
      argmax labels right: where each scale is informed and where it is
      blind;
    - `level`: the mean log-sum-exp of the scale's class scores. A softmax
      ignores a score map's common level, so each scale's own loss leaves
      it free; a max merge (per class, over scales) does not: the scale
      with the higher level wins every class at once. A max model that has
      learnt to take the informed scale shows it as a higher level there.

    Every pixel counts once (ignored pixels excluded).

    Args:
        thresholds: pair of increasing areas in pixels splitting small /
            medium / large. Defaults to `(32**2, 96**2)`.
        ignore_label: int or None. Void label. Defaults to 255.
        background_class: int or None. Class reported as `background`.
            Defaults to 0. With None there is no `background` bucket.

    Example:

    >>> stats = ScaleScoresBySize(thresholds=(10, 20))
    >>> label = np.zeros((8, 8), np.int32)
    >>> label[0:2, 0:2] = 1
    >>> scores = np.zeros((8, 8, 2, 2), np.float32)  # [H, W, scales, classes]
    >>> scores[..., 0, 1] = 5.0   # scale 1 says class 1 everywhere
    >>> scores[..., 1, 0] = 2.0   # scale 0.5 says class 0 everywhere
    >>> stats.update(label, scores)
    >>> small = stats.result([1.0, 0.5])["small"]
    >>> {s: v["accuracy"] for s, v in small.items()}
    {1.0: 1.0, 0.5: 0.0}

    Reference:
        Chen et al., "Attention to Scale: Scale-aware Semantic Image
        Segmentation", CVPR 2016.
    """

    STATISTICS = ("accuracy", "level")

    def update(self, label, scale_scores):
        """Adds one image's (or a batch's) per-scale score maps.

        Args:
            label: int array [H, W] (or a batch [N, H, W]).
            scale_scores: float array [H, W, S, C] (or [N, H, W, S, C]): the
                class scores (logits) of each of the S scales at the label's
                resolution.
        """
        # float32 as the model's scores: an image's S x C maps are large.
        scores = np.asarray(scale_scores, dtype=np.float32)
        label = self._check_label(label, scores, "scale_scores",
                                  "[H, W, S, C]", 2)
        num_scales, num_classes = scores.shape[-2:]
        self._check_num_scales(num_scales, "scale_scores", scores.shape)
        valid = valid_class_pixels(label, self.ignore_label, num_classes,
                                   "scale_scores")
        # Ignored pixels may hold any label; they are never in a bucket.
        truth = np.where(valid, label, 0)[..., None]
        self._add(label, {
            "accuracy": (scores.argmax(axis=-1) == truth).astype(np.float32),
            "level": special.logsumexp(scores, axis=-1),
        })

    def result(self, scales):
        """Accuracy and mean level of each scale per bucket.

        Args:
            scales: sequence of S numbers naming the score maps in order,
                e.g. `(1.0, 0.75, 0.5)`.

        Returns:
            dict `{bucket: {scale: {"accuracy": float, "level": float}}}`;
            NaN for a bucket with no pixels.
        """
        return self._means(scales, "score map")
