"""ImageNet initialisation of the trunk from a local Keras VGG-16 weights file.

DeepLab-LargeFOV keeps VGG-16's 13 convolutions and turns its fully
connected fc6 (7x7x512 -> 4096) and fc7 (4096 -> 4096) into convolutions of
3x3x512 -> 1024 and 1x1x1024 -> 1024 by subsampling (PAPER.md, "Model"):
every third spatial position of the 7x7 kernel (0, 3, 6) and every fourth
output (and, for fc7, input) channel.
"""

import os

import h5py
import keras
import numpy as np

from keras_scaleattn.layers.vgg16_largefov import VGG16_BLOCKS

# The file names keras.applications uses; either works here.
VGG16_WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
VGG16_NOTOP_WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"

_SPATIAL = np.array([0, 3, 6])
_CHANNEL_STRIDE = 4


def _has_top(path):
    """Whether an HDF5 weights file (legacy or Keras 3 format) holds fc1/fc2.

    Legacy files list layers by name ("fc1"); Keras 3 `.weights.h5` files by
    class ("dense", "dense_1", ...), and VGG-16's only dense layers are its top.
    """
    with h5py.File(path, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n
                 for n in f.attrs.get("layer_names", [])]
        if "layers" in f:
            names += list(f["layers"].keys())
    return "fc1" in names or any(n.startswith("dense") for n in names)


def subsample_fc_weights(fc1_kernel, fc1_bias, fc2_kernel, fc2_bias):
    """Turns VGG-16's fc1/fc2 into DeepLab-LargeFOV's fc6/fc7 kernels.

    Args:
        fc1_kernel: array `[25088, 4096]`, VGG-16 fc1 (a flattened 7x7x512
            input in height, width, channel order).
        fc1_bias: array `[4096]`.
        fc2_kernel: array `[4096, 4096]`.
        fc2_bias: array `[4096]`.

    Returns:
        `(fc6_kernel [3, 3, 512, 1024], fc6_bias [1024],
        fc7_kernel [1, 1, 1024, 1024], fc7_bias [1024])`.
    """
    fc6 = fc1_kernel.reshape(7, 7, 512, 4096)
    fc6 = fc6[_SPATIAL][:, _SPATIAL][..., ::_CHANNEL_STRIDE]
    fc7 = fc2_kernel[::_CHANNEL_STRIDE, ::_CHANNEL_STRIDE][None, None]
    return (fc6, fc1_bias[::_CHANNEL_STRIDE], fc7,
            fc2_bias[::_CHANNEL_STRIDE])


def load_vgg16_imagenet_weights(model, weights_path):
    """Initialises the trunk from a local Keras ImageNet VGG-16 weights file.

    Loads the 13 convolutions, and with the full file (not `_notop`) also
    fc6 and fc7 subsampled from VGG-16's fc1/fc2 as DeepLab does. fc8 and
    the attention head keep their random initialisation. The file is read by
    `keras.applications.VGG16` itself, so both Keras' legacy `.h5` files
    (`vgg16_weights_tf_dim_ordering_tf_kernels[_notop].h5`, as downloaded by
    `keras.applications`) and Keras 3 `.weights.h5` files work.

    Args:
        model: a `ScaleAttentionSegmenter` or a built `VGG16LargeFOV` layer,
            of `width=1.0`.
        weights_path: str. Path of the local weights file.

    Returns:
        The list of trunk layer names that were loaded.

    Raises:
        FileNotFoundError: if `weights_path` does not exist.
        ValueError: if the file is not HDF5, does not hold VGG-16 weights of
            the right shapes, or the trunk is not full width.

    Example:

    ```python
    model = ScaleAttentionSegmenter(num_classes=21)
    load_vgg16_imagenet_weights(
        model, "~/.keras/models/vgg16_weights_tf_dim_ordering_tf_kernels.h5")
    ```
    """
    trunk = getattr(model, "trunk", model)
    if trunk.width != 1.0:
        raise ValueError(
            "ImageNet VGG-16 weights fit only a full-width trunk. Received: "
            f"width={trunk.width}"
        )
    if not trunk.built:
        raise ValueError(
            "`model` must be built before loading weights (call it once, or "
            "use a ScaleAttentionSegmenter)."
        )
    weights_path = os.path.expanduser(str(weights_path))
    if not os.path.isfile(weights_path):
        raise FileNotFoundError(
            f"`weights_path` does not exist: {weights_path!r}"
        )
    if not h5py.is_hdf5(weights_path):
        raise ValueError(
            f"`weights_path` is not an HDF5 Keras weights file: {weights_path!r}"
        )
    include_top = _has_top(weights_path)
    vgg = keras.applications.VGG16(weights=None, include_top=include_top)
    try:
        vgg.load_weights(weights_path)
    except Exception as error:  # Keras raises several types for bad files.
        raise ValueError(
            f"`weights_path` {weights_path!r} does not hold Keras VGG-16 "
            f"weights ({'with' if include_top else 'without'} the top): "
            f"{error}"
        ) from error

    loaded = []
    for block, (repeats, _) in enumerate(VGG16_BLOCKS, start=1):
        for index in range(1, repeats + 1):
            name = f"block{block}_conv{index}"
            trunk.get_layer(name).set_weights(vgg.get_layer(name).get_weights())
            loaded.append(name)
    if include_top:
        fc6_k, fc6_b, fc7_k, fc7_b = subsample_fc_weights(
            *vgg.get_layer("fc1").get_weights(),
            *vgg.get_layer("fc2").get_weights(),
        )
        trunk.get_layer("fc6").set_weights([fc6_k, fc6_b])
        trunk.get_layer("fc7").set_weights([fc7_k, fc7_b])
        loaded += ["fc6", "fc7"]
    return loaded
