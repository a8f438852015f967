"""Evaluates a segmenter on a dataset as the paper does, at full resolution."""

import keras
import numpy as np

from keras_scaleattn.evaluation.attention_by_size import AttentionBySize
from keras_scaleattn.evaluation.confusion_matrix import (
    SegmentationConfusionMatrix,
)
from keras_scaleattn.evaluation.merge_ceiling import MergeCeiling
from keras_scaleattn.evaluation.object_size import ObjectSizeMIoU
from keras_scaleattn.evaluation.scale_scores_by_size import ScaleScoresBySize
from keras_scaleattn.inference.compiled import compile_model_function
from keras_scaleattn.inference.full_resolution import full_resolution_outputs
from keras_scaleattn.inference.full_resolution import pad_to_evaluation_size
from keras_scaleattn.models.scale_attention_segmenter import scale_output_name


def compiled_full_resolution(model, flip=False, scale_logits=False):
    """`full_resolution_outputs` compiled for the backend (tf.function / jit).

    Args:
        model: a `ScaleAttentionSegmenter`.
        flip: bool. Average with mirrored images.
        scale_logits: bool. Also return each scale's own scores (models
            with extra supervision).

    Returns:
        A callable `images -> dict of arrays` (see `full_resolution_outputs`).
    """
    def run(images):
        return full_resolution_outputs(model, images, flip=flip,
                                       scale_logits=scale_logits)

    return compile_model_function(model, run)


def _runtime_predict(runtime, flip):
    """Full-resolution outputs of an exported model, optionally flip-averaged
    (the probabilities and attention of the mirrored images, mirrored back,
    as `full_resolution_outputs`)."""

    def predict(images):
        outputs = runtime(images)
        if not flip:
            return outputs
        mirrored = runtime(images[:, :, ::-1])
        averaged = {name: (outputs[name] + mirrored[name][:, :, ::-1]) / 2.0
                    for name in ("probabilities", "attention")
                    if name in outputs}
        averaged["class_map"] = np.argmax(
            averaged["probabilities"], axis=-1).astype(np.int32)
        return averaged

    return predict


def _known_num_batches(dataset, max_batches):
    """The number of batches `evaluate_segmenter` will read, or None.

    Known for a `tf.data.Dataset` of finite, known cardinality and for
    sequences; None (an open-ended progress bar) for generators and for
    datasets whose length TensorFlow cannot tell (e.g. after `filter`).
    """
    if hasattr(dataset, "cardinality"):
        count = int(dataset.cardinality())
        count = count if count >= 0 else None
    elif hasattr(dataset, "__len__"):
        count = len(dataset)
    else:
        count = None
    if count is not None and max_batches is not None:
        count = min(count, max_batches)
    return count


