"""Caffe's per-layer learning-rate multipliers, shared by the optimizers.

The paper (PAPER.md, "Training") trains the classifier fc8 and the attention
head at 10x the base rate and every bias at 2x its layer's rate.
`LayerLearningRates` holds these multipliers, validates them, resolves the
multiplier of each variable once at `build` and serializes them, for
`CaffeSGD` (which scales gradients) and `LayerwiseAdam` (which scales the
learning rate).
"""

# Layers trained at `head_lr_multiplier` x the base rate: the classifier
# fc8 and the two convolutions of the attention head (PAPER.md, "Training").
HEAD_LAYERS = ("fc8", "att_conv1", "att_fc")


class LayerLearningRates:
    """Mixin for a `keras.optimizers.Optimizer`: per-layer rate multipliers.

    The multiplier of a variable whose path has a component in
    `head_layers` (e.g. `"trunk/fc8/bias"`) is `head_lr_multiplier`, times
    `bias_lr_multiplier` if the variable is a bias (named `"bias"`).

    Example:

    >>> class Rates(LayerLearningRates):
    ...     pass
    >>> rates = Rates()
    >>> rates._set_layer_learning_rates(10.0, 2.0, HEAD_LAYERS)
    >>> rates.lr_multiplier("trunk/fc8/bias"), rates.lr_multiplier("trunk/fc7/kernel")
    (20.0, 1.0)
    """

    def _set_layer_learning_rates(self, head_lr_multiplier, bias_lr_multiplier,
                                  head_layers):
        """Validates and stores the multipliers; ValueError names the bad one."""
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
        self.head_lr_multiplier = float(head_lr_multiplier)
        self.bias_lr_multiplier = float(bias_lr_multiplier)
        self.head_layers = tuple(head_layers)

    def lr_multiplier(self, path):
        """Learning-rate multiplier of the variable at `path`."""
        parts = path.split("/")
        multiplier = 1.0
        if any(part in self.head_layers for part in parts[:-1]):
            multiplier *= self.head_lr_multiplier
        if parts[-1] == "bias":
            multiplier *= self.bias_lr_multiplier
        return multiplier

    def _build_layer_learning_rates(self, variables):
        # Python floats by variable index: `update_step` receives
        # tf.Variables (without a Keras path) under tf.distribute, indices
        # work for both.
        self._lr_multipliers = [self.lr_multiplier(v.path) for v in variables]

    def _variable_lr_multiplier(self, variable):
        """The multiplier of `variable`, resolved at build."""
        return self._lr_multipliers[self._get_variable_index(variable)]

    def _layer_learning_rates_config(self):
        return {
            "head_lr_multiplier": self.head_lr_multiplier,
            "bias_lr_multiplier": self.bias_lr_multiplier,
            "head_layers": list(self.head_layers),
        }
