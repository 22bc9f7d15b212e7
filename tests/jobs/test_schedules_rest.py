"""The schedules' REST API (what JupyterLab's panel and dialog use), checked against docs/jobs-openapi.yaml,
and bad input for every field, refused alike by the REST API and the manage_schedule tool."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from ..conftest import error_text
from .conftest import poll
from .test_rest_api import assert_matches_openapi


@pytest.fixture
def rest(server_url, auth_headers):
    def connect() -> httpx2.AsyncClient:
        return httpx2.AsyncClient(base_url=f"{server_url}jupyter-mcp-ext/", headers=auth_headers, timeout=60)

    return connect


@pytest.mark.kernel
async def test_rest_makes_lists_changes_runs_and_deletes_a_schedule(rest, notebooks):
    async with rest() as http:
        created = await http.post(
            "schedules",
            json={
                "notebook_path": "simple_execute.ipynb",
                "cron": "30 6 * * 1",
                "timezone": "America/New_York",
                "parameters": {"msg": "weekly"},
            },
        )
        assert created.status_code == 201, created.text
        schedule = created.json()
        schedule_id = schedule["schedule_id"]
        listed = (await http.get("schedules")).json()
        paused = await http.patch(f"schedules/{schedule_id}", json={"active": False})
        changed = await http.patch(f"schedules/{schedule_id}", json={"cron": "0 9 * * *", "overlap": "queue"})
        ran = await http.post(f"schedules/{schedule_id}/run")
        job_id = ran.json()["job"]["job_id"]

        async def finished() -> dict[str, Any] | None:
            job = (await http.get(f"jobs/{job_id}")).json()
            return job if job["status"] not in ("queued", "running") else None

        job = await poll(finished, 60, "the run")
        after = (await http.get(f"schedules/{schedule_id}")).json()
        preview = (
            await http.get("schedules/preview", params={"cron": "0 7 * * 1-5", "timezone": "Europe/Paris"})
        ).json()
        with_output = (
            await http.get(
                "schedules/preview",
                params={"cron": "0 7 * * *", "timezone": "Asia/Tokyo", "notebook_path": "simple_execute.ipynb"},
            )
        ).json()
        deleted = await http.delete(f"schedules/{schedule_id}")
        gone = await http.get(f"schedules/{schedule_id}")

    assert created.headers["Location"].endswith(f"jupyter-mcp-ext/schedules/{schedule_id}")
    assert_matches_openapi("Schedule", schedule)
    assert_matches_openapi("ScheduleList", listed)
    assert_matches_openapi("ScheduleRunResult", ran.json())
    assert_matches_openapi("Schedule", after)
    assert_matches_openapi("SchedulePreview", preview)
    assert_matches_openapi("SchedulePreview", with_output)
    assert schedule["next_runs"][0].endswith(("T06:30:00-05:00", "T06:30:00-04:00"))
    assert [s["schedule_id"] for s in listed["schedules"]] == [schedule_id] and listed["scheduler"]["running"]
    assert paused.json()["status"] == "paused"
    assert changed.json()["cron"] == "0 9 * * *" and changed.json()["overlap"] == "queue"
    assert changed.json()["active"] is False  # a change of other fields leaves it paused
    assert job["status"] == "completed" and job["parameters"] == {"msg": "weekly"} and job["schedule_id"] == schedule_id
    assert after["last_runs"][0]["job_id"] == job_id and after["history"][0]["event"] == "started"
    assert len(preview["next_runs"]) == 3 and preview["description"] == "At 07:00 on Monday through Friday"
    assert with_output["output_path"] == "scheduled-runs/{name}-{date}-{time}.ipynb"
    assert with_output["example_output_path"].startswith("scheduled-runs/simple_execute-")
    assert with_output["example_output_path"].endswith("-070000.ipynb")
    assert deleted.status_code == 204 and gone.status_code == 404


#: Each bad request: the fields given (on top of a valid notebook and cron), the words its message must
#: hold, and the REST status code.
BAD_FIELDS: list[tuple[dict[str, Any], list[str], int]] = [
    ({"notebook_path": None}, ["notebook_path", "required"], 400),
    ({"notebook_path": "missing.ipynb"}, ["notebook_path", "missing.ipynb"], 404),
    ({"cron": None}, ["cron is required", "0 7 * * 1-5"], 400),
    ({"cron": "61 * * * *"}, ["cron", "'61 * * * *'", "0 7 * * 1-5"], 400),
    ({"cron": "0 7 * *"}, ["cron", "4 fields", "give 5"], 400),
    ({"timezone": "Mars/Olympus"}, ["timezone", "'Mars/Olympus'", "Europe/Paris"], 400),
    ({"parameters": "region=EU"}, ["parameters", "object"], 400),
    ({"parameters": {"not valid": 1}}, ["parameters", "variable name"], 400),
    ({"kernel_name": "nope"}, ["kernel_name", "'nope'", "installed"], 400),
    ({"output_path": "runs/{user}.ipynb"}, ["output_path", "{user}", "{date}"], 400),
    ({"output_path": "runs/{date}.txt"}, ["output_path", ".ipynb"], 400),
    ({"output_path": "../{name}-{date}.ipynb"}, ["output_path", "server root"], 403),
    ({"output_path": "simple_execute.ipynb"}, ["output_path", "notebook itself"], 400),
    ({"timeout_seconds": -1}, ["timeout_seconds", ">= 0"], 400),
    ({"overlap": "sometimes"}, ["overlap", "'skip'", "'queue'"], 400),
    ({"catch_up": "always"}, ["catch_up", "'run_once'"], 400),
    ({"start_date": "tomorrow"}, ["start_date", "ISO 8601"], 400),
    ({"end_date": "2020-01-01"}, ["end_date", "in the past"], 400),
    ({"start_date": "2031-02-01", "end_date": "2031-01-01"}, ["end_date", "before start_date"], 400),
    ({"active": "yes"}, ["active", "true or false"], 400),
    ({"env_overrides": {"TOKEN": "x"}}, ["env_overrides", "server's environment"], 400),
    ({"name": "daily"}, ["Unknown field", "name", "notebook_path"], 400),
]


@pytest.mark.parametrize("executor_config", [{"warm_runners": 0}])
async def test_bad_input_for_every_field_is_refused_by_rest_and_mcp_naming_the_field(rest, mcp_client, notebooks):
    base = {"notebook_path": "simple_execute.ipynb", "cron": "0 7 * * *"}
    async with rest() as http, mcp_client() as client:
        for bad, words, status in BAD_FIELDS:
            fields = {k: v for k, v in {**base, **bad}.items() if v is not None}
            response = await http.post("schedules", json=fields)
            result = await client.call_tool("manage_schedule", {"operation": "create", "fields": fields})
            assert response.status_code == status, (bad, response.text)
            for message in (response.json()["message"], error_text(result)):
                assert all(word in message for word in words), (bad, message)
        created = (await http.post("schedules", json=base)).json()
        bad_change = await http.patch(f"schedules/{created['schedule_id']}", json={"timezone": "Nowhere/Town"})
        unknown = await http.get("schedules/sch_000000000000")
        unknown_tool = error_text(
            await client.call_tool("manage_schedule", {"operation": "pause", "schedule_id": "sch_000000000000"})
        )
        no_id = error_text(await client.call_tool("manage_schedule", {"operation": "run_now"}))
        bad_preview = await http.get("schedules/preview", params={"cron": "every day", "timezone": "UTC"})
        bad_zone = await http.get("schedules/preview", params={"cron": "0 7 * * *", "timezone": "Paris"})
        listed = (await http.get("schedules")).json()["schedules"]

    assert bad_change.status_code == 400 and "timezone" in bad_change.json()["message"]
    assert unknown.status_code == 404 and unknown.json()["reason"] == "ScheduleNotFound"
    assert "sch_000000000000" in unknown_tool and "schedule_id" in unknown_tool
    assert "schedule_id" in no_id
    assert bad_preview.status_code == 400 and "cron" in bad_preview.json()["message"]
    assert bad_zone.status_code == 400 and "timezone" in bad_zone.json()["message"]
    assert [s["schedule_id"] for s in listed] == [created["schedule_id"]]  # nothing bad was stored
    assert listed[0]["timezone"] == "UTC"
