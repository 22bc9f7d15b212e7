"""The protocol's small print: a dropped SSE stream resumes with Last-Event-ID (SEP-1699), and 2025-11-25
sessions hear log notifications at the level they set (a kernel restarted, a job ended)."""

from __future__ import annotations

import asyncio
import json

import pytest

from ..conftest import poll, result_json
from .conftest import Received

pytestmark = pytest.mark.kernel


async def sse_events(lines, stop) -> list[dict]:
    """SSE events (dicts of their fields) read from ``lines`` until ``stop(events)``."""
    events: list[dict] = []
    event: dict = {}
    async for line in lines:
        if not line:
            if event:
                events.append(event)
                event = {}
                if stop(events):
                    break
            continue
        field, _, value = line.partition(":")
        event[field] = value.lstrip()
    return events


async def test_a_dropped_tool_call_stream_resumes_with_last_event_id_and_gets_the_result(raw_session, mcp_url):
    async with raw_session() as session:
        kernel = result_json_raw(await session.result("tools/call", {"name": "start_kernel", "arguments": {}}))
        call = {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {
                "name": "execute_on_kernel",
                "arguments": {
                    "kernel_id": kernel["kernel_id"],
                    "mode": "code",
                    "code": "import time; time.sleep(2); 'late'",
                },
            },
        }
        async with session.http.stream("POST", mcp_url, json=call, headers=session.session_headers()) as first:
            primed = await sse_events(first.aiter_lines(), lambda events: True)
        # The connection dropped before the result: reconnect where it stopped.
        assert primed[0].get("id"), primed
        resumed_headers = {**session.session_headers(), "Accept": "text/event-stream", "Last-Event-ID": primed[0]["id"]}
        async with session.http.stream("GET", mcp_url, headers=resumed_headers) as again:
            assert again.status_code == 200
            replayed = await asyncio.wait_for(
                sse_events(again.aiter_lines(), lambda events: any('"id":7' in e.get("data", "") for e in events)), 30
            )
    assert primed[0].get("id"), primed
    assert primed[0]["id"] and primed[0]["retry"] == "3000" and primed[0].get("data", "") == ""
    (reply,) = [json.loads(e["data"]) for e in replayed if '"id":7' in e.get("data", "")]
    assert "late" in reply["result"]["content"][0]["text"]


def result_json_raw(result: dict) -> dict:
    return result["structuredContent"]


async def test_a_session_hears_a_kernel_restart_and_a_finished_job_at_the_level_it_set(mcp_client, make_notebook):
    make_notebook("logged.ipynb", ["1"])
    heard: list = []

    async def on_log(params) -> None:
        heard.append(params)

    async with mcp_client(logging_callback=on_log) as client, mcp_client() as other:
        await client.set_logging_level("info")
        kernel = result_json(await other.call_tool("start_kernel", {}))
        await other.call_tool("restart_kernel", {"kernel_id": kernel["kernel_id"]})
        await other.call_tool("execute_notebook", {"notebook_path": "logged.ipynb"})

        async def both() -> list:
            events = [p.data.get("event") for p in heard if isinstance(p.data, dict)]
            return events if {"kernel_restarted", "job_finished"} <= set(events) else []

        await poll(both, 30, "the log notifications")
    by_event = {p.data["event"]: p for p in heard}
    assert (
        by_event["kernel_restarted"].level == "warning"
        and kernel["kernel_id"] in by_event["kernel_restarted"].data["message"]
    )
    assert by_event["job_finished"].level == "info" and by_event["job_finished"].logger == "jupyter-mcp-ext"


async def test_a_session_at_the_default_level_does_not_hear_a_completed_job(mcp_client, make_notebook):
    make_notebook("quiet.ipynb", ["1"])
    received = Received()
    heard: list = []

    async def on_log(params) -> None:
        heard.append(params)

    async with mcp_client(logging_callback=on_log, message_handler=received) as client:
        await client.call_tool("execute_notebook", {"notebook_path": "quiet.ipynb"})
        await asyncio.sleep(1)
    assert heard == []
