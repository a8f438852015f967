import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    commands = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1)
    assert "make demo" in commands and "make test" in commands
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_quickstart_matches_the_example_script():
    example = (ROOT / "examples" / "quickstart.py").read_text()
    assert _python_blocks()[0].strip() in example


@pytest.mark.slow
def test_quickstart_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", _python_blocks()[0]], cwd=tmp_path,
        capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "weights sum to 1: True" in result.stdout
    assert (tmp_path / "quickstart.keras").exists()
