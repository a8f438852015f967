"""predict_folder and deploy/predict.py on awkward folders.

Colliding stems, a second run into the images folder, hidden files and
corrupt images. The runtime is a stand-in (class 1 where the red channel is
bright) so the expected masks are computed here from PIL's pixels; the
script test runs a tiny `.keras` model and compares with its own outputs.
"""

import os

import numpy as np
import pytest
from PIL import Image

from keras_scaleattn.export import folder_prediction
from keras_scaleattn.export.folder_prediction import predict_folder
from tests.export.export_helpers import BAD_NUM_THREADS_FLAGS
from tests.export.export_helpers import load_script


class BrightRuntime:
    """Class 1 where the red channel is above 127; records its images."""

    def __init__(self):
        self.shapes = []

    def __call__(self, image):
        self.shapes.append(image.shape)
        return {"class_map": (image[..., 0] > 127).astype(np.int32)}


def _block_image(top, left, size=(40, 50)):
    image = np.zeros(size + (3,), np.uint8)
    image[top:top + 10, left:left + 10] = 255
    return image


def _expected_mask(path):
    with Image.open(path) as img:
        return (np.asarray(img.convert("RGB"))[..., 0] > 127).astype(
            np.uint8)


def _mask(path):
    with Image.open(path) as img:
        return np.array(img)


def _write_corrupt(path):
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 4)


def test_images_sharing_a_stem_get_separate_outputs(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(_block_image(0, 0)).save(photos / "a.jpg", quality=95)
    Image.fromarray(_block_image(25, 35)).save(photos / "a.png")
    Image.fromarray(_block_image(5, 20)).save(photos / "b.png")
    out = tmp_path / "out"
    result = predict_folder(BrightRuntime(), photos, out)
    assert sorted(os.listdir(out)) == [
        "a.jpg_mask.png", "a.jpg_overlay.png", "a.png_mask.png",
        "a.png_overlay.png", "b_mask.png", "b_overlay.png"]
    assert len({mask for _, mask, _ in result.written}) == 3
    for name, mask_name in (("a.jpg", "a.jpg_mask.png"),
                            ("a.png", "a.png_mask.png"),
                            ("b.png", "b_mask.png")):
        np.testing.assert_array_equal(_mask(out / mask_name),
                                      _expected_mask(photos / name))


def test_stems_differing_only_in_case_do_not_collide():
    prefixes = folder_prediction.output_prefixes(
        ["p/IMG_1.JPG", "p/img_1.png", "p/c.png"])
    assert prefixes == ["IMG_1.JPG", "img_1.png", "c"]


def test_names_that_still_collide_are_an_error_naming_both():
    with pytest.raises(ValueError, match=r"Images 'p/a\.jpg' and "
                       r"'p/a\.jpg\.png' would both be written to "
                       r"'a\.jpg_mask\.png'"):
        folder_prediction.output_prefixes(
            ["p/a.jpg", "p/a.jpg.png", "p/a.png"])


def test_second_run_into_the_images_folder_skips_its_outputs(tmp_path):
    Image.fromarray(_block_image(3, 4)).save(tmp_path / "a.png")
    predict_folder(BrightRuntime(), tmp_path, tmp_path)
    runtime = BrightRuntime()
    lines = []
    result = predict_folder(runtime, tmp_path, tmp_path, log=lines.append)
    assert runtime.shapes == [(40, 50, 3)]
    assert [os.path.basename(p) for p in result.skipped] == [
        "a_mask.png", "a_overlay.png"]
    assert sorted(os.listdir(tmp_path)) == [
        "a.png", "a_mask.png", "a_overlay.png"]
    assert lines[0] == ("2 files named *_mask.png / *_overlay.png "
                        "(outputs of an earlier run) skipped")


def test_a_folder_of_outputs_only_is_an_error(tmp_path):
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "x_MASK.png")
    with pytest.raises(ValueError, match="holds only files named like this "
                       r"tool's outputs .*folder='.*'"):
        predict_folder(BrightRuntime(), tmp_path, tmp_path / "out")


