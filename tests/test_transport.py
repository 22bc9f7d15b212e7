"""The MCP endpoint over HTTP: Jupyter's own protection, base_url, both protocol generations, sessions, shutdown."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import nbformat
import pytest
from jupyter_server.auth.authorizer import Authorizer

from .conftest import INITIALIZE, MODES, TOKEN, error_text, result_json

ACCEPT = "application/json, text/event-stream"


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """The suite's server config, plus what a test passes with ``parametrize("jp_server_config", [...], indirect=True)``."""
    return merged(jp_server_config, getattr(request, "param", {}))


def sse_messages(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:") and line[5:].strip()]


async def open_legacy_session(http: httpx2.AsyncClient, url: str, headers: dict[str, str] | None = None) -> str:
    """A raw 2025-11-25 handshake (with extra ``headers`` on both requests); returns the Mcp-Session-Id."""
    extra = headers or {}
    response = await http.post(url, json=INITIALIZE, headers={"Accept": ACCEPT, **extra})
    assert response.status_code == 200, response.text
    session_id = response.headers["mcp-session-id"]
    assert sse_messages(response.text)[0]["result"]["serverInfo"]["name"] == "jupyter-mcp-ext"
    headers = {"Accept": ACCEPT, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": "2025-11-25", **extra}
    note = await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    assert note.status_code == 202
    return session_id


# -- authentication ------------------------------------------------------------------------


async def test_a_request_without_a_valid_token_is_refused_with_401(mcp_url):
    async with httpx2.AsyncClient(timeout=30) as http:
        post = await http.post(mcp_url, json=INITIALIZE, headers={"Accept": ACCEPT})
        get = await http.get(mcp_url, headers={"Accept": "text/event-stream"})
        delete = await http.delete(mcp_url)
        wrong = await http.post(mcp_url, json=INITIALIZE, headers={"Accept": ACCEPT, "Authorization": "token wrong"})
    assert (post.status_code, get.status_code, delete.status_code, wrong.status_code) == (401, 401, 401, 401)
    assert "mcp-session-id" not in post.headers


@pytest.mark.parametrize("scheme", ["token", "Bearer"])
@pytest.mark.parametrize("mode", MODES)
async def test_token_and_bearer_authorization_headers_are_accepted(mcp_client, make_notebook, scheme, mode):
    make_notebook("a.ipynb", ["x = 1"])
    async with mcp_client(mode=mode, headers={"Authorization": f"{scheme} {TOKEN}"}) as client:
        data = result_json(await client.call_tool("read_cells", {"path": "a.ipynb", "mode": "single", "index": 0}))
    assert data["cell"]["source"] == "x = 1"


async def browser_session(http: httpx2.AsyncClient) -> dict[str, str]:
    """Log in as a browser does (password form → cookie); return the XSRF header for later requests."""
    await http.get("login")
    xsrf = http.cookies["_xsrf"]
    login = await http.post("login", data={"password": TOKEN, "_xsrf": xsrf})
    assert login.status_code == 302
    return {"X-XSRFToken": xsrf}


async def test_a_foreign_origin_is_refused_as_for_the_contents_api_with_the_403_mcp_requires(server_url):
    own_origin = "/".join(server_url.split("/", 3)[:3])
    async with httpx2.AsyncClient(base_url=server_url, timeout=30) as http:
        xsrf = await browser_session(http)
        statuses = {}
        for label, origin in [("foreign", "http://evil.example"), ("own", own_origin)]:
            headers = {**xsrf, "Origin": origin}
            contents_post = await http.post("api/contents", json={"type": "notebook"}, headers=headers)
            mcp_post = await http.post("mcp", json=INITIALIZE, headers={**headers, "Accept": ACCEPT})
            session = {"Mcp-Session-Id": mcp_post.headers.get("mcp-session-id", "none")}
            contents_get = await http.get("api/contents", headers=headers)
            async with http.stream("GET", "mcp", headers={**headers, **session, "Accept": "text/event-stream"}) as get:
                statuses[label] = (
                    contents_post.status_code,
                    mcp_post.status_code,
                    contents_get.status_code,
                    get.status_code,
                )
    # Jupyter answers a refused Origin 404; the MCP transport requires 403 (with what to configure).
    assert statuses["foreign"] == (404, 403, 404, 403)
    assert statuses["own"] == (201, 200, 200, 200)


@pytest.mark.parametrize(
    "jp_server_config", [{"ServerApp": {"allow_origin": "https://lab.example.org"}}], indirect=True
)
async def test_an_origin_the_server_allows_may_use_mcp_from_a_browser(server_url):
    lab = "https://lab.example.org"
    async with httpx2.AsyncClient(base_url=server_url, timeout=30) as http:
        requested = "authorization, content-type, mcp-session-id, mcp-protocol-version, mcp-method"
        preflight = await http.options(
            "mcp",
            headers={
                "Origin": lab,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": requested,
            },
        )
        xsrf = await browser_session(http)
        allowed = await http.post("mcp", json=INITIALIZE, headers={**xsrf, "Accept": ACCEPT, "Origin": lab})
        other = await http.post(
            "mcp", json=INITIALIZE, headers={**xsrf, "Accept": ACCEPT, "Origin": "https://x.example"}
        )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == lab
    allowed_headers = {h.strip() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "mcp-session-id", "mcp-protocol-version", "mcp-method"} <= allowed_headers
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == lab
    assert "Mcp-Session-Id" in allowed.headers["Access-Control-Expose-Headers"]
    assert other.status_code == 403


@pytest.mark.parametrize(
    "jp_server_config",
    [{"ServerApp": {"allow_remote_access": False, "local_hostnames": ["proxy.example"]}}],
    indirect=True,
)
async def test_an_unknown_host_is_refused_and_a_configured_host_works(
    mcp_url, server_url, auth_headers, mcp_client, make_notebook
):
    make_notebook("a.ipynb", ["x"])
    port = server_url.split(":")[2].split("/")[0]
    async with httpx2.AsyncClient(headers=auth_headers, timeout=30) as http:
        evil = {"Host": f"evil.example:{port}"}
        mcp = await http.post(mcp_url, json=INITIALIZE, headers={**evil, "Accept": ACCEPT})
        contents = await http.get(f"{server_url}api/contents", headers=evil)
    assert (mcp.status_code, contents.status_code) == (403, 403)
    async with mcp_client(headers={**auth_headers, "Host": f"proxy.example:{port}"}) as client:
        assert result_json(await client.call_tool("read_cells", {"path": "a.ipynb"}))["cell_count"] == 1


@pytest.mark.parametrize("jp_server_config", [{"ServerApp": {"allow_remote_access": True}}], indirect=True)
async def test_any_host_works_when_the_server_allows_remote_access(mcp_client, auth_headers, server_url):
    port = server_url.split(":")[2].split("/")[0]
    async with mcp_client(headers={**auth_headers, "Host": f"lab.internal.example:{port}"}) as client:
        assert "read_cells" in {t.name for t in (await client.list_tools()).tools}


# -- the server's Authorizer ----------------------------------------------------------------


class DenyMCP(Authorizer):
    """Lets a user do everything in Jupyter but use MCP."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "mcp"


class ReadOnlyContents(Authorizer):
    """Lets a user use MCP and read notebooks, but not change files."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "contents" and action == "write")


@pytest.mark.parametrize("jp_server_config", [{"ServerApp": {"authorizer_class": DenyMCP}}], indirect=True)
async def test_an_authorizer_that_denies_mcp_gets_403_on_every_verb(mcp_url, server_url, auth_headers):
    async with httpx2.AsyncClient(headers=auth_headers, timeout=30) as http:
        post = await http.post(mcp_url, json=INITIALIZE, headers={"Accept": ACCEPT})
        get = await http.get(mcp_url, headers={"Accept": "text/event-stream"})
        delete = await http.delete(mcp_url)
        status = await http.get(f"{server_url}jupyter-mcp-ext/status")
        contents = await http.get(f"{server_url}api/contents")
    assert (post.status_code, get.status_code, delete.status_code, status.status_code) == (403, 403, 403, 403)
    assert contents.status_code == 200, "the rest of Jupyter is unaffected"


@pytest.mark.parametrize("jp_server_config", [{"ServerApp": {"authorizer_class": ReadOnlyContents}}], indirect=True)
@pytest.mark.parametrize("mode", MODES)
async def test_an_authorizer_denying_contents_writes_refuses_edit_tools_but_not_reads(
    mcp_client, make_notebook, jp_root_dir, mode
):
    make_notebook("a.ipynb", ["x"])
    before = (jp_root_dir / "a.ipynb").read_bytes()
    async with mcp_client(mode=mode) as client:
        assert result_json(await client.call_tool("read_cells", {"path": "a.ipynb"}))["cell_count"] == 1
        for tool, args in [
            ("add_cell", {"path": "a.ipynb", "cell_type": "code", "source": "y"}),
            ("update_cell", {"path": "a.ipynb", "index": 0, "source": "y"}),
            ("create_notebook", {"path": "b.ipynb"}),
        ]:
            text = error_text(await client.call_tool(tool, args))
            assert "Not allowed" in text and "write contents" in text
    assert (jp_root_dir / "a.ipynb").read_bytes() == before
    assert not (jp_root_dir / "b.ipynb").exists()


# -- base_url --------------------------------------------------------------------------------


@pytest.mark.parametrize("jp_base_url", ["/", "/proxy/lab%20one/"])
async def test_the_endpoint_lives_under_the_servers_base_url(
    jp_base_url, mcp_url, server_url, mcp_client, auth_headers
):
    assert mcp_url == f"{server_url}mcp" and server_url.endswith(jp_base_url)
    async with mcp_client() as client:
        assert "read_cells" in {t.name for t in (await client.list_tools()).tools}
    if jp_base_url != "/":
        root = server_url[: -len(jp_base_url)]
        async with httpx2.AsyncClient(headers=auth_headers, timeout=30) as http:
            response = await http.post(f"{root}/mcp", json=INITIALIZE, headers={"Accept": ACCEPT})
        assert response.status_code == 404


# -- protocol ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_both_protocol_generations_list_and_call_tools(mcp_client, make_notebook, mode):
    make_notebook("a.ipynb", ["x = 1"])
    async with mcp_client(mode=mode) as client:
        assert client.protocol_version == ("2026-07-28" if mode == "2026-07-28" else "2025-11-25")
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert {"read_notebook", "write_notebook", "create_notebook", "add_cell", "remove_cell", "update_cell"} <= set(
            tools
        )
        assert {"read_cells", "inspect_notebook", "system_info", "list_notebook_files"} <= set(tools)
        assert tools["read_cells"].input_schema["properties"]["mode"]["enum"] == ["single", "range", "list", "all"]
        added = result_json(await client.call_tool("add_cell", {"path": "a.ipynb", "cell_type": "code", "source": "y"}))
    assert added["cell_count"] == 2


async def test_the_get_stream_of_a_legacy_session_opens_promptly(mcp_url, auth_headers):
    async with httpx2.AsyncClient(headers=auth_headers, timeout=httpx2.Timeout(30, read=5)) as http:
        session_id = await open_legacy_session(http, mcp_url)
        headers = {"Accept": "text/event-stream", "Mcp-Session-Id": session_id, "MCP-Protocol-Version": "2025-11-25"}
        started = time.monotonic()
        async with http.stream("GET", mcp_url, headers=headers) as stream:
            opened = time.monotonic() - started
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
    assert opened < 3, f"the GET stream took {opened:.1f}s to open"


async def test_a_deleted_session_is_gone_for_later_requests(mcp_url, auth_headers):
    async with httpx2.AsyncClient(headers=auth_headers, timeout=30) as http:
        session_id = await open_legacy_session(http, mcp_url)
        headers = {"Accept": ACCEPT, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": "2025-11-25"}
        listed = await http.post(mcp_url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=headers)
        assert listed.status_code == 200 and sse_messages(listed.text)[0]["result"]["tools"]
        deleted = await http.delete(mcp_url, headers=headers)
        after = await http.post(mcp_url, json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, headers=headers)
    assert deleted.status_code == 200
    assert after.status_code == 404


async def test_a_quick_calls_event_stream_is_written_whole_with_its_length(mcp_url, auth_headers):
    """The headers and the one event of a quick POST's SSE response go out together, at its end (one write,
    with a Content-Length instead of chunks)."""
    async with httpx2.AsyncClient(headers=auth_headers, timeout=30) as http:
        session_id = await open_legacy_session(http, mcp_url)
        headers = {"Accept": ACCEPT, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": "2025-11-25"}
        listed = await http.post(mcp_url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=headers)
    assert listed.headers["content-type"].startswith("text/event-stream")
    assert int(listed.headers["content-length"]) == len(listed.content)
    assert "transfer-encoding" not in listed.headers
    [message] = sse_messages(listed.text)
    assert message["id"] == 2 and message["result"]["tools"]


@pytest.mark.kernel
async def test_a_long_calls_event_stream_opens_at_once_and_ends_with_the_result(mcp_url, auth_headers, mcp_client):
    async with mcp_client() as client:
        kernel_id = result_json(await client.call_tool("start_kernel", {"kernel_name": "python3"}))["kernel_id"]
        try:
            async with httpx2.AsyncClient(headers=auth_headers, timeout=30) as http:
                session_id = await open_legacy_session(http, mcp_url)
                headers = {"Accept": ACCEPT, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": "2025-11-25"}
                call = {
                    "name": "execute_on_kernel",
                    "arguments": {"kernel_id": kernel_id, "mode": "code", "code": "import time; time.sleep(1.5)"},
                }
                started = time.monotonic()
                body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call}
                async with http.stream("POST", mcp_url, json=body, headers=headers) as response:
                    opened = time.monotonic() - started
                    text = (await response.aread()).decode()
                ended = time.monotonic() - started
        finally:
            await client.call_tool("stop_kernel", {"kernel_id": kernel_id})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert opened < 1.0 < ended, f"headers after {opened:.2f} s, result after {ended:.2f} s"
    assert sse_messages(text)[-1]["result"]["structuredContent"]["status"] == "ok"


@pytest.mark.kernel
async def test_progress_notifications_of_a_long_tool_call_reach_the_client(mcp_client, jp_root_dir):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"x{i} = {i}") for i in range(3)])
    nbformat.write(nb, str(jp_root_dir / "run.ipynb"))
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    async with mcp_client(mode="legacy") as client:
        kernel = result_json(await client.call_tool("start_kernel", {"kernel_name": "python3"}))
        try:
            args = {"kernel_id": kernel["kernel_id"], "mode": "notebook", "path": "run.ipynb"}
            result = await client.call_tool("execute_on_kernel", args, progress_callback=on_progress)
            assert not result.is_error, result.content[0].text
        finally:
            await client.call_tool("stop_kernel", {"kernel_id": kernel["kernel_id"]})
    assert len(reports) >= 3
    assert all(total == 3 for _, total, _ in reports)
    assert [p for p, _, _ in reports] == sorted(p for p, _, _ in reports)


# -- the status endpoint -----------------------------------------------------------------------


async def test_the_status_endpoint_reports_version_and_tools(server_url, auth_headers, mcp_client):
    from jupyter_mcp_ext import __version__

    async with httpx2.AsyncClient(headers=auth_headers, timeout=30) as http:
        async with mcp_client() as client:
            listed = sorted(t.name for t in (await client.list_tools()).tools)
            response = await http.get(f"{server_url}jupyter-mcp-ext/status")
        deadline = time.monotonic() + 5
        while (after := (await http.get(f"{server_url}jupyter-mcp-ext/status")).json())["active_sessions"]:
            assert time.monotonic() < deadline, "the closed session is still counted"
            await asyncio.sleep(0.05)
    async with httpx2.AsyncClient(timeout=30) as http:
        anonymous = await http.get(f"{server_url}jupyter-mcp-ext/status")
    assert response.status_code == 200
    status = response.json()
    assert status["version"] == __version__
    assert status["tools"] == listed and status["tool_count"] == len(listed)
    assert status["mcp_path"] == "/a%40b/mcp" and status["running"] is True
    assert status["active_sessions"] == 1 and after["active_sessions"] == 0
    assert anonymous.status_code == 401


# -- shutdown ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyter_server_process(tmp_path):
    """Start ``jupyter server`` with the extension as a subprocess; yield (process, base URL); kill it if left."""

    def start(*extra: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        root = tmp_path / "root"
        root.mkdir(exist_ok=True)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
            "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
            "JUPYTER_DATA_DIR": str(tmp_path / "data"),
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
            "JUPYTER_PLATFORM_DIRS": "0",
        }
        command = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--ServerApp.jpserver_extensions=jupyter_mcp_ext=True",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}",
            "--ServerApp.open_browser=False",
            "--allow-root",
            *extra,
        ]
        log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append(process)
        return process, f"http://127.0.0.1:{port}/"

    started: list[subprocess.Popen[bytes]] = []
    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


