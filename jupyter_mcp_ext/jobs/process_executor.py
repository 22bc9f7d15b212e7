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

from traitlets import Bool, Float, Int, List, Unicode

from . import files, outcomes, process, runner, warm_kernel
from .executor import STOP_KILL_AFTER, ActiveJob, EventSink, JobExecutor
from .models import RunSpec

#: The note of a job cancelled by stopping its runner (the runner reports its own when it can).
CANCELLED_NOTE = "Cancelled; the runner was stopped."
#: Seconds after a job took an idle runner before the one replacing it is started: a runner and its
#: kernel take about 1.5 s of CPU to start, which a small job would otherwise share its cores with.
REFILL_DELAY = 1.0


@dataclass
class _Active(ActiveJob):
    """What the process executor follows of one running job: its runner's and kernel's processes."""

    runner_pid: int | None = None
    runner_start: int | None = None
    kernel_pid: int | None = None
    kernel_start: int | None = None
    #: The job process's end of its runner's stdout: a line after each event it records.
    nudges: asyncio.StreamReader | None = None
    #: Its runner, kept so that the pipe stays open while the job runs.
    runner_proc: asyncio.subprocess.Process | None = None


@dataclass(eq=False)
class _Runner:
    """A runner process started ahead of its job, and the job process it forked (which starts
    the kernel of ``kernel_name`` ahead, if any, and waits for the job on the runner's stdin)."""

    proc: asyncio.subprocess.Process
    kernel_name: str | None
    pid: int | None = None
    start: int | None = None

    def alive(self) -> bool:
        return process.is_alive(self.pid, self.start)


