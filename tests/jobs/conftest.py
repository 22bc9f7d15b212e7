"""Fixtures of the notebook-job tests: a server whose job database lives in the test's tmp dir,
the real notebooks of tests/jobs/notebooks copied under its root, and polling helpers."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ..conftest import TOKEN, poll, result_json

NOTEBOOKS = Path(__file__).parent / "notebooks"
#: A cell that waits (up to a minute) for the test to create the file "go" in its directory.
WAIT_FOR_GO = (
    "import os, time\nfor _ in range(600):\n    if os.path.exists('go'):\n        break\n    time.sleep(0.1)\n"
)


@pytest.fixture
def jobs_config() -> dict[str, Any]:
    """Extra ``MCPExtensionApp`` traits for a test (parametrize it to change them)."""
    return {}


@pytest.fixture
def executor_config() -> dict[str, Any]:
    """``ProcessJobExecutor`` traits for a test (tests that start no job set ``warm_runners`` 0)."""
    return {}


@pytest.fixture
def jp_server_config(tmp_path: Path, jobs_config: dict[str, Any], executor_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mcp_ext": True}, "allow_root": True},
        "IdentityProvider": {"token": TOKEN},
        "MCPExtensionApp": {"jobs_db_path": str(tmp_path / "jobdata" / "jobs.sqlite"), **jobs_config},
        "ProcessJobExecutor": executor_config,
    }


@pytest.fixture
def notebooks(jp_root_dir: Path) -> Path:
    """The real notebooks of tests/jobs/notebooks (from papermill's test suite), under the server root."""
    for source in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(source, jp_root_dir / source.name)
    return jp_root_dir


@pytest.fixture
def services(jp_serverapp: Any) -> Any:
    """The extension's services (for checks a client cannot make, e.g. service-level arguments)."""
    return jp_serverapp.web_app.settings["jupyter_mcp_ext_services"]


async def tool(client: Any, name: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool and return its JSON result (fails on a tool error)."""
    return result_json(await client.call_tool(name, arguments))


async def job_status(client: Any, job_id: str) -> dict[str, Any]:
    return await tool(client, "manage_async_job", operation="status", job_id=job_id)


async def wait_until(
    client: Any, job_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60
) -> dict:
    """Poll a job's status until ``predicate(status)`` holds."""

    async def check() -> dict[str, Any] | None:
        status = await job_status(client, job_id)
        return status if predicate(status) else None

    return await poll(check, timeout, f"job {job_id}")


async def wait_finished(client: Any, job_id: str, timeout: float = 60) -> dict[str, Any]:
    return await wait_until(client, job_id, lambda s: s["status"] not in ("queued", "running"), timeout)


async def wait_for_first_output(rest: Any, path: str, timeout: float = 60) -> None:
    """Poll until the job's output notebook at ``path`` has a cell with outputs. Read as JupyterLab
    does, through /api/contents (the server writes the file in place: a direct read may meet a
    half-written one)."""

    async def written() -> bool:
        response = await rest.get(f"api/contents/{path}", params={"content": "1"})
        return response.status_code == 200 and any(c.get("outputs") for c in response.json()["content"]["cells"])

    await poll(written, timeout, f"the job's first output in {path}")


def process_alive(pid: int) -> bool:
    """Whether a process runs (a zombie, exited but not reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")
