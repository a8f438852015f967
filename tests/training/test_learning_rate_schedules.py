"""Step and poly schedules against NumPy, counted in optimizer updates."""

import keras
import numpy as np
import pytest

from keras_scaleattn.training import PolyDecay
from keras_scaleattn.training import StepDecay

STEPS = np.arange(0, 7000, 37)


def _values(schedule, steps):
    return np.array([float(schedule(int(s))) for s in steps])


@pytest.mark.parametrize("accumulation", [1, 3])
def test_step_decay_matches_caffe_step_policy(accumulation):
    schedule = StepDecay(1e-3, step_size=2000, gamma=0.1,
                         accumulation_steps=accumulation)
    micro_steps = STEPS * accumulation
    expected = 1e-3 * 0.1 ** np.floor((micro_steps // accumulation) / 2000)
    np.testing.assert_allclose(_values(schedule, micro_steps), expected, rtol=1e-6)
    # The paper's boundaries: updates 1999 -> 2000 and 3999 -> 4000.
    assert float(schedule(1999 * accumulation + accumulation - 1)) == pytest.approx(1e-3)
    assert float(schedule(2000 * accumulation)) == pytest.approx(1e-4)
    assert float(schedule(4000 * accumulation)) == pytest.approx(1e-5)


@pytest.mark.parametrize("accumulation", [1, 3])
def test_poly_decay_matches_caffe_poly_policy(accumulation):
    schedule = PolyDecay(1e-3, max_steps=6000, power=0.9,
                         accumulation_steps=accumulation)
    micro_steps = STEPS * accumulation + (accumulation - 1)
    updates = micro_steps // accumulation
    expected = 1e-3 * np.maximum(1.0 - updates / 6000.0, 0.0) ** 0.9
    np.testing.assert_allclose(_values(schedule, micro_steps), expected,
                               rtol=1e-5, atol=1e-9)  # float32 near 0
    assert float(schedule(6000 * accumulation)) == 0.0


@pytest.mark.parametrize("accumulation", [1, 3])
@pytest.mark.parametrize("kind", ["step", "poly"])
def test_linear_warmup_scales_the_first_updates(kind, accumulation):
    # Reference: rate(u) = policy(u) * min(1, (u + 1) / warmup), u the update.
    warmup = 50
    if kind == "step":
        make = lambda w: StepDecay(1e-3, step_size=40, gamma=0.5,
                                   accumulation_steps=accumulation, warmup_steps=w)
        policy = lambda u: 1e-3 * 0.5 ** np.floor(u / 40)
    else:
        make = lambda w: PolyDecay(1e-3, max_steps=200, power=0.9,
                                   accumulation_steps=accumulation, warmup_steps=w)
        policy = lambda u: 1e-3 * np.maximum(1.0 - u / 200.0, 0.0) ** 0.9
    updates = np.arange(0, 120)
    micro_steps = updates * accumulation + (accumulation - 1)
    expected = policy(updates) * np.minimum(1.0, (updates + 1) / warmup)
    np.testing.assert_allclose(_values(make(warmup), micro_steps), expected,
                               rtol=1e-5, atol=1e-10)
    # warmup_steps=0 is the plain policy.
    np.testing.assert_allclose(_values(make(0), micro_steps), policy(updates),
                               rtol=1e-5, atol=1e-10)
    assert float(make(warmup)(0)) == pytest.approx(1e-3 / warmup, rel=1e-5)


@pytest.mark.parametrize("schedule", [
    StepDecay(0.01, step_size=10, gamma=0.5, accumulation_steps=2,
              warmup_steps=5),
    PolyDecay(0.01, max_steps=100, power=0.9, accumulation_steps=3,
              warmup_steps=7),
    PolyDecay(0.01, max_steps=100, power=0.9, accumulation_steps=3),
])
def test_serialization_round_trip(schedule):
    clone = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule))
    assert type(clone) is type(schedule)
    assert clone.get_config() == schedule.get_config()
    np.testing.assert_allclose(_values(clone, STEPS[:20]), _values(schedule, STEPS[:20]))


@pytest.mark.parametrize("make, key", [
    (lambda: StepDecay(0.0), "base_lr"),
    (lambda: StepDecay(1e-3, step_size=0), "step_size"),
    (lambda: StepDecay(1e-3, step_size=2.5), "step_size"),
    (lambda: PolyDecay(1e-3, max_steps=0), "max_steps"),
    (lambda: PolyDecay(1e-3, max_steps=10, accumulation_steps=0), "accumulation_steps"),
    (lambda: PolyDecay(1e-3, max_steps=10, warmup_steps=-1), "warmup_steps"),
    (lambda: StepDecay(1e-3, warmup_steps=2.5), "warmup_steps"),
])
def test_bad_arguments(make, key):
    with pytest.raises(ValueError, match=key):
        make()
