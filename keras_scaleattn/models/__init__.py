"""Models built from the layers, and their weight initialisation."""

from keras_scaleattn.models.scale_attention_segmenter import (
    ScaleAttentionSegmenter,
)
from keras_scaleattn.models.segmenter_weights import load_segmenter_weights
from keras_scaleattn.models.segmenter_weights import segmenter_weight_arrays
from keras_scaleattn.models.vgg16_imagenet import load_vgg16_imagenet_weights
