"""Fixtures of the deployment tests: real outside components run as subprocesses, state in a temp dir.

Each component is started once per module and stopped at teardown with everything it started. A component
that cannot be installed here is skipped locally, but fails the run under CI (``CI=true``), so that a missing
install step in ``.ci/run`` cannot pass as a green run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

#: Seconds a component may take to answer after it was started (a few on an idle 2-core machine).
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need(what: str, error: BaseException) -> None:
    """Skip (locally) or fail (in CI) a test whose outside component could not be installed."""
    message = f"{what} could not be installed: {error}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def wait_until(
    check: Callable[[], Any],
    timeout: float,
    what: str,
    process: subprocess.Popen[Any] | None = None,
    log: Path | None = None,
) -> Any:
    """Call ``check()`` until it returns something truthy (exceptions count as not yet); fail after ``timeout``
    seconds, or as soon as ``process`` exits, with the tail of ``log``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = check()
        except Exception as e:  # not up yet
            value, last = None, e
        if value:
            return value
        exited = process is not None and process.poll() is not None
        if exited or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
            why = f"exited with {process.returncode}" if exited and process else f"timed out after {timeout} s"
            raise AssertionError(f"waiting for {what}: {why} (last error: {last!r})\n{tail}")
        time.sleep(0.2)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0): reap it if it is ours.
    with suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def process_environ(pid: int) -> dict[str, str]:
    """The environment a running process was started with (Linux /proc)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def stop_process(process: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def kill_leftovers(pids: list[int], timeout: float = 15.0) -> list[int]:
    """Wait for ``pids`` to exit, then SIGKILL those still alive; returns the ones that had to be killed."""
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    killed = [p for p in pids if pid_alive(p)]
    for pid in killed:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return killed


@asynccontextmanager
async def mcp_session(
    url: str, token: str | None, mode: str = "legacy", headers: dict[str, str] | None = None
) -> AsyncIterator[Client]:
    """The real MCP SDK client over HTTP, with ``Authorization: token <token>`` (no header when None) and
    ``headers``."""
    headers = {**({"Authorization": f"token {token}"} if token else {}), **(headers or {})}
    async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            yield client


async def sdk_refused(url: str, token: str | None, mode: str) -> bool:
    """Whether the MCP SDK client fails to connect and list tools (it reports an HTTP refusal as an MCPError,
    inside the exception groups of its task groups)."""
    try:
        async with mcp_session(url, token, mode) as client:
            await client.list_tools()
    except Exception as e:
        errors: list[BaseException] = [e]
        while errors:
            error = errors.pop()
            if isinstance(error, MCPError):
                return True
            errors.extend(getattr(error, "exceptions", ()))
        raise
    return False


MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory, request: Any) -> Iterator[Path]:
    yield tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
