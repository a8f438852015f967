"""deploy/benchmark.py and run_benchmark: settings, folders and bad files.

Every bad setting is an error before anything is exported or timed; a file
in the export folder that does not load is an error row, not the end of
the run; `--export` never overwrites an existing export.
"""

import json
import shutil

import pytest

from keras_scaleattn.cli import run_script
from keras_scaleattn.export.benchmark import benchmark_table
from keras_scaleattn.export.benchmark import run_benchmark
from tests.export.export_helpers import BAD_NUM_THREADS_FLAGS
from tests.export.export_helpers import load_script


@pytest.fixture
def script(monkeypatch):
    """deploy/benchmark.py, whose export fails the test if it is reached."""
    module = load_script("benchmark")

    def no_export(*args):
        raise AssertionError("exported before the settings were checked")

    monkeypatch.setattr(module, "_export", no_export)
    return module


def test_misspelled_export_dir_is_an_error(script, tiny_model_path,
                                           tmp_path):
    missing = str(tmp_path / "exprots")
    with pytest.raises(FileNotFoundError, match=(
            "`--export-dir` is not an existing directory \\(pass --export "
            f".*Received: --export-dir='{missing}'")):
        script.main(["--model", tiny_model_path, "--export-dir", missing,
                     "--json", str(tmp_path / "b.json")])
    assert not (tmp_path / "b.json").exists()


def test_export_dir_without_artifacts_is_an_error(tiny_model_path, tmp_path):
    with pytest.raises(ValueError, match="`export_dir` holds no artifact"):
        run_benchmark(tiny_model_path, str(tmp_path), size=33, repeats=1)


@pytest.mark.parametrize("flags, message", [
    (["--repeats", "0"], "`--repeats` must be an int >= 1. Received: "
                         "--repeats=0"),
    (["--warmup", "-1"], "`--warmup` must be an int >= 0. Received: "
                         "--warmup=-1"),
    (["--batch", "0"], "`--batch` must be an int >= 1. Received: --batch=0"),
    (["--size", "0"], "`--size` must be an int >= 1. Received: --size=0"),
    *BAD_NUM_THREADS_FLAGS,
    (["--size", "20"], "`--size` must be at least the model's "
                       "min_input_size (33). Received: --size=20"),
])
def test_bad_settings_fail_before_exporting(script, tiny_model_path,
                                            tmp_path, capsys, flags,
                                            message):
    out = tmp_path / "new_exports"
    assert run_script(script.main, [
        "--model", tiny_model_path, "--export", "--export-dir", str(out),
        "--json", str(tmp_path / "b.json")] + flags) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not out.exists() and not (tmp_path / "b.json").exists()


def _refuse_to_load(monkeypatch, script):
    def no_load(*args):
        raise AssertionError("loaded the model before checking the flags")

    monkeypatch.setattr(script, "load_keras_runtime", no_load)


def test_export_dir_without_artifacts_names_the_flag(script, tmp_path,
                                                     capsys, monkeypatch):
    _refuse_to_load(monkeypatch, script)
    empty = tmp_path / "exports"
    empty.mkdir()
    assert run_script(script.main, [
        "--model", "model.keras", "--export-dir", str(empty)]) == 2
    assert capsys.readouterr().err == (
        "error: `--export-dir` holds no artifact to benchmark (saved_model/, "
        "*.onnx, *.tflite, *.plan, *.engine). Received: "
        f"--export-dir={str(empty)!r}\n")


def test_json_in_a_missing_folder_is_an_error_before_any_work(
        script, tmp_path, capsys, monkeypatch):
    _refuse_to_load(monkeypatch, script)
    json_path = str(tmp_path / "no_such_folder" / "b.json")
    assert run_script(script.main, [
        "--model", "model.keras", "--json", json_path]) == 2
    assert capsys.readouterr().err == (
        "error: `--json` must be a file in an existing directory. "
        f"Received: --json={json_path!r}\n")


def test_model_errors_name_the_flag(script, tmp_path, capsys):
    missing = str(tmp_path / "nothing.keras")
    onnx_file = tmp_path / "model.onnx"
    onnx_file.write_bytes(b"onnx bytes")
    for model, message in (
            (missing, f"`--model` does not exist. Received: "
                      f"--model={missing!r}"),
            (str(onnx_file), "`--model` must be a .keras model (the "
                             "reference every artifact is timed against). "
                             f"Received: --model={str(onnx_file)!r} (a "
                             "'onnx' model)")):
        assert run_script(script.main, [
            "--model", model, "--export-dir", str(tmp_path),
            "--json", str(tmp_path / "b.json")]) == 2
        assert capsys.readouterr().err == f"error: {message}\n"


