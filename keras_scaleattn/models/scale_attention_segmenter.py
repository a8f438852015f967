import math
import numbers
import warnings

import keras

from keras_scaleattn.layers.merge_scores import MERGE_MODES
from keras_scaleattn.layers.merge_scores import MergeScores
from keras_scaleattn.layers.resize_like import ResizeLike
from keras_scaleattn.layers.scale_attention import ScaleAttention
from keras_scaleattn.layers.scale_pyramid import ScalePyramid
from keras_scaleattn.layers.scale_pyramid import check_image_batch_shape
from keras_scaleattn.layers.scale_pyramid import check_image_size
from keras_scaleattn.layers.scale_pyramid import min_input_size
from keras_scaleattn.layers.scale_pyramid import validate_scales
from keras_scaleattn.layers.vgg16_largefov import VGG16LargeFOV
from keras_scaleattn.layers.vgg_preprocessing import VGGPreprocessing
from keras_scaleattn.losses.segmentation_cross_entropy import IGNORE_LABEL
from keras_scaleattn.losses.segmentation_cross_entropy import (
    SegmentationCrossEntropy,
)
from keras_scaleattn.losses.segmentation_cross_entropy import (
    check_label_values,
)
from keras_scaleattn.losses.segmentation_cross_entropy import known_values
from keras_scaleattn.losses.segmentation_cross_entropy import subsample_labels
from keras_scaleattn.ops.resize import spatial_size


def _check_int(value, arg_name, minimum, allow_none=False):
    """`value` as a Python int, or ValueError naming `arg_name`.

    NumPy integers are accepted; bools are not (`True` is an `int` to
    Python, never a count here)."""
    if value is None and allow_none:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or value < minimum):
        allowed = f"an int >= {minimum}"
        if allow_none:
            allowed = "None or " + allowed
        raise ValueError(f"`{arg_name}` must be {allowed}. "
                         f"Received: {arg_name}={value!r}")
    return int(value)


