"""The kernel tools on remote kernels: a lab started with ``--gateway-url`` in front of a real Enterprise Gateway.

The gateway runs in its own environment (tests/deploy/tools.py) and launches its kernels as local processes of
that environment; the lab has no kernels of its own. So a kernel's ``sys.executable`` tells where it runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ..conftest import MODES, error_text, result_json
from .conftest import mcp_session, need
from .gateway import (
    BROKEN_KERNEL,
    GATEWAY_MAX_KERNELS,
    KERNEL_USERNAME,
    RESTRICTED_KERNEL,
    Gateway,
    gateway_lab_args,
    start_gateway,
)
from .lab import Lab, start_lab
from .tools import gateway_python

pytestmark = [pytest.mark.deploy, pytest.mark.slow, pytest.mark.kernel]

#: Seconds within which a refused or failed kernel start must be reported (the old failure waited 300 s).
PROMPT = 30.0


@pytest.fixture(scope="module")
def gateway(module_tmp: Path) -> Iterator[Gateway]:
    try:
        python = gateway_python()
    except Exception as e:
        need("Jupyter Enterprise Gateway", e)
    gateway = start_gateway(module_tmp / "gateway", python)
    try:
        yield gateway
    finally:
        killed = gateway.stop()
    assert not killed, f"kernels still running after the gateway stopped: {killed}"


@pytest.fixture(scope="module")
def lab(module_tmp: Path, gateway: Gateway) -> Iterator[Lab]:
    lab = start_lab(module_tmp / "lab", *gateway_lab_args(gateway), env={"KERNEL_USERNAME": KERNEL_USERNAME})
    try:
        yield lab
    finally:
        lab.stop()
    assert not gateway.kernel_ids(), "the lab left kernels on the gateway"


@pytest.fixture(autouse=True)
def no_kernel_left(lab: Lab, gateway: Gateway) -> Iterator[None]:
    """Each test stops the kernels it started (through the lab, so both sides forget them)."""
    yield
    for kernel_id in gateway.kernel_ids():
        lab.api("DELETE", f"api/kernels/{kernel_id}")


async def start(client: Any, kernel_name: str = "python3") -> str:
    return str(result_json(await client.call_tool("start_kernel", {"kernel_name": kernel_name}))["kernel_id"])


async def run(client: Any, kernel_id: str, code: str, **arguments: Any) -> dict[str, Any]:
    arguments = {"kernel_id": kernel_id, "mode": "code", "code": code, **arguments}
    return result_json(await client.call_tool("execute_on_kernel", arguments))


def stdout(data: dict[str, Any]) -> str:
    return "".join(o["text"] for o in data["outputs"] if o["output_type"] == "stream" and o["name"] == "stdout")


@pytest.mark.parametrize("mode", MODES)
async def test_a_kernel_started_by_mcp_runs_on_the_gateway_with_its_outputs(lab: Lab, gateway: Gateway, mode: str):
    async with mcp_session(lab.mcp_url, lab.token, mode) as client:
        started = time.monotonic()
        kernel_id = await start(client)
        assert time.monotonic() - started < PROMPT
        assert kernel_id in gateway.kernel_ids()
        listed = result_json(await client.call_tool("list_kernels", {}))
        assert [k["kernel_id"] for k in listed["active_kernels"]] == [kernel_id]
        assert "python3" in [s["name"] for s in listed["available_kernels"]]
        details = result_json(await client.call_tool("list_kernels", {"kernel_id": kernel_id}))
        assert details["display_name"] == "Python 3 on the gateway (python3)" and details["language"] == "python"
        assert details["is_alive"] is True and details["execution_state"] == "idle"

        data = await run(client, kernel_id, "import os, sys\nprint(sys.executable, os.getcwd())\nx = 6 * 7\nx")
        assert data["status"] == "ok"
        # The gateway's environment and working directory, not the lab's.
        assert stdout(data) == f"{gateway.python} {gateway.state}\n"
        assert [o["text"] for o in data["outputs"] if o["output_type"] == "execute_result"] == ["42"]
        failed = await run(client, kernel_id, "1 / 0")
        assert failed["status"] == "error" and failed["error"]["ename"] == "ZeroDivisionError"

        stopped = result_json(await client.call_tool("stop_kernel", {"kernel_id": kernel_id}))
        assert stopped["stopped"] is True
        listed = result_json(await client.call_tool("list_kernels", {}))
    assert kernel_id not in gateway.kernel_ids()
    assert listed["active_kernels"] == []


async def test_a_timeout_interrupts_the_gateway_kernel_which_stays_usable(lab: Lab):
    async with mcp_session(lab.mcp_url, lab.token, "legacy") as client:
        kernel_id = await start(client)
        code = "kept = 'yes'\nprint('started', flush=True)\nimport time\nwhile True:\n    time.sleep(0.01)"
        data = await run(client, kernel_id, code, timeout=2)
        assert data["status"] == "timeout" and stdout(data) == "started\n"
        assert data["error"]["ename"] == "KeyboardInterrupt" and "still usable" in data["message"]
        after = await run(client, kernel_id, "print(kept)")
    assert after["status"] == "ok" and stdout(after) == "yes\n"


async def test_interrupt_kernel_stops_code_running_on_the_gateway(lab: Lab, tmp_path: Path):
    marker = tmp_path / "looping"
    code = f"open({str(marker)!r}, 'w').close()\nimport time\nwhile True:\n    time.sleep(0.01)"
    async with mcp_session(lab.mcp_url, lab.token, "legacy") as client:
        kernel_id = await start(client)
        running = asyncio.ensure_future(run(client, kernel_id, code, timeout=0))
        deadline = time.monotonic() + PROMPT
        while not marker.exists():
            assert time.monotonic() < deadline and not running.done(), "the loop did not start"
            await asyncio.sleep(0.1)
        result_json(await client.call_tool("interrupt_kernel", {"kernel_id": kernel_id}))
        data = await asyncio.wait_for(running, PROMPT)
    assert data["status"] == "error" and data["error"]["ename"] == "KeyboardInterrupt"


async def test_restart_kernel_keeps_the_gateway_kernel_id_and_loses_its_state(lab: Lab, gateway: Gateway):
    async with mcp_session(lab.mcp_url, lab.token, "2026-07-28") as client:
        kernel_id = await start(client)
        await run(client, kernel_id, "import os\nbefore = os.getpid()\nprint(before)")
        pid_before = stdout(await run(client, kernel_id, "print(before)")).strip()
        restarted = result_json(await client.call_tool("restart_kernel", {"kernel_id": kernel_id}))
        assert restarted["kernel_id"] == kernel_id
        after = await run(client, kernel_id, "print(before)")
        pid_after = stdout(await run(client, kernel_id, "import os\nprint(os.getpid())")).strip()
    assert after["status"] == "error" and after["error"]["ename"] == "NameError"
    assert pid_after != pid_before and gateway.kernel_ids() == {kernel_id}


@pytest.mark.parametrize("mode", MODES)
async def test_notebook_mode_runs_the_labs_notebook_on_the_gateway_kernel_and_saves_outputs(
    lab: Lab, gateway: Gateway, mode: str
):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)"),
        nbformat.v4.new_markdown_cell("# notes"),
        nbformat.v4.new_code_cell("21 * 2"),
    ]
    path = f"remote-{mode}.ipynb"
    nbformat.write(nb, str(lab.root / path))
    async with mcp_session(lab.mcp_url, lab.token, mode) as client:
        kernel_id = await start(client)
        data = result_json(
            await client.call_tool("execute_on_kernel", {"kernel_id": kernel_id, "mode": "notebook", "path": path})
        )
    assert (data["cells_executed"], data["cells_succeeded"], data["cells_failed"]) == (2, 2, 0)
    saved = nbformat.read(str(lab.root / path), as_version=4)
    assert saved.cells[0].outputs[0]["text"] == f"{gateway.python.parent.parent}\n"  # the gateway's environment
    assert saved.cells[2].outputs[0]["data"]["text/plain"] == "42"
    assert saved.cells[2].execution_count == 2


async def test_a_kernel_the_gateway_refuses_is_a_prompt_tool_error_with_the_gateways_reason(lab: Lab, gateway: Gateway):
    async with mcp_session(lab.mcp_url, lab.token, "legacy") as client:
        kept = [await start(client) for _ in range(GATEWAY_MAX_KERNELS)]
        started = time.monotonic()
        refused = await client.call_tool("start_kernel", {})
        elapsed = time.monotonic() - started
        listed = result_json(await client.call_tool("list_kernels", {}))
    message = error_text(refused)
    assert elapsed < PROMPT
    assert "gateway" in message.lower() and gateway.url in message
    assert f"A max kernels limit has been set to {GATEWAY_MAX_KERNELS}" in message or "Resource Limit" in message
    assert sorted(k["kernel_id"] for k in listed["active_kernels"]) == sorted(kept) and gateway.kernel_ids() == set(
        kept
    )


async def test_a_kernel_the_gateway_cannot_launch_is_a_prompt_tool_error_with_the_gateways_reason(
    lab: Lab, gateway: Gateway
):
    async with mcp_session(lab.mcp_url, lab.token, "2026-07-28") as client:
        started = time.monotonic()
        failed = await client.call_tool("start_kernel", {"kernel_name": BROKEN_KERNEL})
        elapsed = time.monotonic() - started
        listed = result_json(await client.call_tool("list_kernels", {}))
    message = error_text(failed)
    assert elapsed < PROMPT
    assert "no-such-python" in message and gateway.url in message
    assert listed["active_kernels"] == [] and not gateway.kernel_ids()


async def test_an_unknown_kernel_name_lists_the_kernelspecs_the_gateway_offers_this_user(lab: Lab, gateway: Gateway):
    offered = gateway.api("GET", "kernelspecs", params={"user": KERNEL_USERNAME}).json()["kernelspecs"]
    async with mcp_session(lab.mcp_url, lab.token, "legacy") as client:
        refused = await client.call_tool("start_kernel", {"kernel_name": RESTRICTED_KERNEL})
    message = error_text(refused)
    assert sorted(offered) == ["broken-python", "python3"]  # the restricted one is not offered to this user
    assert f"kernel_name {RESTRICTED_KERNEL!r} is not an installed kernelspec" in message
    assert "installed kernelspecs: broken-python, python3." in message


async def test_a_gateway_that_does_not_answer_is_a_prompt_tool_error_naming_it(tmp_path: Path):
    from .conftest import free_port

    dead_url = f"http://127.0.0.1:{free_port()}"
    lab = start_lab(
        tmp_path, f"--gateway-url={dead_url}", "--GatewayClient.request_timeout=5", "--GatewayClient.connect_timeout=5"
    )
    try:
        async with mcp_session(lab.mcp_url, lab.token, "legacy") as client:
            started = time.monotonic()
            failed = await client.call_tool("start_kernel", {})
            elapsed = time.monotonic() - started
    finally:
        lab.stop()
    message = error_text(failed)
    assert elapsed < PROMPT
    assert dead_url in message and "gateway" in message.lower()
    assert "Traceback" not in message


async def test_a_gateway_kernel_whose_channels_cannot_be_reached_is_not_left_running(gateway: Gateway, tmp_path: Path):
    from .conftest import free_port

    # The gateway's REST API answers (the kernel starts there) but its websocket URL leads nowhere.
    closed = f"ws://127.0.0.1:{free_port()}"
    lab = start_lab(
        tmp_path,
        *gateway_lab_args(gateway),
        f"--GatewayClient.ws_url={closed}",
        env={"KERNEL_USERNAME": KERNEL_USERNAME},
    )
    before = gateway.kernel_ids()
    try:
        async with mcp_session(lab.mcp_url, lab.token, "legacy") as client:
            started = time.monotonic()
            failed = await client.call_tool("start_kernel", {})
            elapsed = time.monotonic() - started
        left = gateway.kernel_ids() - before
        listed = lab.api("GET", "api/kernels").json()
    finally:
        lab.stop()
    assert failed.is_error and elapsed < PROMPT, (error_text(failed), elapsed)
    assert "Traceback" not in error_text(failed)
    assert not left, f"the kernel started for the failed call is still running on the gateway: {left}"
    assert listed == [], listed


async def test_a_gateway_kernel_that_dies_while_code_runs_fails_that_call_promptly(
    lab: Lab, gateway: Gateway, tmp_path: Path
):
    marker = tmp_path / "looping"
    code = f"open({str(marker)!r}, 'w').close()\nimport time\nwhile True:\n    time.sleep(0.01)"
    async with mcp_session(lab.mcp_url, lab.token, "legacy") as client:
        kernel_id = await start(client)
        [pid] = gateway.kernel_pids()
        running = asyncio.ensure_future(
            client.call_tool("execute_on_kernel", {"kernel_id": kernel_id, "mode": "code", "code": code, "timeout": 0})
        )
        deadline = time.monotonic() + PROMPT
        while not marker.exists():
            assert time.monotonic() < deadline and not running.done(), "the loop did not start"
            await asyncio.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
        failed = await asyncio.wait_for(running, PROMPT)
    message = error_text(failed)
    assert f"Kernel {kernel_id} died while running this code" in message and "variables are lost" in message


async def test_a_kernel_shut_down_on_the_gateway_is_gone_for_the_next_call(lab: Lab, gateway: Gateway):
    async with mcp_session(lab.mcp_url, lab.token, "legacy") as client:
        kernel_id = await start(client)
        assert (await run(client, kernel_id, "1"))["status"] == "ok"
        # Another client of the gateway (its culler, an operator) shuts the kernel down.
        assert gateway.api("DELETE", f"kernels/{kernel_id}").status_code == 204
        started = time.monotonic()
        failed = await client.call_tool(
            "execute_on_kernel", {"kernel_id": kernel_id, "mode": "code", "code": "1", "timeout": 0}
        )
        elapsed = time.monotonic() - started
        listed = result_json(await client.call_tool("list_kernels", {}))
    assert elapsed < PROMPT
    assert f"Kernel {kernel_id} was shut down on the kernel gateway at {gateway.url}" in error_text(failed)
    assert listed["active_kernels"] == []
