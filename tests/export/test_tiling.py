"""Tiled ("sliding window") inference: large images in overlapping windows.

References: the window placement of MMSegmentation's `slide_inference`
(`mmseg/models/segmentors/encoder_decoder.py`), written out here from its
formulas; the Gaussian weights of nnU-Net / MONAI (sigma = 1/8 of the
window's side, 1 at its centre), pixel by pixel from the formula; and the
blend by definition, a loop over the windows that adds each window's
weighted probabilities and attention and divides by the weights covering
each pixel, with the model run on each window through the exact (unfitted)
runtime.
"""

import json
import math

import numpy as np
import pytest

from keras_scaleattn.export.segmentation_runtime import SegmentationRuntime
from keras_scaleattn.export.tiling import check_overlap
from keras_scaleattn.export.tiling import check_tile_batch_size
from keras_scaleattn.export.tiling import segment_in_tiles
from keras_scaleattn.export.tiling import tile_starts
from keras_scaleattn.export.tiling import tile_windows
from keras_scaleattn.export.tiling import window_weights
from tests.export.export_helpers import FIXED_SIZE
from tests.export.export_helpers import load_script
from tests.export.export_helpers import predict_red_box
from tests.export.export_helpers import write_glob_experiment


def _mmseg_starts(length, tile, overlap):
    """`slide_inference`'s windows along one side (stride from the overlap)."""
    stride = max(1, math.floor(tile * (1 - overlap)))
    grids = max(length - tile + stride - 1, 0) // stride + 1
    starts = []
    for index in range(grids):
        end = min(index * stride + tile, length)
        starts.append(max(end - tile, 0))
    return starts


@pytest.mark.parametrize("length", [1, 40, 41, 42, 100, 513, 1000, 2049])
@pytest.mark.parametrize("tile", [41, 321, 513])
@pytest.mark.parametrize("overlap", [0.0, 0.25, 1 / 3, 0.5, 0.9])
def test_windows_are_placed_as_mmsegmentation_places_them(length, tile,
                                                          overlap):
    starts = tile_starts(length, tile, overlap)
    assert starts == _mmseg_starts(length, tile, overlap)
    # Every pixel covered, every window inside the image.
    covered = np.zeros(length, bool)
    for start in starts:
        end = min(start + tile, length)
        assert 0 <= start and end <= length
        covered[start:end] = True
    assert covered.all()


def test_windows_of_a_wide_image():
    windows = tile_windows(60, 130, (41, 41), overlap=0.5)
    assert {(h, w) for _, _, h, w in windows} == {(41, 41)}
    assert sorted({top for top, _, _, _ in windows}) == [0, 19]
    assert sorted({left for _, left, _, _ in windows}) == [0, 20, 40, 60, 80, 89]
    # A side shorter than the tile: one window, cut to the image.
    assert tile_windows(30, 100, (41, 41), 0.0) == [
        (0, 0, 30, 41), (0, 41, 30, 41), (0, 59, 30, 41)]


@pytest.mark.parametrize("overlap", [-0.1, 1.0, 1.5, "1/3", None, True])
def test_overlap_must_be_in_zero_one(overlap):
    with pytest.raises(ValueError, match=r"`tile_overlap` must be a number "
                                         r"in \[0, 1\).*Received: tile_overlap="):
        check_overlap(overlap)


@pytest.mark.parametrize("count", [0, -2, 1.5, "4", None, True])
def test_windows_per_call_must_be_a_positive_int(count):
    with pytest.raises(ValueError, match=r"`tile_batch_size` must be an int "
                                         r">= 1.*Received: tile_batch_size="):
        check_tile_batch_size(count)
    with pytest.raises(ValueError, match=r"`windows_per_call` must be"):
        segment_in_tiles(lambda w: w, np.zeros((1, 9, 9, 3), np.uint8),
                         (5, 5), windows_per_call=count)


