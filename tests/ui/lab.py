"""What the browser tests share: headless Chromium, and `jupyter lab` run as a subprocess on a free port with its
own config, data and runtime directories."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SERVER_START_TIMEOUT = 90.0  # seconds; Lab answers after about 3 s on these machines
UI_TIMEOUT_MS = 60_000  # a cold first Lab page load on 2 cores takes a few seconds; leave room


def chromium_path() -> str | None:
    """Debian's Chromium (Playwright never downloads a browser here), or None."""
    for path in CHROMIUM_PATHS:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


CHROMIUM = chromium_path()
#: The marker that skips a browser test on a machine without Chromium.
NEEDS_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None,
    reason=f"Chromium is not installed (looked for {', '.join(CHROMIUM_PATHS)} and PATH; apt-get install chromium)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LabProcess:
    """A running `jupyter lab`: its base URL (ending in "/"), token, root directory and log file."""

    url: str
    token: str
    root: Path
    log: Path

    def get_json(self, path: str) -> Any:
        """GET ``path`` (relative to the base URL) with the token and decode the JSON body."""
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)


@contextmanager
def run_lab(base: Path, *args: str, ready: str = "api/status") -> Iterator[LabProcess]:
    """Run `jupyter lab` with ``args`` (after the common ones), its root at ``base / "root"`` and its
    Jupyter directories under ``base``; yield once GET ``ready`` (relative to the base URL) answers, stop
    it on exit. Lab's news toast is disabled (it would cover part of the screenshots)."""
    root, config_dir = base / "root", base / "config"
    for path in (root, config_dir / "labconfig"):
        path.mkdir(parents=True, exist_ok=True)
    # The user's own labconfig is not read here anyway.
    (config_dir / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    env = dict(os.environ)
    # Only the user-level dirs move: the system entries of JUPYTER_PATH (where pip puts the labextension and the
    # server extension's config) stay visible.
    env.update(
        JUPYTER_CONFIG_DIR=str(config_dir),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
    )
    port, token = free_port(), secrets.token_hex(16)
    log = base / "server.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root}",
        *args,
    ]
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            lab = LabProcess(url=f"http://127.0.0.1:{port}/", token=token, root=root, log=log)
            _wait_until_up(lab, process, ready)
            yield lab
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_up(lab: LabProcess, process: subprocess.Popen[bytes], ready: str) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    request = urllib.request.Request(lab.url + ready, headers={"Authorization": f"token {lab.token}"})
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited with {process.returncode}:\n{lab.log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(request, timeout=10):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    pytest.fail(f"jupyter lab did not answer /{ready} in {SERVER_START_TIMEOUT} s:\n{lab.log.read_text()[-4000:]}")


class MCPAgent:
    """A real MCP client over HTTP, connected to ``lab`` as ``name``, for browser tests: its session runs on an
    event loop of its own thread (Playwright's sync API owns the test's loop). ``call(tool, **arguments)`` returns
    the tool's JSON result; ``close()`` ends the session."""

    def __init__(self, lab: LabProcess, name: str = "ui-test-agent") -> None:
        import asyncio
        import threading

        self.lab, self.name = lab, name
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client: Any = None
        self._ready = threading.Event()
        self._stop: Any = None
        # The client's context is entered and left in one task (anyio's cancel scopes require it).
        self._session = asyncio.run_coroutine_threadsafe(self._run(), self.loop)
        if not self._ready.wait(timeout=60):
            raise AssertionError(f"the MCP client did not connect: {self._session}")

    async def _run(self) -> None:
        import asyncio

        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.types import Implementation

        self._stop = asyncio.Event()
        headers = {"Authorization": f"token {self.lab.token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
            transport = streamable_http_client(f"{self.lab.url}mcp", http_client=http)
            info = Implementation(name=self.name, version="1")
            async with Client(transport, mode="legacy", client_info=info) as client:
                self.client = client
                self._ready.set()
                await self._stop.wait()

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        import asyncio

        async def run() -> dict[str, Any]:
            result = await self.client.call_tool(tool, arguments)
            assert not result.is_error, result.content[0].text
            return result.structured_content or json.loads(result.content[0].text)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=120)

    def close(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._session.result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
