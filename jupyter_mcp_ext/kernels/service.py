"""The kernel service (service layer): kernel lifecycle on the server's MultiKernelManager, and its front door.

Kernels are the server's own: started, stopped, interrupted and restarted through
``ServerApp.kernel_manager`` (an ``AsyncMappingKernelManager``), so they are the kernels
JupyterLab shows and ``/api/kernels`` lists. This module keeps the lifecycle (``max_kernels``, the
idle culler) and the registry of our connections to them, one per kernel (connection.py), through
which the executions run (execution.py, notebook_run.py). On a server started with ``--gateway-url``
the kernels are the gateway's: the same calls go to its REST API, and the connections through its
websocket (gateway_connection.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any

from jupyter_core.utils import ensure_async
from tornado import web

from ..exceptions import (
    InvalidArgument,
    KernelDied,
    KernelLimitReached,
    KernelNotFound,
    KernelSpecNotFound,
)
from ..metrics import KERNEL_STARTS_TOTAL
from .connection import KernelConnection
from .execution import Executor
from .gateway_connection import GatewayKernelConnection, gateway_error, is_gateway_kernel, is_gateway_manager
from .models import CellOutcome, ExecutionOutcome, KernelSettings, NotebookRun, ProgressFn
from .notebook_run import NotebookRunner
from .variables import expression, kernel_language, parse
from .zmq_connection import ZMQKernelConnection

__all__ = ["CellOutcome", "ExecutionOutcome", "KernelService", "KernelSettings", "NotebookRun", "ProgressFn"]

#: Seconds list_variables waits for a kernel busy with other work, and for its answer.
VARIABLES_TIMEOUT = 10.0


class KernelService:
    """Kernel lifecycle and execution on the server's own kernels.

    Parameters
    ----------
    kernel_manager
        ``ServerApp.kernel_manager``: the server's MultiKernelManager (AsyncMappingKernelManager).
    session_manager
        ``ServerApp.session_manager``, to tell which notebook a kernel belongs to.
    kernel_spec_manager
        ``ServerApp.kernel_spec_manager``: the installed kernelspecs.
    notebooks
        The NotebookService, through which notebook outputs are written back.
    settings : KernelSettings
        The extension's kernel traits.
    """

    def __init__(
        self,
        kernel_manager: Any,
        session_manager: Any,
        kernel_spec_manager: Any,
        notebooks: Any,
        settings: KernelSettings | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.kernel_manager = kernel_manager
        self.session_manager = session_manager
        self.kernel_spec_manager = kernel_spec_manager
        self.notebooks = notebooks
        self.settings = settings or KernelSettings()
        self.log = log or logging.getLogger(__name__)
        self._connections: dict[str, KernelConnection] = {}
        self._connecting: dict[str, asyncio.Lock] = {}
        self._start_lock = asyncio.Lock()
        self._started_at: dict[str, float] = {}
        #: Kernels the server restarted on its own (they had died) while no call of ours ran on them: the
        #: next call's result says so, as its code runs in a fresh kernel without the variables it had.
        self._restarted_unseen: set[str] = set()
        self._ours: set[str] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._culler: asyncio.Task[None] | None = None
        self._executor = Executor(self.settings, self.log, self._spawn)
        self._notebook_runner = NotebookRunner(self._executor, notebooks, self._connection, self.log)

    @classmethod
    def from_app(cls, app: Any, services: Any) -> KernelService:
        """Build the service on the server's managers, with the extension's kernel traits."""
        serverapp = app.serverapp
        settings = KernelSettings(
            max_kernels=app.max_kernels,
            execution_timeout=app.execution_timeout,
            jupyter_timeout=app.jupyter_timeout,
            continue_on_error=app.continue_on_error,
            kernel_idle_timeout=app.kernel_idle_timeout,
            cleanup_interval=app.cleanup_interval,
        )
        return cls(
            serverapp.kernel_manager,
            serverapp.session_manager,
            serverapp.kernel_spec_manager,
            services.notebooks,
            settings=settings,
            log=app.log,
        )

    # -- background work -------------------------------------------------------------------

    async def start(self) -> None:
        """Start the idle-kernel culler when ``kernel_idle_timeout`` is set."""
        self._ensure_culler()

    def _ensure_culler(self) -> None:
        # Also called by start_kernel: it culls only kernels that start_kernel started, and an
        # embedding of the server may never run the extensions' start hook.
        if self.settings.kernel_idle_timeout > 0 and self._culler is None:
            self._culler = asyncio.create_task(self._cull_loop(), name="jupyter_mcp_ext.kernel_culler")

    async def stop(self) -> None:
        """Stop the culler and close this service's kernel connections (the kernels keep running:
        the server shuts them down itself); the calls running code are told the server is stopping."""
        for conn in self._connections.values():
            conn.fail_all(
                KernelDied(
                    f"The Jupyter server is shutting down: this call on kernel {conn.kernel_id} was stopped, and the "
                    "kernel shuts down with the server (its variables are lost). Run the code again once the server "
                    "is back."
                )
            )
        if self._culler is not None:
            self._culler.cancel()
            await asyncio.gather(self._culler, return_exceptions=True)
            self._culler = None
        for kernel_id in list(self._connections):
            await self._drop_connection(kernel_id)
        if self._background:
            await asyncio.wait(self._background, timeout=5)

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        """Run ``coro`` detached from the caller, so that it completes even if the caller is cancelled."""
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _cull_loop(self) -> None:
        while True:
            await asyncio.sleep(max(0.1, self.settings.cleanup_interval))
            try:
                await self.cull_idle_kernels()
            except Exception:
                self.log.exception("Culling idle MCP kernels failed")

    async def cull_idle_kernels(self) -> list[str]:
        """Shut down kernels started by start_kernel that have been idle for ``kernel_idle_timeout``
        seconds, have no frontend connected and no execution pending; returns their ids."""
        culled = []
        now = time.time()
        for kernel_id in sorted(self._ours):
            if kernel_id not in self.kernel_manager:
                self._ours.discard(kernel_id)
                continue
            model = await self._kernel_model(kernel_id)
            kernel = self.kernel_manager.get_kernel(kernel_id)
            last = getattr(kernel, "last_activity", None)
            conn = self._connections.get(kernel_id)
            if (
                model.get("execution_state") == "idle"
                and not model.get("connections")
                and last is not None
                and now - last.timestamp() >= self.settings.kernel_idle_timeout
                and not (conn and conn.busy)
            ):
                self.log.info("Shutting down kernel %s: idle for %.0f s", kernel_id, now - last.timestamp())
                await self.stop_kernel(kernel_id)
                culled.append(kernel_id)
        return culled

    # -- kernelspecs and lookup ------------------------------------------------------------

    async def kernelspecs(self) -> list[dict[str, Any]]:
        """The installed kernelspecs (a gateway's: those it offers this server's user):
        ``[{"name", "display_name", "language"}]``, sorted by name."""
        with self._gateway_errors("list its kernelspecs"):
            specs = await ensure_async(self.kernel_spec_manager.get_all_specs())
        out = []
        for name, model in sorted(specs.items()):
            spec = model.get("spec") or {}
            out.append({"name": name, "display_name": spec.get("display_name", name), "language": spec.get("language")})
        return out

    async def _check_kernelspec(self, name: str) -> dict[str, Any]:
        specs = await self.kernelspecs()
        for spec in specs:
            if spec["name"] == name:
                return spec
        installed = ", ".join(s["name"] for s in specs) or "none"
        raise KernelSpecNotFound(
            f"kernel_name {name!r} is not an installed kernelspec; installed kernelspecs: {installed}."
        )

    def _check_kernel(self, kernel_id: str) -> Any:
        """The server's KernelManager of ``kernel_id``; raises KernelNotFound listing the active ids."""
        if not isinstance(kernel_id, str) or kernel_id not in self.kernel_manager:
            ids = list(self.kernel_manager.list_kernel_ids())
            if ids:
                listed = ", ".join(
                    f"{k} ({getattr(self.kernel_manager.get_kernel(k), 'kernel_name', '?')})" for k in ids
                )
                active = f"active kernels: {listed}."
            else:
                active = "no kernel is running; start one with start_kernel."
            raise KernelNotFound(f"kernel_id {kernel_id!r} is not an active kernel of this server; {active}")
        return self.kernel_manager.get_kernel(kernel_id)

    def _kernel_started_at(self, kernel_id: str, kernel: Any) -> float | None:
        if kernel_id in self._started_at:
            return self._started_at[kernel_id]
        # Kernels started elsewhere (JupyterLab, REST): the connection file is written at start.
        connection_file = getattr(kernel, "connection_file", None)
        try:
            return os.path.getmtime(connection_file) if connection_file else None
        except OSError:
            return None

    # -- lifecycle -------------------------------------------------------------------------

    async def list_kernels(self) -> list[dict[str, Any]]:
        """The active kernels: ``[{"kernel_id", "name", "state", "connections", "execution_state",
        "started_at", "last_activity"}]`` (times in seconds since the epoch)."""
        await self._prune()
        out = []
        with self._gateway_errors("list its kernels"):
            models = await ensure_async(self.kernel_manager.list_kernels())
        for model in models:
            kernel_id = model["id"]
            kernel = self.kernel_manager.get_kernel(kernel_id)
            out.append(self._summary(kernel_id, kernel, model))
        return out

    def _summary(self, kernel_id: str, kernel: Any, model: dict[str, Any]) -> dict[str, Any]:
        execution_state = model.get("execution_state")
        last = getattr(kernel, "last_activity", None)
        return {
            "kernel_id": kernel_id,
            "name": model.get("name"),
            "state": "dead" if execution_state == "dead" else "running",
            "connections": model.get("connections", 0),
            "execution_state": execution_state,
            "started_at": self._kernel_started_at(kernel_id, kernel),
            "last_activity": last.timestamp() if last is not None else None,
        }

    async def kernel_details(self, kernel_id: str) -> dict[str, Any]:
        """One kernel in detail: the summary fields plus display_name, language, is_alive, the
        notebook ``path`` of its session (None if none), ``sessions`` and ``info`` (the kernel's own
        kernel_info_reply when it has answered one, and its kernelspec)."""
        kernel = self._check_kernel(kernel_id)
        model = await self._kernel_model(kernel_id)
        details = self._summary(kernel_id, kernel, model)
        with self._gateway_errors(f"report on kernel {kernel_id}"):
            is_alive = bool(await ensure_async(kernel.is_alive()))
        kernel_name = model.get("name") or kernel.kernel_name
        if not is_alive:
            details["state"] = "dead"
        spec: dict[str, Any] = {}
        try:
            # From the list, not get_kernel_spec(): a gateway's single-spec URL breaks when the server
            # filters kernelspecs by KERNEL_USERNAME (jupyter_server 2.x appends the name after "?user=").
            specs = await ensure_async(self.kernel_spec_manager.get_all_specs())
            spec = dict((specs.get(kernel_name) or {}).get("spec") or {})
        except Exception:
            spec = {}
        sessions = []
        try:
            for session in await ensure_async(self.session_manager.list_sessions()):
                if (session.get("kernel") or {}).get("id") == kernel_id:
                    sessions.append({"id": session.get("id"), "path": session.get("path"), "type": session.get("type")})
        except Exception:
            self.log.debug("Could not list sessions", exc_info=True)
        conn = self._connections.get(kernel_id)
        if conn is not None and conn.kernel_info is None and is_alive and model.get("execution_state") == "idle":
            # A quick kernel_info_request; a busy kernel would only answer after its current cell.
            conn.request_kernel_info()
            try:
                await asyncio.wait_for(conn.info_received.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass
        info: dict[str, Any] = {
            "kernelspec": {k: spec.get(k) for k in ("display_name", "language", "metadata") if k in spec},
        }
        if model.get("reason"):
            info["reason"] = model["reason"]
        if conn is not None and conn.kernel_info:
            for key in ("language_info", "implementation", "implementation_version", "protocol_version", "banner"):
                if key in conn.kernel_info:
                    info[key] = conn.kernel_info[key]
        details.update(
            {
                "display_name": spec.get("display_name", kernel_name),
                "language": spec.get("language"),
                "is_alive": is_alive,
                "path": sessions[0]["path"] if sessions else None,
                "sessions": sessions,
                "info": info,
            }
        )
        return details

    async def start_kernel(self, kernel_name: str = "python3") -> dict[str, Any]:
        """Start a kernel of ``kernel_name`` through the server's kernel manager, in the server root.

        Returns its summary (see ``list_kernels``). Raises KernelSpecNotFound listing the
        installed kernelspecs, or KernelLimitReached when ``max_kernels`` kernels run already.
        """
        await self._check_kernelspec(kernel_name)
        async with self._start_lock:
            limit = self.settings.max_kernels
            running = list(self.kernel_manager.list_kernel_ids())
            if limit and len(running) >= limit:
                raise KernelLimitReached(
                    f"Cannot start another kernel: {len(running)} kernels are running and max_kernels is {limit} "
                    f"(running: {', '.join(running)}). Stop one with stop_kernel, or reuse one with "
                    "execute_on_kernel; an administrator can raise MCPExtensionApp.max_kernels."
                )
            started = time.time()
            with self._gateway_errors(f"start a kernel of {kernel_name!r}"):
                kernel_id = await asyncio.wait_for(
                    ensure_async(self.kernel_manager.start_kernel(kernel_name=kernel_name, path="")),
                    timeout=self.settings.jupyter_timeout or None,
                )
        self._started_at[kernel_id] = started
        self._ours.add(kernel_id)
        self._ensure_culler()
        KERNEL_STARTS_TOTAL.labels(kernel_name=kernel_name).inc()
        try:
            # Connect now: the first execution is then as quick as the next ones, and the kernel's
            # kernel_info reply (its status messages) is what moves the server's execution_state
            # from "starting" to "idle" when no frontend has connected yet.
            conn = await self._connection(kernel_id)
            try:
                await asyncio.wait_for(conn.info_received.wait(), timeout=min(self.settings.jupyter_timeout or 60, 60))
            except asyncio.TimeoutError:
                self.log.warning("Kernel %s started but did not answer a kernel_info_request", kernel_id)
            kernel = self.kernel_manager.get_kernel(kernel_id)
            if conn.info_received.is_set():
                await self._nudge(conn, kernel, kernel_id)
            elif is_gateway_kernel(kernel):
                with self._gateway_errors(f"report on kernel {kernel_id}"):
                    await kernel.refresh_model()
            return self._summary(kernel_id, kernel, await self._kernel_model(kernel_id))
        except BaseException:
            # Started but not usable from here (its channels cannot be reached, the call was
            # cancelled): the caller never got its id, so nobody would ever stop it.
            await asyncio.shield(self._discard_started(kernel_id))
            raise

    async def _discard_started(self, kernel_id: str) -> None:
        """Shut down a kernel whose start_kernel failed after the kernel manager started it."""
        try:
            await self._drop_connection(kernel_id)
            if kernel_id in self.kernel_manager:
                await ensure_async(self.kernel_manager.shutdown_kernel(kernel_id, now=True))
        except Exception:
            self.log.warning("Kernel %s could not be shut down after its start failed", kernel_id, exc_info=True)
        self._ours.discard(kernel_id)
        self._started_at.pop(kernel_id, None)

    async def _nudge(self, conn: KernelConnection, kernel: Any, kernel_id: str, attempts: int = 20) -> None:
        """Send kernel_info requests until the server (or the gateway) has seen the kernel's status.

        The activity watcher subscribes to IOPub when the kernel starts and may miss the first
        status messages (ZMQ's slow joiner); with no frontend connected, nothing else would follow,
        and the kernel would stay "starting" in /api/kernels. JupyterLab's websocket does the same
        nudging when it connects. A gateway's kernel has the same watcher on the gateway, which may
        also see the status after our kernel_info reply came back: its model is fetched again
        until it has moved on (about 2 s at most).
        """
        gateway = is_gateway_kernel(kernel)
        for _ in range(attempts):
            if gateway:
                with self._gateway_errors(f"report on kernel {kernel_id}"):
                    await kernel.refresh_model()
            if getattr(kernel, "execution_state", None) != "starting":
                return
            conn.request_kernel_info()
            await asyncio.sleep(0.05 if not gateway else 0.1)

    async def stop_kernel(self, kernel_id: str) -> None:
        """Shut a kernel down (as JupyterLab's "Shut Down Kernel"); pending executions fail."""
        self._check_kernel(kernel_id)
        conn = self._connections.get(kernel_id)
        if conn is not None:
            conn.fail_all(KernelDied(f"Kernel {kernel_id} was shut down (stop_kernel) while this code ran."))
        await self._drop_connection(kernel_id)
        with self._gateway_errors(f"shut down kernel {kernel_id}"):
            await ensure_async(self.kernel_manager.shutdown_kernel(kernel_id))
        self._ours.discard(kernel_id)
        self._started_at.pop(kernel_id, None)
        self._restarted_unseen.discard(kernel_id)

    async def interrupt_kernel(self, kernel_id: str) -> None:
        """Interrupt what the kernel is running (KeyboardInterrupt in Python); its state is kept."""
        self._check_kernel(kernel_id)
        with self._gateway_errors(f"interrupt kernel {kernel_id}"):
            await ensure_async(self.kernel_manager.interrupt_kernel(kernel_id))

    async def restart_kernel(self, kernel_id: str) -> dict[str, Any]:
        """Restart a kernel (same kernel_id, fresh process, state lost) and wait until it answers.

        Pending executions fail with KernelDied. Returns the kernel's summary.
        """
        kernel = self._check_kernel(kernel_id)
        self._restarted_unseen.discard(kernel_id)
        conn = self._connections.get(kernel_id)
        if conn is not None:
            conn.fail_all(KernelDied(f"Kernel {kernel_id} was restarted (restart_kernel) while this code ran."))
        await self._drop_connection(kernel_id)
        with self._gateway_errors(f"restart kernel {kernel_id}"):
            ready = await ensure_async(self.kernel_manager.restart_kernel(kernel_id))
        if isinstance(ready, Awaitable):
            try:
                await asyncio.wait_for(ready, timeout=self.settings.jupyter_timeout or None)
            except (asyncio.TimeoutError, RuntimeError) as e:
                raise KernelDied(
                    f"Kernel {kernel_id} was restarted but did not answer ({e}); stop it with stop_kernel and "
                    "start a new one."
                ) from e
        return self._summary(kernel_id, kernel, await self._kernel_model(kernel_id))

    # -- connections -----------------------------------------------------------------------

    async def _prune(self) -> None:
        """Drop connections to kernels shut down elsewhere (from JupyterLab, the REST API, the culler)."""
        for kernel_id in [k for k in self._connections if k not in self.kernel_manager]:
            self._connections[kernel_id].fail_all(KernelDied(f"Kernel {kernel_id} was shut down while this code ran."))
            await self._drop_connection(kernel_id)
        for kernel_id in [k for k in self._connecting if k not in self.kernel_manager]:
            del self._connecting[kernel_id]

    async def _connection(self, kernel_id: str) -> KernelConnection:
        await self._prune()
        kernel = self._check_kernel(kernel_id)
        conn = self._connections.get(kernel_id)
        if conn is not None and not conn.closed:
            return conn
        lock = self._connecting.setdefault(kernel_id, asyncio.Lock())
        async with lock:
            conn = self._connections.get(kernel_id)
            if conn is None or conn.closed:
                # A gateway kernel's ``ready`` future is never resolved: the gateway answered its start.
                ready = None if is_gateway_kernel(kernel) else getattr(kernel, "ready", None)
                if ready is not None and not ready.done():
                    await asyncio.wait_for(asyncio.wrap_future(ready), timeout=self.settings.jupyter_timeout or None)
                conn = self._new_connection(kernel_id, kernel)
                await conn.start()
                self._connections[kernel_id] = conn

                def on_restart(conn: KernelConnection = conn) -> None:
                    # The server's restarter found the kernel dead and restarts it (maybe on new ports).
                    if not conn.pending:
                        self._restarted_unseen.add(kernel_id)
                    conn.fail_all(
                        KernelDied(
                            f"Kernel {kernel_id} died while running this code; the server is restarting it "
                            "automatically and its variables are lost."
                        )
                    )
                    self._spawn(self._drop_connection(kernel_id, conn), f"jupyter_mcp_ext.drop.{kernel_id}")

                kernel.add_restart_callback(on_restart, "restart")
                kernel.add_restart_callback(on_restart, "dead")
                conn.restart_callback = on_restart
                await conn.wait_ready()
        return conn

    def _new_connection(self, kernel_id: str, kernel: Any) -> KernelConnection:
        """The connection to open to ``kernel`` (the server's KernelManager of ``kernel_id``): through the
        gateway's websocket for a gateway's kernel, else our own ZMQ sockets."""
        if is_gateway_kernel(kernel):
            return GatewayKernelConnection(kernel_id, kernel, self.kernel_manager, self.log)
        return ZMQKernelConnection(kernel_id, kernel, self.kernel_manager, self.log)

    async def _kernel_model(self, kernel_id: str) -> dict[str, Any]:
        # A local kernel's model is at hand; a gateway's manager returns it from a coroutine.
        model = await ensure_async(self.kernel_manager.kernel_model(kernel_id))
        return dict(model or {})

    @contextmanager
    def _gateway_errors(self, doing: str) -> Iterator[None]:
        """Turn what jupyter_server's gateway client raises (tornado HTTPErrors carrying the gateway's
        answer) into a KernelGatewayError that says what the gateway said; ``doing`` completes the
        sentence "The kernel gateway could not ..."."""
        try:
            yield
        except web.HTTPError as e:
            if not is_gateway_manager(self.kernel_manager):
                raise  # not a gateway's kernel manager: its HTTPErrors are its own
            raise gateway_error(e, doing) from e

    async def _drop_connection(self, kernel_id: str, conn: KernelConnection | None = None) -> None:
        current = self._connections.get(kernel_id)
        if conn is None:
            conn = current
        if conn is None:
            return
        if current is conn:
            del self._connections[kernel_id]
        callback = conn.restart_callback
        if callback is not None:
            for event in ("restart", "dead"):
                try:
                    conn.manager.remove_restart_callback(callback, event)
                except Exception:
                    pass
        await conn.close()

    # -- execution -------------------------------------------------------------------------

    def resolve_timeout(self, timeout: float | None) -> float:
        """The timeout of a call in seconds: ``timeout``, else ``execution_timeout``; 0 = none."""
        return self._executor.resolve_timeout(timeout)

    async def execute(
        self, kernel_id: str, code: str, *, timeout: float | None = None, progress: ProgressFn | None = None
    ) -> ExecutionOutcome:
        """Run ``code`` on a kernel and collect its outputs.

        ``timeout`` in seconds (None: ``execution_timeout``; 0: none): at the timeout the kernel
        is interrupted and the outputs so far come back with status "timeout". ``progress`` is
        called at least every PROGRESS_INTERVAL seconds. If the caller is cancelled, running code
        is interrupted. ``input()`` fails at once (no stdin). Raises KernelNotFound, KernelBusy,
        or KernelDied when the kernel dies or restarts meanwhile.
        """
        if not isinstance(code, str):
            raise InvalidArgument("code must be a string of source code.")
        seconds = self.resolve_timeout(timeout)
        conn = await self._connection(kernel_id)
        outcome = await self._executor.execute(conn, code, seconds, progress)
        notice = self.restart_notice(kernel_id)
        if notice:
            outcome.message = f"{notice} {outcome.message or ''}".strip()
        return outcome

    def restart_notice(self, kernel_id: str) -> str | None:
        """Once, after a call that ran on a kernel the server restarted on its own since the previous call (it
        had died or been killed): the sentence that says its variables were lost; else None."""
        if kernel_id not in self._restarted_unseen:
            return None
        self._restarted_unseen.discard(kernel_id)
        return (
            f"The server restarted kernel {kernel_id} on its own since the previous call (it had died or been "
            "killed): its variables were lost, and this call ran in the fresh kernel."
        )

    async def list_variables(self, kernel_id: str, *, include_private: bool = False) -> dict[str, Any]:
        """The variables a Python kernel holds, read without a trace (``variables.py``): ``{"variables":
        [{"name", "type", "shape" or "length", "dtype", "repr"}], "count", "hidden": {kind: n}}``, names in
        order, modules, functions, classes, IPython's own names and (unless ``include_private``) names
        starting with ``_`` left out and counted in ``hidden``.

        Raises KernelNotFound, InvalidArgument for a kernel whose language is not Python (naming it),
        KernelBusy when the kernel is busy for VARIABLES_TIMEOUT seconds, KernelDied.
        """
        conn = await self._connection(kernel_id)
        kernel = self.kernel_manager.get_kernel(kernel_id)
        language, name = await kernel_language(conn, kernel, self.kernel_spec_manager)
        if (language or "").lower() != "python":
            raise InvalidArgument(
                f"list_variables reads the variables of Python kernels (ipykernel, and other kernels whose language "
                f"is Python); kernel {kernel_id} is a {language or 'unknown-language'} kernel ({name}). Look at its "
                "variables with execute_on_kernel instead."
            )
        answers = await self._executor.evaluate(conn, {"variables": expression(include_private)}, VARIABLES_TIMEOUT)
        listed = parse(answers.get("variables"), kernel_id)
        notice = self.restart_notice(kernel_id)
        return {**listed, "message": notice} if notice else listed

    async def execute_notebook(
        self,
        kernel_id: str,
        path: str,
        *,
        cell_index: int | None = None,
        timeout: float | None = None,
        continue_on_error: bool | None = None,
        progress: ProgressFn | None = None,
        cell_id: str | None = None,
    ) -> NotebookRun:
        """Run the code cells of the notebook at ``path`` on a kernel, in order, and write each cell's
        outputs and execution_count back into the notebook (its live document while JupyterLab has it
        open with real-time collaboration, output by output; else the file).

        With ``cell_index`` or ``cell_id``, only that cell runs (it must be a code cell). ``timeout`` applies to
        each cell. The run stops at the first cell that raises or times out unless
        ``continue_on_error`` (None: the server's default). Cells with no source are cleared, not
        sent (as in JupyterLab). Raises NotebookNotFound, CellIndexError, InvalidArgument,
        KernelNotFound, KernelBusy or KernelDied (outputs of cells finished before are written).
        """
        run = await self._notebook_runner.run(
            kernel_id,
            path,
            cell_index=cell_index,
            timeout=timeout,
            continue_on_error=continue_on_error,
            progress=progress,
            cell_id=cell_id,
        )
        run.notice = self.restart_notice(kernel_id)
        return run
