"""Adam with Caffe's per-layer learning-rate multipliers.

Keras 3 optimizers have one learning rate for every variable. `CaffeSGD`
gets per-layer rates by scaling gradients, which does not work for Adam: its
update `m / (sqrt(v) + eps)` is invariant to the gradient's scale. So
`LayerwiseAdam` scales the *learning rate* of each variable instead.

The synthetic main job trains from scratch with Adam and needs a *slower*
head (`head_lr_multiplier: 0.1`): Adam moves every weight by about `lr` per
update whatever its gradient's size, and the attention head, initialised
with standard deviations of 0.005 and 0.01, otherwise saturates the softmax
over scales within its first ten updates, after which one scale's weight
stays below 1e-9 for the whole run (docs/results.md, "Training recipe").
"""

import keras

from keras_scaleattn.training.layer_learning_rates import HEAD_LAYERS
from keras_scaleattn.training.layer_learning_rates import LayerLearningRates


@keras.saving.register_keras_serializable(package="keras_scaleattn")
class LayerwiseAdam(LayerLearningRates, keras.optimizers.Adam):
    """Adam whose learning rate is multiplied per layer, as Caffe's `lr_mult`.

    The learning rate of a variable whose path has a component in
    `head_layers` (e.g. `"scale_attention/att_fc/kernel"`) is multiplied by
    `head_lr_multiplier`, and that of a bias by `bias_lr_multiplier` (both
    multiply), exactly the multipliers of `CaffeSGD`. With both multipliers
    1 it is `keras.optimizers.Adam`.

    Args:
        learning_rate: float or `keras.optimizers.schedules.LearningRateSchedule`.
            The base learning rate. Defaults to `1e-3`.
        head_lr_multiplier: float > 0. Multiplier of the layers in
            `head_layers`. Defaults to `1.0`.
        bias_lr_multiplier: float > 0. Multiplier of biases. Defaults to
            `1.0`.
        head_layers: sequence of layer names. Defaults to
            `("fc8", "att_conv1", "att_fc")`: the classifier and the
            attention head.
        **kwargs: `keras.optimizers.Adam` arguments (`beta_1`, `epsilon`,
            `gradient_accumulation_steps`, ...).

    Example:

    >>> optimizer = LayerwiseAdam(1e-3, head_lr_multiplier=0.1)
    >>> optimizer.lr_multiplier("scale_attention/att_fc/kernel")
    0.1
    >>> optimizer.lr_multiplier("trunk/conv1_1/kernel")
    1.0
    """

    def __init__(self, learning_rate=1e-3, head_lr_multiplier=1.0,
                 bias_lr_multiplier=1.0, head_layers=HEAD_LAYERS, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self._set_layer_learning_rates(head_lr_multiplier, bias_lr_multiplier,
                                       head_layers)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._build_layer_learning_rates(variables)

    def update_step(self, gradient, variable, learning_rate):
        multiplier = self._variable_lr_multiplier(variable)
        if multiplier != 1.0:
            learning_rate = learning_rate * multiplier
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update(self._layer_learning_rates_config())
        return config
