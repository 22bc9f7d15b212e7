"""The tornado handler that carries MCP Streamable HTTP into the SDK's session manager (transport layer).

No library bridges an ASGI app into tornado, so this module is our own: it builds the ASGI
``scope`` from the tornado request, feeds the already-read body through ``receive``, and maps
the SDK's ``send`` messages onto ``set_status`` / ``add_header`` / ``write`` + ``flush``.
Authentication, the Host / Origin checks and authorization are Jupyter Server's own
(``APIHandler.prepare``, ``@web.authenticated``, ``@authorized``).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import re
import sys
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.auth.identity import IdentityProvider
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.base.handlers import APIHandler
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from tornado import web
from tornado.httputil import responses
from tornado.iostream import StreamClosedError

from .probes import DebugLog

if sys.version_info < (3, 11):  # pragma: no cover - anyio depends on the backport there
    from exceptiongroup import BaseExceptionGroup

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

STOPPED_MESSAGE = "The MCP endpoint is not running (the server is starting or stopping)."

#: What the SDK answers a GET without a session (400 "Missing session ID"; 405 where it offers no GET
#: stream): expected from clients that probe the endpoint before they connect.
GET_PROBE_STATUSES = (400, 405)

#: Seconds the headers and events of a POST's SSE response may wait to be written together (in one
#: socket write, and with the end of the response, so the client can reuse the connection). A GET
#: stream is written as each event comes.
SSE_COALESCE_SECONDS = 0.02
#: Bytes of a POST's SSE events that are written at once, without waiting (and with backpressure).
SSE_COALESCE_BYTES = 64 * 1024


def session_principal(handler: Any) -> str:
    """Who an MCP session belongs to: the Jupyter identity of the request that opened it.

    The user name where the identity is real (a cookie login, JupyterHub, a custom
    IdentityProvider). Jupyter's own IdentityProvider makes a new random user for every
    token-authenticated request without a cookie, so there the principal is the token itself
    (as a SHA-256 digest: the token is the credential, and it is never kept).
    """
    identity_provider = getattr(handler, "identity_provider", None)
    if getattr(handler, "token_authenticated", False) and isinstance(identity_provider, IdentityProvider):
        if type(identity_provider).get_user_token is IdentityProvider.get_user_token:
            return _token_principal(identity_provider.get_token(handler) or "")
    user = handler.current_user
    return "user:" + str(getattr(user, "username", None) or user)


@functools.lru_cache(maxsize=64)
def _token_principal(token: str) -> str:
    return "token:" + hashlib.sha256(token.encode()).hexdigest()


@functools.lru_cache(maxsize=256)
def _scope_user(principal: str) -> AuthenticatedUser:
    """The ASGI ``user`` of a request from ``principal`` (the SDK only reads it), made once per principal."""
    return AuthenticatedUser(AccessToken(token="", client_id=principal, scopes=[]))


#: JSON-RPC error codes of a refused HTTP request (implementation-defined server errors,
#: JSON-RPC 2.0 section 5.1): the MCP SDK clients show the error's message to the user.
UNAUTHENTICATED_CODE = -32001
FORBIDDEN_CODE = -32003


class Refusal(Exception):
    """Why Jupyter refused a request to the MCP endpoint, in words that say what to do."""

    def __init__(self, status: int, message: str, code: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


class ExplainedRefusalsHandler(APIHandler):
    """An APIHandler that rewrites Jupyter's refusals of an API request (401 / 403 / 404 with a bare reason) into
    answers that name the fix: the token and how to send it, the Host or Origin setting, the
    Authorizer's permission.

    Jupyter still decides: the identity provider (token, password, JupyterHub), ``check_host``,
    ``check_origin``, XSRF and the Authorizer run as for any API handler; only the response
    changes. The body holds Jupyter's ``{"message", "reason"}`` and a JSON-RPC error with the
    same message, which is what MCP clients display. A refused Origin is answered 403, not
    Jupyter's 404, as the MCP Streamable HTTP transport requires.
    """

    _mcp_refused_host: str | None = None
    _mcp_refused_origin: str | None = None

    def check_host(self) -> bool:
        allowed = super().check_host()
        if not allowed:
            self._mcp_refused_host = self.request.host
        return allowed

    def check_origin(self, origin_to_satisfy_tornado: str = "") -> bool:
        allowed = super().check_origin(origin_to_satisfy_tornado)
        if not allowed:
            self._mcp_refused_origin = self.request.headers.get("Origin")
        return allowed

    def refusal(self, status_code: int, error: BaseException | None) -> Refusal | None:
        """The explained answer to Jupyter's refusal with ``status_code``, or None to keep Jupyter's."""
        if self._mcp_refused_host is not None:
            host = re.sub(r":\d+$", "", self._mcp_refused_host)
            return Refusal(
                403,
                f"This Jupyter server does not answer requests for Host {host!r} (its guard against DNS "
                "rebinding). If the server should be reachable under that name, add it to "
                f"ServerApp.local_hostnames (--ServerApp.local_hostnames={host}), or set "
                "ServerApp.allow_remote_access=True (for a server behind a reverse proxy).",
                FORBIDDEN_CODE,
            )
        user = getattr(self, "_jupyter_current_user", None)
        if status_code in (401, 403) and not user:
            return self.unauthenticated()
        if status_code == 404 and self._mcp_refused_origin is not None:
            origin = self._mcp_refused_origin
            return Refusal(
                403,
                f"This Jupyter server does not accept requests from Origin {origin!r} (its cross-site guard). "
                f"To let a web page on that origin use it, start the server with "
                f"--ServerApp.allow_origin={origin} (or a regular expression in ServerApp.allow_origin_pat). "
                "A client outside a browser should send no Origin header.",
                FORBIDDEN_CODE,
            )
        message = getattr(error, "log_message", None) or ""
        if status_code == 403 and message.startswith("User is not authorized"):
            action = HTTP_METHOD_TO_AUTH_ACTION.get((self.request.method or "GET").upper(), "read")
            resource = getattr(self, "auth_resource", AUTH_RESOURCE)
            name = getattr(user, "username", None) or str(user)
            return Refusal(
                403,
                f"This Jupyter server's Authorizer does not let user {name!r} {action} the {resource!r} resource "
                f"(permission: action {action!r} on resource {resource!r}). The server's operator grants it "
                "(ServerApp.authorizer_class; on JupyterHub, the roles and scopes of the user or token).",
                FORBIDDEN_CODE,
            )
        return None

    def unauthenticated(self) -> Refusal:
        """401: which credential this server wants, how to send it, and where to find it."""
        sent = bool(self.request.headers.get("Authorization") or self.get_argument("token", ""))
        provider = self.identity_provider
        how = "as the header 'Authorization: token <token>' (or 'Authorization: Bearer <token>')"
        if type(provider).__module__.startswith("jupyterhub"):
            message = (
                f"This JupyterHub user server needs a JupyterHub API token that may access it, {how}: the "
                "token needs the scope access:servers for this user's server (the hub's token page, /hub/token, "
                "creates one)."
            )
        elif not getattr(provider, "token", None):
            message = (
                "This Jupyter server has no token (it uses a password login, which MCP clients cannot do). "
                "Restart it with a token as well (--IdentityProvider.token=<token>) and send that token "
                f"with every MCP request, {how}."
            )
        else:
            message = (
                f"This Jupyter server needs its token with every MCP request, {how}. `jupyter server list`, "
                "run where the server runs, prints each server's URL with its token; `jupyter mcp-ext connect` "
                "prints ready-to-paste client configuration."
            )
        if sent:
            message = "The token sent is not valid for this Jupyter server. " + message
        # RFC 6750 challenge; MCP clients that show a challenge (the Inspector) show error_description.
        description = message.replace("\\", "").replace('"', "'")
        challenge = 'Bearer realm="jupyter_server"'
        if sent:
            challenge += ', error="invalid_token"'
        challenge += f', error_description="{description}"'
        return Refusal(401, message, UNAUTHENTICATED_CODE, {"WWW-Authenticate": challenge})

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        refusal = error if isinstance(error, Refusal) else self.refusal(status_code, error)
        if refusal is None:
            super().write_error(status_code, **kwargs)
            return
        self.set_status(refusal.status)
        for name, value in refusal.headers.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/json")
        self.log.warning("MCP request refused (%s): %s", refusal.status, refusal.message)
        body = {
            "message": refusal.message,
            "reason": responses.get(refusal.status, ""),
            "jsonrpc": "2.0",
            "id": self._request_id(),
            "error": {"code": refusal.code, "message": refusal.message},
        }
        self.finish(json.dumps(body))

    def _request_id(self) -> Any:
        """The JSON-RPC id of the refused request, when it is one small request (so clients can match it)."""
        body = self.request.body or b""
        if not body or len(body) > 65536:
            return None
        try:
            message = json.loads(body)
        except ValueError:
            return None
        request_id = message.get("id") if isinstance(message, dict) else None
        return request_id if isinstance(request_id, (str, int)) and not isinstance(request_id, bool) else None


class MCPHandler(ExplainedRefusalsHandler):
    """Serves MCP Streamable HTTP (POST, GET stream, DELETE) at ``<base_url>mcp``.

    Follows the MCP 2025-11-25 Streamable HTTP transport and the stateless 2026-07-28
    protocol, both implemented by ``mcp.server.streamable_http_manager``; this class only
    translates between tornado and ASGI.
    """

    auth_resource = AUTH_RESOURCE
    _mcp_after_response: list[Callable[[], object]] | None = None
    #: Whether this response is the refusal of a GET probe (a GET without a session: mcp-remote sends one
    #: before it connects), which the request log writes at debug level rather than as a warning.
    _mcp_quiet: bool = False

    @property
    def log(self) -> Any:
        if self._mcp_quiet:
            return DebugLog(super().log, {})
        return super().log

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
            raise web.HTTPError(503, STOPPED_MESSAGE)
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
        host, colon, port = (request.host or "").rpartition(":")
        if not colon or not port.isdigit():
            host, port = request.host or "", ""
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
            # The SDK binds a session to the principal that opened it (MCP's session binding): a
            # request from anyone else gets 404 "Session not found", as for an unknown session.
            "user": _scope_user(session_principal(self)),
            SCOPE_HANDLER_KEY: self,
        }

    async def _serve(self) -> None:
        body = self.request.body or b""
        body_sent = False
        disconnected = asyncio.Event()
        started: dict[str, Any] = {}
        content_type = "application/json"
        # A GET stream may stay silent for minutes: each of its messages is written as it comes.
        # A POST's SSE response usually ends within milliseconds (a tool's result): its headers
        # and events are written together when it ends, or SSE_COALESCE_SECONDS after they came.
        coalesce = self.request.method != "GET"
        buffered = 0
        pending: asyncio.TimerHandle | None = None

        async def receive() -> MutableMapping[str, Any]:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        def note_closed(written: asyncio.Future[None]) -> None:
            if not written.cancelled() and written.exception() is not None:
                disconnected.set()

        def write_pending() -> None:
            nonlocal pending, buffered
            pending, buffered = None, 0
            if not self._finished:
                self.flush().add_done_callback(note_closed)

        def write_soon() -> None:
            nonlocal pending
            if pending is None:
                pending = asyncio.get_running_loop().call_later(SSE_COALESCE_SECONDS, write_pending)

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal content_type, buffered, pending
            if message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if chunk:
                    self.write(chunk)
                    buffered += len(chunk)
                if not message.get("more_body"):
                    if pending is not None:
                        pending.cancel()
                        pending = None
                    # The response is complete: send it now, while the SDK winds the request down
                    # (as an ASGI server does), not once handle_request returns.
                    self.finish(set_content_type=content_type)
                elif coalesce and started["sse"] and buffered < SSE_COALESCE_BYTES:
                    write_soon()
                else:
                    if pending is not None:
                        pending.cancel()
                        pending, buffered = None, 0
                    await self._flush_or_disconnect(disconnected)
            elif message["type"] == "http.response.start":
                self.set_status(message["status"])
                if (
                    self.request.method == "GET"
                    and message["status"] in GET_PROBE_STATUSES
                    and not self.request.headers.get("Mcp-Session-Id")
                ):
                    self._mcp_quiet = True
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
                    self.set_header("Cache-Control", "no-cache")
                    self.set_header("X-Accel-Buffering", "no")
                    if coalesce:
                        write_soon()
                    else:
                        # Send the headers now so the client sees the stream open instead of timing out.
                        await self._flush_or_disconnect(disconnected)

        manager = await self.mcp_session_manager()
        self._mcp_disconnected = disconnected
        try:
            await manager.handle_request(self._scope(), receive, send)
        except RuntimeError:
            # The session manager stopped under this request (the server is shutting down): that
            # is a 503, not a crash.
            app = self.settings.get("jupyter_mcp_ext_app")
            if started or app is None or not app.mcp_stopping:
                raise
            raise web.HTTPError(503, STOPPED_MESSAGE) from None
        except BaseExceptionGroup as group:
            # A stop signal raised while this request ran (SIGINT is a KeyboardInterrupt when the server has no
            # terminal, as under JupyterHub's spawner) comes out of the SDK's task groups wrapped in a group,
            # which asyncio logs and goes on from: the server kept running. Raised bare, it stops the event
            # loop as Jupyter expects.
            interrupt = stop_signal(group)
            if interrupt is None:
                raise
            raise interrupt from None
        finally:
            disconnected.set()
            if pending is not None:
                pending.cancel()
        if not self._finished:
            self.finish(set_content_type=content_type)

    def after_response(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once this request's response has been written, or now if it has been:
        for work the client need not wait for (as Jupyter's own request log)."""
        if self._finished:
            callback()
        elif self._mcp_after_response is None:
            self._mcp_after_response = [callback]
        else:
            self._mcp_after_response.append(callback)

    def on_finish(self) -> None:
        super().on_finish()
        callbacks, self._mcp_after_response = self._mcp_after_response, None
        for callback in callbacks or ():
            try:
                callback()
            except Exception:
                self.log.exception("jupyter_mcp_ext: a callback after an MCP response failed")

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


def stop_signal(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The KeyboardInterrupt or SystemExit inside ``group`` (at any depth), or None."""
    found: BaseException | None = group.subgroup(lambda e: isinstance(e, (KeyboardInterrupt, SystemExit)))
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    return found
