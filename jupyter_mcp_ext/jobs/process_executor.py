"""The local job executor (service layer): each notebook job in a runner process of its own.

The runner runs on this machine and is followed by pid, through its job directory, after a server
restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

from traitlets import Bool, Float, Int

from . import files, outcomes, process, runner
from .executor import STOP_KILL_AFTER, ActiveJob, EventSink, JobExecutor
from .models import RunSpec

#: The note of a job cancelled by stopping its runner (the runner reports its own when it can).
CANCELLED_NOTE = "Cancelled; the runner was stopped."


@dataclass
class _Active(ActiveJob):
    """What the process executor follows of one running job: its runner's and kernel's processes."""

    runner_pid: int | None = None
    runner_start: int | None = None
    kernel_pid: int | None = None
    kernel_start: int | None = None


class ProcessJobExecutor(JobExecutor[_Active]):
    """Runs each job in its own process: ``python -m jupyter_mcp_ext.jobs.runner`` (see runner.py).

    From the first job on, runners are started ahead of need (``warm_runners``) with their
    imports done, so that a job starts without Papermill's import time. Each job process lives in its own session: a crash,
    hang, ``os.chdir``, environment change or memory blow-up in a job never touches the server,
    and a job outlives a server crash, to be followed again after the restart.
    """

    warm_runners = Int(
        1,
        config=True,
        help="Runner processes kept started and idle (from the first job on), Papermill already imported, "
        "so that a job starts at once instead of paying the import (~0.7 s). Default 1. 0 starts a runner "
        "per job on demand.",
    )
    keep_running_on_shutdown = Bool(
        False,
        config=True,
        help="When the server shuts down, leave running jobs running (the next server start follows them "
        "again and records their result) instead of stopping them. Default False: they are stopped, keep "
        "their partial output and are marked failed with reason server_shutdown.",
    )
    poll_interval = Float(
        0.1,
        config=True,
        help="Seconds between checks of a running job's events and process. Default 0.1.",
    )
    runner_start_timeout = Float(
        120.0,
        config=True,
        help="Seconds to wait for a runner process to take a job (its imports included). Default 120.",
    )

    def __init__(self, *, state_dir: str, on_event: EventSink, **kwargs: Any) -> None:
        super().__init__(state_dir=state_dir, on_event=on_event, **kwargs)
        self._pool: list[asyncio.subprocess.Process] = []
        self._spawning = 0
        self._stopping = False

    def describe(self) -> dict[str, Any]:
        return {"executor": "process", "warm_runners": self.warm_runners, "idle_runners": len(self._pool)}

    # -- runner processes ------------------------------------------------------------------

    def _runner_env(self) -> dict[str, str]:
        # The runner restores the original PYTHONPATH before it starts the kernel.
        return runner.child_env(dict(os.environ))

    async def _spawn(self) -> asyncio.subprocess.Process:
        os.makedirs(self.state_dir, exist_ok=True)
        # The runner's own stderr until it gets a job (import errors land here).
        errors = os.open(self._runners_log(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "jupyter_mcp_ext.jobs.runner",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,
                cwd=self.state_dir,
                env=self._runner_env(),
                start_new_session=True,
            )
        finally:
            os.close(errors)

    def _fill_pool(self) -> None:
        while not self._stopping and len(self._pool) + self._spawning < self.warm_runners:
            self._spawning += 1
            self._background(self._add_to_pool())

    async def _add_to_pool(self) -> None:
        try:
            proc = await self._spawn()
        except Exception:
            self.log.exception("Could not start a job runner process")
            return
        finally:
            self._spawning -= 1
        if self._stopping:
            await self._dismiss(proc)
        else:
            self._pool.append(proc)

    async def _take_runner(self) -> asyncio.subprocess.Process:
        while self._pool:
            proc = self._pool.pop(0)
            if proc.returncode is None:
                self._fill_pool()
                return proc
            self.log.warning("A warm job runner exited (code %s); see %s", proc.returncode, self._runners_log())
        proc = await self._spawn()
        self._fill_pool()
        return proc

    def _runners_log(self) -> str:
        return os.path.join(self.state_dir, "runners.log")

    async def _dismiss(self, proc: asyncio.subprocess.Process) -> None:
        """End an idle runner: EOF on its stdin makes it exit; kill it if it does not."""
        if proc.returncode is None and proc.stdin is not None:
            with contextlib.suppress(Exception):
                proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 3)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def _hand_over(self, proc: asyncio.subprocess.Process, payload: bytes) -> dict[str, Any] | None:
        """Give a runner its job; returns the job process's ``{"pid", "start"}`` or None if it died."""
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(payload)
            await proc.stdin.drain()
            proc.stdin.close()
            line = await asyncio.wait_for(proc.stdout.readline(), self.runner_start_timeout)
        except (BrokenPipeError, ConnectionResetError, asyncio.TimeoutError):
            line = b""
        if not line:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            return None
        await proc.wait()
        info: dict[str, Any] = json.loads(line)
        return info

    # -- JobExecutor -----------------------------------------------------------------------

    async def start(self) -> None:
        # The warm pool fills at the first job, so that a server that runs no job starts no runner.
        os.makedirs(self.state_dir, exist_ok=True)
        self._stopping = False

    async def stop(self) -> None:
        self._stopping = True
        pool, self._pool = self._pool, []
        if self.keep_running_on_shutdown:
            for active in self._active.values():
                active.detached = True
                self.job_log(active.job_id, "info", "The Jupyter server shut down; the job keeps running.")
        await self._end_all(*[self._dismiss(proc) for proc in pool])
        self._active.clear()  # what is left was detached: the next start resumes it

    async def run(self, spec: RunSpec) -> dict[str, Any] | None:
        job_dir = self.job_dir(spec.job_id)
        os.makedirs(job_dir, exist_ok=True)
        active = _Active(spec.job_id, timeout_seconds=spec.timeout_seconds, started_at=spec.started_at or time.time())
        with self._following(active):
            payload = (json.dumps({**spec.model_dump(), "job_dir": job_dir}) + "\n").encode()
            info = None
            for _ in range(2):  # a warm runner may have died while idle: one retry with a fresh one
                info = await self._hand_over(await self._take_runner(), payload)
                if info is not None or active.stop_reason is not None:
                    break
            if info is None:
                if active.stop_reason is not None:
                    return self._stopped_outcome(active, None)
                detail = files.tail_text(self._runners_log(), 1500)
                return self._finish_lost(
                    active,
                    "internal_error",
                    "The job's runner process could not be started" + (f": {detail}" if detail else "."),
                )
            active.runner_pid, active.runner_start = info.get("pid"), info.get("start")
            self.on_event(
                spec.job_id,
                {
                    "event": "launched",
                    "t": time.time(),
                    "runner_pid": info.get("pid"),
                    "runner_start": info.get("start"),
                },
            )
            if active.stop_reason is not None:  # cancelled while the runner was being handed the job
                self._signal_stop(active)
            return await self._follow(active)

    async def resume(self, job_id: str, known: dict[str, Any]) -> dict[str, Any] | None:
        active = _Active(
            job_id,
            timeout_seconds=known.get("timeout_seconds") or 0.0,
            started_at=known.get("started_at") or time.time(),
            runner_pid=known.get("runner_pid"),
            runner_start=known.get("runner_start"),
            kernel_pid=known.get("kernel_pid"),
            kernel_start=known.get("kernel_start"),
        )
        with self._following(active):
            # Learn the pids (and whether it finished) from the job's own event file.
            for event in files.JsonLinesTail(os.path.join(self.job_dir(job_id), files.EVENTS)).read_new():
                if event.get("event") == "accepted":
                    active.runner_pid, active.runner_start = event.get("runner_pid"), event.get("runner_start")
                elif event.get("event") == "kernel_started":
                    active.kernel_pid, active.kernel_start = event.get("kernel_pid"), event.get("kernel_start")
            if process.is_alive(active.runner_pid, active.runner_start):
                self.job_log(
                    active.job_id,
                    "info",
                    f"The Jupyter server restarted; following the job's runner (pid {active.runner_pid}) again.",
                )
            return await self._follow(active)

    async def _request_stop(self, active: _Active) -> bool:
        self._signal_stop(active)
        return True

    def _signal_stop(self, active: _Active) -> None:
        path = os.path.join(self.job_dir(active.job_id), files.STOP)
        with contextlib.suppress(OSError), open(path, "w", encoding="utf-8") as f:
            f.write(active.stop_reason or "cancel")
        if active.runner_pid:
            process.signal_group(active.runner_pid, signal.SIGTERM, active.runner_start)

    async def _escalate(self, active: _Active) -> None:
        """Kill the kernel, then the runner, if a stop takes too long (the runner tries first)."""
        deadline = time.monotonic() + STOP_KILL_AFTER
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(active.done.wait(), STOP_KILL_AFTER / 2)
            return
        process.kill_group(active.kernel_pid, active.kernel_start)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(active.done.wait(), max(0.1, deadline - time.monotonic()))
            return
        self.job_log(active.job_id, "warning", "The job's runner did not stop in time: killing it.")
        process.kill_group(active.runner_pid, active.runner_start)
        process.kill_group(active.kernel_pid, active.kernel_start)

    async def _follow(self, active: _Active) -> dict[str, Any] | None:
        """Tail a job's events until its runner reports a result or is gone."""
        tail = files.JsonLinesTail(os.path.join(self.job_dir(active.job_id), files.EVENTS))
        outcome: dict[str, Any] | None = None
        while True:
            for event in tail.read_new():
                if event.get("event") == "accepted":
                    active.runner_pid, active.runner_start = event.get("runner_pid"), event.get("runner_start")
                elif event.get("event") == "kernel_started":
                    active.kernel_pid, active.kernel_start = event.get("kernel_pid"), event.get("kernel_start")
                self.on_event(active.job_id, event)
                if event.get("event") == "finished":
                    outcome = event
            if outcome is not None:
                break
            if not process.is_alive(active.runner_pid, active.runner_start):
                for event in tail.read_new():  # what it wrote just before it ended
                    self.on_event(active.job_id, event)
                    if event.get("event") == "finished":
                        outcome = event
                break
            if active.detached:
                return None
            self._timeout_backstop(active)
            await asyncio.sleep(self.poll_interval)
        # The runner kills its kernel before it reports; make sure, and never leave one behind.
        if process.kill_group(active.kernel_pid, active.kernel_start):
            self.job_log(active.job_id, "warning", f"Killed the job's kernel (pid {active.kernel_pid}), left running.")
        if outcome is not None:
            return {k: v for k, v in outcome.items() if k not in ("event", "t")}
        return self._stopped_outcome(
            active, files.tail_text(os.path.join(self.job_dir(active.job_id), files.RUNNER_LOG))
        )

    def _stopped_outcome(self, active: _Active, detail: str | None) -> dict[str, Any]:
        """The outcome of a job whose runner ended without reporting one."""
        if active.stop_reason in outcomes.STOP_REASONS:
            return outcomes.stopped(active.stop_reason, active.timeout_seconds, cancelled=CANCELLED_NOTE)
        which = f"(pid {active.runner_pid}) " if active.runner_pid else ""
        message = (
            f"The job's runner process {which}ended without reporting a result: it was killed, ran out of "
            "memory, or the machine or server restarted."
        )
        if detail:
            message += f" Its last output: {detail[-1000:]}"
        return self._finish_lost(active, "runner_lost", message)

    def _finish_lost(self, active: _Active, reason: str, message: str) -> dict[str, Any]:
        self.job_log(active.job_id, "error", message)
        return outcomes.failed(reason, message, "RunnerLost" if reason == "runner_lost" else "RunnerError")