class ProcessJobExecutor(JobExecutor[_Active]):
    """Runs each job in its own process: ``python -m jupyter_mcp_ext.jobs.runner`` (see runner.py).

    From the server's start, runners wait for jobs with their imports done (``warm_runners``), each
    with the kernel of a kernelspec of ``warm_kernelspecs`` already started: a job of that
    kernelspec runs on it (a warm start) when it would get the same kernel cold, and the pool is
    filled again after each job. Each job process lives in its own session: a crash, hang,
    ``os.chdir``, environment change or memory blow-up in a job never touches the server, and a
    job outlives a server crash, to be followed again after the restart.
    """

    warm_runners = Int(
        None,
        allow_none=True,
        config=True,
        help="Runner processes kept started and idle for each kernelspec of warm_kernelspecs (from the "
        "server's start), Papermill imported and, where the kernelspec allows it, its kernel started, so "
        "that a job starts without the import (~0.7 s) and the kernel's start (~1 s). Each runner serves "
        "one job, and the pool is filled again as jobs take them. Default None: as many as jobs may run "
        "at once (MCPExtensionApp.max_concurrent_jobs). 0: none; each job starts its own runner and kernel.",
    )
    warm_kernels = Bool(
        True,
        config=True,
        help="Start the kernels of jobs ahead: each warm runner starts the kernel of a kernelspec of "
        "warm_kernelspecs, and a job of that kernelspec runs on it (moved to its working directory before "
        "its first cell). Default True. False: runners start no kernel; every job starts its kernel cold.",
    )
    warm_kernelspecs = List(
        Unicode(),
        config=True,
        help="Kernelspecs whose kernels the warm runners start ahead of jobs (warm_runners runners for each). "
        "Default []: the server's default kernelspec (MappingKernelManager.default_kernel_name, python3). "
        "Only ipykernel kernelspecs start ahead; jobs of other kernelspecs, and jobs with env_overrides, "
        "start their kernel cold.",
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
        help="Seconds between checks of a running job's process (and of its events, for a job followed "
        "after a server restart; otherwise the job process signals each event at once). Default 0.1.",
    )
    runner_start_timeout = Float(
        120.0,
        config=True,
        help="Seconds to wait for a runner process to take a job (its imports included). Default 120.",
    )

    def __init__(self, *, state_dir: str, on_event: EventSink, **kwargs: Any) -> None:
        super().__init__(state_dir=state_dir, on_event=on_event, **kwargs)
        self._pool: list[_Runner] = []
        #: Runners being started, by kernelspec name ('' for none).
        self._spawning: dict[str, int] = {}
        #: Every runner started ahead that has not been given a job (idle or starting), to end at stop.
        self._unused: set[_Runner] = set()
        #: The kernelspecs to start kernels of ahead: name -> kernelspec, as resolved for jobs.
        self._warm_specs: dict[str, dict[str, Any]] = {}
        self._pool_changed = asyncio.Event()
        self._stopping = False

    def describe(self) -> dict[str, Any]:
        idle: dict[str, int] = {}
        for entry in self._pool:
            key = entry.kernel_name or ""
            idle[key] = idle.get(key, 0) + 1
        return {
            "executor": "process",
            "warm_runners": self._pool_size(),
            "idle_runners": len(self._pool),
            "warm_kernels": {name: idle.get(name, 0) for name in self._warm_specs},
        }

    # -- runner processes ------------------------------------------------------------------

    def _pool_size(self) -> int:
        """Idle runners to keep per kernelspec (``warm_runners``, by default ``max_concurrent_jobs``)."""
        if self.warm_runners is not None:
            return max(0, self.warm_runners)
        return max(1, int(getattr(self.parent, "max_concurrent_jobs", 1) or 1))

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

    async def _prepare_warm_kernels(self) -> None:
        """Resolve ``warm_kernelspecs`` (the ones whose kernels can start ahead), then fill the pool."""
        names = list(self.warm_kernelspecs) or [self.default_kernel_name]
        if self.warm_kernels and self.resolve_kernelspec is not None:
            for name in names:
                try:
                    resolved, kernelspec = await self.resolve_kernelspec(name)
                except Exception as e:
                    self.log.warning("No kernel is started ahead of jobs for kernelspec %r: %s", name, e)
                    continue
                reason = warm_kernel.cold_reason(kernelspec)
                if reason:
                    self.log.info("Jobs of kernelspec %r start their kernel cold: %s.", resolved, reason)
                else:
                    self._warm_specs[resolved] = kernelspec
        self._fill_pool()

    def _fill_pool(self) -> None:
        size = self._pool_size()
        for name in list(self._warm_specs) or [""]:
            idle = sum(1 for r in self._pool if (r.kernel_name or "") == name)
            while not self._stopping and idle + self._spawning.get(name, 0) < size:
                self._spawning[name] = self._spawning.get(name, 0) + 1
                self._background(self._add_to_pool(name))

    async def _fill_pool_later(self) -> None:
        await asyncio.sleep(REFILL_DELAY)
        self._fill_pool()

    async def _add_to_pool(self, name: str) -> None:
        try:
            await self._start_idle_runner(name)
        finally:
            self._pool_changed.set()  # a job waiting for this runner looks again, whatever happened

    async def _start_idle_runner(self, name: str) -> None:
        try:
            proc = await self._spawn()
        except Exception:
            self._spawning[name] -= 1
            self.log.exception("Could not start a job runner process")
            return
        entry = _Runner(proc, name or None)
        self._unused.add(entry)
        try:
            assert proc.stdin is not None and proc.stdout is not None
            warm = {"kernel_name": name, "kernelspec": self._warm_specs[name]} if name else None
            proc.stdin.write((json.dumps({"warm": warm}) + "\n").encode())
            await proc.stdin.drain()
            line = await asyncio.wait_for(proc.stdout.readline(), self.runner_start_timeout)
            info = json.loads(line) if line else {}
            entry.pid, entry.start = info.get("runner_pid"), info.get("runner_start")
        except (OSError, ValueError, asyncio.TimeoutError):
            entry.pid = None
        finally:
            self._spawning[name] -= 1
        if entry.pid is None:
            self.log.warning("A job runner did not start; see %s", self._runners_log())
            await self._dismiss(entry)
        elif self._stopping:
            await self._dismiss(entry)
        else:
            self._pool.append(entry)

    def _pick(self, spec: RunSpec) -> _Runner | None:
        """The idle runner for a job: one whose kernel the job can take, else any (its kernel is
        then killed, and the job starts its own)."""
        for dead in [r for r in self._pool if not r.alive()]:
            self._pool.remove(dead)
            self.log.warning("An idle job runner (pid %s) exited; see %s", dead.pid, self._runners_log())
            self._background(self._dismiss(dead))
        if not self._pool:
            return None
        want = spec.kernel_name if not spec.env_overrides else None
        chosen = next((r for r in self._pool if want and r.kernel_name == want), None)
        if chosen is None:
            chosen = next((r for r in self._pool if r.kernel_name is None), self._pool[0])
        self._pool.remove(chosen)
        return chosen

    async def _take_runner(self, spec: RunSpec) -> _Runner:
        """An idle runner, one being started (it is further along than a new one), or a new one."""
        known = self._warm_specs.get(spec.kernel_name)
        if known is not None and spec.kernelspec is not None and known != spec.kernelspec:
            # The kernelspec changed on disk: kernels of the old one go unused; start the new one ahead.
            self._warm_specs[spec.kernel_name] = spec.kernelspec
            stale = [r for r in self._pool if r.kernel_name == spec.kernel_name]
            for entry in stale:
                self._pool.remove(entry)
                self._background(self._dismiss(entry))
        while True:
            chosen = self._pick(spec)
            if chosen is not None or not sum(self._spawning.values()) or self._stopping:
                break
            self._pool_changed.clear()
            try:
                await asyncio.wait_for(self._pool_changed.wait(), self.runner_start_timeout)
            except asyncio.TimeoutError:
                break  # the runners being started are stuck: start one for this job
        if chosen is not None:
            self._background(self._fill_pool_later())
            return chosen
        self._fill_pool()
        entry = _Runner(await self._spawn(), None)
        self._unused.add(entry)
        return entry

    def _runners_log(self) -> str:
        return os.path.join(self.state_dir, "runners.log")

    async def _dismiss(self, entry: _Runner) -> None:
        """End a runner that has no job: EOF on its stdin makes it (or its job process, which
        kills its warm kernel) exit; kill it if it does not."""
        self._unused.discard(entry)
        proc = entry.proc
        if proc.stdin is not None:
            with contextlib.suppress(Exception):
                proc.stdin.close()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and (proc.returncode is None or entry.alive()):  # noqa: ASYNC110 - a pid
            await asyncio.sleep(0.05)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        if entry.alive():
            # ipykernel ends by itself once its parent (the job process) is gone.
            process.kill_group(entry.pid, entry.start)
        await proc.wait()
        if entry.pid:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(self.state_dir, f"runner-{entry.pid}.log"))

    async def _hand_over(self, entry: _Runner, payload: bytes) -> dict[str, Any] | None:
        """Give a runner its job; returns the job process's ``{"pid", "start"}`` or None if it died."""
        self._unused.discard(entry)
        proc = entry.proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(payload)
            await proc.stdin.drain()
            proc.stdin.close()
            line = await asyncio.wait_for(self._protocol_line(proc.stdout), self.runner_start_timeout)
        except (BrokenPipeError, ConnectionResetError, asyncio.TimeoutError):
            line = b""
        # The runner exits once it has handed the job to its job process; that process keeps the
        # runner's stdout (its nudges), and asyncio's wait() also waits for that pipe to close, i.e.
        # for the job's end: reap the runner in the background, never on the way to following the job.
        if not line:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            if entry.alive():
                process.kill_group(entry.pid, entry.start)
            self._background(proc.wait())
            return None
        self._background(proc.wait())
        info: dict[str, Any] = json.loads(line)
        return info

    @staticmethod
    async def _protocol_line(stdout: asyncio.StreamReader) -> bytes:
        """The runner's next line, past the empty lines its job process writes after each event
        (a job process started for its job writes them as soon as it runs, maybe before the
        runner's own line); b"" at the end of the stream."""
        while True:
            line = await stdout.readline()
            if not line or line.strip():
                return line

    # -- JobExecutor -----------------------------------------------------------------------

    async def start(self) -> None:
        os.makedirs(self.state_dir, exist_ok=True)
        self._stopping = False
        # A stop cancels the runners' starts, some before they ran (their count was never taken back).
        self._spawning.clear()
        # Runners (and their kernels) start with the server, in the background.
        self._background(self._prepare_warm_kernels())

    async def stop(self) -> None:
        self._stopping = True
        self._pool_changed.set()
        self._pool = []
        if self.keep_running_on_shutdown:
            for active in self._active.values():
                active.detached = True
                self.job_log(active.job_id, "info", "The Jupyter server shut down; the job keeps running.")
        await self._end_all(*[self._dismiss(entry) for entry in list(self._unused)])
        self._active.clear()  # what is left was detached: the next start resumes it

    async def run(self, spec: RunSpec) -> dict[str, Any] | None:
        job_dir = self.job_dir(spec.job_id)
        os.makedirs(job_dir, exist_ok=True)
        active = _Active(spec.job_id, timeout_seconds=spec.timeout_seconds, started_at=spec.started_at or time.time())
        with self._following(active):
            payload = (json.dumps({**spec.model_dump(), "job_dir": job_dir}) + "\n").encode()
            info = None
            for _ in range(2):  # a warm runner may have died while idle: one retry with a fresh one
                entry = await self._take_runner(spec)
                info = await self._hand_over(entry, payload)
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
            active.runner_proc, active.nudges = entry.proc, entry.proc.stdout
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
            await self._wait_for_news(active)
        # The runner kills its kernel before it reports; make sure, and never leave one behind.
        if process.kill_group(active.kernel_pid, active.kernel_start):
            self.job_log(active.job_id, "warning", f"Killed the job's kernel (pid {active.kernel_pid}), left running.")
        if outcome is not None:
            return {k: v for k, v in outcome.items() if k not in ("event", "t")}
        return self._stopped_outcome(
            active, files.tail_text(os.path.join(self.job_dir(active.job_id), files.RUNNER_LOG))
        )

    async def _wait_for_news(self, active: _Active) -> None:
        """Wait for the job process's next event (its line on the pipe), at most ``poll_interval``."""
        reader = active.nudges
        if reader is None:
            await asyncio.sleep(self.poll_interval)
            return
        try:
            if not await asyncio.wait_for(reader.read(65536), self.poll_interval):
                active.nudges = None  # the job process has ended, or was started by an earlier server
        except asyncio.TimeoutError:
            pass

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