def _context_model(window):
    """A made-up model whose output depends on the whole window (its mean
    red), so that overlapping windows disagree and the blend matters."""
    window = window.astype(np.float32)
    logits = np.stack([window[..., 0] / 255.0,
                       np.broadcast_to(window[..., 0].mean(axis=(1, 2),
                                                           keepdims=True)
                                       / 255.0, window.shape[:3]),
                       window[..., 1] / 255.0], axis=-1) * 4.0
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    attention = np.stack([window[..., 2] / 255.0,
                          1.0 - window[..., 2] / 255.0], axis=-1)
    return {"probabilities": probabilities, "attention": attention}


def _weights(height, width, blend):
    """exp(-(dy^2 / 2 sy^2 + dx^2 / 2 sx^2)), d from the window's centre,
    s = side / 8; or 1 for the plain mean."""
    weights = np.ones((height, width))
    if blend == "gaussian":
        for y in range(height):
            for x in range(width):
                dy, dx = y - (height - 1) / 2, x - (width - 1) / 2
                weights[y, x] = math.exp(-dy * dy / (2 * (height / 8) ** 2)
                                         - dx * dx / (2 * (width / 8) ** 2))
    return weights


def _blend_reference(model, batch, tile, overlap, blend="gaussian"):
    height, width = batch.shape[1:3]
    weight_sum = np.zeros((height, width, 1))
    totals = {}
    for top in _mmseg_starts(height, tile[0], overlap):
        for left in _mmseg_starts(width, tile[1], overlap):
            window = batch[:, top:top + tile[0], left:left + tile[1]]
            outputs = model(window)
            h, w = window.shape[1:3]
            weights = _weights(h, w, blend)[..., None]
            for name in ("probabilities", "attention"):
                total = totals.setdefault(name, np.zeros(
                    batch.shape[:3] + outputs[name].shape[-1:]))
                total[:, top:top + h, left:left + w] += outputs[name] * weights
            weight_sum[top:top + h, left:left + w] += weights
    return {name: total / weight_sum for name, total in totals.items()}


@pytest.mark.parametrize("shape", [(41, 41), (20, 33), (8, 1)])
def test_gaussian_weights_follow_the_formula(shape):
    np.testing.assert_allclose(window_weights(*shape),
                               _weights(*shape, "gaussian"), rtol=1e-6)
    np.testing.assert_array_equal(window_weights(*shape, blend="mean"), 1.0)


def test_blend_must_be_known():
    with pytest.raises(ValueError, match=r"`blend` must be one of "
                                         r"\['gaussian', 'mean'\].*"
                                         "Received: blend='median'"):
        segment_in_tiles(_context_model, np.zeros((1, 9, 9, 3), np.uint8),
                         (5, 5), blend="median")


