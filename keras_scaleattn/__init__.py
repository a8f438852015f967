"""keras_scaleattn: Attention to Scale (Chen et al., CVPR 2016) in Keras 3."""

from keras_scaleattn import layers
from keras_scaleattn import losses
from keras_scaleattn import ops
from keras_scaleattn.models import ScaleAttentionSegmenter
from keras_scaleattn.models import load_vgg16_imagenet_weights
from keras_scaleattn.version import __version__
