"""Long calls as MCP tasks (protocol 2025-11-25), spoken in raw JSON-RPC (the official client has no task
API): execute_notebook and execute_on_kernel answer at once with a task that the client polls, waits for,
cancels and lists; a task belongs to the identity that made it."""

from __future__ import annotations

import asyncio
import json
import time

import httpx2
import pytest

from ..conftest import poll
from ..integrity.test_sessions import TwoUsers, as_user
from ..test_transport import ACCEPT

pytestmark = pytest.mark.kernel

TASK = {"ttl": 600_000}


async def start_kernel(session) -> str:
    started = await session.result("tools/call", {"name": "start_kernel", "arguments": {}})
    return started["structuredContent"]["kernel_id"]


async def test_the_server_declares_tasks_and_the_tools_that_take_them_to_2025_11_25_clients(raw_session):
    async with raw_session() as session:
        tools = {t["name"]: t for t in (await session.result("tools/list"))["tools"]}
    assert tools["execute_notebook"]["execution"] == {"taskSupport": "optional"}
    assert tools["execute_on_kernel"]["execution"] == {"taskSupport": "optional"}
    assert "execution" not in tools["read_cells"]


async def test_initialize_declares_the_tasks_capability(mcp_url, auth_headers):
    async with httpx2.AsyncClient(timeout=30, headers=auth_headers) as http:
        from .conftest import RawSession

        session = RawSession(http, mcp_url, {})
        init = await session.open()
        await session.close()
    assert init["capabilities"]["tasks"] == {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}


async def test_an_execute_on_kernel_task_answers_at_once_and_its_result_comes_later(raw_session):
    async with raw_session() as session:
        kernel_id = await start_kernel(session)
        started = time.monotonic()
        created = await session.result(
            "tools/call",
            {
                "name": "execute_on_kernel",
                "arguments": {
                    "kernel_id": kernel_id,
                    "mode": "code",
                    "code": "import time; time.sleep(2); print(6 * 7)",
                },
                "task": TASK,
            },
        )
        answered_in = time.monotonic() - started
        task = created["task"]
        polled = await session.result("tasks/get", {"taskId": task["taskId"]})
        result = await session.result("tasks/result", {"taskId": task["taskId"]})
        done = await session.result("tasks/get", {"taskId": task["taskId"]})
        listed = await session.result("tasks/list")
    assert answered_in < 1.5 and task["status"] == "working" and task["ttl"] == 600_000
    assert polled["status"] == "working" and polled["pollInterval"] > 0
    assert json.loads(result["content"][0]["text"])["outputs"][0]["text"].strip() == "42"
    assert result["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": task["taskId"]}
    assert done["status"] == "completed"
    assert task["taskId"] in [t["taskId"] for t in listed["tasks"]]


async def test_cancelling_an_execute_on_kernel_task_interrupts_the_kernel_and_keeps_it_usable(raw_session):
    async with raw_session() as session:
        kernel_id = await start_kernel(session)
        created = await session.result(
            "tools/call",
            {
                "name": "execute_on_kernel",
                "arguments": {"kernel_id": kernel_id, "mode": "code", "code": "kept = 1\nimport time; time.sleep(60)"},
                "task": TASK,
            },
        )
        task_id = created["task"]["taskId"]
        await asyncio.sleep(1)
        started = time.monotonic()
        cancelled = await session.result("tasks/cancel", {"taskId": task_id})
        again = await session.request("tasks/cancel", {"taskId": task_id})
        after = await session.result(
            "tools/call",
            {"name": "execute_on_kernel", "arguments": {"kernel_id": kernel_id, "mode": "code", "code": "kept"}},
        )
        took = time.monotonic() - started
    assert cancelled["status"] == "cancelled"
    assert again["error"]["code"] == -32602 and "already ended" in again["error"]["message"]
    kept = json.loads(after["content"][0]["text"])
    assert kept["status"] == "ok" and "1" in json.dumps(kept["outputs"])
    assert took < 20


async def test_an_execute_notebook_task_is_its_job_and_results_in_the_sync_result(raw_session, make_notebook):
    make_notebook("task.ipynb", ["import time; time.sleep(1)", "answer = 42"])
    async with raw_session() as session:
        created = await session.result(
            "tools/call", {"name": "execute_notebook", "arguments": {"notebook_path": "task.ipynb"}, "task": TASK}
        )
        task_id = created["task"]["taskId"]
        working = await session.result("tasks/get", {"taskId": task_id})
        result = await session.result("tasks/result", {"taskId": task_id})
        done = await session.result("tasks/get", {"taskId": task_id})
        status = await session.result(
            "tools/call",
            {
                "name": "manage_async_job",
                "arguments": {"operation": "status", "job_id": result["structuredContent"]["job_id"]},
            },
        )
    assert working["status"] == "working"
    payload = result["structuredContent"]
    assert payload["mode"] == "sync" and payload["execution_status"] == "completed" and payload["cells_executed"] == 2
    assert done["status"] == "completed" and status["structuredContent"]["status"] == "completed"


