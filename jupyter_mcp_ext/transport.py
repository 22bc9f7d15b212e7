"""The tornado handler that carries MCP Streamable HTTP into the SDK's session manager.

No library bridges an ASGI app into tornado, so this module is our own: it builds the ASGI
``scope`` from the tornado request, feeds the already-read body through ``receive``, and maps
the SDK's ``send`` messages onto ``set_status`` / ``add_header`` / ``write`` + ``flush``.
Authentication, the Host / Origin checks and authorization are Jupyter Server's own
(``APIHandler.prepare``, ``@web.authenticated``, ``@authorized``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.iostream import StreamClosedError

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

#: The Authorizer resource every MCP request is checked against (``@authorized``).
AUTH_RESOURCE = "mcp"

#: The ASGI scope key under which the tornado handler serving a request is passed to tools,
#: so that a tool can ask the server's Authorizer about the same user.
SCOPE_HANDLER_KEY = "jupyter_mcp_ext.handler"

#: Request headers of MCP Streamable HTTP that a browser client sends cross-origin (``Mcp-Param-*`` too).
MCP_REQUEST_HEADERS = ("mcp-session-id", "mcp-protocol-version", "mcp-method", "mcp-name", "last-event-id")

#: Response headers a browser client must be able to read (the session id above all).
MCP_EXPOSED_HEADERS = "Mcp-Session-Id, Mcp-Protocol-Version"


class MCPHandler(APIHandler):
    """Serves MCP Streamable HTTP (POST, GET stream, DELETE) at ``<base_url>mcp``.

    Follows the MCP 2025-11-25 Streamable HTTP transport and the stateless 2026-07-28
    protocol, both implemented by ``mcp.server.streamable_http_manager``; this class only
    translates between tornado and ASGI.
    """

    auth_resource = AUTH_RESOURCE

    async def mcp_session_manager(self) -> StreamableHTTPSessionManager:
        """The SDK's session manager, started on first use if the server's start hook has not run
        (an embedding that never calls ``_post_start``, such as pytest-jupyter)."""
        manager = self.settings.get("jupyter_mcp_ext_session_manager")
        if manager is None:
            app = self.settings.get("jupyter_mcp_ext_app")
            if app is not None:
                await app.ensure_mcp_running()
                manager = self.settings.get("jupyter_mcp_ext_session_manager")
        if manager is None:
            raise web.HTTPError(503, "The MCP endpoint is not running (the server is starting or stopping).")
        return manager

    @allow_unauthenticated
    def options(self, *args: Any, **kwargs: Any) -> None:
        """CORS preflight: Jupyter's answer, plus the MCP request headers the browser asks to send.

        Whether the origin may call at all stays Jupyter's decision (``ServerApp.allow_origin`` /
        ``allow_origin_pat``); this only adds the MCP headers to the allowed list.
        """
        super().options(*args, **kwargs)
        requested = [
            h.strip().lower() for h in self.request.headers.get("Access-Control-Request-Headers", "").split(",")
        ]
        mcp_headers = [h for h in requested if h in MCP_REQUEST_HEADERS or h.startswith("mcp-param-")]
        if mcp_headers:
            allowed = self._headers.get("Access-Control-Allow-Headers", "")
            self.set_header("Access-Control-Allow-Headers", ", ".join([allowed, *mcp_headers]).strip(", "))

    def set_cors_headers(self) -> None:
        """Jupyter's CORS headers; where they let an origin in, also expose ``Mcp-Session-Id`` to it."""
        super().set_cors_headers()
        if "Access-Control-Allow-Origin" in self._headers:
            self.set_header("Access-Control-Expose-Headers", MCP_EXPOSED_HEADERS)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self._serve()

    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self._serve()

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        await self._serve()

    def _scope(self) -> dict[str, Any]:
        request = self.request
        # "host", "host:8888", "[::1]:8888": the port is the digits after the last colon, if any.
        host, port = re.fullmatch(r"(.*?)(?::(\d+))?", request.host or "").groups()  # type: ignore[union-attr]
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.get_all()]
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.version.split("/")[-1] if request.version else "1.1",
            "method": request.method,
            "scheme": request.protocol,
            "path": unquote(request.path),
            "raw_path": request.path.encode("latin-1", "replace"),
            "root_path": "",
            "query_string": (request.query or "").encode("latin-1"),
            "headers": headers,
            "client": (request.remote_ip, 0),
            "server": (host.strip("[]"), int(port) if port else None),
            "state": {},
            SCOPE_HANDLER_KEY: self,
        }

    async def _serve(self) -> None:
        body = self.request.body or b""
        body_sent = False
        disconnected = asyncio.Event()
        started: dict[str, Any] = {}
        content_type = "application/json"

        async def receive() -> MutableMapping[str, Any]:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal content_type
            if message["type"] == "http.response.start":
                self.set_status(message["status"])
                self.clear_header("Content-Type")
                for name, value in message.get("headers", []):
                    key, val = name.decode("latin-1"), value.decode("latin-1")
                    if key.lower() == "content-type":
                        content_type = val
                        self.set_header("Content-Type", val)
                    else:
                        self.add_header(key, val)
                started["sse"] = content_type.startswith("text/event-stream")
                if started["sse"]:
                    # A GET stream may stay silent for minutes: send the headers now so the
                    # client sees the stream open instead of timing out.
                    self.set_header("Cache-Control", "no-cache")
                    self.set_header("X-Accel-Buffering", "no")
                    await self._flush_or_disconnect(disconnected)
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if chunk:
                    self.write(chunk)
                if started.get("sse") or message.get("more_body"):
                    await self._flush_or_disconnect(disconnected)

        manager = await self.mcp_session_manager()
        self._mcp_disconnected = disconnected
        try:
            await manager.handle_request(self._scope(), receive, send)
        finally:
            disconnected.set()
        if not self._finished:
            self.finish(set_content_type=content_type)

    async def _flush_or_disconnect(self, disconnected: asyncio.Event) -> None:
        try:
            await self.flush()
        except StreamClosedError:
            disconnected.set()

    def on_connection_close(self) -> None:
        # The client went away (closed a GET stream, cancelled a POST): tell the SDK through
        # ``receive`` so it can release the stream.
        event = getattr(self, "_mcp_disconnected", None)
        if event is not None:
            event.set()
        super().on_connection_close()
