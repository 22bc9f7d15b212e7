"""Kernel lifecycle through the server's own kernel manager: list, start, stop, interrupt, restart, limits."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from ..conftest import MODES, error_text, result_json
from .conftest import (
    poll,
    run_code,
    running_marker,
    start_kernel,
    stream_text,
    wait_for_file,
    wait_for_state,
    with_config,
)

pytestmark = pytest.mark.kernel


async def rest_kernel_ids(jp_fetch: Any) -> set[str]:
    """The kernels JupyterLab sees: GET /api/kernels."""
    return {k["id"] for k in json.loads((await jp_fetch("api", "kernels")).body)}


async def rest_start_kernel(jp_fetch: Any) -> str:
    """Start a kernel as JupyterLab does: POST /api/kernels."""
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    return json.loads(response.body)["id"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_kernel_started_by_mcp_is_listed_by_the_rest_api_and_gone_after_stop_kernel(mcp_client, jp_fetch, mode):
    async with mcp_client(mode=mode) as client:
        started = result_json(await client.call_tool("start_kernel", {}))
        kernel_id = started["kernel_id"]
        assert started["name"] == "python3" and started["success"] is True
        assert kernel_id in await rest_kernel_ids(jp_fetch)
        stopped = result_json(await client.call_tool("stop_kernel", {"kernel_id": kernel_id}))
        assert stopped == {**stopped, "kernel_id": kernel_id, "stopped": True, "success": True}
        listed = result_json(await client.call_tool("list_kernels", {}))
    assert kernel_id not in await rest_kernel_ids(jp_fetch)
    assert listed["active_kernels"] == [] and listed["kernel_count"] == 0


async def test_list_kernels_shows_installed_kernelspecs_and_each_active_kernels_state(mcp_client):
    before = time.time()
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        await run_code(client, kernel_id, "1")
        await wait_for_state(client, kernel_id, "idle")  # the server follows the kernel's status messages
        data = result_json(await client.call_tool("list_kernels", {}))
    assert {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"} in data[
        "available_kernels"
    ]
    [kernel] = data["active_kernels"]
    assert kernel["kernel_id"] == kernel_id and kernel["name"] == "python3"
    assert kernel["execution_state"] == "idle" and kernel["state"] == "running" and kernel["connections"] == 0
    assert before - 1 <= kernel["started_at"] <= kernel["last_activity"] <= time.time() + 1
    assert data["kernel_count"] == 1


async def test_kernel_details_give_liveness_times_language_and_the_notebook_of_its_session(
    mcp_client, jp_fetch, make_notebook
):
    make_notebook("reports/q1.ipynb", ["1"])
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        session = {"path": "reports/q1.ipynb", "type": "notebook", "name": "q1.ipynb", "kernel": {"id": kernel_id}}
        await jp_fetch("api", "sessions", method="POST", body=json.dumps(session))
        await run_code(client, kernel_id, "1")
        await wait_for_state(client, kernel_id, "idle")
        details = result_json(await client.call_tool("list_kernels", {"kernel_id": kernel_id}))
    assert details["kernel_id"] == kernel_id and details["is_alive"] is True
    assert details["path"] == "reports/q1.ipynb"
    assert details["execution_state"] == "idle" and details["connections"] == 0
    assert details["language"] == "python" and details["display_name"] == "Python 3 (ipykernel)"
    assert details["info"]["language_info"]["name"] == "python"
    assert isinstance(details["started_at"], float) and isinstance(details["last_activity"], float)


async def test_an_unknown_kernel_name_lists_the_installed_kernelspecs(mcp_client):
    async with mcp_client() as client:
        message = error_text(await client.call_tool("start_kernel", {"kernel_name": "julia-9"}))
    assert "'julia-9' is not an installed kernelspec" in message and "python3" in message


async def test_an_unknown_kernel_id_lists_the_active_kernel_ids_in_every_tool(mcp_client):
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        calls = [
            ("list_kernels", {"kernel_id": "nope"}),
            ("stop_kernel", {"kernel_id": "nope"}),
            ("interrupt_kernel", {"kernel_id": "nope"}),
            ("restart_kernel", {"kernel_id": "nope"}),
            ("execute_on_kernel", {"kernel_id": "nope", "mode": "code", "code": "1"}),
        ]
        messages = [error_text(await client.call_tool(name, args)) for name, args in calls]
    for message in messages:
        assert "kernel_id 'nope' is not an active kernel" in message and kernel_id in message


async def test_no_kernel_running_is_said_when_a_kernel_id_is_unknown(mcp_client):
    async with mcp_client() as client:
        message = error_text(await client.call_tool("interrupt_kernel", {"kernel_id": "nope"}))
    assert "no kernel is running; start one with start_kernel" in message


@with_config(max_kernels=2)
async def test_max_kernels_refuses_another_kernel_counting_kernels_started_from_lab(mcp_client, jp_fetch):
    lab_kernel = await rest_start_kernel(jp_fetch)
    async with mcp_client() as client:
        mine = await start_kernel(client)
        message = error_text(await client.call_tool("start_kernel", {}))
        assert "max_kernels is 2" in message and lab_kernel in message and mine in message
        assert "stop_kernel" in message
        await client.call_tool("stop_kernel", {"kernel_id": mine})
        replacement = await start_kernel(client)
    assert await rest_kernel_ids(jp_fetch) == {lab_kernel, replacement}


async def test_restart_kernel_keeps_the_kernel_id_and_starts_with_no_variables(mcp_client, jp_fetch):
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        await run_code(client, kernel_id, "secret = 1")
        restarted = result_json(await client.call_tool("restart_kernel", {"kernel_id": kernel_id}))
        after = result_json(await run_code(client, kernel_id, "print('secret' in globals())"))
    assert restarted["kernel_id"] == kernel_id and restarted["restarted"] is True
    assert stream_text(after) == "False\n" and after["execution_count"] == 1
    assert await rest_kernel_ids(jp_fetch) == {kernel_id}


async def test_interrupt_kernel_stops_running_code_and_keeps_the_variables(mcp_client, jp_root_dir):
    code = "kept = 'yes'\n" + running_marker(jp_root_dir / "running") + "import time\nwhile True:\n    time.sleep(0.01)"
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        call = asyncio.create_task(run_code(client, kernel_id, code, timeout=0))
        await wait_for_file(jp_root_dir / "running")
        interrupted = result_json(await client.call_tool("interrupt_kernel", {"kernel_id": kernel_id}))
        stopped = result_json(await call)
        after = result_json(await run_code(client, kernel_id, "print(kept)"))
    assert interrupted["interrupted"] is True
    assert stopped["status"] == "error" and stopped["error"]["ename"] == "KeyboardInterrupt"
    assert stream_text(after) == "yes\n"


@with_config(kernel_idle_timeout=1.0, cleanup_interval=0.2)
async def test_idle_kernels_started_by_mcp_are_shut_down_after_kernel_idle_timeout(mcp_client, jp_fetch):
    lab_kernel = await rest_start_kernel(jp_fetch)
    async with mcp_client() as client:
        mine = await start_kernel(client)
        await wait_for_state(client, mine, "idle")

        async def culled() -> bool:
            return mine not in await rest_kernel_ids(jp_fetch)

        await poll(culled, timeout=15)
    assert lab_kernel in await rest_kernel_ids(jp_fetch)  # only kernels started by MCP tools are culled
