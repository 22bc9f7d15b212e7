"""The Lab extension's own unit tests (labextension/test/*.test.mjs, Node's test runner) as part of the suite."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules").is_dir(),
    reason="needs Node.js and the extension's node_modules (pip install -e . installs them)",
)
def test_the_jobs_panel_model_and_helpers_pass_their_unit_tests() -> None:
    jlpm = shutil.which("jlpm")
    assert jlpm, "jlpm (it ships with jupyterlab) is not on PATH"
    result = subprocess.run([jlpm, "test"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    summary = "\n".join(line for line in result.stdout.splitlines() if line.startswith(("# ", "not ok")))
    assert result.returncode == 0, f"{summary}\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    assert "# fail 0" in result.stdout and "# pass " in result.stdout, summary
