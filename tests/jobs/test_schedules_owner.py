"""Two real `jupyter server` processes sharing one job database: one runs the schedules, the other refuses
to, says why in its log and in the schedules, and takes over once the first is gone."""

from __future__ import annotations

import signal
import time
from typing import Any

import httpx2
import pytest

from .conftest import NOTEBOOKS, poll
from .test_restart import TOKEN, jupyter_server

pytestmark = [pytest.mark.slow]


def _api(server: dict[str, Any]) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        base_url=f"{server['url']}jupyter-mcp-ext/", headers={"Authorization": f"token {TOKEN}"}, timeout=60
    )


@pytest.mark.timeout(240)
async def test_of_two_servers_sharing_a_job_database_one_runs_the_schedules_and_the_other_says_why_not(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "simple_execute.ipynb").write_bytes((NOTEBOOKS / "simple_execute.ipynb").read_bytes())

    with jupyter_server(tmp_path, root) as first:
        async with _api(first) as http:
            owner = (await http.get("schedules")).json()["scheduler"]
        with jupyter_server(tmp_path, root) as second:  # the same base: the same job database
            async with _api(second) as http:
                created = (
                    await http.post("schedules", json={"notebook_path": "simple_execute.ipynb", "cron": "0 7 * * *"})
                ).json()

                async def refused() -> dict[str, Any] | None:
                    listed = (await http.get("schedules")).json()
                    return listed if not listed["scheduler"]["running"] and listed["scheduler"]["owner_pid"] else None

                standby = await poll(refused, 30, "the second server to find the first one running the schedules")
                async with _api(first) as first_http:
                    seen_by_first = (await first_http.get(f"schedules/{created['schedule_id']}")).json()
                first["proc"].send_signal(signal.SIGTERM)  # the first server stops
                first["proc"].wait(60)
                started = time.monotonic()

                async def took_over() -> dict[str, Any] | None:
                    listed = (await http.get("schedules")).json()
                    return listed if listed["scheduler"]["running"] else None

                after = await poll(took_over, 60, "the second server to take the schedules over", interval=1)
                waited = time.monotonic() - started
            log = next(
                p for p in tmp_path.glob("server-*.log") if str(second["url"].split(":")[-1].strip("/")) in p.name
            )
            log_text = log.read_text()

    pid = first["proc"].pid
    assert owner["running"] and owner["owner_pid"] == pid
    assert standby["scheduler"]["owner_pid"] == pid and str(pid) in standby["scheduler"]["message"]
    schedule = standby["schedules"][0]
    assert schedule["schedule_id"] == created["schedule_id"] and str(pid) in schedule["message"]
    assert "does not run the schedules" in schedule["message"]
    assert seen_by_first["schedule_id"] == created["schedule_id"] and "does not run" not in seen_by_first["message"]
    assert f"the Jupyter server process {pid}" in log_text and "takes over" in log_text
    assert "runs the schedules now" in log_text and waited < 45
    assert "does not run" not in after["schedules"][0]["message"]
