"""Job events on Jupyter Server's event system: one per visible change, none while idle, and who started the job."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import pytest
import yaml
from mcp.types import Implementation

from jupyter_mcp_ext.events import JOB_EVENT_SCHEMA_ID, JOB_EVENT_SCHEMA_PATH

from ..conftest import MODES
from .conftest import poll, tool, wait_finished

SCHEMA = yaml.safe_load(JOB_EVENT_SCHEMA_PATH.read_text())


@pytest.fixture
def job_events(jp_serverapp: Any) -> list[dict[str, Any]]:
    """Every job event the server emits during the test, each checked against the schema file."""
    seen: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        jsonschema.validate(data, SCHEMA)
        seen.append(data)

    jp_serverapp.event_logger.add_listener(schema_id=JOB_EVENT_SCHEMA_ID, listener=listener)
    yield seen
    jp_serverapp.event_logger.remove_listener(schema_id=JOB_EVENT_SCHEMA_ID, listener=listener)


def state(event: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("status", "cells_total", "cells_executed", "cell_running", "current_cell_index", "message")
    return tuple(event[key] for key in keys)


def test_the_job_schema_is_a_valid_jupyter_events_schema_registered_with_the_server(jp_serverapp: Any) -> None:
    from jupyter_events.schema import EventSchema

    registered = jp_serverapp.event_logger.schemas.get(JOB_EVENT_SCHEMA_ID)

    assert EventSchema(JOB_EVENT_SCHEMA_PATH).id == JOB_EVENT_SCHEMA_ID
    assert registered.version == SCHEMA["version"] == "1"
    assert SCHEMA["$id"].endswith("/v1")


@pytest.mark.kernel
@pytest.mark.slow
async def test_a_job_emits_one_event_per_change_and_nothing_while_idle(
    mcp_client: Any, make_notebook: Any, job_events: list[dict[str, Any]]
) -> None:
    make_notebook("three.ipynb", ["x = 1", "import time; time.sleep(0.3)", "print(x)"])
    await asyncio.sleep(1.0)
    idle_before = list(job_events)

    async with mcp_client(client_info=Implementation(name="test-agent", version="1.0")) as client:
        job_id = (await tool(client, "execute_notebook", notebook_path="three.ipynb", mode="async"))["job_id"]
        final = await wait_finished(client, job_id)
    await poll(lambda: _has_finished(job_events), 10, "the finished event")
    count_at_end = len(job_events)
    await asyncio.sleep(1.5)

    ours = [e for e in job_events if e["job_id"] == job_id]
    assert idle_before == [] and len(job_events) == count_at_end, "events while no job changed"
    assert final["status"] == "completed"
    assert [e["action"] for e in ours[:2]] == ["created", "started"]
    assert [e["status"] for e in ours[:2]] == ["queued", "running"]
    assert [e["action"] for e in ours].count("finished") == 1 and ours[-1]["action"] == "finished"
    assert ours[-1]["status"] == "completed" and ours[-1]["cells_executed"] == ours[-1]["cells_total"] == 3
    assert all(state(a) != state(b) for a, b in zip(ours, ours[1:], strict=False)), ours
    executed = [e["cells_executed"] for e in ours]
    assert executed == sorted(executed) and {1, 2}.issubset(executed), executed
    assert {e["current_cell_index"] for e in ours if e["action"] == "progress"} >= {0, 1, 2}
    assert {(e["started_by"], e["client_name"]) for e in ours} == {("mcp", "test-agent")}
    assert all("source" not in e and "parameters" not in e for e in ours)


async def _has_finished(events: list[dict[str, Any]]) -> bool:
    return any(e["action"] == "finished" for e in events)


@pytest.mark.kernel
@pytest.mark.slow
async def test_lab_receives_job_events_on_the_event_websocket(
    jp_ws_fetch: Any, contents_api: Any, make_notebook: Any
) -> None:
    make_notebook("one.ipynb", ["print('hello')"])
    socket = await jp_ws_fetch("api", "events", "subscribe")
    received: list[dict[str, Any]] = []
    async with contents_api() as http:
        created = (await http.post("jupyter-mcp-ext/jobs", json={"notebook_path": "one.ipynb"})).json()
        while not received or received[-1].get("action") != "finished":
            message = json.loads(await asyncio.wait_for(socket.read_message(), 60))
            if message.get("schema_id") == JOB_EVENT_SCHEMA_ID:
                received.append(message)
        deleted = await http.delete(f"jupyter-mcp-ext/jobs/{created['job_id']}")
        while received[-1].get("action") != "deleted":
            received.append(json.loads(await asyncio.wait_for(socket.read_message(), 10)))
    socket.close()

    assert deleted.status_code == 204
    assert {e["job_id"] for e in received} == {created["job_id"]}
    assert received[0]["action"] == "created" and received[-2]["status"] == "completed"
    assert received[-1]["action"] == "deleted" and received[0]["started_by"] == "lab"
    assert received[0]["client_name"] is None


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
async def test_the_job_record_names_the_mcp_client_that_started_it(
    mcp_client: Any, make_notebook: Any, mode: str
) -> None:
    make_notebook("one.ipynb", ["1 + 1"])
    async with mcp_client(mode=mode, client_info=Implementation(name="Claude Code", version="2.1")) as client:
        job_id = (await tool(client, "execute_notebook", notebook_path="one.ipynb", mode="async"))["job_id"]
        status = await wait_finished(client, job_id)

    assert status["started_by"] == {"via": "mcp", "client_name": "Claude Code"}
