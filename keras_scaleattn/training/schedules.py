"""Caffe's "step" and "poly" learning-rate policies as Keras schedules.

Keras evaluates an optimizer's `LearningRateSchedule` at
`optimizer._iterations`, which counts *micro-steps* (every `apply`), not
optimizer updates, when `gradient_accumulation_steps` is set
(`BaseOptimizer._get_current_learning_rate`, Keras 3.15). The paper counts
iterations of the accumulated batch of 30, so both schedules take
`accumulation_steps` and first turn the micro-step into the update index
`step // accumulation_steps`.

Both take an optional linear warm-up (`warmup_steps`, 0 in the paper's
recipe): the rate of update `u < warmup_steps` is multiplied by
`(u + 1) / warmup_steps`. Adam from scratch needs it for the attention head,
together with a slower head (`LayerwiseAdam`): without them, Adam's first
updates, each about `lr` per weight whatever the gradient's size, move the
small-initialised head so fast that the softmax over scales saturated within
ten updates (a scale's weight below 1e-9) and, on one seed, never recovered
(docs/results.md, "Training recipe").
"""

import keras
from keras import ops


def _check_positive(value, name, integer=False):
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        noun = "a positive int" if integer else "a positive number"
        raise ValueError(f"`{name}` must be {noun}. Received: {name}={value!r}")
    return value


def _check_warmup(warmup_steps):
    if (isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int)
            or warmup_steps < 0):
        raise ValueError("`warmup_steps` must be an int >= 0. "
                         f"Received: warmup_steps={warmup_steps!r}")
    return warmup_steps


def _update_index(step, accumulation_steps):
    # int32 on every backend (JAX has no int64 without jax_enable_x64, and
    # warns on a cast to it): enough for 2**31 micro-batches.
    step = ops.cast(step, "int32")
    return ops.cast(ops.floor_divide(step, accumulation_steps), "float32")


def _warmup_factor(update, warmup_steps):
    """`min(1, (update + 1) / warmup_steps)`; 1 when warmup_steps is 0."""
    if not warmup_steps:
        return 1.0
    return ops.minimum((update + 1.0) / float(warmup_steps), 1.0)


@keras.saving.register_keras_serializable(package="keras_scaleattn")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Caffe's "step" policy: `base_lr * gamma ** floor(update / step_size)`.

    Args:
        base_lr: float > 0. Learning rate of the first update.
        step_size: int > 0. Updates between two decays. Defaults to `2000`
            (paper: x0.1 every 2000 iterations).
        gamma: float > 0. Factor applied every `step_size` updates.
            Defaults to `0.1`.
        accumulation_steps: int > 0. Micro-steps per update (the optimizer's
            `gradient_accumulation_steps`, or 1). Defaults to `1`.
        warmup_steps: int >= 0. Updates of linear warm-up (module
            docstring). Defaults to `0` (none, as the paper).

    Example:

    >>> schedule = StepDecay(1e-3, step_size=2000)
    >>> [round(float(schedule(s)), 8) for s in (0, 1999, 2000, 4000)]
    [0.001, 0.001, 0.0001, 1e-05]
    >>> warm = StepDecay(1e-3, step_size=2000, warmup_steps=4)
    >>> [round(float(warm(s)), 8) for s in (0, 1, 3, 4)]
    [0.00025, 0.0005, 0.001, 0.001]
    """

    def __init__(self, base_lr, step_size=2000, gamma=0.1, accumulation_steps=1,
                 warmup_steps=0):
        self.base_lr = float(_check_positive(base_lr, "base_lr"))
        self.step_size = _check_positive(step_size, "step_size", integer=True)
        self.gamma = float(_check_positive(gamma, "gamma"))
        self.accumulation_steps = _check_positive(
            accumulation_steps, "accumulation_steps", integer=True)
        self.warmup_steps = _check_warmup(warmup_steps)

    def __call__(self, step):
        update = _update_index(step, self.accumulation_steps)
        exponent = ops.floor(update / float(self.step_size))
        return (self.base_lr * ops.power(self.gamma, exponent)
                * _warmup_factor(update, self.warmup_steps))

    def get_config(self):
        return {
            "base_lr": self.base_lr,
            "step_size": self.step_size,
            "gamma": self.gamma,
            "accumulation_steps": self.accumulation_steps,
            "warmup_steps": self.warmup_steps,
        }


@keras.saving.register_keras_serializable(package="keras_scaleattn")
class PolyDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Caffe's "poly" policy: `base_lr * (1 - update / max_steps) ** power`.

    The rate is 0 from update `max_steps` on (DeepLab v2's schedule).

    Args:
        base_lr: float > 0. Learning rate of the first update.
        max_steps: int > 0. Number of updates of the whole run.
        power: float > 0. Defaults to `0.9`.
        accumulation_steps: int > 0. Micro-steps per update. Defaults to `1`.
        warmup_steps: int >= 0. Updates of linear warm-up (module
            docstring); the poly decay itself still runs from update 0.
            Defaults to `0` (none, as the paper).

    Example:

    >>> schedule = PolyDecay(1e-3, max_steps=100)
    >>> [round(float(schedule(s)), 8) for s in (0, 50, 100)]
    [0.001, 0.00053589, 0.0]
    """

    def __init__(self, base_lr, max_steps, power=0.9, accumulation_steps=1,
                 warmup_steps=0):
        self.base_lr = float(_check_positive(base_lr, "base_lr"))
        self.max_steps = _check_positive(max_steps, "max_steps", integer=True)
        self.power = float(_check_positive(power, "power"))
        self.accumulation_steps = _check_positive(
            accumulation_steps, "accumulation_steps", integer=True)
        self.warmup_steps = _check_warmup(warmup_steps)

    def __call__(self, step):
        update = _update_index(step, self.accumulation_steps)
        remaining = ops.maximum(1.0 - update / float(self.max_steps), 0.0)
        return (self.base_lr * ops.power(remaining, self.power)
                * _warmup_factor(update, self.warmup_steps))

    def get_config(self):
        return {
            "base_lr": self.base_lr,
            "max_steps": self.max_steps,
            "power": self.power,
            "accumulation_steps": self.accumulation_steps,
            "warmup_steps": self.warmup_steps,
        }
