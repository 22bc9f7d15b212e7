"""MCP through nginx with the configuration docs/deploying.md gives (read from that page, so the two cannot drift).

The test replaces the page's ``listen`` and TLS lines and the server's address with its own, and sends the
documented ``Host`` (``jupyter.example.org``), which the server allows through ``ServerApp.local_hostnames``.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import nbformat
import pytest

from ..conftest import INITIALIZE, MODES, result_json
from .conftest import (
    MCP_HEADERS,
    START_TIMEOUT,
    free_port,
    mcp_session,
    need,
    stop_process,
    wait_until,
)
from .lab import Lab, start_lab

pytestmark = [pytest.mark.deploy, pytest.mark.slow]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploying.md"
HOST = "jupyter.example.org"


def documented_server_block() -> str:
    """The ``nginx`` code block of docs/deploying.md."""
    blocks = re.findall(r"```nginx\n(.*?)```", DOCS.read_text(), flags=re.S)
    assert len(blocks) == 1, "docs/deploying.md should have one nginx block"
    return blocks[0]


def nginx_config(state: Path, port: int, upstream_port: int) -> str:
    server = documented_server_block()
    assert "listen 443 ssl;" in server and "127.0.0.1:8888" in server
    server = server.replace("listen 443 ssl;", f"listen 127.0.0.1:{port};")
    server = server.replace("127.0.0.1:8888", f"127.0.0.1:{upstream_port}")
    server = "\n".join(line for line in server.splitlines() if not line.strip().startswith("ssl_"))
    # As root, nginx runs its workers as "nobody", who cannot write in the test's temp dir.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    return f"""
daemon off;
{user}
worker_processes 1;
pid {state}/nginx.pid;
error_log {state}/error.log;
events {{ worker_connections 128; }}
http {{
    access_log {state}/access.log;
    client_body_temp_path {state}/client_body;
    proxy_temp_path {state}/proxy;
{server}
}}
"""


@pytest.fixture(scope="module")
def lab(module_tmp: Path) -> Iterator[Lab]:
    lab = start_lab(module_tmp / "lab", f'--ServerApp.local_hostnames=["localhost", "{HOST}"]')
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def proxy_url(module_tmp: Path, lab: Lab) -> Iterator[str]:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        need("nginx", FileNotFoundError("nginx is not installed (apt-get install nginx-light)"))
    state = module_tmp / "nginx"
    state.mkdir()
    port = free_port()
    upstream_port = int(lab.url.rsplit(":", 1)[1].strip("/"))
    config = state / "nginx.conf"
    config.write_text(nginx_config(state, port, upstream_port))
    log = state / "nginx.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(nginx), "-p", str(state), "-e", str(state / "error.log"), "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until(
            lambda: httpx2.get(url + "api/me", timeout=5).status_code in (200, 403),
            START_TIMEOUT,
            "nginx",
            process,
            state / "error.log",
        )
        yield url
    finally:
        stop_process(process)


def host_headers(lab: Lab, host: str = HOST) -> dict[str, str]:
    return {"Host": host, "Authorization": f"token {lab.token}"}


@pytest.mark.kernel
@pytest.mark.parametrize("mode", MODES)
async def test_mcp_streams_through_nginx_progress_arrives_while_the_call_runs(lab: Lab, proxy_url: str, mode: str):
    arrivals: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        arrivals.append(time.monotonic())

    async with mcp_session(f"{proxy_url}mcp", lab.token, mode, headers={"Host": HOST}) as client:
        kernel_id = result_json(await client.call_tool("start_kernel", {}))["kernel_id"]
        try:
            code = "import time\ntime.sleep(6)\nprint('done')"
            arguments = {"kernel_id": kernel_id, "mode": "code", "code": code, "timeout": 60}
            result = result_json(await client.call_tool("execute_on_kernel", arguments, progress_callback=on_progress))
            ended = time.monotonic()
        finally:
            result_json(await client.call_tool("stop_kernel", {"kernel_id": kernel_id}))
    assert result["status"] == "ok" and result["outputs"][0]["text"] == "done\n"
    # Buffered by the proxy, every notification would arrive with the result.
    assert arrivals and ended - arrivals[0] >= 2.0, (arrivals, ended)


async def test_a_notebook_of_several_mib_is_written_through_nginx(lab: Lab, proxy_url: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = '" + "a" * 1_000_000 + f"'  # {i}") for i in range(3)]
    content: dict[str, Any] = nbformat.from_dict(nb)
    async with mcp_session(f"{proxy_url}mcp", lab.token, "2026-07-28", headers={"Host": HOST}) as client:
        result_json(await client.call_tool("write_notebook", {"path": "big.ipynb", "content": dict(content)}))
    saved = nbformat.read(str(lab.root / "big.ipynb"), as_version=4)
    assert [len(c.source) for c in saved.cells] == [len(c.source) for c in nb.cells]


async def test_a_host_the_server_does_not_know_is_refused_by_jupyter_behind_nginx(lab: Lab, proxy_url: str):
    async with httpx2.AsyncClient(timeout=30) as http:
        known = await http.post(f"{proxy_url}mcp", headers={**MCP_HEADERS, **host_headers(lab)}, json=INITIALIZE)
        unknown = await http.post(
            f"{proxy_url}mcp",
            headers={**MCP_HEADERS, **host_headers(lab, "elsewhere.example.net")},
            json=INITIALIZE,
        )
    assert known.status_code == 200 and "mcp-session-id" in known.headers
    assert unknown.status_code == 403 and "mcp-session-id" not in unknown.headers
    refusal = unknown.json()
    assert "result" not in refusal and "ServerApp.local_hostnames" in refusal["message"], refusal