def test_export_refuses_to_overwrite_an_export(script, tiny_model_path,
                                               tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "model_int8.tflite").write_bytes(b"calibrated on my images")
    with pytest.raises(ValueError, match=(
            "`--export` exports into a new or empty --export-dir only.*"
            f"Received: --export-dir='{exports}'")):
        script.main(["--model", tiny_model_path, "--export", "--export-dir",
                     str(exports), "--size", "33"])
    assert (exports / "model_int8.tflite").read_bytes() == (
        b"calibrated on my images")


@pytest.mark.slow
def test_export_into_a_new_or_empty_dir(exports, tiny_model_path, tmp_path,
                                        monkeypatch):
    script = load_script("benchmark")
    calls = []

    def fake_export(model, out_dir, size):  # the real one: test_scripts.py
        calls.append((model.name, out_dir, size))
        shutil.copytree(exports["dir"], out_dir, dirs_exist_ok=True)

    monkeypatch.setattr(script, "_export", fake_export)
    empty = tmp_path / "empty"
    empty.mkdir()
    for out in (tmp_path / "new", empty):
        json_path = tmp_path / f"{out.name}.json"
        assert script.main([
            "--model", tiny_model_path, "--export", "--export-dir", str(out),
            "--size", "41", "--repeats", "1", "--warmup", "0",
            "--json", str(json_path)]) == 0
        report = json.loads(json_path.read_text())
        assert "onnxruntime:model.onnx" in report["results"]
        assert report["config"]["export_dir"] == str(out)
    assert [c[1:] for c in calls] == [(str(tmp_path / "new"), 41),
                                      (str(empty), 41)]


def test_a_broken_artifact_is_an_error_row(tiny_model_path, tmp_path,
                                           capsys):
    (tmp_path / "model.onnx").write_bytes(b"not an onnx model")
    (tmp_path / "model_int8.tflite").write_bytes(
        b"\x1c\x00\x00\x00TFL3" + bytes(100))
    report = run_benchmark(tiny_model_path, str(tmp_path), size=33,
                           repeats=1, warmup=0)
    results = report["results"]
    assert results["keras:compiled"]["repeats"] == 1
    assert results["keras:eager"]["repeats"] == 1
    for name in ("onnxruntime:model.onnx", "litert:model_int8.tflite"):
        assert results[name]["error"].startswith(
            "could not load: ValueError: `path` could not be loaded as ")
    table = benchmark_table(report)
    assert ("| litert:model_int8.tflite | error: could not load: ValueError: "
            "`path` could not be loaded as a TFLite flatbuffer") in table
    # The script prints the table and exits 0.
    json_path = tmp_path / "b.json"
    assert load_script("benchmark").main([
        "--model", tiny_model_path, "--export-dir", str(tmp_path),
        "--size", "33", "--repeats", "1", "--json", str(json_path)]) == 0
    assert "| onnxruntime:model.onnx | error: could not load" in (
        capsys.readouterr().out)
    assert set(json.loads(json_path.read_text())["results"]) == set(results)


@pytest.mark.parametrize("kind", ["truncated", "not a zip"])
def test_broken_model_is_reported_as_export_reports_it(
        kind, tiny_model_path, tmp_path, capsys):
    # The one .keras loader: benchmark says what export says, naming --model.
    model = tmp_path / "model.keras"
    data = open(tiny_model_path, "rb").read()
    model.write_bytes(data[:20000] if kind == "truncated" else b"hello")
    assert run_script(load_script("benchmark").main, [
        "--model", str(model), "--json", str(tmp_path / "b.json")]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: `--model` could not be loaded as a Keras model (truncated, "
        "corrupt or another kind of file): it is not a .keras archive (a "
        "zip file with the model's config and weights). "
        f"Received: --model={str(model)!r}\n")
    assert run_script(load_script("export").main, [
        "--model", str(model), "--out-dir", str(tmp_path / "out"),
        "--formats", "onnx", "--parity-images", "0"]) == 2
    assert capsys.readouterr().err == err


def test_model_must_be_a_keras_file(tmp_path):
    onnx_file = tmp_path / "model.onnx"
    onnx_file.write_bytes(b"onnx bytes")
    with pytest.raises(ValueError, match=(
            "`model_path` must be a .keras model .*Received: "
            f"model_path='{onnx_file}' \\(a 'onnx' model\\)")):
        run_benchmark(str(onnx_file), size=33, repeats=1)
