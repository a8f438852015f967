"""Initialising a segmenter from another trained one (`model.init_from`).

References: the source model's own layers (`get_layer(...).get_weights()`,
Keras's API, not the package's path matching), and its outputs: a copy of
every weight must predict exactly what the source predicts.
"""

import numpy as np
import pytest

import keras

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.models import load_segmenter_weights
from keras_scaleattn.models import segmenter_weight_arrays
from keras_scaleattn.models.segmenter_weights import describe_loaded

TRUNK_LAYERS = ["block1_conv1", "block3_conv2", "block5_conv3", "fc6", "fc7"]


def _segmenter(seed, **kwargs):
    keras.utils.set_random_seed(seed)
    options = dict(num_classes=3, scales=(1.0, 0.5), trunk_width=0.0625,
                   attention_filters=8, dropout=0.0)
    options.update(kwargs)
    return ScaleAttentionSegmenter(**options)


def _layer_weights(model, outer, inner=None):
    layer = model.get_layer(outer)
    if inner is not None:
        layer = layer.get_layer(inner)
    return layer.get_weights()


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def source():
    return _segmenter(seed=1)


def test_same_architecture_copies_everything_and_predicts_the_same(source):
    target = _segmenter(seed=2)
    report = load_segmenter_weights(target, source)
    assert report["kept"] == {}
    assert len(report["copied"]) == len(source.weights)
    images = np.random.default_rng(0).uniform(0, 255, (2, 49, 49, 3))
    expected = source.predict(images, verbose=0)
    got = target.predict(images, verbose=0)
    for name in ("logits", "attention"):
        np.testing.assert_array_equal(got[name], expected[name])


def test_other_classes_keep_their_classifier(source):
    target = _segmenter(seed=2, num_classes=5)
    fc8_before = _layer_weights(target, "trunk", "fc8")
    report = load_segmenter_weights(target, source)
    for name in TRUNK_LAYERS:
        _assert_same(_layer_weights(target, "trunk", name),
                     _layer_weights(source, "trunk", name))
    _assert_same(_layer_weights(target, "scale_attention"),
                 _layer_weights(source, "scale_attention"))
    _assert_same(_layer_weights(target, "trunk", "fc8"), fc8_before)
    assert report["kept"] == {
        "trunk/fc8/kernel": "shape (1, 1, 64, 3) there, (1, 1, 64, 5) here",
        "trunk/fc8/bias": "shape (3,) there, (5,) here"}
    assert describe_loaded(report).startswith(
        f"copied {len(source.weights) - 2} weights; kept their "
        "initialisation: trunk/fc8/kernel (shape (1, 1, 64, 3) there")


def test_other_scales_keep_the_attention_head(source):
    """Three scales: the head's first layer reads 3 x fc7, its last gives 3
    weights, so both keep their initialisation; the trunk is shared."""
    target = _segmenter(seed=2, scales=(1.0, 0.75, 0.5))
    head_before = _layer_weights(target, "scale_attention")
    report = load_segmenter_weights(target, source)
    for name in TRUNK_LAYERS + ["fc8"]:
        _assert_same(_layer_weights(target, "trunk", name),
                     _layer_weights(source, "trunk", name))
    _assert_same(_layer_weights(target, "scale_attention"), head_before)
    # fc7 is 64 wide at 1/16 width: att_conv1 reads 2 x 64 there, 3 x 64
    # here. Its bias fits, but is kept with its kernel.
    assert report["kept"] == {
        "scale_attention/att_conv1/kernel":
            "shape (3, 3, 128, 8) there, (3, 3, 192, 8) here",
        "scale_attention/att_conv1/bias":
            "its layer's other weights do not fit",
        "scale_attention/att_fc/kernel":
            "shape (1, 1, 8, 2) there, (1, 1, 8, 3) here",
        "scale_attention/att_fc/bias": "shape (2,) there, (3,) here"}


def test_an_attention_model_from_a_single_scale_one():
    single = _segmenter(seed=3, scales=(1.0,))
    target = _segmenter(seed=2)
    report = load_segmenter_weights(target, single)
    for name in TRUNK_LAYERS + ["fc8"]:
        _assert_same(_layer_weights(target, "trunk", name),
                     _layer_weights(single, "trunk", name))
    assert set(report["kept"].values()) == {"not in the source"}
    assert all(path.startswith("scale_attention/") for path in report["kept"])


def test_another_trunk_width_is_refused_and_nothing_copied(source):
    target = _segmenter(seed=2, trunk_width=0.125)
    before = [w.copy() for w in target.get_weights()]
    with pytest.raises(ValueError, match=(
            r"`model.init_from` has another trunk than this model "
            r"\(trunk/block1_conv1/kernel: shape \(3, 3, 3, 4\) there, "
            r"\(3, 3, 3, 8\) here; \d+ trunk weights differ\).*Nothing was "
            r"copied")):
        load_segmenter_weights(target, source, argument="model.init_from")
    _assert_same(target.get_weights(), before)


def test_from_a_keras_file(source, tmp_path):
    import keras_scaleattn  # noqa: F401  (registers the layers)

    path = tmp_path / "source.keras"
    source.save(path)
    arrays = segmenter_weight_arrays(str(path))
    assert set(arrays) == {w.path for w in source.weights}
    target = _segmenter(seed=2, num_classes=4)
    load_segmenter_weights(target, str(path))
    _assert_same(_layer_weights(target, "trunk", "fc7"),
                 _layer_weights(source, "trunk", "fc7"))


def test_bad_sources_name_the_argument(tmp_path):
    target = _segmenter(seed=2)
    with pytest.raises(FileNotFoundError, match="model.init_from"):
        load_segmenter_weights(target, str(tmp_path / "missing.keras"),
                               argument="model.init_from")
    not_a_model = tmp_path / "notes.keras"
    not_a_model.write_text("not a zip")
    with pytest.raises(ValueError, match="model.init_from"):
        load_segmenter_weights(target, str(not_a_model),
                               argument="model.init_from")
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="must be a Keras segmenter"):
        load_segmenter_weights(target, dense)
