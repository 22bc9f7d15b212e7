"""A server with the extension stops on the signals that process managers send, after MCP tools have run.

JupyterHub's local-process spawner stops a user's server with SIGINT (then SIGTERM, then SIGKILL), systemd and
Docker with SIGTERM. Without a terminal, Jupyter Server handles SIGINT as a plain KeyboardInterrupt: the event loop
stops without the extensions' cleanup, and the process must still exit.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import pytest

from ..conftest import MODES, result_json
from .conftest import mcp_session
from .lab import start_lab

pytestmark = [pytest.mark.deploy, pytest.mark.slow]

#: Seconds a stopped server may take to exit (about 1-2 s on an idle 2-core machine).
EXIT_TIMEOUT = 60.0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_the_server_exits_on_a_stop_signal_after_notebook_tools_ran(tmp_path: Path, signum: int) -> None:
    lab = start_lab(tmp_path)
    try:
        for mode in MODES:
            async with mcp_session(lab.mcp_url, lab.token, mode) as client:
                result_json(await client.call_tool("create_notebook", {"path": f"{mode}.ipynb"}))
                result_json(await client.call_tool("list_notebook_files", {}))
        lab.process.send_signal(signum)
        try:
            code = lab.process.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server was still running {EXIT_TIMEOUT:g} s after {signal.Signals(signum).name}")
    finally:
        lab.stop()
    assert code == 0, lab.log_text()[-3000:]


async def test_the_server_exits_on_sigint_that_lands_while_it_serves_mcp_calls(tmp_path: Path) -> None:
    # A signal that lands while a request is being served is raised inside the SDK's task groups: wrapped in an
    # exception group, asyncio logged it and went on serving, and the server ran until it was killed.
    lab = start_lab(tmp_path)
    stop, busy = asyncio.Event(), asyncio.Event()
    answered = 0

    async def busy_client(mode: str) -> None:
        nonlocal answered
        try:
            async with mcp_session(lab.mcp_url, lab.token, mode) as client:
                while not stop.is_set():
                    await client.call_tool("list_notebook_files", {})
                    answered += 1
                    if answered >= 30:
                        busy.set()
        except Exception:  # the server went away under the call, as it should
            return

    try:
        clients = [asyncio.create_task(busy_client(mode)) for mode in MODES for _ in range(4)]
        await asyncio.wait_for(busy.wait(), 60)
        # The server's main thread is busy with the calls: the signal lands in a request's code.
        lab.process.send_signal(signal.SIGINT)
        try:
            exited: int | None = await asyncio.to_thread(lab.process.wait, EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            exited = None
        stop.set()
        await asyncio.gather(*clients)
    finally:
        lab.stop()
    assert exited is not None, f"the server was still running {EXIT_TIMEOUT:g} s after SIGINT while serving calls"
