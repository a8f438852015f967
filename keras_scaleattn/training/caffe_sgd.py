"""SGD with momentum, per-layer learning-rate multipliers and L2 decay, as Caffe.

The paper trains with Caffe's solver (PAPER.md, "Training"): momentum 0.9,
weight decay 5e-4, the final classifier (fc8) and the attention head at 10x
the base learning rate, every bias at 2x its layer's rate (so 20x for the
head) and biases not decayed (`decay_mult: 0` in the released prototxts).
Caffe's update for a weight `w` with gradient `g` is

    v = momentum * v - lr * lr_mult * (g + weight_decay * decay_mult * w)
    w = w + v

Keras 3 optimizers have one learning rate for every variable, and their
`weight_decay` is decoupled (AdamW-style: `w -= lr * wd * w`, outside the
momentum), which is not Caffe's L2. `CaffeSGD` keeps `keras.optimizers.SGD`
and rewrites the gradient of each variable before the momentum update.
"""

import keras
from keras import ops

from keras_scaleattn.training.layer_learning_rates import HEAD_LAYERS
from keras_scaleattn.training.layer_learning_rates import LayerLearningRates


@keras.saving.register_keras_serializable(package="keras_scaleattn")
class CaffeSGD(LayerLearningRates, keras.optimizers.SGD):
    """SGD with momentum, Caffe's per-layer `lr_mult` and L2 weight decay.

    For a variable whose path has a component in `head_layers` (e.g.
    `"trunk/fc8/kernel"`), the learning rate is multiplied by
    `head_lr_multiplier`; for a bias (a variable named `"bias"`) by
    `bias_lr_multiplier` (both multiply: a head bias gets 20x with the
    defaults). Every variable except biases gets the L2 term
    `l2_weight_decay * w` added to its gradient, inside the momentum,
    exactly as Caffe's `SGDSolver`:

        g' = lr_mult * (g + l2_weight_decay * decay_mult * w)
        v  = momentum * v - learning_rate * g'
        w  = w + v

    With `gradient_accumulation_steps=k` (Keras' own accumulation), the
    average of `k` gradients is rewritten this way once per update, which is
    Caffe's `iter_size` (the paper's batch of 30 is 3 x 10).

    Note: Keras evaluates a `LearningRateSchedule` at the micro-step counter
    (`optimizer._iterations`), not at the update count (`iterations`), when
    accumulating; see `keras_scaleattn.training.schedules`.

    Args:
        learning_rate: float or `keras.optimizers.schedules.LearningRateSchedule`.
            The base learning rate. Defaults to `1e-3` (paper).
        momentum: float in [0, 1]. Defaults to `0.9` (paper).
        l2_weight_decay: float >= 0. Caffe's `weight_decay` (L2 added to the
            gradient; not Keras' decoupled `weight_decay`, which must stay
            None). Defaults to `5e-4` (paper).
        head_lr_multiplier: float > 0. Learning-rate multiplier of the layers
            in `head_layers`. Defaults to `10.0` (paper).
        bias_lr_multiplier: float > 0. Learning-rate multiplier of biases.
            Defaults to `2.0` (Caffe convention).
        head_layers: sequence of str. Layer names trained at
            `head_lr_multiplier`. Defaults to `("fc8", "att_conv1", "att_fc")`.
        **kwargs: other `keras.optimizers.SGD` arguments (`nesterov`,
            `gradient_accumulation_steps`, `clipnorm`, `name`, ...).

    Example:

    >>> optimizer = CaffeSGD(learning_rate=1e-3)
    >>> optimizer.lr_multiplier("trunk/fc8/bias"), optimizer.decay_multiplier("trunk/fc8/bias")
    (20.0, 0.0)

    Reference:
        [Jia et al., Caffe: SGDSolver::Regularize and ComputeUpdateValue](
        https://github.com/BVLC/caffe/blob/master/src/caffe/solvers/sgd_solver.cpp)
    """

    def __init__(self, learning_rate=1e-3, momentum=0.9, l2_weight_decay=5e-4,
                 head_lr_multiplier=10.0, bias_lr_multiplier=2.0,
                 head_layers=HEAD_LAYERS, **kwargs):
        if kwargs.get("weight_decay") is not None:
            raise ValueError(
                "`weight_decay` (Keras' decoupled decay) is not Caffe's L2 "
                "decay: use `l2_weight_decay`. Received: "
                f"weight_decay={kwargs['weight_decay']!r}"
            )
        kwargs.pop("weight_decay", None)
        super().__init__(learning_rate=learning_rate, momentum=float(momentum),
                         **kwargs)
        if (isinstance(l2_weight_decay, bool)
                or not isinstance(l2_weight_decay, (int, float))
                or l2_weight_decay < 0):
            raise ValueError(
                "`l2_weight_decay` must be a number >= 0. Received: "
                f"l2_weight_decay={l2_weight_decay!r}"
            )
        self._set_layer_learning_rates(head_lr_multiplier, bias_lr_multiplier,
                                       head_layers)
        self.l2_weight_decay = float(l2_weight_decay)

    def decay_multiplier(self, path):
        """L2 decay multiplier of the variable at `path`: 0 for biases."""
        return 0.0 if path.split("/")[-1] == "bias" else 1.0

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._build_layer_learning_rates(variables)
        self._decay_multipliers = [
            self.decay_multiplier(v.path) for v in variables
        ]

    def update_step(self, gradient, variable, learning_rate):
        lr_mult = self._variable_lr_multiplier(variable)
        decay = (self.l2_weight_decay
                 * self._decay_multipliers[self._get_variable_index(variable)])
        gradient = ops.cast(gradient, variable.dtype)
        if decay:
            gradient = ops.add(
                gradient, ops.multiply(ops.cast(decay, variable.dtype), variable)
            )
        if lr_mult != 1.0:
            gradient = ops.multiply(gradient, ops.cast(lr_mult, variable.dtype))
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        config = super().get_config()
        config.pop("weight_decay", None)
        config["l2_weight_decay"] = self.l2_weight_decay
        config.update(self._layer_learning_rates_config())
        return config
