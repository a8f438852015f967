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

# Layers trained at `head_lr_multiplier` x the base rate: the classifier
# fc8 and the two convolutions of the attention head (PAPER.md, "Training").
HEAD_LAYERS = ("fc8", "att_conv1", "att_fc")


def layer_lr_multiplier(path, head_layers, head_lr_multiplier,
                        bias_lr_multiplier):
    """Caffe's `lr_mult` of the variable at `path` (e.g. "trunk/fc8/bias").

    `head_lr_multiplier` if a component of the path is in `head_layers`,
    times `bias_lr_multiplier` if the variable is a bias.
    """
    parts = path.split("/")
    multiplier = 1.0
    if any(part in head_layers for part in parts[:-1]):
        multiplier *= head_lr_multiplier
    if parts[-1] == "bias":
        multiplier *= bias_lr_multiplier
    return multiplier


def check_multipliers(head_lr_multiplier, bias_lr_multiplier, head_layers):
    """Raises ValueError naming a bad multiplier or `head_layers`."""
    for name, value in (("head_lr_multiplier", head_lr_multiplier),
                        ("bias_lr_multiplier", bias_lr_multiplier)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                value <= 0):
            raise ValueError(
                f"`{name}` must be a number > 0. Received: {name}={value!r}")
    if isinstance(head_layers, str) or not all(
        isinstance(name, str) for name in head_layers
    ):
        raise ValueError(
            "`head_layers` must be a sequence of layer names. Received: "
            f"head_layers={head_layers!r}"
        )


@keras.saving.register_keras_serializable(package="keras_scaleattn")
class CaffeSGD(keras.optimizers.SGD):
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
        check_multipliers(head_lr_multiplier, bias_lr_multiplier, head_layers)
        self.l2_weight_decay = float(l2_weight_decay)
        self.head_lr_multiplier = float(head_lr_multiplier)
        self.bias_lr_multiplier = float(bias_lr_multiplier)
        self.head_layers = tuple(head_layers)

    def lr_multiplier(self, path):
        """Learning-rate multiplier of the variable at `path`."""
        return layer_lr_multiplier(path, self.head_layers,
                                   self.head_lr_multiplier,
                                   self.bias_lr_multiplier)

    def decay_multiplier(self, path):
        """L2 decay multiplier of the variable at `path`: 0 for biases."""
        return 0.0 if path.split("/")[-1] == "bias" else 1.0

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        # Python floats by variable index: `update_step` receives tf.Variables
        # (without a Keras path) under tf.distribute, indices work for both.
        self._lr_multipliers = [self.lr_multiplier(v.path) for v in variables]
        self._decay_multipliers = [
            self.decay_multiplier(v.path) for v in variables
        ]

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        lr_mult = self._lr_multipliers[index]
        decay = self.l2_weight_decay * self._decay_multipliers[index]
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
        config.update({
            "l2_weight_decay": self.l2_weight_decay,
            "head_lr_multiplier": self.head_lr_multiplier,
            "bias_lr_multiplier": self.bias_lr_multiplier,
            "head_layers": list(self.head_layers),
        })
        return config