async def wait_until_serving(url: str, process: subprocess.Popen[bytes], deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    async with httpx2.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the server exited while starting"
            try:
                if (await http.get(f"{url}api/status", headers={"Authorization": f"token {TOKEN}"})).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("the server did not answer /api/status within the deadline")


@pytest.mark.slow
async def test_sigterm_stops_the_server_promptly_with_an_mcp_session_and_get_stream_open(jupyter_server_process):
    process, url = jupyter_server_process()
    await wait_until_serving(url, process)
    headers = {"Authorization": f"token {TOKEN}"}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=10)) as http:
        session_id = await open_legacy_session(http, f"{url}mcp")
        stream_headers = {
            "Accept": "text/event-stream",
            "Mcp-Session-Id": session_id,
            "MCP-Protocol-Version": "2025-11-25",
        }
        async with http.stream("GET", f"{url}mcp", headers=stream_headers) as stream:
            assert stream.status_code == 200
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(process.wait, 15)
            stopped = time.monotonic() - started
    assert stopped < 10, f"the server took {stopped:.1f}s to stop"
    assert code in (0, -signal.SIGTERM)


@pytest.mark.slow
async def test_stop_jupyter_server_shuts_the_server_down_when_allowed(jupyter_server_process, mcp_client):
    process, url = jupyter_server_process("--MCPExtensionApp.allow_server_shutdown=True")
    await wait_until_serving(url, process)
    http = httpx2.AsyncClient(headers={"Authorization": f"token {TOKEN}"}, timeout=30)
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with http, Client(streamable_http_client(f"{url}mcp", http_client=http), mode="2026-07-28") as client:
        reply = result_json(await client.call_tool("stop_jupyter_server", {}))
    assert reply["status"] == "stopping"
    started = time.monotonic()
    code = await asyncio.to_thread(process.wait, 15)
    assert time.monotonic() - started < 10 and code == 0


