"""What the workers run needs Papermill and distributed, never the Jupyter server or the MCP SDK."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

pytestmark = [pytest.mark.dask, pytest.mark.kernel]

#: Runs the runner's --pipe mode (what a worker starts) with the server's packages made unimportable.
WITHOUT_THE_SERVER = """
import sys
BLOCKED = {"jupyter_server", "jupyterlab", "mcp", "pydantic", "prometheus_client"}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name in BLOCKED or name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not installed on this worker")
sys.meta_path.insert(0, Block())
import jupyter_mcp_ext.jobs.dask.task  # the task and the worker plugin
from jupyter_mcp_ext.jobs import runner
sys.argv = ["runner", "--pipe"]
runner.main()
"""


def test_a_worker_runs_a_job_with_papermill_and_distributed_alone(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(n * 2)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    spec = {
        "job_id": "job_000000000000",
        "notebook_path": "double.ipynb",
        "input_notebook": nbformat.writes(nb),
        "parameters": {"n": 21},
        "kernel_name": "python3",
        "cwd": str(tmp_path),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", WITHOUT_THE_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(spec) + "\n")
        proc.stdin.flush()  # stdin stays open: its end would mean the worker is gone
        records = [json.loads(line) for line in proc.stdout]
    finally:
        proc.kill()
        stderr = proc.communicate(timeout=30)[1]

    finished = [r for r in records if r.get("event") == "finished"]
    assert finished and finished[0]["status"] == "completed", stderr[-3000:]
    assert [r["message"] for r in records if r.get("level") == "stdout"] == ["42"]
    output = nbformat.reads([r for r in records if "notebook" in r][-1]["notebook"], as_version=4)
    assert output.cells[-1].outputs[0]["text"] == "42\n"
    assert output.metadata["papermill"]["input_path"] == "double.ipynb"
