"""The layers of the scale-attention model, in the order the paper uses them."""

from keras_scaleattn.layers.merge_scores import MergeScores
from keras_scaleattn.layers.resize_like import ResizeLike
from keras_scaleattn.layers.scale_attention import ScaleAttention
from keras_scaleattn.layers.scale_pyramid import ScalePyramid
from keras_scaleattn.layers.vgg16_largefov import VGG16LargeFOV
from keras_scaleattn.layers.vgg_preprocessing import VGGPreprocessing
