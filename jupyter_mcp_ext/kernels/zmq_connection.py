"""The kernel connection over our own ZMQ sockets (service layer), for kernels the server runs itself."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from jupyter_client.session import Session

from ..exceptions import KernelDied
from .connection import KernelConnection


class ZMQKernelConnection(KernelConnection):
    """Shell and IOPub sockets of our own to a kernel with ZMQ ports, one reader task per channel.

    ``manager`` must offer ``client(session=...)`` and ``session`` (jupyter_client's
    KernelManager, as the server's local kernels do); a gateway's kernels have no ZMQ ports.
    """

    def __init__(self, kernel_id: str, manager: Any, kernel_manager: Any, log: logging.Logger) -> None:
        super().__init__(kernel_id, manager, kernel_manager, log)
        # A session of our own: the shell socket's ZMQ identity is the session id, and a second
        # socket with the manager's identity (the server uses it to restart kernels) would take
        # over the kernel's replies to ours.
        session = Session(
            config=manager.session.config,
            key=manager.session.key,
            signature_scheme=manager.session.signature_scheme,
            username="jupyter-mcp-ext",
        )
        self.client = manager.client(session=session)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
        self._tasks = [
            asyncio.create_task(self._read("iopub"), name=f"jupyter_mcp_ext.iopub.{self.kernel_id}"),
            asyncio.create_task(self._read("shell"), name=f"jupyter_mcp_ext.shell.{self.kernel_id}"),
        ]

    async def _read(self, channel_name: str) -> None:
        channel = getattr(self.client, f"{channel_name}_channel")
        while True:
            try:
                msg = await channel.get_msg()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if not self.closed:
                    self.log.warning("Kernel %s: %s channel stopped: %s", self.kernel_id, channel_name, e)
                    self.fail_all(KernelDied(f"The connection to kernel {self.kernel_id} was lost ({e})."))
                return
            try:
                self.route(channel_name, msg)
            except Exception:
                self.log.exception("Kernel %s: could not handle a %s message", self.kernel_id, channel_name)

    def _send_execute(self, code: str, *, silent: bool = False, user_expressions: dict[str, str] | None = None) -> str:
        msg_id: str = self.client.execute(
            code,
            silent=silent,
            store_history=not silent,
            user_expressions=user_expressions or {},
            allow_stdin=False,
            stop_on_error=False,
        )
        return msg_id

    def _send_kernel_info(self) -> str:
        msg_id: str = self.client.kernel_info()
        return msg_id

    async def _close_transport(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            # Only the two channels we use (stop_channels() would first create the three others).
            self.client.shell_channel.stop()
            self.client.iopub_channel.stop()
        except Exception:
            self.log.debug("Kernel %s: error closing channels", self.kernel_id, exc_info=True)
