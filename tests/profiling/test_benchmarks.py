"""Every script in benchmarks/ runs end to end with --quick (tiny model)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import requires_tensorflow

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, requires_tensorflow]

PREVIOUS = "spacetobatch-dilation,concat-attention-conv"
# script -> (extra arguments, extra environment, keys the JSON must hold)
SCRIPTS = {
    "conv_variants": ([], {}, ["results", "max_relative_difference"]),
    "multiscale_cost": (["--previous-ops", PREVIOUS], {},
                        ["flops", "ratios", "parts_cpu_s", "op_profile"]),
    "efficiency": (["--previous-ops", PREVIOUS], {},
                   ["flops", "matmul", "results"]),
    "deployment": ([], {}, ["graph", "results"]),
    "training_step": ([], {}, ["forward_flops", "results", "ratio"]),
    "memory_usage": ([], {}, ["peaks", "leaks"]),
    "tiling": ([], {}, ["fit_note", "results"]),
    "gpu_throughput": (["--allow-cpu", "--previous-ops",
                        "concat-attention-conv"], {"KERAS_BACKEND": "jax"},
                       ["device", "results"]),
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_script_runs_quick(script, tmp_path):
    extra, env_extra, keys = SCRIPTS[script]
    output = tmp_path / "result.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT),
               KERAS_SCALEATTN_BENCHMARK_CACHE=str(tmp_path / "cache"),
               **env_extra)
    process = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--quick",
         "--json", str(output), *extra],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, (process.stdout + process.stderr)[-4000:]
    result = json.loads(output.read_text())
    for key in keys:
        assert key in result, (key, sorted(result))
    if "--previous-ops" in extra:  # both forms timed in the same run
        assert "previous" in json.dumps(result["config"]), result["config"]
        assert "concat-attention-conv" in json.dumps(
            result.get("ratios") or result["results"])
    assert "load average at start" in process.stdout
    assert process.stdout.startswith("# ")


def test_every_script_docstring_starts_with_a_command():
    scripts = sorted((ROOT / "benchmarks").glob("*.py"))
    assert {p.stem for p in scripts} == set(SCRIPTS)
    for path in scripts:
        text = path.read_text()
        docstring = text.split('"""')[1]
        command = [line for line in docstring.splitlines()
                   if line.strip()][1].strip()
        assert "python benchmarks/" + path.name in command, path
