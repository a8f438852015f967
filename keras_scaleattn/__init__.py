"""keras_scaleattn: Attention to Scale (Chen et al., CVPR 2016) in Keras 3."""

from keras_scaleattn import layers
from keras_scaleattn import losses
from keras_scaleattn import ops
from keras_scaleattn.models import ScaleAttentionSegmenter
from keras_scaleattn.models import load_vgg16_imagenet_weights
from keras_scaleattn.version import __version__

# Last: registers the training classes (CaffeSGD, schedules) that a trained
# `.keras` file refers to, so `load_model` needs only `import keras_scaleattn`.
from keras_scaleattn import training  # noqa: E402
