"""The job database: a record that cannot be read is skipped and reported while the others are
served; environment values never reach the disk; the database is readable by its owner only."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_mcp_ext.jobs.models import Job
from jupyter_mcp_ext.jobs.store import JobStore

from ..conftest import TOKEN, result_json
from ..jobs.conftest import tool, wait_finished


@pytest.fixture
def jobs_db(tmp_path: Path) -> Path:
    """A job database holding one good record and one row a newer version might have written."""
    path = tmp_path / "jobdata" / "jobs.sqlite"
    store = JobStore(str(path))
    good = Job(
        job_id="job_good",
        notebook_path="a.ipynb",
        output_path="a_output.ipynb",
        status="completed",
        created_at=time.time() - 60,
        started_at=time.time() - 59,
        completed_at=time.time() - 50,
        kernel_name="python3",
        timeout_seconds=300,
        message="Completed in 9.0 s.",
    )
    store.save(good)
    store.close()
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO jobs VALUES (?, ?, ?, ?, NULL, NULL, ?)",
        ("job_future", "b.ipynb", "paused", time.time(), '{"job_id": "job_future", "status": "paused", "v": 2}'),
    )
    db.commit()
    db.close()
    return path


@pytest.fixture
def jp_server_config(jobs_db: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mcp_ext": True}, "allow_root": True},
        "IdentityProvider": {"token": TOKEN},
        "MCPExtensionApp": {"jobs_db_path": str(jobs_db)},
        "ProcessJobExecutor": {"warm_runners": 0},
    }


async def test_an_unreadable_job_record_is_skipped_and_reported_while_the_others_are_served(mcp_client, contents_api):
    async with mcp_client() as client, contents_api() as rest:
        listed = await tool(client, "manage_async_job", operation="list")
        good = await tool(client, "manage_async_job", operation="status", job_id="job_good")
        future = await client.call_tool("manage_async_job", {"operation": "status", "job_id": "job_future"})
        status = await rest.get("jupyter-mcp-ext/status")
        jobs = await rest.get("jupyter-mcp-ext/jobs")

    assert [j["job_id"] for j in listed["jobs"]] == ["job_good"] and listed["unreadable_records"] == 1
    assert good["status"] == "completed"
    assert future.is_error and "cannot be read" in future.content[0].text
    assert "Error executing tool" not in future.content[0].text.split(":", 1)[1]
    assert status.status_code == 200 and status.json()["jobs"]["unreadable_records"] == 1
    assert jobs.status_code == 200 and [j["job_id"] for j in jobs.json()["jobs"]] == ["job_good"]


@pytest.mark.kernel
async def test_env_override_values_never_reach_the_job_database_which_only_its_owner_can_read(
    mcp_client, make_notebook, jobs_db
):
    make_notebook("env.ipynb", ["import os\nprint(os.environ['API_TOKEN'][::-1])"])
    secret = "s3cr3t-" + os.urandom(8).hex()
    async with mcp_client() as client:
        job = await tool(client, "execute_notebook", notebook_path="env.ipynb", env_overrides={"API_TOKEN": secret})
        status = await wait_finished(client, job["job_id"])
        listed = result_json(
            await client.call_tool("manage_async_job", {"operation": "status", "job_id": job["job_id"]})
        )

    assert status["status"] == "completed" and listed["env_override_names"] == ["API_TOKEN"]
    for path in jobs_db.parent.glob("jobs.sqlite*"):
        assert secret.encode() not in path.read_bytes(), f"{path.name} holds the value"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert stat.S_IMODE(jobs_db.parent.stat().st_mode) == 0o700
