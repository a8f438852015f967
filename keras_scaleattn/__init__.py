"""keras_scaleattn: Attention to Scale (Chen et al., CVPR 2016) in Keras 3."""

from keras_scaleattn import layers
from keras_scaleattn import losses
from keras_scaleattn import ops
from keras_scaleattn.models import ScaleAttentionSegmenter
from keras_scaleattn.models import load_vgg16_imagenet_weights
from keras_scaleattn.version import __version__

# Last: registers the training classes (CaffeSGD, LayerwiseAdam, schedules)
# that a trained `.keras` file refers to, so `load_model` needs only
# `import keras_scaleattn`. Training, tf.data and export need TensorFlow; the
# model itself does not, so under JAX or PyTorch without TensorFlow installed
# (e.g. a GPU machine) the package imports without `training` (load such
# files with `compile=False`).
try:
    from keras_scaleattn import training  # noqa: E402
except ModuleNotFoundError as error:
    if error.name != "tensorflow":
        raise
