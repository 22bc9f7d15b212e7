"""Schedules on a real server through the real MCP client: runs on the real minute with their parameters,
pause, resume, run_now, delete, runs skipped while the previous one runs, runs missed while the server
was down, and a run whose notebook was deleted."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ..conftest import error_text
from .conftest import WAIT_FOR_GO, poll, tool, wait_finished

#: An ISO 8601 time with an offset, as next_runs gives them.
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


async def schedule_op(client: Any, operation: str, schedule_id: str | None = None, **fields: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {"operation": operation}
    if schedule_id:
        arguments["schedule_id"] = schedule_id
    if fields:
        arguments["fields"] = fields
    return await tool(client, "manage_schedule", **arguments)


async def history_event(client: Any, schedule_id: str, event: str, timeout: float) -> dict[str, Any]:
    """Poll a schedule until its history has an entry ``event``; return that entry."""

    async def check() -> dict[str, Any] | None:
        history = (await schedule_op(client, "get", schedule_id))["history"]
        return next((entry for entry in history if entry["event"] == event), None)

    return await poll(check, timeout, f"a {event!r} entry in the history of {schedule_id}", interval=0.5)


async def wait_for_second(second: float) -> None:
    """Sleep until the wall clock is past ``second`` within its minute (to stay clear of a minute's turn)."""
    now = time.time() % 60
    if now > second:
        await asyncio.sleep(60 - now + 0.5)


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_an_every_minute_schedule_runs_within_the_minute_with_its_parameters_and_skips_a_run_due_while_it_runs(
    mcp_client, make_notebook, jp_root_dir: Path
):
    make_notebook("reports/daily.ipynb", ["region = 'US'", WAIT_FOR_GO + "print('region', region)"])
    nb = nbformat.read(str(jp_root_dir / "reports/daily.ipynb"), as_version=4)
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, str(jp_root_dir / "reports/daily.ipynb"))
    async with mcp_client() as client:
        created = await schedule_op(
            client,
            "create",
            notebook_path="reports/daily.ipynb",
            cron="* * * * *",
            timezone="Europe/Paris",
            parameters={"region": "EU"},
        )
        started = await history_event(client, created["schedule_id"], "started", 75)
        skipped = await history_event(client, created["schedule_id"], "skipped_overlap", 75)
        (jp_root_dir / "reports" / "go").touch()
        job = await wait_finished(client, started["job_id"])
        await schedule_op(client, "pause", created["schedule_id"])
        listed = await tool(client, "manage_async_job", operation="list")

    assert (
        created["status"] == "active" and created["output_path"] == "reports/scheduled-runs/{name}-{date}-{time}.ipynb"
    )
    assert all(ISO_WITH_OFFSET.match(t) for t in created["next_runs"]) and len(created["next_runs"]) == 5
    assert started["time"] == created["next_runs"][0]  # the first run is the first time it announced
    assert skipped["job_id"] == started["job_id"] and started["job_id"] in skipped["message"]
    assert job["status"] == "completed" and job["parameters"] == {"region": "EU"}
    assert job["schedule_id"] == created["schedule_id"] and job["started_by"]["via"] == "schedule"
    stamp = started["time"][:10] + "-" + started["time"][11:19].replace(":", "")
    assert job["output_path"] == f"reports/scheduled-runs/daily-{stamp}.ipynb"
    out = nbformat.read(str(jp_root_dir / job["output_path"]), as_version=4)
    assert "region EU" in "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))
    assert started["job_id"] in {j["job_id"] for j in listed["jobs"]}


