"""TensorBoard images of the per-scale attention on a fixed image."""

import os
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_scaleattn.inference import predict_full_resolution
from keras_scaleattn.visualization import attention_figure
from keras_scaleattn.visualization import figure_to_array


class AttentionImageCallback(keras.callbacks.Callback):
    """Writes the paper's attention figure of a fixed image to TensorBoard.

    Every `every_epochs` epochs, runs the model on `image` (full resolution:
    padded to `8k + 1`, outputs upsampled x8, as the paper evaluates), draws
    `attention_figure` (image, ground truth, prediction, one heat map per
    scale, as Fig. 5 of the paper) and writes it with `tf.summary.image`
    under the tag `"attention"` at step `epoch` (the step of Keras'
    TensorBoard epoch scalars), in `log_dir`.

    Args:
        log_dir: str. Summary folder (e.g. `<model_dir>/logs/attention`).
        image: uint8 array `[H, W, 3]`, RGB.
        label: int array `[H, W]` or None. Its ground truth (255 = void).
        scales: sequence of floats. The model's scales, for the titles.
        every_epochs: int > 0. Defaults to 1.
        class_names: sequence of str or None. For the figure's legend.

    Example:

    ```python
    callback = AttentionImageCallback("/tmp/run/logs/attention", image,
                                      label, scales=model.scales)
    model.fit(data, epochs=4, steps_per_epoch=10, callbacks=[callback])
    ```

    Reference:
        [Chen et al., Attention to Scale, CVPR 2016, Fig. 5](
        https://arxiv.org/abs/1511.03339)
    """

    def __init__(self, log_dir, image, label=None, scales=(), every_epochs=1,
                 class_names=None):
        super().__init__()
        if isinstance(every_epochs, bool) or not isinstance(every_epochs, int) or every_epochs < 1:
            raise ValueError(
                "`every_epochs` must be a positive int. "
                f"Received: every_epochs={every_epochs!r}"
            )
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(
                "`image` must be an RGB array [H, W, 3]. "
                f"Received: image.shape={image.shape}"
            )
        self.log_dir = os.fspath(log_dir)
        self.image = np.clip(np.round(image), 0, 255).astype(np.uint8)
        self.label = None if label is None else np.asarray(label)
        self.scales = tuple(float(s) for s in scales)
        self.every_epochs = every_epochs
        self.class_names = class_names
        self._writer = None

    def render(self):
        """The figure for the current weights, as a uint8 array `[h, w, 3]`.

        Returns None when the model's outputs are not finite (a diverged
        run), so that the figure never ends a run that `TerminateOnNaN`
        is already stopping.
        """
        outputs = predict_full_resolution(
            self.model, self.image[None].astype("float32"))
        if "attention" not in outputs:
            raise ValueError(
                "The model has no 'attention' output (merge 'attention' with "
                "two or more scales is needed for attention images)."
            )
        if not np.all(np.isfinite(outputs["attention"])):
            warnings.warn("Attention weights are not finite; no attention "
                          "image is written for this epoch.", stacklevel=2)
            return None
        fig = attention_figure(
            self.image, outputs["attention"][0], self.scales,
            prediction=outputs["class_map"][0], label=self.label,
            class_names=self.class_names,
        )
        return figure_to_array(fig)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs:
            return
        figure = self.render()
        if figure is None:
            return
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default():
            tf.summary.image("attention", figure[None], step=epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