@pytest.mark.parametrize("blend", ["gaussian", "mean"])
@pytest.mark.parametrize("shape, tile, overlap", [
    ((37, 90), (20, 20), 1 / 3),
    ((64, 64), (33, 21), 0.5),
    ((15, 50), (20, 20), 0.0),   # shorter than the tile
])
@pytest.mark.parametrize("windows_per_call", [1, 4, 100])
def test_blend_is_the_weighted_mean_over_the_covering_windows(
        rng, shape, tile, overlap, blend, windows_per_call):
    batch = rng.integers(0, 256, size=(2,) + shape + (3,), dtype=np.uint8)
    calls = []

    def model(windows):
        calls.append(len(windows))
        return _context_model(windows)

    out = segment_in_tiles(model, batch, tile, overlap, blend,
                           windows_per_call)
    expected = _blend_reference(_context_model, batch, tile, overlap, blend)
    # Every window of both images, `windows_per_call` windows to a call.
    count = len(_mmseg_starts(shape[0], tile[0], overlap)) * len(
        _mmseg_starts(shape[1], tile[1], overlap))
    assert sum(calls) == 2 * count
    assert calls[:-1] == [2 * windows_per_call] * (len(calls) - 1)
    assert len(calls) == math.ceil(count / windows_per_call)
    for name in ("probabilities", "attention"):
        assert out[name].dtype == np.float32
        np.testing.assert_allclose(out[name], expected[name], rtol=1e-5,
                                   atol=1e-6)
    np.testing.assert_array_equal(out["class_map"],
                                  expected["probabilities"].argmax(-1))
    np.testing.assert_allclose(out["probabilities"].sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("blend", ["gaussian", "mean"])
def test_a_pixelwise_model_gives_the_whole_image_result(rng, blend):
    def pixelwise(window):
        p = window.astype(np.float32) / 255.0 + 1e-3
        return {"probabilities": p / p.sum(-1, keepdims=True)}

    batch = rng.integers(0, 256, size=(1, 50, 77, 3), dtype=np.uint8)
    out = segment_in_tiles(pixelwise, batch, (16, 16), 0.25, blend)
    np.testing.assert_allclose(out["probabilities"],
                               pixelwise(batch)["probabilities"], atol=1e-6)


def test_a_model_without_probabilities_is_refused(rng):
    with pytest.raises(ValueError, match="returned only \\['class_map'\\]"):
        segment_in_tiles(lambda w: {"class_map": w[..., 0]},
                         np.zeros((1, 50, 50, 3), np.uint8), (20, 20))


@pytest.mark.slow
def test_keras_model_in_tiles_matches_the_blend_of_exact_windows(
        keras_runtime, rng):
    runtime = SegmentationRuntime(keras_runtime.path, fit="tile",
                                  max_size=41, tile_overlap=0.25)
    assert runtime.tile_size == (41, 41)
    image = rng.integers(0, 256, size=(70, 100, 3), dtype=np.uint8)
    out = runtime(image)
    expected = _blend_reference(keras_runtime, image[None], (41, 41), 0.25)
    mean = SegmentationRuntime(keras_runtime.path, fit="tile", max_size=41,
                               tile_overlap=0.25, tile_blend="mean")(image)
    np.testing.assert_allclose(
        mean["probabilities"],
        _blend_reference(keras_runtime, image[None], (41, 41), 0.25,
                         "mean")["probabilities"][0], atol=1e-6)
    assert out["class_map"].shape == (70, 100)
    assert list(out) == ["class_map", "probabilities", "attention"]
    np.testing.assert_allclose(out["probabilities"],
                               expected["probabilities"][0], atol=1e-6)
    np.testing.assert_allclose(out["attention"], expected["attention"][0],
                               atol=1e-6)
    assert runtime.fit_note(70, 100) == "tiled: 6 windows of 41x41"
    # Four windows to a model call: the same outputs, to float rounding
    # (a batch of 4 may take other kernels than a batch of 1).
    batched = SegmentationRuntime(keras_runtime.path, fit="tile",
                                  max_size=41, tile_overlap=0.25,
                                  tile_batch_size=4)(image)
    np.testing.assert_allclose(batched["probabilities"], out["probabilities"],
                               atol=1e-6)
    np.testing.assert_allclose(batched["attention"], out["attention"],
                               atol=1e-6)
    # An image no larger than the tile is one window: the exact result
    # (its weights divided by themselves, to float rounding).
    small = image[:41, :35]
    np.testing.assert_allclose(runtime(small)["probabilities"],
                               keras_runtime(small)["probabilities"],
                               rtol=1e-6, atol=1e-7)
    assert runtime.fit_note(41, 35) is None


@pytest.mark.slow
def test_fixed_size_tflite_tiles_at_its_own_size(exports, keras_runtime, rng):
    runtime = SegmentationRuntime(exports["tflite_fixed"], fit="tile")
    assert runtime.tile_size == FIXED_SIZE
    image = rng.integers(0, 256, size=(60, 90, 3), dtype=np.uint8)
    out = runtime(image)
    # The fixed-size model's windows equal the Keras model's on them.
    expected = _blend_reference(keras_runtime, image[None], FIXED_SIZE,
                                1 / 3)
    np.testing.assert_allclose(out["probabilities"],
                               expected["probabilities"][0], atol=1e-5)
    # A window the model does not take (the image is shorter than 41) is
    # letterboxed, as with fit="letterbox".
    short = image[:30]
    letterboxed = SegmentationRuntime(exports["tflite_fixed"],
                                      fit="letterbox")
    tiled = runtime(short)
    assert tiled["class_map"].shape == (30, 90)
    first = letterboxed(short[:, :41])["probabilities"]
    only_first = tiled["probabilities"][:, :20]  # no other window there
    np.testing.assert_allclose(only_first, first[:, :20], atol=1e-6)


def test_tile_needs_a_window_size(keras_runtime):
    with pytest.raises(ValueError, match=(
            r"^fit='tile' needs `max_size`, the window size, for a model that "
            r"takes any size .*Received: max_size=None$")):
        SegmentationRuntime(keras_runtime.path, fit="tile")
    min_size = keras_runtime.min_input_size
    with pytest.raises(ValueError, match=(
            f"`max_size` must be at least the model's smallest input, "
            f"{min_size}, to be a window. Received: max_size=10")):
        SegmentationRuntime(keras_runtime.path, fit="tile", max_size=10)
    with pytest.raises(ValueError, match=r"`tile_overlap` must be a number "
                                         r"in \[0, 1\).*tile_overlap=1.0"):
        SegmentationRuntime(keras_runtime.path, fit="tile", max_size=41,
                            tile_overlap=1.0)
    with pytest.raises(ValueError, match=r"`--tile-blend` must be one of "
                                         r"\['gaussian', 'mean'\]"):
        SegmentationRuntime(keras_runtime.path, fit="tile", max_size=41,
                            tile_blend="max",
                            argument_names={"tile_blend": "--tile-blend"})


@pytest.mark.slow
def test_fixed_size_model_refuses_another_window_size(exports):
    with pytest.raises(ValueError, match=(
            r"A fixed-size model's windows are its size, 41x41: leave "
            r"`max_size` unset with fit='tile'. Received: max_size=65")):
        SegmentationRuntime(exports["tflite_fixed"], fit="tile", max_size=65)


@pytest.mark.slow
def test_predict_script_tiles_a_large_photo(keras_runtime, tmp_path, capsys):
    image, mask = predict_red_box(
        tmp_path, keras_runtime.path, 70, 100,
        ["--fit", "tile", "--max-size", "41", "--tile-overlap", "0.5"])
    expected = SegmentationRuntime(keras_runtime.path, fit="tile",
                                   max_size=41, tile_overlap=0.5)(image)
    np.testing.assert_array_equal(mask, expected["class_map"])
    assert "big.png -> " in capsys.readouterr().out


def test_predict_script_names_a_bad_overlap(tmp_path, capsys):
    from keras_scaleattn.cli import run_script

    argv = ["--model", str(tmp_path / "m.keras"), "--images", str(tmp_path),
            "--out-dir", str(tmp_path / "out"), "--fit", "tile",
            "--max-size", "41", "--tile-overlap", "1"]
    assert run_script(load_script("predict").main, argv) == 2
    err = capsys.readouterr().err
    assert "`--tile-overlap` must be a number in [0, 1)" in err
    assert "Received: --tile-overlap=1.0" in err
    assert "Traceback" not in err


def test_predict_script_names_a_bad_tile_batch_size(tmp_path, capsys):
    from keras_scaleattn.cli import run_script

    argv = ["--model", str(tmp_path / "m.keras"), "--images", str(tmp_path),
            "--out-dir", str(tmp_path / "out"), "--fit", "tile",
            "--max-size", "41", "--tile-batch-size", "0"]
    assert run_script(load_script("predict").main, argv) == 2
    err = capsys.readouterr().err
    assert "`--tile-batch-size` must be an int >= 1" in err
    assert "Received: --tile-batch-size=0" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_evaluate_script_scores_tiled_inference(keras_runtime, tmp_path,
                                                capsys):
    """`evaluate.py --fit tile` on a .keras model: the mIoU of the tiled
    class maps, from a confusion matrix built here."""
    rng = np.random.default_rng(3)
    pairs = [(rng.integers(0, 256, (70, 100, 3), dtype=np.uint8),
              rng.integers(0, 3, (70, 100), dtype=np.uint8))
             for _ in range(2)]
    config_path = write_glob_experiment(tmp_path, pairs, (100, 400))
    argv = ["--model", keras_runtime.path, "--config", str(config_path),
            "--fit", "tile", "--max-size", "41", "--json",
            str(tmp_path / "tiled.json")]
    assert load_script("evaluate", "training").main(argv) == 0
    assert "Evaluating the keras model" in capsys.readouterr().out
    got = json.loads((tmp_path / "tiled.json").read_text())
    runtime = SegmentationRuntime(keras_runtime.path, fit="tile", max_size=41)
    matrix = np.zeros((3, 3), np.int64)
    for image, label in pairs:
        np.add.at(matrix, (label.ravel(), runtime(image)["class_map"].ravel()),
                  1)
    iou = np.diag(matrix) / (matrix.sum(0) + matrix.sum(1) - np.diag(matrix))
    assert got["miou"] == pytest.approx(np.nanmean(iou), abs=1e-6)


@pytest.mark.slow
def test_tensorrt_profile_sets_the_largest_window(exports, keras_runtime, rng,
                                                  monkeypatch):
    # TensorRT is not installed here: the ONNX model stands in for an
    # engine and reports the profile an engine would (as in
    # test_letterbox.py), from its construction on.
    from keras_scaleattn.export import segmentation_runtime
    from keras_scaleattn.export.tensorrt_engine import EngineProfile

    profile = EngineProfile((1, 41, 41), (1, 57, 57), (2, 73, 73))
    monkeypatch.setattr(segmentation_runtime._OnnxBackend, "profile", profile,
                        raising=False)
    runtimes = {name: SegmentationRuntime(exports["onnx"], fit="tile", **kwargs)
                for name, kwargs in (("profile", {}),
                                     ("smaller", {"max_size": 57}),
                                     ("larger", {"max_size": 100}))}
    assert runtimes["profile"].tile_size == (73, 73)
    assert runtimes["smaller"].tile_size == (57, 57)
    assert runtimes["larger"].tile_size == (73, 73)   # at most the profile's
    # 100x60: windows of 73x60 (inside the profile); 3 images run in
    # chunks of the profile's batch of 2.
    images = rng.integers(0, 256, size=(3, 100, 60, 3), dtype=np.uint8)
    out = runtimes["profile"](images)
    expected = _blend_reference(keras_runtime, images[2:], (73, 73), 1 / 3)
    np.testing.assert_allclose(out["probabilities"][2:],
                               expected["probabilities"], atol=1e-5)
    assert runtimes["profile"].fit_note(100, 60) == "tiled: 2 windows of 73x60"
    # Both windows of the three images in one call: a batch of 6, run in
    # chunks of the profile's 2.
    both = SegmentationRuntime(exports["onnx"], fit="tile",
                               tile_batch_size=2)(images)
    np.testing.assert_allclose(both["probabilities"], out["probabilities"],
                               atol=1e-6)


def test_a_model_in_memory_runs_like_its_file(tiny_model, keras_runtime, rng):
    """An application that loaded the model with keras.models.load_model
    passes it as it is: the same outputs as the runtime of its file, tiled
    too."""
    in_memory = SegmentationRuntime(tiny_model, fit="tile", max_size=41)
    assert in_memory.kind == "keras" and in_memory.path is None
    assert in_memory.metadata["scales"] == [1.0, 0.5]
    image = rng.integers(0, 256, size=(50, 70, 3), dtype=np.uint8)
    from_file = SegmentationRuntime(keras_runtime.path, fit="tile",
                                    max_size=41)
    np.testing.assert_allclose(in_memory(image)["probabilities"],
                               from_file(image)["probabilities"], atol=1e-6)
    import keras

    not_a_segmenter = keras.Sequential([keras.Input((8,)),
                                        keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="must be a Keras segmenter with a "
                                         "'logits' output"):
        SegmentationRuntime(not_a_segmenter)
