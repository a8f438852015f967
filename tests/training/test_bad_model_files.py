"""A bad `.keras` file is one clear line from every training script.

training/evaluate.py, training/markings.py and the comparison behind
training/compare.py load the user's `.keras` files with the deploy scripts'
loader (`load_keras_model`): a truncated file, another file named
`model.keras` or a Keras model that is not a segmenter is named as such,
with the flag and the file, and exits 2 without a traceback; not Keras'
"File not found" for a file that exists.
"""

import importlib.util
import os

import keras
import pytest

from keras_scaleattn import ScaleAttentionSegmenter
from keras_scaleattn.cli import run_script
from keras_scaleattn.training import save_config
from keras_scaleattn.training.paper_comparison import run_comparison
from keras_scaleattn.training.paper_comparison import variant_config
from training_helpers import REPO
from training_helpers import tiny_config

KINDS = ["truncated", "text file", "not a segmenter"]
NOT_LOADABLE = "could not be loaded as a Keras model (truncated, corrupt"
NOT_A_SEGMENTER = "must be a segmenter, a Keras model with a 'logits' output"


def _load_script(name):
    """Imports `training/<name>.py` as a module (training/ is no package)."""
    spec = importlib.util.spec_from_file_location(
        f"training_{name}", os.path.join(REPO, "training", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def segmenter_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "model.keras"
    ScaleAttentionSegmenter(5, scales=(1.0, 0.5), trunk_width=0.0625,
                            attention_filters=8).save(path)
    return path.read_bytes()


def _bad_model(kind, path, segmenter_bytes):
    os.makedirs(path.parent, exist_ok=True)
    if kind == "truncated":
        path.write_bytes(segmenter_bytes[:len(segmenter_bytes) // 2])
    elif kind == "text file":
        path.write_text("these are my notes, not a model\n")
    else:
        keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(path)
    return path


def _one_error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert "File not found" not in lines[0]
    return lines[0]


def _assert_names(line, kind, flag, path):
    assert line.startswith(f"error: `{flag}` "), line
    assert (NOT_A_SEGMENTER if kind == "not a segmenter"
            else NOT_LOADABLE) in line
    assert f"Received: {flag}={str(path)!r}" in line


@pytest.mark.parametrize("kind", KINDS)
def test_evaluate_script_names_a_bad_model(kind, tmp_path, segmenter_bytes,
                                           capsys):
    path = _bad_model(kind, tmp_path / "model.keras", segmenter_bytes)
    config = tmp_path / "config.yaml"
    save_config(tiny_config(tmp_path / "run"), config)
    code = run_script(_load_script("evaluate").main,
                      ["--model", str(path), "--config", str(config)])
    assert code == 2
    line = _one_error_line(capsys)
    _assert_names(line, kind, "--model", path)
    assert "mIoU" not in capsys.readouterr().out


@pytest.mark.parametrize("kind", KINDS)
def test_markings_script_names_a_bad_model(kind, tmp_path, segmenter_bytes,
                                           capsys):
    runs = tmp_path / "runs"
    path = _bad_model(kind, runs / "single" / "model.keras", segmenter_bytes)
    config = os.path.join(REPO, "training", "configs",
                          "synthetic_markings.yaml")
    code = run_script(_load_script("markings").main,
                      ["--config", config, "--runs", str(runs),
                       "data.num_eval_examples=1", "data.image_size=97"])
    assert code == 2
    line = _one_error_line(capsys)
    _assert_names(line, kind, "--runs", path)
    assert not (runs / "markings.md").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_comparison_names_a_bad_reused_model(kind, tmp_path,
                                             segmenter_bytes):
    out = tmp_path / "out"
    config = tiny_config(tmp_path / "base")
    path = _bad_model(kind, out / "single" / "model.keras", segmenter_bytes)
    save_config(variant_config(config, "single", out),
                out / "single" / "config.yaml")

    def refuse(_):
        raise AssertionError("trained")

    with pytest.raises(ValueError) as info:
        run_comparison(config, out, variants=("single",), train_fn=refuse,
                       num_pictures=0, verbose=0)
    _assert_names(f"error: {info.value}", kind, "out_dir", path)
    assert not (out / "results.md").exists()


def test_comparison_checks_every_reused_model_before_training(
        tmp_path, segmenter_bytes):
    # The bad model belongs to the second variant: the first one must not
    # be trained (and lost) before the error.
    out = tmp_path / "out"
    config = tiny_config(tmp_path / "base")
    path = _bad_model("truncated", out / "max" / "model.keras",
                      segmenter_bytes)
    save_config(variant_config(config, "max", out), out / "max" / "config.yaml")
    trained = []

    def record(cfg):
        trained.append(cfg.runtime.model_dir)
        raise AssertionError("trained before the bad model was found")

    with pytest.raises(ValueError) as info:
        run_comparison(config, out, variants=("single", "max"),
                       train_fn=record, num_pictures=0, verbose=0)
    _assert_names(f"error: {info.value}", "truncated", "out_dir", path)
    assert trained == []