def test_a_corrupt_image_is_reported_and_the_others_run(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(_block_image(0, 0)).save(photos / "a.png")
    _write_corrupt(photos / "b.png")
    Image.fromarray(_block_image(30, 40)).save(photos / "c.png")
    lines = []
    result = predict_folder(BrightRuntime(), photos, tmp_path / "out",
                            log=lines.append, skip_unreadable=True)
    assert [os.path.basename(p) for p, _, _ in result.written] == [
        "a.png", "c.png"]
    ((path, message),) = result.failed
    assert path == str(photos / "b.png")
    assert f"Cannot decode image file '{path}'" in message
    assert f"skipped: {message}" in lines
    for name in ("a", "c"):
        np.testing.assert_array_equal(
            _mask(tmp_path / "out" / f"{name}_mask.png"),
            _expected_mask(photos / f"{name}.png"))
    # The library's default: an unreadable image raises, naming it.
    with pytest.raises(ValueError, match=r"b\.png"):
        predict_folder(BrightRuntime(), photos, tmp_path / "out2")


@pytest.mark.slow
def test_predict_script_reports_unreadable_images_and_exits_1(
        tiny_model_path, tmp_path, rng, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    image = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    Image.fromarray(image).save(photos / "good.png")
    Image.fromarray(image[:33, :33]).save(photos / "good.jpg", quality=95)
    _write_corrupt(photos / "bad.png")
    _write_corrupt(photos / "._good.png")
    script = load_script("predict")
    argv = ["--model", tiny_model_path, "--images", str(photos),
            "--out-dir", str(photos)]
    assert script.main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1].endswith(
        f"into {photos}; 1 unreadable images skipped")
    assert captured.out.splitlines()[-1].startswith("2 images segmented")
    assert captured.err == (f"error: 1 of 3 images could not be read: "
                            f"{photos / 'bad.png'}\n")
    from keras_scaleattn.export.segmentation_runtime import (
        SegmentationRuntime,
    )

    runtime = SegmentationRuntime(tiny_model_path)
    np.testing.assert_array_equal(_mask(photos / "good.png_mask.png"),
                                  runtime(image)["class_map"])
    os.remove(photos / "bad.png")
    assert script.main(argv) == 0  # again into the same folder: outputs kept
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("2 images segmented")
    assert last.endswith("; 4 files named like outputs skipped")
    assert sorted(os.listdir(photos)) == [
        "._good.png", "good.jpg", "good.jpg_mask.png", "good.jpg_overlay.png",
        "good.png", "good.png_mask.png", "good.png_overlay.png"]


def _script_error(argv, capsys):
    from keras_scaleattn.cli import run_script

    assert run_script(load_script("predict").main, argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


@pytest.mark.parametrize("flags, message", [
    (["--alpha", "2"], "`--alpha` must be in [0, 1]. Received: --alpha=2.0"),
    (["--max-size", "0"], "`--max-size` must be a positive int. Received: "
                          "--max-size=0"),
    (["--max-size", "600", "--fit", "exact"],
     "`--max-size` needs --fit='letterbox' (larger images are shrunk to it) "
     "or --fit='tile' (the window size). Received: --max-size=600, "
     "--fit='exact'"),
    *BAD_NUM_THREADS_FLAGS,
])
def test_predict_script_names_its_flags_before_loading(tmp_path, capsys,
                                                       flags, message):
    # --model does not exist: each flag is checked before the model loads.
    argv = ["--model", str(tmp_path / "nothing.keras"), "--images",
            str(tmp_path), "--out-dir", str(tmp_path / "out")] + flags
    assert _script_error(argv, capsys) == f"error: {message}\n"
    assert not (tmp_path / "out").exists()


def test_predict_script_names_the_model_and_folders(tiny_model_path,
                                                    tmp_path, capsys):
    missing = str(tmp_path / "nowhere")
    a_file = tmp_path / "file.png"
    a_file.write_bytes(b"x")
    model = tmp_path / "model.keras"
    model.write_bytes(b"not a zip")
    for argv, message in (
            (["--model", missing + ".keras", "--images", str(tmp_path),
              "--out-dir", missing],
             f"`--model` does not exist. Received: "
             f"--model={missing + '.keras'!r}"),
            (["--model", str(model), "--images", str(tmp_path),
              "--out-dir", missing],
             "`--model` could not be loaded as a Keras model (truncated, "
             "corrupt or another kind of file): it is not a .keras archive "
             "(a zip file with the model's config and weights). "
             f"Received: --model={str(model)!r}"),
            (["--model", tiny_model_path, "--images", str(tmp_path),
              "--out-dir", str(a_file)],
             "`--out-dir` must be a directory (created if missing), not a "
             f"file. Received: --out-dir={str(a_file)!r}"),
            (["--model", tiny_model_path, "--images", missing,
              "--out-dir", str(tmp_path / "out")],
             f"`--images` must be a directory. Received: --images={missing!r}"),
    ):
        assert _script_error(argv, capsys) == f"error: {message}\n"
    assert not os.path.exists(missing)
