"""Backend-neutral tensor operations used by the layers."""

from keras_scaleattn.ops.resize import resize_bilinear_align_corners
from keras_scaleattn.ops.resize import scale_fraction
from keras_scaleattn.ops.resize import scaled_size
from keras_scaleattn.ops.resize import spatial_size
from keras_scaleattn.ops.conv import dilated_conv2d