async def test_a_failing_execute_notebook_call_makes_a_failed_task_with_the_tool_error(raw_session):
    async with raw_session() as session:
        created = await session.result(
            "tools/call", {"name": "execute_notebook", "arguments": {"notebook_path": "missing.ipynb"}, "task": TASK}
        )
        result = await session.result("tasks/result", {"taskId": created["task"]["taskId"]})
    assert created["task"]["status"] == "failed"
    assert result["isError"] is True and "missing.ipynb" in result["content"][0]["text"]


async def test_a_tool_without_task_support_called_as_a_task_is_method_not_found(raw_session):
    async with raw_session() as session:
        reply = await session.request("tools/call", {"name": "list_kernels", "arguments": {}, "task": TASK})
        unknown = await session.request("tasks/get", {"taskId": "task_0123"})
        bad_cursor = await session.request("tasks/list", {"cursor": "nope"})
    assert reply["error"]["code"] == -32601 and "execute_notebook" in reply["error"]["message"]
    assert unknown["error"]["code"] == -32602 and "taskId 'task_0123'" in unknown["error"]["message"]
    assert bad_cursor["error"]["code"] == -32602


@pytest.mark.parametrize(
    "jp_server_config",
    [
        {
            "ServerApp": {
                "identity_provider_class": TwoUsers,
                "allow_root": True,
                "jpserver_extensions": {"jupyter_mcp_ext": True},
            }
        }
    ],
    ids=["alice-and-bob"],
)
async def test_a_task_of_another_identity_does_not_exist_for_them(raw_session, jp_server_config):
    async with raw_session(headers=as_user("alice-token")) as alice, raw_session(headers=as_user("bob-token")) as bob:
        kernel_id = await start_kernel(alice)
        created = await alice.result(
            "tools/call",
            {
                "name": "execute_on_kernel",
                "arguments": {"kernel_id": kernel_id, "mode": "code", "code": "1"},
                "task": TASK,
            },
        )
        task_id = created["task"]["taskId"]
        for method in ("tasks/get", "tasks/result", "tasks/cancel"):
            reply = await bob.request(method, {"taskId": task_id})
            assert reply["error"]["code"] == -32602 and "not a task of yours" in reply["error"]["message"], reply
        bobs = await bob.result("tasks/list")
        alices = await alice.result("tasks/list")
    assert bobs["tasks"] == [] and [t["taskId"] for t in alices["tasks"]] == [task_id]


async def test_the_session_that_made_a_task_is_told_of_its_status_changes(raw_session, mcp_url):
    async with raw_session() as session:
        kernel_id = await start_kernel(session)
        seen: list[dict] = []

        async def follow() -> None:
            async with session.http.stream(
                "GET", mcp_url, headers={**session.session_headers(), "Accept": "text/event-stream"}
            ) as stream:
                async for line in stream.aiter_lines():
                    if line.startswith("data:") and line[5:].strip():
                        seen.append(json.loads(line[5:]))

        follower = asyncio.ensure_future(follow())
        await asyncio.sleep(0.5)
        created = await session.result(
            "tools/call",
            {
                "name": "execute_on_kernel",
                "arguments": {"kernel_id": kernel_id, "mode": "code", "code": "2 + 2"},
                "task": TASK,
            },
        )
        task_id = created["task"]["taskId"]

        async def told() -> list[dict]:
            return [
                m for m in seen if m.get("method") == "notifications/tasks/status" and m["params"]["taskId"] == task_id
            ]

        statuses = await poll(told, 20, "a notifications/tasks/status")
        follower.cancel()
    assert statuses[-1]["params"]["status"] == "completed"


async def test_a_2026_client_calling_with_task_gets_the_plain_result(mcp_url, auth_headers):
    """Tasks of 2026-07-28 are an extension the SDK has not landed: its calls run as before."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "list_kernels",
            "arguments": {},
            "task": TASK,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    headers = {
        **auth_headers,
        "Accept": ACCEPT,
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "list_kernels",
    }
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(mcp_url, json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert "task" not in response.json()["result"] and "content" in response.json()["result"]


async def test_a_2025_06_18_session_sees_neither_tasks_nor_task_support(mcp_url, auth_headers):
    from .conftest import RawSession

    async with httpx2.AsyncClient(timeout=30) as http:
        session = RawSession(http, mcp_url, auth_headers)
        init = await session.open(version="2025-06-18")
        tools = (await session.result("tools/list"))["tools"]
        unknown = await session.request("tasks/list")
        await session.close()
    assert "tasks" not in init["capabilities"]
    assert all("execution" not in tool for tool in tools)
    assert unknown["error"]["code"] == -32601
