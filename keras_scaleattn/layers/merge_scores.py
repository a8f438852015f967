import keras
from keras import ops

MERGE_MODES = ("attention", "max", "average")


@keras.saving.register_keras_serializable(package="keras_scaleattn")
class MergeScores(keras.layers.Layer):
    """Merges the score maps of several scales into one, per pixel.

    With `mode="attention"`, Eq. (1)-(2) of the paper:
    `w_i^s = exp(h_i^s) / sum_t exp(h_i^t)` and `g_{i,c} = sum_s w_i^s f_{i,c}^s`,
    where `h` are the attention logits and `f^s` the score maps (logits
    before the class softmax), all at the finest scale's resolution. The
    weights are shared by all classes. `mode="max"` and `mode="average"` are
    the paper's baselines, `max_s f^s` and `mean_s f^s`; they ignore the
    attention argument.

    Computed in float32 under mixed precision: the softmax and the weighted
    sum of large logits lose too much in float16.

    Args:
        mode: str. One of `"attention"`, `"max"`, `"average"`.
            Defaults to `"attention"`.
        **kwargs: base layer keyword arguments.

    Input shape:
        `score_maps`: a list of S tensors `[B, H, W, C]` of one size;
        `attention_logits`: `[B, H, W, S]` (only for `mode="attention"`).

    Output shape:
        `[B, H, W, C]`, float32.

    Example:

    >>> merge = MergeScores(mode="attention")
    >>> f = [np.ones((1, 4, 4, 3)), np.zeros((1, 4, 4, 3))]
    >>> merged = merge(f, np.zeros((1, 4, 4, 2)))
    >>> keras.ops.convert_to_numpy(merged)[0, 0, 0].tolist()
    [0.5, 0.5, 0.5]

    Reference:
        [Chen et al., Attention to Scale, CVPR 2016](https://arxiv.org/abs/1511.03339)
    """

    def __init__(self, mode="attention", **kwargs):
        super().__init__(**kwargs)
        if mode not in MERGE_MODES:
            raise ValueError(
                f"`mode` must be one of {MERGE_MODES}. Received: mode={mode!r}"
            )
        self.mode = mode

    def _check(self, score_maps_shape, attention_logits_shape):
        if not isinstance(score_maps_shape, (list, tuple)) or not all(
            isinstance(s, (list, tuple)) for s in score_maps_shape
        ) or not score_maps_shape:
            raise ValueError(
                "`score_maps` must be a non-empty list of [B, H, W, C] tensors. "
                f"Received shapes: {score_maps_shape}"
            )
        shapes = [tuple(s) for s in score_maps_shape]
        for shape in shapes:
            if len(shape) != 4 or any(
                a is not None and b is not None and a != b
                for a, b in zip(shape[1:], shapes[0][1:])
            ):
                raise ValueError(
                    "`score_maps` must all be [B, H, W, C] tensors of one size "
                    f"(resize them first). Received shapes: {shapes}"
                )
        if self.mode != "attention":
            return
        if attention_logits_shape is None:
            raise ValueError(
                "`attention_logits` is required when mode='attention'. "
                "Received: attention_logits=None"
            )
        attention_logits_shape = tuple(attention_logits_shape)
        if len(attention_logits_shape) != 4 or attention_logits_shape[-1] not in (
            None, len(shapes)
        ):
            raise ValueError(
                f"`attention_logits` must be [B, H, W, {len(shapes)}] for "
                f"{len(shapes)} score maps. Received: "
                f"attention_logits.shape={attention_logits_shape}"
            )

    def build(self, score_maps_shape, attention_logits_shape=None):
        self._check(score_maps_shape, attention_logits_shape)

    def call(self, score_maps, attention_logits=None):
        self._check(
            [tuple(f.shape) for f in score_maps],
            None if attention_logits is None else tuple(attention_logits.shape),
        )
        if len(score_maps) == 1:  # One scale: its weight is 1 everywhere.
            return ops.cast(score_maps[0], "float32")
        scores = ops.stack([ops.cast(f, "float32") for f in score_maps], axis=-1)
        if self.mode == "max":
            return ops.max(scores, axis=-1)
        if self.mode == "average":
            return ops.mean(scores, axis=-1)
        weights = ops.softmax(ops.cast(attention_logits, "float32"), axis=-1)
        return ops.sum(scores * ops.expand_dims(weights, axis=-2), axis=-1)

    def compute_output_shape(self, score_maps_shape,
                             attention_logits_shape=None):
        return tuple(score_maps_shape[0])

    def compute_output_spec(self, score_maps, attention_logits=None):
        return keras.KerasTensor(tuple(score_maps[0].shape), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
