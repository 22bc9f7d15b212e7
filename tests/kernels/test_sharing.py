"""Kernels are shared with JupyterLab: kernels Lab starts run MCP code, and a Lab user's cells keep their turn."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest

from ..conftest import error_text, result_json
from .conftest import run_code, running_marker, stream_text, wait_for_file

pytestmark = pytest.mark.kernel


async def rest_start_kernel(jp_fetch: Any) -> str:
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    return json.loads(response.body)["id"]


def lab_execute_request(code: str) -> tuple[str, str]:
    """An execute_request as JupyterLab sends it over the kernel websocket (JSON protocol)."""
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "lab-user",
            "session": "lab-session",
            "date": datetime.now(timezone.utc).isoformat(),
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False},
        "channel": "shell",
        "buffers": [],
    }
    return msg_id, json.dumps(message)


async def lab_reply(ws: Any, msg_id: str) -> dict[str, Any]:
    """Read the websocket until the execute_reply of ``msg_id``."""
    while True:
        message = json.loads(await ws.read_message())
        if message["channel"] == "shell" and message["parent_header"].get("msg_id") == msg_id:
            return message["content"]


async def test_a_kernel_started_from_the_rest_api_like_lab_does_runs_code_from_mcp(mcp_client, jp_fetch):
    kernel_id = await rest_start_kernel(jp_fetch)
    async with mcp_client() as client:
        listed = result_json(await client.call_tool("list_kernels", {}))
        data = result_json(await run_code(client, kernel_id, "import os\nprint(os.getpid() > 0)"))
    assert [k["kernel_id"] for k in listed["active_kernels"]] == [kernel_id]
    assert data["status"] == "ok" and stream_text(data) == "True\n"


async def test_mcp_code_runs_after_the_cell_a_lab_user_is_running_and_sees_its_variables(
    mcp_client, jp_fetch, jp_ws_fetch, jp_root_dir
):
    kernel_id = await rest_start_kernel(jp_fetch)
    ws = await jp_ws_fetch("api", "kernels", kernel_id, "channels")
    try:
        async with mcp_client() as client:
            msg_id, request = lab_execute_request(
                running_marker(jp_root_dir / "lab-running") + "import time\ntime.sleep(1)\nfrom_lab = 'lab value'"
            )
            await ws.write_message(request)
            await wait_for_file(jp_root_dir / "lab-running")
            details = result_json(await client.call_tool("list_kernels", {"kernel_id": kernel_id}))
            mcp = result_json(await run_code(client, kernel_id, "print(from_lab)"))
            assert (await lab_reply(ws, msg_id))["status"] == "ok"
            msg_id, request = lab_execute_request("print(from_mcp)")
            mcp_defines = run_code(client, kernel_id, "from_mcp = 'mcp value'")
            assert result_json(await mcp_defines)["status"] == "ok"
            await ws.write_message(request)
            lab = await lab_reply(ws, msg_id)
    finally:
        ws.close()
    assert details["connections"] == 1
    assert mcp["status"] == "ok" and stream_text(mcp) == "lab value\n"
    assert lab["status"] == "ok"


async def test_mcp_code_that_times_out_waiting_behind_a_lab_cell_is_withdrawn_and_the_lab_cell_finishes(
    mcp_client, jp_fetch, jp_ws_fetch, jp_root_dir
):
    kernel_id = await rest_start_kernel(jp_fetch)
    ws = await jp_ws_fetch("api", "kernels", kernel_id, "channels")
    try:
        async with mcp_client() as client:
            await run_code(client, kernel_id, "import time")
            msg_id, request = lab_execute_request(
                running_marker(jp_root_dir / "lab-running") + "time.sleep(2)\nlab_done = True"
            )
            await ws.write_message(request)
            await wait_for_file(jp_root_dir / "lab-running")
            late = result_json(await run_code(client, kernel_id, "time.sleep(2)\nmcp_ran = True", timeout=0.5))
            lab = await lab_reply(ws, msg_id)
            after = result_json(await run_code(client, kernel_id, "print(lab_done, 'mcp_ran' in globals())"))
    finally:
        ws.close()
    assert late["status"] == "timeout" and "before the code started" in late["message"]
    assert "withdrawn" in late["message"] and late["outputs"] == []
    assert lab["status"] == "ok"
    assert stream_text(after) == "True False\n"


async def test_a_kernel_shut_down_from_lab_during_an_execution_gives_an_error_saying_so(
    mcp_client, jp_fetch, jp_root_dir
):
    kernel_id = await rest_start_kernel(jp_fetch)
    code = running_marker(jp_root_dir / "running") + "import time\ntime.sleep(30)"
    async with mcp_client() as client:
        call = asyncio.create_task(run_code(client, kernel_id, code))
        await wait_for_file(jp_root_dir / "running")
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")
        message = error_text(await call)
        listed = result_json(await client.call_tool("list_kernels", {}))
    assert "was shut down" in message and kernel_id in message and "start_kernel" in message
    assert listed["active_kernels"] == []
