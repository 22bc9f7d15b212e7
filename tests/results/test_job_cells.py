"""Job results name cells by their index in the input notebook, in the output notebook, and by id."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from ..conftest import TOKEN
from ..jobs.conftest import NOTEBOOKS, tool, wait_finished, wait_until

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


@pytest.fixture
def jp_server_config(tmp_path: Path) -> dict:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mcp_ext": True}, "allow_root": True},
        "IdentityProvider": {"token": TOKEN},
        "MCPExtensionApp": {"jobs_db_path": str(tmp_path / "jobdata" / "jobs.sqlite")},
    }


async def test_a_failing_cell_is_named_in_the_input_and_the_output_notebook_with_its_id(mcp_client, jp_root_dir):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Report"),
        nbformat.v4.new_code_cell("n = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(n)"),
        nbformat.v4.new_code_cell("{}['missing']"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(jp_root_dir / "report.ipynb"))
    async with mcp_client() as client:
        data = await tool(client, "execute_notebook", notebook_path="report.ipynb", parameters={"n": 2})
    error = data["error"]
    out = nbformat.read(str(jp_root_dir / data["output_path"]), as_version=4)
    # The output notebook has Papermill's parameters cell, and its two error-marker cells.
    assert (error["cell_index"], error["cell_id"]) == (3, nb.cells[3].id)
    assert out.cells[error["output_cell_index"]].id == nb.cells[3].id
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in out.cells)


async def test_a_cancelled_job_counts_no_failed_cell_and_its_durations_agree(mcp_client, jp_root_dir):
    shutil.copy(NOTEBOOKS / "keyboard_interrupt.ipynb", jp_root_dir / "keyboard_interrupt.ipynb")
    async with mcp_client() as client:
        job = await tool(client, "execute_notebook", notebook_path="keyboard_interrupt.ipynb", mode="async")
        running = await wait_until(
            client, job["job_id"], lambda s: (s["progress"]["current_cell"] or {}).get("index") == 0
        )
        await tool(client, "manage_async_job", operation="cancel", job_id=job["job_id"])
        status = await wait_finished(client, job["job_id"])
        logs = await tool(client, "manage_async_job", operation="logs", job_id=job["job_id"])
    current = running["progress"]["current_cell"]
    assert current["output_index"] == 0 and current["cell_id"] is None or isinstance(current["cell_id"], str)
    assert status["status"] == "cancelled"
    assert (status["result"]["cells_failed"], status["result"]["cells_succeeded"]) == (0, 0)
    (line,) = [entry["message"] for entry in logs["logs"] if entry["message"].startswith("Job cancelled in")]
    logged = float(re.search(r"in ([\d.]+) s", line).group(1))
    assert abs(logged - status["execution_time"]) <= 0.051, (line, status["execution_time"])