async def test_a_client_can_reopen_its_get_stream_after_closing_it(mcp_url, auth_headers):
    async with httpx2.AsyncClient(headers=auth_headers, timeout=httpx2.Timeout(30, read=5)) as http:
        session_id = await open_legacy_session(http, mcp_url)
        headers = {"Accept": "text/event-stream", "Mcp-Session-Id": session_id, "MCP-Protocol-Version": "2025-11-25"}
        async with http.stream("GET", mcp_url, headers=headers) as first:
            assert first.status_code == 200
            async with http.stream("GET", mcp_url, headers=headers) as second:
                assert second.status_code == 409, "one GET stream per session while the first is open"
        deadline = time.monotonic() + 5
        while True:
            async with http.stream("GET", mcp_url, headers=headers) as again:
                if again.status_code == 200 or time.monotonic() > deadline:
                    break
            await asyncio.sleep(0.05)
    assert again.status_code == 200, "the server let go of the closed stream"


@pytest.mark.kernel
async def test_a_client_that_hangs_up_mid_call_leaves_the_session_serving(mcp_url, auth_headers, mcp_client):
    async with mcp_client() as client:
        kernel_id = result_json(await client.call_tool("start_kernel", {"kernel_name": "python3"}))["kernel_id"]
        try:
            async with httpx2.AsyncClient(headers=auth_headers, timeout=30) as http:
                session_id = await open_legacy_session(http, mcp_url)
                headers = {"Accept": ACCEPT, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": "2025-11-25"}
                call = {
                    "name": "execute_on_kernel",
                    "arguments": {"kernel_id": kernel_id, "mode": "code", "code": "import time; time.sleep(3)"},
                }
                with pytest.raises(httpx2.ReadTimeout):
                    await http.post(
                        mcp_url,
                        json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call},
                        headers=headers,
                        timeout=httpx2.Timeout(30, read=0.5),
                    )
                listed = await http.post(
                    mcp_url, json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, headers=headers
                )
                assert listed.status_code == 200 and sse_messages(listed.text)[0]["result"]["tools"]
            quick = {"kernel_id": kernel_id, "mode": "code", "code": "print(6 * 7)"}
            assert "42" in json.dumps(result_json(await client.call_tool("execute_on_kernel", quick)))
        finally:
            await client.call_tool("stop_kernel", {"kernel_id": kernel_id})
