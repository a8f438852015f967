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