def _check_number(value, arg_name, low, high, allowed):
    """`value` as a float in `[low, high)` (`high` None: `(low, inf)`),
    or ValueError naming `arg_name`, the value and `allowed`."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and math.isfinite(value))
    if ok:
        ok = low <= value < high if high is not None else value > low
    if not ok:
        raise ValueError(f"`{arg_name}` must be {allowed}. "
                         f"Received: {arg_name}={value!r}")
    return float(value)


def _check_label_size(images, labels):
    """Raises ValueError when label maps and images differ in height/width
    (known statically; the loss would subsample them silently)."""
    if images is None or labels is None or isinstance(labels, dict):
        return
    image_hw = tuple(images.shape)[1:3]
    label_hw = tuple(labels.shape)[1:3]
    if None in image_hw + label_hw or len(label_hw) < 2:
        return
    if tuple(image_hw) != tuple(label_hw):
        raise ValueError(
            "Label maps must have their images' height and width (one class "
            "id per pixel). Received: images.shape="
            f"{tuple(images.shape)}, labels.shape={tuple(labels.shape)}")


def scale_output_name(index):
    """Name of the output holding the own logits of `scales[index]`.

    Args:
        index: int. The scale's position in the model's `scales` (not the
            scale's value).

    Returns:
        str, `"scale_logits_{index}"`.

    Example:

    >>> scale_output_name(2)  # scale 0.5 of scales=(1.0, 0.75, 0.5)
    'scale_logits_2'
    """
    return f"scale_logits_{index}"


@keras.saving.register_keras_serializable(package="keras_scaleattn")
class ScaleAttentionSegmenter(keras.Model):
    """Attention to Scale: a multi-scale DeepLab-LargeFOV with scale attention.

    The input image is resized to every scale (`ScalePyramid`), one
    DeepLab-LargeFOV VGG-16 trunk with shared weights (`VGG16LargeFOV`)
    computes fc7 features and fc8 class scores at each scale, the score maps
    are resized to the finest scale's resolution (`ResizeLike`) and merged
    per pixel (`MergeScores`): with the weights of the attention head
    (`ScaleAttention`) over the fc7 features, or by max / average pooling
    over scales (the paper's baselines). `scales=(1.0,)` is plain
    DeepLab-LargeFOV.

    Inputs are float RGB images in [0, 255], `[B, H, W, 3]`, of any size
    with `H, W >= min_input_size(scales)` (33 for the default scales); the
    Caffe VGG preprocessing happens inside the model. Outputs are a dict:

    - `"logits"`: the merged class scores `[B, h, w, num_classes]` at output
      stride 8 of the finest scale (`h = ceil(H / 8)` for scale 1); apply
      `softmax`/`argmax` and upsample to the image for a segmentation.
    - `"attention"` (merge `"attention"`, two or more scales): the weight of
      every scale at each position, `[B, h, w, S]`, summing to 1.
    - `"scale_logits_{i}"` (with `extra_supervision` and two or more
      scales): the own fc8 scores of scale `scales[i]` at its own
      resolution, for the extra losses of the paper's E-Supv. `i` is the
      index in `scales`, not the scale's value (`"scale_logits_1"` is 0.75
      for the default scales); `scale_output_name(i)` gives the name.

    Args:
        num_classes: int >= 2. Number of classes, including background.
        scales: sequence of floats in (0, 2], none below 0.001. The input
            scales; the largest is the finest. Defaults to
            `(1.0, 0.75, 0.5)`.
        merge: str. `"attention"`, `"max"` or `"average"`.
            Defaults to `"attention"`.
        extra_supervision: bool. Whether to expose each scale's logits for
            the extra losses (used by `compile(loss="auto")`).
            Defaults to `True`.
        trunk_width: float > 0. Filter multiplier of the trunk
            (1.0 = VGG-16). Defaults to `1.0`.
        attention_filters: int >= 1 or None. Filters of the attention
            head's first convolution; None means `round(512 * trunk_width)`.
            Defaults to `None`.
        dropout: float in [0, 1). Dropout rate of fc6, fc7 and the attention
            head. Defaults to `0.5`.
        **kwargs: `keras.Model` keyword arguments (`name`, `dtype`).

    Raises:
        ValueError: naming the argument, the value received and what is
            allowed, for a bad `num_classes` (bools and values below 2 are
            refused; NumPy integers are accepted), `scales`, `merge`,
            `extra_supervision`, `trunk_width`, `attention_filters` or
            `dropout`.
        TypeError: for an unknown keyword argument.

    Example:

    >>> model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
    ...                                 trunk_width=0.125)
    >>> outputs = model.predict(np.zeros((1, 65, 65, 3)), verbose=0)
    >>> outputs["logits"].shape, outputs["attention"].shape
    ((1, 9, 9, 3), (1, 9, 9, 2))

    Reference:
        [Chen et al., Attention to Scale: Scale-aware Semantic Image
        Segmentation, CVPR 2016](https://arxiv.org/abs/1511.03339)
    """

    def __init__(self, num_classes, scales=(1.0, 0.75, 0.5), merge="attention",
                 extra_supervision=True, trunk_width=1.0,
                 attention_filters=None, dropout=0.5, **kwargs):
        num_classes = _check_int(num_classes, "num_classes", minimum=2)
        trunk_width = _check_number(trunk_width, "trunk_width", 0.0, None,
                                    "a positive number")
        attention_filters = _check_int(attention_filters, "attention_filters",
                                       minimum=1, allow_none=True)
        dropout = _check_number(dropout, "dropout", 0.0, 1.0,
                                "a number in [0, 1)")
        scales = validate_scales(scales)
        if merge not in MERGE_MODES:
            raise ValueError(
                f"`merge` must be one of {MERGE_MODES}. Received: merge={merge!r}"
            )
        if not isinstance(extra_supervision, bool):
            raise ValueError(
                "`extra_supervision` must be a bool. "
                f"Received: extra_supervision={extra_supervision!r}"
            )
        unknown = sorted(set(kwargs) - {"name", "dtype", "trainable"})
        if unknown:
            # keras.Model would ignore a misspelt argument (`mege="max"`)
            # and build the default model.
            raise TypeError(
                f"ScaleAttentionSegmenter got unexpected keyword arguments "
                f"{unknown}. It takes num_classes, scales, merge, "
                "extra_supervision, trunk_width, attention_filters, dropout, "
                "name, dtype and trainable.")
        if attention_filters is None:
            attention_filters = max(1, int(round(512 * trunk_width)))
        dtype = kwargs.pop("dtype", None)

        images = keras.Input(shape=(None, None, 3), name="images")
        x = VGGPreprocessing(name="preprocessing", dtype=dtype)(images)
        pyramid = ScalePyramid(scales=scales, name="scale_pyramid",
                               dtype=dtype)(x)
        trunk = VGG16LargeFOV(num_classes=num_classes, width=trunk_width,
                              dropout=dropout, name="trunk", dtype=dtype)
        features, scores = [], []
        for image in pyramid:
            fc7, fc8 = trunk(image)
            features.append(fc7)
            scores.append(fc8)

        finest = scales.index(max(scales))
        outputs = {}
        if len(scales) == 1:
            outputs["logits"] = keras.layers.Identity(
                name="logits", dtype="float32")(scores[0])
        else:
            resize = ResizeLike(name="resize_scores", dtype=dtype)
            resized = [
                f if i == finest else resize(f, scores[finest])
                for i, f in enumerate(scores)
            ]
            attention_logits = None
            if merge == "attention":
                attention_logits = ScaleAttention(
                    num_scales=len(scales), filters=attention_filters,
                    dropout=dropout, target_index=finest,
                    name="scale_attention", dtype=dtype,
                )(features)
            merged = MergeScores(mode=merge, name="merge_scores")(
                resized, attention_logits
            )
            outputs["logits"] = keras.layers.Identity(
                name="logits", dtype="float32")(merged)
            if attention_logits is not None:
                # Softmax in float32, as MergeScores does, so the weights
                # users read are the ones that merged the scores.
                outputs["attention"] = keras.layers.Softmax(
                    axis=-1, name="attention", dtype="float32"
                )(attention_logits)
            if extra_supervision:
                for i, f in enumerate(scores):
                    name = scale_output_name(i)
                    outputs[name] = keras.layers.Identity(
                        name=name, dtype="float32")(f)

        super().__init__(inputs=images, outputs=outputs, **kwargs)
        if dtype is not None:
            # The model's own policy: `compile` adds loss scaling for
            # mixed_float16, and `get_config` keeps it for `load_model`.
            self.dtype_policy = dtype
        self.num_classes = num_classes
        self.scales = scales
        self.merge = merge
        self.extra_supervision = extra_supervision
        self.trunk_width = float(trunk_width)
        self.attention_filters = attention_filters
        self.dropout = float(dropout)
        self.trunk = trunk

    @property
    def min_input_size(self):
        """Smallest height and width this model accepts."""
        return min_input_size(self.scales)

    @property
    def supervised_outputs(self):
        """Names of the outputs that get a loss: the merged and each scale's."""
        return [name for name in self.output_names
                if name == "logits" or name.startswith("scale_logits_")]

    def compile(self, optimizer="auto", loss="auto", loss_weights=None,
                metrics=None, weighted_metrics=None, **kwargs):
        """Configures the model for training, with the paper's defaults.

        Metrics see what the losses see: the full-resolution labels
        subsampled to each output's size (`subsample_labels`, class ids
        never interpolated) and only the pixels not labelled 255, which
        are weighted 0. So `keras.metrics.SparseCategoricalAccuracy()` is
        the pixel accuracy of the stride-8 map and
        `keras.metrics.MeanIoU(num_classes, sparse_y_pred=False)` its mIoU
        (accumulated over the batches of an epoch). For the paper's
        full-resolution mIoU use
        `keras_scaleattn.evaluation.evaluate_segmenter`.

        Args:
            optimizer: a Keras optimizer or `"auto"`: plain
                `keras.optimizers.SGD` with momentum 0.9 and learning rate
                1e-3 (the paper's base settings only). The paper's solver,
                with L2 weight decay 5e-4 and the head at 10x the learning
                rate, is `keras_scaleattn.training.CaffeSGD`, which the
                training configs use.
            loss: a loss, a dict of losses by output name, or `"auto"`:
                `SegmentationCrossEntropy` on `"logits"` and, with extra
                supervision, on every `"scale_logits_{i}"` (1 + S losses).
            loss_weights: dict of weights by output name; `"auto"` losses
                are all weighted 1, as in the paper.
            metrics: None, a list of metrics (names or `keras.metrics`
                objects) for the merged `"logits"`, or a dict of metrics (or
                lists) by output name, among `supervised_outputs`
                (`"attention"` has no labels). Metrics are named
                `"{output}_{metric name}"` when the model has several
                outputs (`"logits_accuracy"`). Defaults to None.
            weighted_metrics: the same as `metrics` (the ignore mask is the
                only weight: sample weights are not taken). Defaults to None.
            **kwargs: other `keras.Model.compile` arguments.

        Raises:
            ValueError: if `metrics` or `weighted_metrics` is not a list or
                dict, or names an output without labels.

        Example:

        >>> model = ScaleAttentionSegmenter(num_classes=3, scales=(1.0, 0.5),
        ...                                 trunk_width=0.0625)
        >>> model.compile(metrics=[
        ...     keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
        ...     keras.metrics.MeanIoU(3, sparse_y_pred=False, name="miou")])
        >>> labels = np.zeros((2, 33, 33), "int32")
        >>> labels[:, :8] = 255
        >>> results = model.evaluate(np.zeros((2, 33, 33, 3)), labels,
        ...                          verbose=0, return_dict=True)
        >>> sorted(k for k in results if not k.endswith("loss"))
        ['logits_accuracy', 'logits_miou']
        """
        if isinstance(optimizer, str) and optimizer == "auto":
            optimizer = keras.optimizers.SGD(learning_rate=1e-3, momentum=0.9)
        if isinstance(loss, str) and loss == "auto":
            loss = {name: SegmentationCrossEntropy()
                    for name in self.supervised_outputs}
        by_output = self._metrics_by_output(metrics, "metrics")
        weighted = self._metrics_by_output(weighted_metrics, "weighted_metrics")
        merged = {}
        for name in self.supervised_outputs:
            merged_list = by_output.get(name, []) + weighted.get(name, [])
            if merged_list:
                merged[name] = merged_list
        # Every metric goes to Keras as a weighted metric: the weights are
        # the ignore mask made in `compute_metrics`.
        super().compile(optimizer=optimizer, loss=loss,
                        loss_weights=loss_weights, metrics=None,
                        weighted_metrics=merged or None, **kwargs)

    def _metrics_by_output(self, metrics, arg_name):
        """`metrics` as a dict `output name -> list`, checked."""
        if metrics is None:
            return {}
        supervised = self.supervised_outputs
        if isinstance(metrics, (list, tuple)):
            return {"logits": list(metrics)} if metrics else {}
        if isinstance(metrics, dict):
            unknown = sorted(set(metrics) - set(supervised))
            if not unknown:
                return {name: list(value) if isinstance(value, (list, tuple))
                        else [value] for name, value in metrics.items()
                        if value is not None}
            received = f"a dict with the keys {unknown}"
        else:
            received = f"{arg_name}={metrics!r}"
        raise ValueError(
            f"`{arg_name}` must be a list of metrics (for the merged "
            '"logits") or a dict of metrics by output name, among the outputs '
            f"with labels {supervised}. Received: {received}")

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the compiled metrics on subsampled, masked labels.

        Each supervised output's metrics get the labels subsampled to its
        size, as the loss does (`subsample_labels`), with pixels labelled
        255 given a weight of 0 (and class 0 in their place, so that
        confusion-matrix metrics stay in range).
        """
        if self._compile_metrics is None or y is None:
            return super().compute_metrics(x, y, y_pred, sample_weight)
        labels_by_output = y if isinstance(y, dict) else None
        y_true, weights = {}, {}
        placeholder = None
        for name in self.supervised_outputs:
            labels = y if labels_by_output is None else labels_by_output.get(name)
            if labels is None:
                continue
            labels = subsample_labels(labels, spatial_size(y_pred[name]))
            valid = keras.ops.not_equal(labels, IGNORE_LABEL)
            y_true[name] = keras.ops.where(valid, labels, 0)
            weights[name] = keras.ops.cast(valid, "float32")
            placeholder = name
        if placeholder is None:
            return self.get_metrics_result()
        # Keras' CompileMetrics takes one entry per output; outputs without
        # metrics ("attention") get one that it does not read.
        for name in y_pred:
            if name not in y_true:
                y_true[name] = y_true[placeholder]
                weights[name] = weights[placeholder]
        with warnings.catch_warnings():
            # MeanIoU (integer counts) warns about float weights; the mask's
            # are exactly 0 and 1.
            warnings.filterwarnings(
                "ignore", message="You are passing weight as `float`",
                category=UserWarning)
            self._compile_metrics.update_state(y_true, y_pred, weights)
        return self.get_metrics_result()

    def _check_images(self, images):
        shape = getattr(images, "shape", None)
        if shape is not None:
            check_image_batch_shape(shape)
            check_image_size(shape, self.scales)

    def __call__(self, *args, **kwargs):
        # Before Keras' own input check, whose message prints the array.
        if args:
            self._check_images(args[0])
        return super().__call__(*args, **kwargs)

    def predict(self, x, *args, **kwargs):
        # Arrays are checked before Keras' predict loop: under JAX an error
        # raised inside it leaves the model's variables purged (unusable).
        self._check_images(x)
        return super().predict(x, *args, **kwargs)

    def compile_from_config(self, config):
        # Keras skips restoring the compile state of models that override
        # `compile`; ours takes the same arguments, so restore it as the base
        # class would.
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built and getattr(self, "optimizer", None) is not None:
            self.optimizer.build(self.trainable_variables)

    def fit(self, *args, sample_weight=None, class_weight=None, **kwargs):
        """`keras.Model.fit`, without `sample_weight` / `class_weight`.

        Labels are full-resolution maps subsampled to every output; Keras'
        weights would have to follow the same subsampling. They are refused
        before training starts (under JAX a failing step leaves the model's
        variables unusable). Mark pixels to leave out with the ignore label
        255; weight the outputs with `compile(loss_weights=...)`.

        Raises:
            ValueError: before training, for `sample_weight` or
                `class_weight`, for label arrays of another height and width
                than their images, and for label arrays holding ids outside
                `[0, num_classes)` other than 255 (in a dataset such ids make
                the loss NaN: `SegmentationCrossEntropy`).
        """
        if sample_weight is not None or class_weight is not None:
            raise ValueError(
                "ScaleAttentionSegmenter.fit does not take `sample_weight` or "
                "`class_weight` (the labels are subsampled to each output). "
                "Label pixels to leave out 255 (ignore), and weight outputs "
                "with compile(loss_weights=...). Received: sample_weight="
                f"{type(sample_weight).__name__}, class_weight="
                f"{type(class_weight).__name__}")
        # Arrays are checked here, before the training loop (datasets in
        # `compute_loss`): under JAX a failing step purges the variables.
        x = args[0] if args else kwargs.get("x")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        if hasattr(x, "shape") and hasattr(y, "shape"):
            _check_label_size(x, y)
        labels = known_values(y) if hasattr(y, "shape") else None
        if labels is not None:
            # Inside the training step such labels only make the loss NaN
            # (and the weights with it): check them here, once.
            check_label_values(labels, self.num_classes, arg_name="y")
        return super().fit(*args, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        if sample_weight is not None:
            # E.g. a dataset of (images, labels, weights) triples.
            raise ValueError(
                "ScaleAttentionSegmenter does not take sample weights (the "
                "labels are subsampled to each output): give the dataset "
                "(images, labels) pairs and label pixels to leave out 255.")
        _check_label_size(x, y)
        # One label map supervises every output: `fit(images, labels)` works
        # with the dict of losses that extra supervision needs.
        if y is not None and not isinstance(y, dict):
            y = {name: y for name in self.supervised_outputs}
        if isinstance(y, dict) and isinstance(y_pred, dict):
            y_pred = {name: y_pred[name] for name in y}
        return super().compute_loss(x=x, y=y, y_pred=y_pred,
                                    sample_weight=sample_weight,
                                    training=training)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_classes": self.num_classes,
            "scales": self.scales,
            "merge": self.merge,
            "extra_supervision": self.extra_supervision,
            "trunk_width": self.trunk_width,
            "attention_filters": self.attention_filters,
            "dropout": self.dropout,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
