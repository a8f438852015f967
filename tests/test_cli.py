import os
import subprocess
import sys
from pathlib import Path

import pytest

from keras_scaleattn.cli import run_script

ROOT = Path(__file__).resolve().parents[1]


def test_user_errors_become_one_line(capsys):
    def main(argv):
        raise FileNotFoundError(f"`folder` does not exist: {argv[0]!r}")

    assert run_script(main, ["photos/"]) == 2
    assert capsys.readouterr().err == "error: `folder` does not exist: 'photos/'\n"
    assert run_script(lambda argv: 0, []) == 0


def test_other_errors_are_not_hidden():
    def main(argv):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        run_script(main, [])


@pytest.mark.slow
@pytest.mark.parametrize("script, args, words", [
    ("deploy/predict.py", ["--model", "missing.keras", "--images", "x",
                           "--out-dir", "y"], ["missing.keras"]),
    ("deploy/export.py", ["--model", "missing.keras", "--out-dir", "y"],
     ["missing.keras"]),
])
def test_scripts_exit_2_without_traceback(tmp_path, script, args, words):
    result = subprocess.run([sys.executable, str(ROOT / script), *args],
                            cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env=dict(os.environ))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert all(word in result.stderr for word in words)


def test_os_errors_on_user_paths_become_one_line(tmp_path, capsys):
    def main(argv):
        # A file where a folder is expected, as `--out-dir photo.png/masks`.
        (tmp_path / "photo.png").write_bytes(b"")
        os.makedirs(tmp_path / "photo.png" / "masks")

    assert run_script(main, []) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "photo.png" in err


def _first_element_error(dataset):
    try:
        next(iter(dataset))
    except Exception as error:  # the error exactly as training would see it
        return error
    raise AssertionError("the dataset did not fail")


def test_data_check_inside_tf_data_becomes_one_line(capsys):
    import tensorflow as tf

    from keras_scaleattn.data.validation import check_example

    image = tf.zeros((4, 5, 3))
    label = tf.fill((4, 5), 7)
    dataset = tf.data.Dataset.from_tensors((image, label)).map(
        lambda x, y: check_example(x, y, name="image a.jpg, mask a.png",
                                    num_classes=3))
    error = _first_element_error(dataset)

    def main(argv):
        raise error

    assert run_script(main, []) == 2
    assert capsys.readouterr().err == (
        "error: Label values must be in [0, 3) or 255 (ignore) for "
        "num_classes=3; found values in [min, max] = 7 7 in image a.jpg, "
        "mask a.png\n")


def test_python_error_inside_tf_data_becomes_one_line(capsys):
    import tensorflow as tf

    def decode(path):
        raise ValueError(f"Cannot decode image file {path.decode()!r}: "
                         "Truncated File Read")

    dataset = tf.data.Dataset.from_tensors("a.jpg").map(
        lambda path: tf.numpy_function(decode, [path], tf.uint8))
    error = _first_element_error(dataset)
    assert run_script(lambda argv: (_ for _ in ()).throw(error), []) == 2
    assert capsys.readouterr().err == (
        "error: Cannot decode image file 'a.jpg': Truncated File Read\n")


def test_other_tensorflow_errors_are_not_hidden():
    import tensorflow as tf

    error = _first_element_error(tf.data.Dataset.from_tensors(1.0).map(
        lambda x: tf.debugging.check_numerics(x / 0.0, "division")))

    def main(argv):
        raise error

    with pytest.raises(type(error)):
        run_script(main, [])
