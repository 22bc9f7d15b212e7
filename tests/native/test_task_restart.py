"""Tasks across a server restart: an execute_notebook task is its job and goes on as the job does; an
execute_on_kernel task that was running ends as failed."""

from __future__ import annotations

from pathlib import Path

import httpx2
import nbformat
import pytest

from ..deploy import lab as deploy_lab
from ..deploy.lab import start_lab
from .conftest import RawSession, wait_task

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

TOKEN = "task-restart-token"
ARGS = ("--ProcessJobExecutor.keep_running_on_shutdown=True",)


class SameToken:
    """``start_lab`` gives each start a new token; a task belongs to the token's identity, so both starts use one."""

    @staticmethod
    def token_hex(n: int) -> str:
        return TOKEN


async def test_an_execute_notebook_task_outlives_a_restart_and_an_execute_on_kernel_task_fails(
    tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(deploy_lab, "secrets", SameToken)
    root = tmp_path / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import time; time.sleep(6)"), nbformat.v4.new_code_cell("x = 1")]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(root / "slow.ipynb"))
    headers = {"Authorization": f"token {TOKEN}"}
    lab = start_lab(tmp_path, *ARGS)
    try:
        async with httpx2.AsyncClient(timeout=120) as http:
            session = RawSession(http, lab.mcp_url, headers)
            await session.open()
            job_task = await session.result(
                "tools/call", {"name": "execute_notebook", "arguments": {"notebook_path": "slow.ipynb"}, "task": {}}
            )
            kernel_id = (await session.result("tools/call", {"name": "start_kernel", "arguments": {}}))[
                "structuredContent"
            ]["kernel_id"]
            kernel_task = await session.result(
                "tools/call",
                {
                    "name": "execute_on_kernel",
                    "arguments": {"kernel_id": kernel_id, "mode": "code", "code": "import time; time.sleep(60)"},
                    "task": {},
                },
            )
    finally:
        lab.stop()
    lab = start_lab(tmp_path, *ARGS)
    try:
        async with httpx2.AsyncClient(timeout=120) as http:
            session = RawSession(http, lab.mcp_url, headers)
            await session.open()
            failed = await session.result("tasks/get", {"taskId": kernel_task["task"]["taskId"]})
            kernel_result = await session.request("tasks/result", {"taskId": kernel_task["task"]["taskId"]})
            job_id_task = job_task["task"]["taskId"]
            done = await wait_task(session, job_id_task, ("completed", "failed"), timeout=90)
            result = await session.result("tasks/result", {"taskId": job_id_task})
            listed = [t["taskId"] for t in (await session.result("tasks/list"))["tasks"]]
    finally:
        lab.stop()
    assert failed["status"] == "failed" and "restarted" in failed["statusMessage"]
    assert "restarted" in kernel_result["error"]["message"]
    assert done["status"] == "completed", done
    assert result["structuredContent"]["execution_status"] == "completed"
    assert result["structuredContent"]["cells_executed"] == 2
    assert set(listed) == {job_id_task, kernel_task["task"]["taskId"]}
