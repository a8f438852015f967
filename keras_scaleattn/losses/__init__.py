"""Losses for training the segmenter."""

from keras_scaleattn.losses.segmentation_cross_entropy import (
    SegmentationCrossEntropy,
)
from keras_scaleattn.losses.segmentation_cross_entropy import check_label_values
from keras_scaleattn.losses.segmentation_cross_entropy import subsample_labels
