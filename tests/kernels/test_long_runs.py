"""Long and failing executions: timeouts, progress, cancel from the client, dying kernels, ordering."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from ..conftest import MODES, error_text, poll, result_json
from .conftest import run_code, running_marker, start_kernel, stream_text, wait_for_file

pytestmark = pytest.mark.kernel


@pytest.mark.parametrize("mode", MODES)
async def test_a_timeout_interrupts_the_loop_returns_partial_output_and_the_kernel_stays_usable(mcp_client, mode):
    code = "kept = 'yes'\nprint('started', flush=True)\nwhile True:\n    pass"
    async with mcp_client(mode=mode) as client:
        kernel_id = await start_kernel(client)
        data = result_json(await run_code(client, kernel_id, code, timeout=1.5))
        assert data["status"] == "timeout"
        assert stream_text(data) == "started\n"
        assert "interrupted" in data["message"] and "still usable" in data["message"]
        assert data["error"]["ename"] == "KeyboardInterrupt"
        assert 1.5 <= data["execution_time"] < 10
        after = result_json(await run_code(client, kernel_id, "print(kept)"))
    assert after["status"] == "ok" and stream_text(after) == "yes\n"


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
async def test_a_long_execution_sends_progress_notifications_every_few_seconds(mcp_client, mode):
    received: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.append((progress, total, message))

    async with mcp_client(mode=mode) as client:
        kernel_id = await start_kernel(client)
        result = await client.call_tool(
            "execute_on_kernel",
            {
                "kernel_id": kernel_id,
                "mode": "code",
                "code": "import time\ntime.sleep(4.5)\nprint('done')",
                "timeout": 30,
            },
            progress_callback=on_progress,
        )
    assert stream_text(result_json(result)) == "done\n"
    assert len(received) >= 2
    assert [p for p, _, _ in received] == sorted(p for p, _, _ in received)
    assert all(total == 30 for _, total, _ in received)
    assert "running for" in (received[0][2] or "")


@pytest.mark.parametrize("mode", MODES)
async def test_cancelling_the_call_from_the_client_interrupts_the_kernel(mcp_client, jp_root_dir, mode):
    loop = "count = 0\n" + running_marker(jp_root_dir / "looping") + "while True:\n    count += 1"
    async with mcp_client(mode=mode) as client:
        kernel_id = await start_kernel(client)
        call = asyncio.create_task(run_code(client, kernel_id, loop, timeout=0))
        await wait_for_file(jp_root_dir / "looping")
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        # Not interrupted, the loop would hold the kernel and this would time out without starting.
        after = result_json(await run_code(client, kernel_id, "print(count > 0)", timeout=10))
    assert after["status"] == "ok" and stream_text(after) == "True\n"


async def test_a_kernel_that_dies_gives_a_kernel_died_error_and_restart_kernel_recovers_it(mcp_client):
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        await run_code(client, kernel_id, "lost = 1")
        died = await run_code(client, kernel_id, "import os\nprint('bye', flush=True)\nos._exit(3)", timeout=30)
        message = error_text(died)
        assert "died" in message and kernel_id in message and "restart_kernel" in message
        restarted = result_json(await client.call_tool("restart_kernel", {"kernel_id": kernel_id}))
        assert restarted["kernel_id"] == kernel_id and restarted["restarted"] is True
        after = result_json(await run_code(client, kernel_id, "print('lost' in globals())"))
    assert after["status"] == "ok" and stream_text(after) == "False\n"


async def test_two_calls_on_one_kernel_run_one_after_the_other_in_the_order_they_came(mcp_client, jp_root_dir):
    code = running_marker(jp_root_dir / "first") + "import time\ntime.sleep(1)\norder = ['first']\nprint('first done')"
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        first = asyncio.create_task(run_code(client, kernel_id, code))
        await wait_for_file(jp_root_dir / "first")
        second = result_json(await run_code(client, kernel_id, "order.append('second')\nprint(order)"))
        assert stream_text(result_json(await first)) == "first done\n"
    assert stream_text(second) == "['first', 'second']\n"


async def test_a_call_waiting_behind_a_longer_call_gives_up_at_its_timeout_without_running(mcp_client, jp_root_dir):
    code = running_marker(jp_root_dir / "first") + "import time\ntime.sleep(3)\nran = []"
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        first = asyncio.create_task(run_code(client, kernel_id, code))
        await wait_for_file(jp_root_dir / "first")
        busy = error_text(await run_code(client, kernel_id, "ran.append('second')", timeout=0.5))
        assert "is running another execute_on_kernel call" in busy and "nothing was run" in busy
        await first
        after = result_json(await run_code(client, kernel_id, "print(ran)"))
    assert stream_text(after) == "[]\n"


async def test_a_kernel_killed_between_two_calls_is_said_dead_before_the_call_then_restarted(mcp_client, jp_serverapp):
    async with mcp_client() as client:
        kernel_id = await start_kernel(client)
        await run_code(client, kernel_id, "kept = 1")
        manager = jp_serverapp.kernel_manager.get_kernel(kernel_id)
        killed = manager.provisioner.pid
        os.kill(killed, signal.SIGKILL)

        async def gone() -> bool:
            return not await manager.is_alive()

        await poll(gone, 10, "the kernel's end")  # a kill takes effect within milliseconds; calls come seconds apart
        message = error_text(await run_code(client, kernel_id, "print('kept' in globals())"))
        dead = error_text(await client.call_tool("list_variables", {"kernel_id": kernel_id}))

        async def restarted() -> bool:
            return manager.provisioner.pid not in (None, killed) and await manager.is_alive()

        await poll(restarted, 30, "the server's restart of the kernel")
        after = result_json(await run_code(client, kernel_id, "print('kept' in globals())"))
        again = result_json(await run_code(client, kernel_id, "print(1)"))
    assert f"Kernel {kernel_id} is dead (it died or was killed since the last call, exit code -9)" in message
    assert "nothing was run" in message and "while running this code" not in message
    assert "is dead (it died or was killed since the last call" in dead
    assert after["status"] == "ok" and stream_text(after) == "False\n"
    assert after["message"].startswith(f"The server restarted kernel {kernel_id} on its own since the previous call")
    assert "message" not in again, "said once"
