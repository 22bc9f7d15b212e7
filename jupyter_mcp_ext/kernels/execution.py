"""Execution (service layer): code on a kernel connection, with timeouts, interrupts, progress, death detection."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..exceptions import InvalidArgument, KernelBusy, KernelDied
from ..metrics import EXECUTION_DURATION_SECONDS
from .connection import Execution, KernelConnection
from .models import ExecutionOutcome, KernelSettings, ProgressFn

#: Seconds between progress reports during a long execution.
PROGRESS_INTERVAL = 2.0
#: Seconds between checks that the kernel process is still alive while waiting for a reply.
ALIVE_POLL_INTERVAL = 0.5
#: Seconds to wait, after interrupting timed-out code, for the kernel to answer.
INTERRUPT_GRACE = 5.0

#: ``spawn(coro, name)``: runs ``coro`` detached from the caller (it completes even if the caller
#: is cancelled); the lifecycle owns these tasks and waits for them when it stops.
SpawnFn = Callable[[Awaitable[Any], str], None]


class Executor:
    """Runs code on kernel connections the way a patient frontend does, whatever the transport.

    One execution per connection at a time (``acquire`` / ``conn.lock``). While it waits for the
    reply it reports progress, checks that the kernel is alive and not being shut down, and
    interrupts the kernel at the timeout; a caller that gives up withdraws its code (interrupted
    if it runs, or as soon as it starts if it still waits in the kernel's queue).
    """

    def __init__(self, settings: KernelSettings, log: logging.Logger, spawn: SpawnFn) -> None:
        self.settings = settings
        self.log = log
        self.spawn = spawn

    def resolve_timeout(self, timeout: float | None) -> float:
        """The timeout of a call in seconds: ``timeout``, else ``execution_timeout``; 0 = none."""
        value = self.settings.execution_timeout if timeout is None else timeout
        if value is None or (isinstance(value, float) and math.isnan(value)) or value < 0:
            raise InvalidArgument(f"timeout must be a number of seconds >= 0 (0 = no timeout), got {timeout!r}.")
        return float(value)

    async def acquire(self, conn: KernelConnection, timeout: float) -> None:
        """Take ``conn``'s lock within ``timeout`` seconds (0 = no limit); raises KernelBusy."""
        try:
            await asyncio.wait_for(conn.lock.acquire(), timeout=timeout or None)
        except asyncio.TimeoutError:
            since = time.monotonic() - (conn.lock_holder_since or time.monotonic())
            raise KernelBusy(
                f"Kernel {conn.kernel_id} is running another execute_on_kernel call (for {since:.0f} s) and it "
                f"did not finish within this call's timeout of {timeout:g} s; nothing was run. Wait and try "
                "again, use another kernel, or stop the other run with interrupt_kernel."
            ) from None
        conn.lock_holder_since = time.monotonic()

    async def execute(
        self, conn: KernelConnection, code: str, timeout: float, progress: ProgressFn | None = None
    ) -> ExecutionOutcome:
        """Run ``code`` on ``conn`` under its lock and collect its outputs (see ``KernelService.execute``).

        ``timeout``: seconds, already resolved (0 = none).
        """
        await self.acquire(conn, timeout)
        try:
            await self.check_alive(conn)
            outcome = await self.run(conn, code, timeout, progress, label="code")
        finally:
            conn.lock.release()
        EXECUTION_DURATION_SECONDS.labels(kind="code").observe(outcome.execution_time)
        return outcome

    async def check_alive(self, conn: KernelConnection) -> None:
        """Before a call sends anything: raise KernelDied if the kernel is dead already (it died, or was
        killed, since the last call, and the server has not restarted it yet), rather than send the code
        and report it as having died while running it."""
        if await conn.is_alive():
            return
        exit_code = await conn.exit_code()
        how = f", exit code {exit_code}" if exit_code is not None else ""
        raise KernelDied(
            f"Kernel {conn.kernel_id} is dead (it died or was killed since the last call{how}): its variables are "
            "lost, and nothing was run. The server restarts dead kernels automatically within seconds; call "
            "restart_kernel to get a fresh kernel now (same kernel_id), then run the code needed to rebuild its state."
        )

    async def run(
        self,
        conn: KernelConnection,
        code: str,
        timeout: float,
        progress: ProgressFn | None,
        *,
        label: str,
        progress_done: float = 0.0,
        progress_total: float | None = None,
        on_sent: Callable[[Execution], None] | None = None,
        silent: bool = False,
        user_expressions: dict[str, str] | None = None,
    ) -> ExecutionOutcome:
        """Send ``code`` on ``conn`` (whose lock the caller holds) and wait for its end.

        ``timeout``: seconds (0 = none); at the timeout the kernel is interrupted and the outputs
        so far come back with status "timeout". ``label`` names the run in progress messages;
        ``progress_done`` / ``progress_total`` replace elapsed / timeout as the progress figures
        when given. ``on_sent(execution)`` is called as soon as the request is sent, before any of
        its messages are routed. ``silent`` and ``user_expressions`` go into the execute_request
        (a silent one leaves the execution count and the history alone; it is harmless, so when it
        is withdrawn before it started it is left to run rather than interrupted). Raises
        KernelDied; a cancelled caller withdraws the code.
        """
        execution = conn.execute(code, silent=silent, user_expressions=user_expressions)
        sent = execution.sent_at
        deadline = sent + timeout if timeout else math.inf
        next_progress = sent + PROGRESS_INTERVAL
        status: str | None = None
        message: str | None = None
        try:
            if on_sent is not None:
                on_sent(execution)
            while not execution.done.is_set():
                now = time.monotonic()
                wake = min(now + ALIVE_POLL_INTERVAL, next_progress, deadline)
                try:
                    await asyncio.wait_for(execution.done.wait(), timeout=max(0.0, wake - now))
                except asyncio.TimeoutError:
                    pass
                if execution.done.is_set():
                    break
                if conn.shutting_down():
                    raise self._shut_down(conn)
                if not await conn.is_alive():
                    raise await self._died(conn, execution)
                now = time.monotonic()
                if now >= deadline:
                    status, message = await self._on_timeout(conn, execution, timeout, interrupt_queued=not silent)
                    break
                if progress is not None and now >= next_progress:
                    next_progress = now + PROGRESS_INTERVAL
                    elapsed = now - sent
                    if progress_total is None:
                        done, total = elapsed, (timeout or None)
                    else:
                        done, total = progress_done, progress_total
                    await self.report(
                        progress,
                        done,
                        total,
                        f"{label}: running for {elapsed:.0f} s, {len(execution.outputs)} outputs so far",
                    )
            if execution.failure is not None:
                raise execution.failure
            if status is None and self._interrupted_by_shutdown(conn, execution):
                raise self._shut_down(conn)
        except asyncio.CancelledError:
            # The client gave up (notifications/cancelled, closed stream): stop the code too.
            self.withdraw(conn, execution, interrupt_queued=not silent)
            raise
        finally:
            if not execution.orphaned:
                conn.pending.pop(execution.msg_id, None)
        if status is None:
            reply = execution.reply or {}
            status = {"ok": "ok", "error": "error", "aborted": "abort"}.get(str(reply.get("status")), "error")
            if status == "error" and execution.error is None:
                execution.error = {
                    "ename": reply.get("ename", "Error"),
                    "evalue": reply.get("evalue", ""),
                    "traceback": reply.get("traceback", []),
                }
            if status == "abort":
                message = "The kernel aborted this request because an earlier request in its queue raised an error."
            elif (execution.error or {}).get("ename") == "StdinNotImplementedError":
                message = (
                    "The code asked for input (input(), getpass()), which cannot be answered here: put the values "
                    "in the code instead."
                )
        return ExecutionOutcome(
            status=status,
            execution_count=execution.execution_count,
            outputs=list(execution.outputs),
            error=execution.error,
            execution_time=round(time.monotonic() - sent, 6),
            message=message,
            user_expressions=(execution.reply or {}).get("user_expressions"),
        )

    @staticmethod
    def _interrupted_by_shutdown(conn: KernelConnection, execution: Execution) -> bool:
        """Whether the code ended in KeyboardInterrupt because the kernel is being shut down: a shutdown
        interrupts the kernel first, so its reply can arrive before the shutdown is seen."""
        reply = execution.reply or {}
        ename = (execution.error or {}).get("ename") or reply.get("ename")
        return ename == "KeyboardInterrupt" and conn.shutting_down()

    @staticmethod
    def _shut_down(conn: KernelConnection) -> KernelDied:
        return KernelDied(
            f"Kernel {conn.kernel_id} was shut down (from JupyterLab, the REST API or the idle culler) "
            "while this code ran. Start a kernel with start_kernel and run it there."
        )

    async def evaluate(self, conn: KernelConnection, expressions: dict[str, str], timeout: float) -> dict[str, Any]:
        """Evaluate ``expressions`` (name: Python expression) in the kernel's namespace without a trace: a
        silent execute_request with no code, so that nothing is printed and neither the execution count nor
        the history (``In``) changes. Returns the reply's ``user_expressions`` (each ``{"status", "data",
        ...}``). ``timeout``: seconds to wait for the kernel (0 = none).

        Raises KernelBusy when the kernel is busy with other work (a cell run from JupyterLab, another
        call) for the whole timeout (the request is withdrawn), or when the evaluation itself takes longer
        (it is interrupted); KernelDied.
        """
        await self.acquire(conn, timeout)
        try:
            await self.check_alive(conn)
            outcome = await self.run(
                conn, "", timeout, None, label="inspection", silent=True, user_expressions=expressions
            )
        finally:
            conn.lock.release()
        if outcome.status == "timeout" and "before the code started" not in (outcome.message or ""):
            raise KernelBusy(
                f"Kernel {conn.kernel_id} took longer than {timeout:g} s to describe its namespace (a slow __repr__ "
                "or __len__ of one of its values?) and was interrupted; its variables are kept. Look at the values you "
                "need with execute_on_kernel."
            )
        if outcome.status == "timeout":
            raise KernelBusy(
                f"Kernel {conn.kernel_id} did not answer within {timeout:g} s: it is busy with other work (a cell run "
                "from JupyterLab, or a long execute_on_kernel call) and reads its namespace only once that ends. "
                "Try again when it is idle (list_kernels shows its execution_state), or stop that work with "
                "interrupt_kernel."
            )
        return outcome.user_expressions or {}

    async def report(self, progress: ProgressFn, done: float, total: float | None, message: str) -> None:
        try:
            await progress(done, total, message)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.log.debug("Could not report progress", exc_info=True)

    def withdraw(self, conn: KernelConnection, execution: Execution, *, interrupt_queued: bool = True) -> None:
        """Stop an execution nobody waits for any more: interrupt it if it runs, or as soon as it
        starts if it still waits in the kernel's queue (behind a JupyterLab user's cell), unless
        ``interrupt_queued`` is false (then it is left to run: an interrupt sent when a quick
        request starts may reach the person's next cell instead)."""
        if execution.reply is not None or execution.failure is not None:
            return
        if execution.started_at is None and not interrupt_queued:
            execution.orphaned = True
            return

        def interrupt() -> None:
            self.spawn(self._interrupt_quietly(conn), f"jupyter_mcp_ext.interrupt.{conn.kernel_id}")

        if execution.started_at is not None:
            interrupt()
        else:
            execution.orphaned = True
            execution.on_start = interrupt

    async def _interrupt_quietly(self, conn: KernelConnection) -> None:
        try:
            if conn.kernel_id in conn.kernel_manager:
                await conn.interrupt()
        except Exception:
            self.log.warning("Could not interrupt kernel %s", conn.kernel_id, exc_info=True)

    async def _on_timeout(
        self, conn: KernelConnection, execution: Execution, timeout: float, *, interrupt_queued: bool = True
    ) -> tuple[str, str]:
        if execution.started_at is None:
            self.withdraw(conn, execution, interrupt_queued=interrupt_queued)
            return "timeout", (
                f"Timed out after {timeout:g} s before the code started: the kernel was busy with other work "
                "(e.g. a cell run from JupyterLab) the whole time. The code was withdrawn: it is interrupted as "
                "soon as the kernel reaches it. Try again later, or stop that work with interrupt_kernel."
            )
        await conn.interrupt()
        try:
            await asyncio.wait_for(execution.done.wait(), timeout=INTERRUPT_GRACE)
        except asyncio.TimeoutError:
            return "timeout", (
                f"Timed out after {timeout:g} s; the kernel was interrupted but is still busy {INTERRUPT_GRACE:g} s "
                "later (code that ignores KeyboardInterrupt?). Try interrupt_kernel again, or restart_kernel."
            )
        return "timeout", (
            f"Timed out after {timeout:g} s: the kernel was interrupted (KeyboardInterrupt) and the outputs so far "
            "are returned. The kernel is still usable and keeps its variables; pass a larger timeout (0 = none) to "
            "let long code finish."
        )

    async def _died(self, conn: KernelConnection, execution: Execution) -> KernelDied:
        exit_code = await conn.exit_code()
        tail = "".join(o.get("text", "") for o in execution.outputs if o.get("output_type") == "stream")[-1000:]
        how = f" (exit code {exit_code})" if exit_code is not None else ""
        seen = f" Its last output was: {tail!r}." if tail else ""
        return KernelDied(
            f"Kernel {conn.kernel_id} died while running this code{how}; its variables are lost.{seen} "
            "The server restarts dead kernels automatically; call restart_kernel to get a fresh kernel now "
            "(same kernel_id), then run the code needed to rebuild its state."
        )
