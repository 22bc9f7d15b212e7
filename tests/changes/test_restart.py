"""Change records outlive the server: an agent's change made before a restart is listed and reverted after it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

from ..conftest import result_json
from ..deploy.conftest import mcp_session
from ..deploy.lab import start_lab

pytestmark = [pytest.mark.slow]


@pytest.fixture(params=["file"])
def notebook_backend(request: Any) -> str:
    """A server of its own, as an operator runs it: no JupyterLab tab."""
    return str(request.param)


async def test_a_change_made_before_a_restart_is_listed_and_reverted_after_it(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("kept = 'before'")])
    nbformat.write(nb, str(root / "r.ipynb"))
    lab = start_lab(tmp_path)
    try:
        async with mcp_session(lab.mcp_url, lab.token) as client:
            result_json(await client.call_tool("update_cell", {"path": "r.ipynb", "index": 0, "source": "x = 'agent'"}))
    finally:
        lab.stop()
    database = tmp_path / "data" / "jupyter_mcp_ext" / "changes.sqlite"
    assert database.exists() and database.stat().st_mode & 0o777 == 0o600
    lab = start_lab(tmp_path)
    try:
        (change,) = lab.api("GET", "jupyter-mcp-ext/changes", params={"path": "r.ipynb"}).json()["changes"]
        assert change["tool"] == "update_cell"
        response = lab.api("POST", f"jupyter-mcp-ext/changes/{change['id']}/revert", json={})
        assert response.status_code == 200, response.text
    finally:
        lab.stop()
    assert nbformat.read(str(root / "r.ipynb"), as_version=4).cells[0].source == "kept = 'before'"