def evaluate_segmenter(model, dataset, num_classes, *, class_names=None,
                       size_thresholds=(32**2, 96**2), flip=False,
                       ignore_label=255, background_class=0, max_batches=None,
                       verbose=1):
    """mIoU, per-class IoU, and mIoU, attention and each scale by object size.

    Predictions are made at the images' full resolution (pad to 8k + 1,
    upsample 8x, crop, as the paper), and compared with the full-resolution
    labels, ignoring `ignore_label`.

    Args:
        model: a `ScaleAttentionSegmenter`, or an exported model as a
            `keras_scaleattn.export.SegmentationRuntime` (SavedModel, TFLite,
            ONNX, TensorRT), which computes the same full-resolution outputs
            at its own precision; its scales come from the export's
            metadata, and each scale's own scores (`scales_by_size`) are not
            exported. A fixed-size model needs `fit="letterbox"` for images
            of other sizes.
        dataset: iterable of `(images [B, H, W, 3], labels [B, H, W])`
            batches (e.g. `make_pipeline(source, training=False)`).
        num_classes: int. Number of classes.
        class_names: optional sequence of names for the per-class table.
        size_thresholds: pair of areas in pixels splitting objects into small,
            medium and large. Defaults to COCO's `(32**2, 96**2)`.
        flip: bool. Average with mirrored images. Defaults to False (paper).
        ignore_label: int. Defaults to 255.
        background_class: int or None. The class that is not an object:
            never counted in the size buckets, and the `background` row of
            `attention_by_size` / `scales_by_size`. None for a dataset
            without one (Cityscapes). Defaults to 0.
        max_batches: int or None. Stop after this many batches.
        verbose: int. 1 shows a progress bar.

    Returns:
        dict: `miou`, `per_class_iou`, `pixel_accuracy`, `mean_class_accuracy`,
        `confusion_matrix` (int64 `[C, C]` pixel counts, rows the ground
        truth and columns the prediction, for error analysis), `by_size`
        (`{bucket: {"miou", "pixel_accuracy", "num_pixels", "num_objects",
        ...}}`), `attention_by_size` (`{bucket: {scale:
        mean weight}}`, models with attention only), `scales_by_size`
        (`{bucket: {scale: {"accuracy", "level"}}}`: each scale's own
        score map, see `ScaleScoresBySize`; models with extra supervision
        only), `merge_ceiling` (`{"best_scale": {...}, "best_mix": {...},
        "best_scale_off_edges": {...}, "best_mix_off_edges": {...}}`: the
        mIoU a perfect per-pixel choice or mix of those maps would reach,
        overall and away from label edges, see `MergeCeiling`; models with
        extra supervision only) and `num_images`.

    Example:

    ```python
    source = get_source("synthetic", split="val")
    results = evaluate_segmenter(model, make_pipeline(source, training=False),
                                 num_classes=5, size_thresholds=(16**2, 40**2))
    ```
    """
    confusion = SegmentationConfusionMatrix(
        num_classes, ignore_label=ignore_label, class_names=class_names)
    by_size = ObjectSizeMIoU(num_classes, thresholds=size_thresholds,
                             ignore_label=ignore_label, class_names=class_names,
                             background_class=background_class)
    # JAX compiles once per input shape: padding the images first (the
    # padding inside is then a no-op) compiles once per evaluation size, not
    # once per image size, with the same outputs once cropped back.
    pad_first = False
    if isinstance(model, keras.Model):
        pad_first = keras.backend.backend() != "tensorflow"
        has_attention = "attention" in model.output_names
        scales = list(getattr(model, "scales", ()))
        has_scale_logits = len(scales) > 1 and all(
            scale_output_name(i) in model.output_names
            for i in range(len(scales)))
        predict = compiled_full_resolution(model, flip=flip,
                                           scale_logits=has_scale_logits)
    else:
        metadata = getattr(model, "metadata", None) or {}
        has_attention = bool(metadata.get("has_attention"))
        scales = list(metadata.get("scales") or ())
        has_scale_logits = False
        predict = _runtime_predict(model, flip)
    attention = (AttentionBySize(thresholds=size_thresholds,
                                 ignore_label=ignore_label,
                                 background_class=background_class)
                 if has_attention else None)
    scale_scores = (ScaleScoresBySize(thresholds=size_thresholds,
                                      ignore_label=ignore_label,
                                      background_class=background_class)
                    if has_scale_logits else None)
    ceiling = (MergeCeiling(num_classes, ignore_label=ignore_label,
                            class_names=class_names)
               if has_scale_logits else None)
    progress = keras.utils.Progbar(_known_num_batches(dataset, max_batches),
                                   verbose=verbose, unit_name="batch")
    num_images = 0
    for index, (images, labels) in enumerate(dataset):
        if max_batches is not None and index >= max_batches:
            break
        images = keras.ops.convert_to_numpy(images)
        labels = keras.ops.convert_to_numpy(labels)
        if labels.ndim == 4:
            labels = labels[..., 0]
        height, width = images.shape[1:3]
        inputs = (pad_to_evaluation_size(model, images) if pad_first
                  else images.astype("float32"))
        outputs = {k: keras.ops.convert_to_numpy(v)[:, :height, :width]
                   for k, v in predict(inputs).items()}
        confusion.update(labels, outputs["class_map"])
        by_size.update(labels, outputs["class_map"])
        if attention is not None:
            attention.update(labels, outputs["attention"])
        if scale_scores is not None:
            scale_scores.update(labels, outputs["scale_logits"])
            ceiling.update(labels, outputs["scale_logits"],
                           outputs["class_map"])
        num_images += len(images)
        progress.add(1)
    if num_images == 0:
        raise ValueError("`dataset` yielded no images to evaluate.")
    results = confusion.result()
    results["by_size"] = by_size.result()
    if attention is not None:
        results["attention_by_size"] = attention.result(scales)
    if scale_scores is not None:
        results["scales_by_size"] = scale_scores.result(scales)
        results["merge_ceiling"] = ceiling.result()
    results["num_images"] = num_images
    return results
