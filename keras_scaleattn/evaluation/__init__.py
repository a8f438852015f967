"""Evaluation: confusion-matrix mIoU; mIoU, attention and each scale by object size; merge ceilings; reports."""

from keras_scaleattn.evaluation.attention_by_size import AttentionBySize
from keras_scaleattn.evaluation.by_region import AccuracyByRegion
from keras_scaleattn.evaluation.by_region import accuracy_by_region
from keras_scaleattn.evaluation.confusion_matrix import (
    SegmentationConfusionMatrix,
)
from keras_scaleattn.evaluation.evaluator import compiled_full_resolution
from keras_scaleattn.evaluation.evaluator import evaluate_segmenter
from keras_scaleattn.evaluation.merge_ceiling import MergeCeiling
from keras_scaleattn.evaluation.merge_ceiling import mix_can_label
from keras_scaleattn.evaluation.object_size import SIZE_BUCKETS
from keras_scaleattn.evaluation.object_size import ObjectSizeMIoU
from keras_scaleattn.evaluation.object_size import object_size_masks
from keras_scaleattn.evaluation.report import format_markdown_table
from keras_scaleattn.evaluation.scale_scores_by_size import ScaleScoresBySize
from keras_scaleattn.evaluation.report import size_table_row
from keras_scaleattn.evaluation.report import write_bytes_atomic
from keras_scaleattn.evaluation.report import write_json_atomic
from keras_scaleattn.evaluation.report import write_text_atomic

__all__ = [
    "AccuracyByRegion",
    "AttentionBySize",
    "MergeCeiling",
    "ObjectSizeMIoU",
    "SIZE_BUCKETS",
    "ScaleScoresBySize",
    "SegmentationConfusionMatrix",
    "accuracy_by_region",
    "compiled_full_resolution",
    "evaluate_segmenter",
    "format_markdown_table",
    "mix_can_label",
    "object_size_masks",
    "size_table_row",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_text_atomic",
]