@pytest.mark.kernel
async def test_pause_resume_run_now_and_delete_a_schedule(mcp_client, notebooks):
    async with mcp_client() as client:
        created = await schedule_op(
            client, "create", notebook_path="simple_execute.ipynb", cron="0 7 * * 1-5", timezone="Europe/Paris"
        )
        schedule_id = created["schedule_id"]
        paused = await schedule_op(client, "pause", schedule_id)
        resumed = await schedule_op(client, "resume", schedule_id)
        ran = await schedule_op(client, "run_now", schedule_id)
        job = await wait_finished(client, ran["job_id"])
        got = await schedule_op(client, "get", schedule_id)
        listed = await schedule_op(client, "list")
        await schedule_op(client, "delete", schedule_id)
        gone = error_text(await client.call_tool("manage_schedule", {"operation": "get", "schedule_id": schedule_id}))
        after = await schedule_op(client, "list")

    assert created["description"] == "At 07:00 on Monday through Friday"
    assert all(re.match(r".*T07:00:00\+0[12]:00$", t) for t in created["next_runs"])
    assert paused["status"] == "paused" and paused["next_runs"] == [] and "resumed" in paused["message"]
    assert resumed["status"] == "active" and resumed["next_runs"] == created["next_runs"]
    assert ran["job_status"] in ("queued", "running") and job["status"] == "completed"
    assert got["last_runs"][0]["job_id"] == ran["job_id"] and got["last_runs"][0]["status"] == "completed"
    assert got["history"][0]["event"] == "started" and got["history"][0]["job_id"] == ran["job_id"]
    assert [s["schedule_id"] for s in listed["schedules"]] == [schedule_id]
    assert listed["schedules"][0]["last_run"]["status"] == "completed" and listed["scheduler"]["running"]
    assert "schedule_id" in gone and schedule_id in gone
    assert after["schedules"] == []


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_runs_missed_while_the_server_was_down_are_caught_up_once_or_skipped_as_each_schedule_says(
    mcp_client, notebooks, services
):
    await wait_for_second(45)  # created and stopped well before the minute turns
    async with mcp_client() as client:
        once = await schedule_op(client, "create", notebook_path="simple_execute.ipynb", cron="* * * * *")
        skip = await schedule_op(
            client, "create", notebook_path="simple_execute.ipynb", cron="* * * * *", catch_up="skip"
        )
        await services.jobs.stop()  # the server goes down ...
        due = time.time() // 60 * 60 + 60
        await asyncio.sleep(due + 35 - time.time())  # ... past the next minute and its 30 s of grace
        await services.jobs.start()  # ... and comes back

        missed = await history_event(client, once["schedule_id"], "missed", 30)
        caught_up = await history_event(client, once["schedule_id"], "caught_up", 30)
        job = await wait_finished(client, caught_up["job_id"])
        skipped = await history_event(client, skip["schedule_id"], "missed", 30)
        skip_after = await schedule_op(client, "get", skip["schedule_id"])
        for s in (once, skip):
            await schedule_op(client, "pause", s["schedule_id"])

    assert missed["count"] == 1 and missed["time"] == once["next_runs"][0] and "down" in missed["message"]
    assert caught_up["time"] == missed["time"] and job["status"] == "completed"
    assert skipped["count"] == 1 and "catch_up is 'skip'" in skipped["message"]
    assert [e["event"] for e in skip_after["history"]] == ["missed"] and skip_after["last_runs"] == []


@pytest.mark.kernel
async def test_a_schedule_whose_notebook_was_deleted_fails_its_run_with_the_reason_and_stays(mcp_client, notebooks):
    async with mcp_client() as client:
        created = await schedule_op(client, "create", notebook_path="simple_execute.ipynb", cron="0 7 * * *")
        (notebooks / "simple_execute.ipynb").unlink()
        ran = await schedule_op(client, "run_now", created["schedule_id"])
        job = await tool(client, "manage_async_job", operation="status", job_id=ran["job_id"])
        got = await schedule_op(client, "get", created["schedule_id"])

    assert ran["job_status"] == "failed" and "could not start" in ran["message"]
    assert job["error"]["reason"] == "bad_input" and "simple_execute.ipynb" in job["error"]["message"]
    assert job["schedule_id"] == created["schedule_id"]
    assert got["status"] == "active" and "could not start" in got["message"] and "schedule stays" in got["message"]
    assert got["last_runs"][0]["error_reason"] == "bad_input"
