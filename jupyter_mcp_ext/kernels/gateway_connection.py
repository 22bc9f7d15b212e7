"""The kernel connection through a kernel gateway's websocket (service layer), for ``--gateway-url`` servers.

A gateway's kernels (Jupyter Kernel Gateway, Enterprise Gateway) have no ZMQ ports the server could reach:
their channels are the gateway's ``/api/kernels/<id>/channels`` websocket, which carries the Jupyter messages
as JSON (the websocket protocol JupyterLab speaks). This connection opens one such websocket of its own, with
the server's ``GatewayClient`` settings (URL, auth token, TLS, timeouts), as jupyter_server's own
``GatewayWebSocketConnection`` does for JupyterLab's websockets.

jupyter_server also has a kernel client for gateways (``GatewayKernelClient``); it is not used here because
it connects with a blocking websocket library (the server's event loop would stall on every connect) and
its channels busy-poll their queues (``asyncio.sleep(0)`` in a loop), which would keep a core busy for as
long as a connection is open.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import quote

from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from jupyter_server.gateway.gateway_client import GatewayClient
from jupyter_server.gateway.managers import GatewayKernelManager, GatewayMappingKernelManager
from jupyter_server.services.kernels.connection.base import deserialize_binary_message
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from ..exceptions import KernelDied, KernelGatewayError
from .connection import KernelConnection

#: Largest message accepted from the gateway, in bytes: a kernel's display data (images, large
#: DataFrames) can exceed tornado's default of 10 MiB; the output shaper trims what reaches a client.
MAX_MESSAGE_BYTES = 512 * 1024 * 1024
#: Seconds between questions to the gateway, while code runs, whether it still has the kernel.
GATEWAY_POLL_INTERVAL = 5.0


def is_gateway_kernel(kernel: Any) -> bool:
    """Whether ``kernel`` (a KernelManager of the server's MultiKernelManager) runs on a gateway."""
    return isinstance(kernel, GatewayKernelManager)


def is_gateway_manager(kernel_manager: Any) -> bool:
    """Whether the server's MultiKernelManager is a gateway's (``--gateway-url``)."""
    return isinstance(kernel_manager, GatewayMappingKernelManager)


def gateway_url() -> str:
    """The gateway the server is configured with (``--gateway-url``)."""
    return str(GatewayClient.instance().url or "")


def gateway_error(error: web.HTTPError, doing: str) -> KernelGatewayError:
    """A tool error for an error jupyter_server's gateway client raised while ``doing`` something.

    The message carries the gateway's own words (the ``message`` or ``reason`` of its JSON error
    body), else jupyter_server's description of the failure (unreachable gateway, timeout).
    """
    said = ""
    cause = error.__cause__
    response = getattr(cause, "response", None) if isinstance(cause, HTTPClientError) else None
    if response is not None and response.body:
        try:
            body = json.loads(response.body)
        except ValueError:
            said = response.body.decode(errors="replace").strip()[:1000]
        else:
            if isinstance(body, dict):
                # Enterprise Gateway puts its sentence in "reason" and leaves "message" empty; Kernel
                # Gateway and jupyter_server the other way round: take the more telling one.
                parts = [str(body.get(key) or "").strip() for key in ("message", "reason")]
                said = max(parts, key=len)
                # A failure inside the gateway ("Unknown server error") is explained by the last line
                # of the traceback the gateway sends along: the exception itself.
                lines = [line.strip() for line in str(body.get("traceback") or "").splitlines() if line.strip()]
                if lines:
                    said = f"{said} ({lines[-1]})" if said else lines[-1]
    if not said:
        template = error.log_message or ""
        said = (template % error.args if error.args else template) or str(error)
    status = f"HTTP {error.status_code}" + (f" {error.reason}" if error.reason else "")
    return KernelGatewayError(
        f"The kernel gateway at {gateway_url()} could not {doing} ({status}): {said.rstrip('.')}. "
        "The kernels of this server run on that gateway; its operator can tell why."
    )


class GatewayKernelConnection(KernelConnection):
    """Shell and IOPub of a gateway kernel over a websocket of our own to the gateway.

    Pending executions fail with KernelDied when the gateway closes the websocket (the gateway
    stopped, the kernel went away), reports the kernel restarting or dead, or no longer knows the
    kernel (asked every GATEWAY_POLL_INTERVAL while code runs). Interrupts go through the server's
    kernel manager (the gateway's REST API).
    """

    def __init__(self, kernel_id: str, manager: Any, kernel_manager: Any, log: logging.Logger) -> None:
        super().__init__(kernel_id, manager, kernel_manager, log)
        # Builds the messages; the gateway signs them for the kernel, so no key is needed here.
        self.session = Session(username="jupyter-mcp-ext")
        self.ws: WebSocketClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lost = False
        self._polled_at = time.monotonic()

    async def start(self) -> None:
        client = GatewayClient.instance()
        url = url_path_join(client.ws_url or "", client.kernels_endpoint, quote(self.kernel_id, safe=""), "channels")
        request = HTTPRequest(f"{url}?session_id={quote(self.session.session)}", **client.load_connection_args())
        try:
            self.ws = await websocket_connect(request, max_message_size=MAX_MESSAGE_BYTES)
        except Exception as e:
            raise KernelGatewayError(
                f"Could not open the channels of kernel {self.kernel_id} on the kernel gateway at {gateway_url()} "
                f"({e}). The kernel may have been shut down there; list_kernels shows the kernels that remain."
            ) from e
        self._reader = asyncio.create_task(self._read(), name=f"jupyter_mcp_ext.gateway.{self.kernel_id}")

    async def _read(self) -> None:
        assert self.ws is not None
        while True:
            raw = await self.ws.read_message()
            if raw is None:
                self._lost = True
                if not self.closed:
                    reason = self.ws.close_reason or f"code {self.ws.close_code}"
                    self.log.warning("Kernel %s: the gateway closed its channels (%s)", self.kernel_id, reason)
                    self.fail_all(
                        KernelDied(
                            f"The kernel gateway at {gateway_url()} closed the channels of kernel {self.kernel_id} "
                            f"({reason}): the kernel was shut down or culled there, or the gateway stopped."
                        )
                    )
                return
            try:
                msg = deserialize_binary_message(raw) if isinstance(raw, bytes) else json.loads(raw)
                channel = msg.get("channel")
                if channel in ("shell", "iopub"):
                    self._watch_status(channel, msg)
                    self.route(channel, msg)
            except Exception:
                self.log.exception("Kernel %s: could not handle a message from the gateway", self.kernel_id)

    def _watch_status(self, channel: str, msg: dict[str, Any]) -> None:
        # The gateway's channels handler reports its restarter's work as a status with no parent.
        if channel != "iopub" or msg["header"].get("msg_type") != "status" or msg.get("parent_header"):
            return
        state = (msg.get("content") or {}).get("execution_state")
        if state in ("restarting", "dead"):
            what = "is being restarted by the gateway" if state == "restarting" else "is dead"
            self.fail_all(
                KernelDied(f"Kernel {self.kernel_id} died while running this code and {what}; its variables are lost.")
            )

    def _send(self, msg_type: str, content: dict[str, Any]) -> str:
        if self.ws is None or self._lost:
            raise KernelDied(f"The channels of kernel {self.kernel_id} on the kernel gateway are closed.")
        msg = self.session.msg(msg_type, content)
        msg["channel"] = "shell"
        msg["buffers"] = []
        self.ws.write_message(json.dumps(msg, default=json_default))
        return str(msg["header"]["msg_id"])

    def _send_execute(self, code: str, *, silent: bool = False, user_expressions: dict[str, str] | None = None) -> str:
        return self._send(
            "execute_request",
            {
                "code": code,
                "silent": silent,
                "store_history": not silent,
                "user_expressions": user_expressions or {},
                "allow_stdin": False,
                "stop_on_error": False,
            },
        )

    def _send_kernel_info(self) -> str:
        return self._send("kernel_info_request", {})

    async def interrupt(self) -> None:
        try:
            await super().interrupt()
        except web.HTTPError as e:
            raise gateway_error(e, f"interrupt kernel {self.kernel_id}") from e

    async def is_alive(self) -> bool:
        # Polled twice a second while code runs: the gateway is asked (one HTTP request) only every
        # GATEWAY_POLL_INTERVAL. A kernel shut down on the gateway by another of its clients may leave
        # our websocket open, with nothing coming through it any more.
        if self._lost:
            return False
        now = time.monotonic()
        if now - self._polled_at >= GATEWAY_POLL_INTERVAL:
            self._polled_at = now
            try:
                model = await self.manager.refresh_model()
            except web.HTTPError as e:
                self.log.debug("Kernel %s: could not ask the gateway about it: %s", self.kernel_id, e)
                return True  # unreachable for now: the websocket, or the next poll, tells
            if model is None:
                self._lost = True
                self.fail_all(
                    KernelDied(
                        f"Kernel {self.kernel_id} was shut down on the kernel gateway at {gateway_url()} (by another "
                        "of its clients, or its culler) while this code ran; its variables are lost. Start a "
                        "kernel with start_kernel and run the code there."
                    )
                )
        return True

    async def _close_transport(self) -> None:
        if self.ws is not None:
            self.ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, timeout=5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._reader.cancel()
            except Exception:
                self.log.debug("Kernel %s: error closing the gateway channels", self.kernel_id, exc_info=True)
