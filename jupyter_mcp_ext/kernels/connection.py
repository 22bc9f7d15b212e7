"""The kernel connection seam (service layer): one frontend connection to one kernel, however carried.

``KernelConnection`` is what execution and the lifecycle use. It owns what every transport shares
(the Jupyter messaging protocol): routing replies and IOPub messages to the execution they belong to
by their parent ``msg_id``, the readiness handshake, failure propagation. A subclass supplies the
transport: ``ZMQKernelConnection`` (zmq_connection.py) opens our own ZMQ sockets; a kernel reached
through a gateway's websocket would be another subclass beside it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from jupyter_core.utils import ensure_async
from nbformat import NotebookNode

#: Seconds to wait for the IOPub "idle" status once the execute_reply has arrived.
IDLE_GRACE = 2.0
#: Seconds to wait for a new connection's IOPub subscription to be confirmed (a busy kernel
#: answers only after its current cell; our requests then queue behind it anyway).
READY_TIMEOUT = 1.0


def _output_from_msg(msg_type: str, content: dict[str, Any]) -> NotebookNode:
    # nbformat.v4.output_from_msg validates every output against the schema, which costs
    # milliseconds per large image; the kernel's messages are already well formed.
    if msg_type == "stream":
        return NotebookNode(output_type="stream", name=content.get("name", "stdout"), text=content.get("text", ""))
    if msg_type == "error":
        return NotebookNode(
            output_type="error",
            ename=content.get("ename", ""),
            evalue=content.get("evalue", ""),
            traceback=list(content.get("traceback") or []),
        )
    node = NotebookNode(
        output_type=msg_type,
        data=NotebookNode(content.get("data") or {}),
        metadata=NotebookNode(content.get("metadata") or {}),
    )
    if msg_type == "execute_result":
        node["execution_count"] = content.get("execution_count")
    return node


class Execution:
    """The handle of one execute_request: collects its IOPub outputs and shell reply, as Lab would.

    ``outputs`` are nbformat 4 output nodes (streams merged, ``clear_output`` and
    ``update_display_data`` applied); ``done`` is set once both the reply and the "idle" status
    have arrived (or IDLE_GRACE after the reply), or when the connection fails it.
    """

    def __init__(self, msg_id: str) -> None:
        self.msg_id = msg_id
        self.sent_at = time.monotonic()
        self.started_at: float | None = None
        self.outputs: list[NotebookNode] = []
        self.execution_count: int | None = None
        self.error: dict[str, Any] | None = None
        self.reply: dict[str, Any] | None = None
        self.idle = False
        self.done = asyncio.Event()
        self.failure: BaseException | None = None
        #: Set when the caller gave up before the kernel reached this request (it sits in the
        #: kernel's queue): called once when it starts, to interrupt it.
        self.on_start: Callable[[], None] | None = None
        #: ``on_update(msg_type)``: called after each IOPub message that changed
        #: ``execution_count`` or ``outputs``, for a live view of the run (see OutputWriter).
        #: Messages are routed by a task, so setting it right after ``execute()`` misses none.
        self.on_update: Callable[[str], None] | None = None
        self.orphaned = False
        self._clear_pending = False
        self._displays: dict[str, list[int]] = {}
        self._idle_timer: asyncio.TimerHandle | None = None

    def on_iopub(self, msg_type: str, content: dict[str, Any]) -> None:
        if msg_type == "status":
            state = content.get("execution_state")
            if state == "busy" and self.started_at is None:
                self._started()
            elif state == "idle":
                self.idle = True
                self._check_done()
            return
        if msg_type == "execute_input":
            if self.started_at is None:
                self._started()
            self.execution_count = content.get("execution_count", self.execution_count)
            self._updated(msg_type)
            return
        if msg_type == "clear_output":
            if content.get("wait"):
                self._clear_pending = True
            else:
                self._clear()
                self._updated(msg_type)
            return
        if msg_type == "update_display_data":
            display_id = (content.get("transient") or {}).get("display_id")
            targets = self._displays.get(display_id, []) if display_id else []
            for i in targets:
                self.outputs[i]["data"] = NotebookNode(content.get("data") or {})
                self.outputs[i]["metadata"] = NotebookNode(content.get("metadata") or {})
            if targets:
                self._updated(msg_type)
            return
        if msg_type not in ("stream", "display_data", "execute_result", "error"):
            return
        if self._clear_pending:
            self._clear()
        if msg_type == "stream" and self.outputs:
            last = self.outputs[-1]
            if last.get("output_type") == "stream" and last.get("name") == content.get("name"):
                last["text"] = last["text"] + content.get("text", "")
                self._updated(msg_type)
                return
        node = _output_from_msg(msg_type, content)
        if msg_type == "display_data":
            display_id = (content.get("transient") or {}).get("display_id")
            if display_id:
                self._displays.setdefault(display_id, []).append(len(self.outputs))
        elif msg_type == "error":
            self.error = {"ename": node["ename"], "evalue": node["evalue"], "traceback": node["traceback"]}
        self.outputs.append(node)
        self._updated(msg_type)

    def _updated(self, msg_type: str) -> None:
        if self.on_update is not None:
            self.on_update(msg_type)

    def _started(self) -> None:
        self.started_at = time.monotonic()
        if self.on_start is not None:
            self.on_start()

    def _clear(self) -> None:
        self.outputs.clear()
        self._displays.clear()
        self._clear_pending = False

    def on_reply(self, content: dict[str, Any]) -> None:
        self.reply = content
        if content.get("execution_count") is not None:
            self.execution_count = content["execution_count"]
        if self.started_at is None:
            self.started_at = time.monotonic()
        if not self._check_done():
            # IOPub and shell are separate sockets: give the last outputs a moment to arrive.
            self._idle_timer = asyncio.get_running_loop().call_later(IDLE_GRACE, self.done.set)

    def _check_done(self) -> bool:
        if self.reply is not None and self.idle:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            self.done.set()
            return True
        return False

    def fail(self, error: BaseException) -> None:
        if not self.done.is_set():
            self.failure = error
            self.done.set()


class KernelConnection(ABC):
    """One frontend connection (shell + IOPub) of this extension to one kernel.

    Use: construct, ``await start()``, ``await wait_ready()``, then ``execute()`` as often as
    needed (one at a time: hold ``lock``), ``close()`` once. ``lock`` serializes the executions
    requested through this service, so that a notebook run is not interleaved with another MCP
    call on the same kernel; the kernel's own queue orders them with JupyterLab users' requests.

    Failure propagation: when the transport is lost, the subclass calls ``fail_all(KernelDied(...))``
    and every pending execution ends with that error; the lifecycle does the same when the kernel
    is stopped, restarted or found dead. The run loop also polls ``is_alive`` and ``shutting_down``.

    A subclass implements ``start``, ``_send_execute``, ``_send_kernel_info`` and
    ``_close_transport``, and passes every message it receives to ``route``. The liveness and
    interrupt methods go through the server's managers, which know remote kernels too; a subclass
    may answer them more cheaply from its transport.

    Parameters
    ----------
    kernel_id
        The kernel's id in the server's MultiKernelManager.
    manager
        The server's KernelManager of this kernel (``kernel_manager.get_kernel(kernel_id)``).
    kernel_manager
        The server's MultiKernelManager; interrupts go through it, as JupyterLab's do.
    """

    def __init__(self, kernel_id: str, manager: Any, kernel_manager: Any, log: logging.Logger) -> None:
        self.kernel_id = kernel_id
        self.manager = manager
        self.kernel_manager = kernel_manager
        self.log = log
        self.pending: dict[str, Execution] = {}
        self.lock = asyncio.Lock()
        self.lock_holder_since: float | None = None
        self.ready = asyncio.Event()
        self.kernel_info: dict[str, Any] | None = None
        self.info_received = asyncio.Event()
        #: Registered with the kernel's restarter; removed when the connection is dropped.
        self.restart_callback: Callable[[], None] | None = None
        self.closed = False
        self._info_requests: set[str] = set()

    # -- the transport (subclasses) --------------------------------------------------------

    @abstractmethod
    async def start(self) -> None:
        """Open the shell and IOPub channels and start passing their messages to ``route``;
        returns without waiting for the kernel (``wait_ready`` does)."""

    @abstractmethod
    def _send_execute(self, code: str, *, silent: bool = False, user_expressions: dict[str, str] | None = None) -> str:
        """Send an execute_request (no stdin, not stopping the kernel's queue on error), stored in
        the kernel's history unless ``silent`` (which also leaves its execution count alone), with
        ``user_expressions`` to evaluate after it; returns its ``msg_id``."""

    @abstractmethod
    def _send_kernel_info(self) -> str:
        """Send a kernel_info_request; returns its ``msg_id``."""

    @abstractmethod
    async def _close_transport(self) -> None:
        """Stop reading and close the channels (the kernel keeps running)."""

    # -- what execution and the lifecycle use ----------------------------------------------

    def execute(self, code: str, *, silent: bool = False, user_expressions: dict[str, str] | None = None) -> Execution:
        """Send an execute_request (see ``_send_execute``); returns the handle its messages are routed to."""
        execution = Execution(self._send_execute(code, silent=silent, user_expressions=user_expressions))
        self.pending[execution.msg_id] = execution
        return execution

    def request_kernel_info(self) -> None:
        """Ask for the kernel's kernel_info_reply (``kernel_info``, ``info_received``); its IOPub
        status messages also confirm our subscription and move the server's execution_state."""
        self._info_requests.add(self._send_kernel_info())

    async def wait_ready(self) -> None:
        """Make sure our IOPub subscription is live before the first request (ZMQ's slow joiner).

        The IOPub status messages of our ``kernel_info_request`` prove it (an ``iopub_welcome``
        too, but ipykernel's XPUB greets only the first subscriber to a topic). A kernel busy with
        a long cell answers only after it, so after READY_TIMEOUT we go on: the subscription is
        established by then, and our requests queue behind that cell anyway.
        """
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.ready.is_set() and time.monotonic() < deadline:
            if len(self._info_requests) < 3:
                self.request_kernel_info()
            try:
                await asyncio.wait_for(self.ready.wait(), timeout=min(0.5, max(0.0, deadline - time.monotonic())))
            except asyncio.TimeoutError:
                pass
        self.ready.set()

    async def interrupt(self) -> None:
        """Interrupt what the kernel runs (KeyboardInterrupt in Python)."""
        await ensure_async(self.kernel_manager.interrupt_kernel(self.kernel_id))

    def shutting_down(self) -> bool:
        """Whether the kernel is gone from the server or its shutdown is in progress."""
        # The manager lists a kernel until its shutdown has finished; ``shutting_down`` (what
        # jupyter_client's restarter reads) tells a shutdown in progress from a crash.
        return self.kernel_id not in self.kernel_manager or bool(getattr(self.manager, "shutting_down", False))

    async def is_alive(self) -> bool:
        """Whether the kernel process is alive (polled while waiting for a reply)."""
        return bool(await ensure_async(self.manager.is_alive()))

    async def exit_code(self) -> int | None:
        """The dead kernel's exit code, when its provisioner knows it."""
        provisioner = getattr(self.manager, "provisioner", None)
        if provisioner is None:
            return None
        try:
            code: int | None = await provisioner.poll()
        except Exception:
            return None
        return code

    @property
    def busy(self) -> bool:
        """Whether an execution is pending or holds the lock (the idle culler spares the kernel)."""
        return bool(self.pending) or self.lock.locked()

    def fail_all(self, error: BaseException) -> None:
        """End every pending execution with ``error``."""
        for execution in list(self.pending.values()):
            execution.fail(error)

    async def close(self) -> None:
        """Stop reading and close the channels; the kernel keeps running."""
        # First, so that the readers' ending is not taken for a lost connection.
        self.closed = True
        await self._close_transport()

    def route(self, channel_name: str, msg: dict[str, Any]) -> None:
        """Hand one received message (``channel_name`` "shell" or "iopub") to its execution."""
        msg_type = msg["header"]["msg_type"]
        parent_id = (msg.get("parent_header") or {}).get("msg_id")
        if channel_name == "iopub":
            if msg_type == "iopub_welcome" or parent_id in self._info_requests:
                self.ready.set()
            execution = self.pending.get(parent_id) if parent_id else None
            if execution is not None:
                execution.on_iopub(msg_type, msg["content"])
            return
        if msg_type == "kernel_info_reply":
            self.kernel_info = msg["content"]
            self.info_received.set()
            self._info_requests.discard(parent_id)
            return
        execution = self.pending.get(parent_id) if parent_id else None
        if execution is not None and msg_type == "execute_reply":
            execution.on_reply(msg["content"])
            if execution.orphaned:
                self.pending.pop(execution.msg_id, None)
