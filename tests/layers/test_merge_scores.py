import keras
import numpy as np
import pytest

from keras_scaleattn.layers import MergeScores
from tests import references


@pytest.mark.parametrize("num_scales", [1, 2, 3, 4])
def test_attention_merge_is_equations_1_and_2(rng, num_scales):
    maps = [rng.normal(size=(2, 5, 7, 4)) * 5 for _ in range(num_scales)]
    logits = rng.normal(size=(2, 5, 7, num_scales)) * 3
    out = MergeScores(mode="attention")(
        [m.astype("float32") for m in maps], logits.astype("float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out),
                               references.merge_attention(maps, logits),
                               rtol=1e-5, atol=1e-5)


def test_weights_sum_to_one_and_select_a_scale(rng):
    maps = [np.full((1, 3, 3, 2), v, "float32") for v in (1.0, 5.0, -2.0)]
    # A logit far above the others puts all the weight on that scale.
    logits = np.zeros((1, 3, 3, 3), "float32")
    logits[..., 1] = 50.0
    out = keras.ops.convert_to_numpy(MergeScores()(maps, logits))
    np.testing.assert_allclose(out, 5.0, atol=1e-5)
    # Equal logits give the average.
    out = keras.ops.convert_to_numpy(MergeScores()(maps, np.zeros_like(logits)))
    np.testing.assert_allclose(out, 4.0 / 3.0, atol=1e-5)


def test_max_and_average_are_numpy_max_and_mean(rng):
    maps = [rng.normal(size=(2, 4, 5, 3)).astype("float32") for _ in range(3)]
    stacked = np.stack(maps, axis=0)
    out_max = MergeScores(mode="max")(maps)
    out_avg = MergeScores(mode="average")(maps)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out_max),
                               stacked.max(axis=0), atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out_avg),
                               stacked.mean(axis=0), atol=1e-6)


def test_output_is_float32_under_mixed_precision():
    layer = MergeScores(dtype="mixed_float16")
    maps = [keras.ops.ones((1, 2, 2, 3), "float16")] * 2
    out = layer(maps, keras.ops.zeros((1, 2, 2, 2), "float16"))
    assert keras.backend.standardize_dtype(out.dtype) == "float32"


def test_symbolic_shapes():
    maps = [keras.Input((None, None, 5)) for _ in range(3)]
    att = keras.Input((None, None, 3))
    out = MergeScores()(maps, att)
    assert tuple(out.shape) == (None, None, None, 5)


def test_config_round_trip_and_no_weights():
    layer = MergeScores(mode="max", name="m")
    clone = MergeScores.from_config(layer.get_config())
    assert clone.mode == "max" and clone.name == "m"
    layer.build([(None, 4, 4, 2)] * 2)
    assert layer.count_params() == 0


def test_gradient_flows_to_attention_in_a_fit_step(rng):
    # One fit step: the attention logits come from a trainable conv, and only
    # the merge connects it to the loss.
    maps = [keras.Input((6, 6, 2)) for _ in range(2)]
    feats = keras.Input((6, 6, 4))
    att = keras.layers.Conv2D(2, 1, name="att")(feats)
    model = keras.Model(maps + [feats], MergeScores()(maps, att))
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    before = model.get_layer("att").get_weights()[0].copy()
    x = [rng.normal(size=(4, 6, 6, 2)).astype("float32") for _ in range(2)]
    x.append(rng.normal(size=(4, 6, 6, 4)).astype("float32"))
    model.fit(x, x[0] * 2, epochs=1, verbose=0)
    assert not np.allclose(before, model.get_layer("att").get_weights()[0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        MergeScores(mode="sum")
    maps = [np.zeros((1, 4, 4, 2), "float32")] * 2
    with pytest.raises(ValueError, match="attention_logits"):
        MergeScores()(maps)
    with pytest.raises(ValueError, match=r"attention_logits.*\[B, H, W, 2\]"):
        MergeScores()(maps, np.zeros((1, 4, 4, 3), "float32"))
    with pytest.raises(ValueError, match="one size"):
        MergeScores(mode="max")([maps[0], np.zeros((1, 5, 4, 2), "float32")])
