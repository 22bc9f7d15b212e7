"""The task that runs one notebook job on a Dask worker (worker side of ``DaskJobExecutor``).

``run_notebook_job(payload)`` runs in a thread of the worker. It starts the job's runner
(``python -m jupyter_mcp_ext.jobs.runner --pipe``, see runner.py) as a subprocess in a process
session of its own, so that a crash, ``os.chdir`` or ``sys.exit`` in the notebook never reaches
the worker, and hands it the notebook's content: nothing is read from a file system shared with
the server. While the job runs, its events and log lines go to the server as Dask events
(``Worker.log_event`` on the job's topic, each message numbered ``seq``); the server's stop
request arrives in a Dask ``Variable``; the executed notebook (partial when the job failed, timed
out or was cancelled) is the task's result.

A job runs at most once: if its worker is lost the scheduler would run the task again
elsewhere, and that second attempt only reports that the first worker was lost (the ``claim``
variable names it). ``RunnerPool`` keeps a runner started ahead of need on each worker, its
imports done, as ``ProcessJobExecutor.warm_runners`` does locally.

Imported on the workers: only the standard library, ``distributed`` and this package's runner
modules (which need Papermill), never the Jupyter server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from .. import outcomes, process, runner

#: The attribute of a worker object that holds its ``RunnerPool``.
POOL_ATTRIBUTE = "_jupyter_mcp_ext_runners"
#: Seconds between two batches of log lines sent to the server.
LOG_BATCH_SECONDS = 0.1
#: Most log lines in one message.
LOG_BATCH_LINES = 200
#: Seconds a stop may take before the task kills the kernel (then the runner).
STOP_KILL_AFTER = 8.0
#: Last characters of a runner's stderr kept for the message of a runner that ended without result.
STDERR_TAIL_CHARS = 2000


def spawn_runner() -> subprocess.Popen[str]:
    """Start a runner in ``--pipe`` mode; it imports Papermill, then waits for its job on stdin."""
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter_mcp_ext.jobs.runner", "--pipe"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=runner.child_env(dict(os.environ)),
        start_new_session=True,
    )


class RunnerPool:
    """Keeps ``size`` runner processes of one worker started and idle, Papermill imported, so that
    a job does not wait for the imports (about 0.7 s); from the first job on, as
    ``ProcessJobExecutor.warm_runners`` locally. It lives in the worker process (``pool_of``): not
    a worker plugin, because a plugin is loaded by every worker of the cluster, and one without
    this package would fail to load it. An idle runner exits by itself when the worker goes away
    (its stdin closes)."""

    def __init__(self, size: int = 1) -> None:
        self.size = size
        self._idle: list[subprocess.Popen[str]] = []
        self._lock = threading.Lock()

    def _fill(self) -> None:
        with self._lock:
            while len(self._idle) < self.size:
                self._idle.append(spawn_runner())

    def take(self) -> subprocess.Popen[str]:
        """An idle runner (or a new one), and a new one started for the next job."""
        proc = None
        with self._lock:
            while self._idle and proc is None:
                candidate = self._idle.pop(0)
                if candidate.poll() is None:
                    proc = candidate
        threading.Thread(target=self._fill, daemon=True).start()
        return proc or spawn_runner()


_POOL_LOCK = threading.Lock()


def pool_of(worker: Any, size: int) -> RunnerPool | None:
    """The worker's runner pool (made at its first job), or None when ``size`` is 0."""
    if size <= 0:
        return None
    with _POOL_LOCK:
        pool = getattr(worker, POOL_ATTRIBUTE, None)
        if pool is None:
            pool = RunnerPool(size)
            setattr(worker, POOL_ATTRIBUTE, pool)
        return pool


class _Forwarder:
    """Sends a job's messages to the server as Dask events, numbered, log lines in batches.

    ``Worker.log_event`` is thread-safe and does not wait: the event rides the worker's batched
    stream to the scheduler, which keeps the topic's recent history (so a restarted server can
    replay what it missed) and pushes it to the subscribed server.
    """

    def __init__(self, worker: Any, topic: str) -> None:
        self.worker = worker
        self.topic = topic
        self.seq = 0
        self._lines: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._flush_loop, daemon=True)
        self._thread.start()

    def _send(self, kind: str, **fields: Any) -> None:
        self.seq += 1
        self.worker.log_event(self.topic, {"seq": self.seq, "kind": kind, **fields})

    def _flush_locked(self) -> None:
        if self._lines:
            lines, self._lines = self._lines, []
            self._send("logs", lines=lines)

    def event(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._flush_locked()  # log lines before the event, as they happened
            self._send("event", event=event)

    def log(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._lines.append(record)
            if len(self._lines) >= LOG_BATCH_LINES:
                self._flush_locked()

    def _flush_loop(self) -> None:
        while not self._closed.wait(LOG_BATCH_SECONDS):
            with self._lock:
                self._flush_locked()

    def close(self) -> int:
        """Send what is pending; returns the last sequence number."""
        self._closed.set()
        self._thread.join(1)
        with self._lock:
            self._flush_locked()
            return self.seq


def _variable_value(variable: Any, timeout: float) -> Any:
    """The value of a Dask Variable, or None if it is not set within ``timeout`` seconds."""
    try:
        return variable.get(timeout=timeout)
    except (TimeoutError, asyncio.TimeoutError):
        return None


def identity(worker: Any) -> dict[str, Any]:
    """What names a worker in messages: its address, name, host and pid."""
    return {
        "worker": worker.address,
        "worker_name": str(worker.name),
        "host": socket.gethostname(),
        "worker_pid": os.getpid(),
    }


def lost_outcome(previous: dict[str, Any]) -> dict[str, Any]:
    """The outcome of a job whose worker was lost while it ran (reported by a second attempt)."""
    return outcomes.failed("runner_lost", worker_lost_message(previous), "WorkerLost")


def worker_lost_message(ident: dict[str, Any]) -> str:
    name = ident.get("worker_name")
    address = ident.get("worker")
    which = f"{name!r} ({address})" if name and name != address else str(address)
    return (
        f"The Dask worker {which} running the job was lost (it died, was killed, or lost its connection "
        "to the scheduler); the job was not run again. Its output notebook holds what was saved before."
    )


def _working_dir(payload: dict[str, Any], worker: Any) -> tuple[str, bool]:
    """The job's working directory on this worker, and whether it is a temporary one to remove:
    ``<worker_root_dir>/<working_dir>`` when the operator mounted the server's root there, else
    a new directory in the worker's local directory (its scratch space)."""
    root = payload.get("worker_root_dir") or ""
    if root:
        path = os.path.join(root, *[p for p in (payload["spec"].get("working_dir") or "").split("/") if p])
        os.makedirs(path, exist_ok=True)
        return path, False
    scratch = getattr(worker, "local_directory", None) or None
    return tempfile.mkdtemp(prefix=f"jupyter-mcp-ext-{payload['job_id']}-", dir=scratch), True


def run_notebook_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one notebook job on this worker (the task ``DaskJobExecutor`` submits).

    ``payload``: ``job_id``, ``topic`` (the Dask event topic), ``claim`` and ``stop`` (names of
    Dask Variables), ``worker_root_dir``, and ``spec`` (the runner's spec with ``input_notebook``).
    Returns ``{"outcome", "notebook" (JSON text or None), "worker", "seq"}``.
    """
    from distributed import Variable, get_worker

    worker = get_worker()
    me = identity(worker)
    claim = Variable(payload["claim"])
    previous = _variable_value(claim, 0)
    if previous is not None:
        return {"outcome": lost_outcome(previous), "notebook": None, "worker": me, "seq": 0, "rerun": True}
    claim.set(me)
    stop = Variable(payload["stop"])
    forward = _Forwarder(worker, payload["topic"])
    forward.event({"event": "worker", "t": time.time(), **me})
    reason = _variable_value(stop, 0)
    if reason is not None:
        forward.close()
        outcome = {"status": "cancelled", "error": None, "note": "Cancelled before it started."}
        return {"outcome": outcome, "notebook": None, "worker": me, "seq": forward.seq}
    cwd, temporary = _working_dir(payload, worker)
    pool = pool_of(worker, int(payload.get("warm_runners", 1)))
    proc = pool.take() if pool is not None else spawn_runner()
    try:
        return _Job(payload, proc, forward, stop, worker, me).run(cwd)
    finally:
        if temporary:
            shutil.rmtree(cwd, ignore_errors=True)


class _Job:
    """One job's runner process, followed from the task's thread."""

    def __init__(
        self, payload: dict[str, Any], proc: subprocess.Popen[str], forward: _Forwarder, stop: Any, worker: Any, me: Any
    ) -> None:
        self.payload = payload
        self.proc = proc
        self.forward = forward
        self.stop_variable = stop
        self.worker = worker
        self.me = me
        self.key = payload.get("key")
        self.notebook: str | None = None
        self.outcome: dict[str, Any] | None = None
        self.kernel: tuple[int | None, int | None] = (None, None)
        self.stop_reason: str | None = None
        self.done = threading.Event()
        self.stderr_tail = ""
        self.saves = 0  # the output notebooks the runner has saved so far
        self._stdin_lock = threading.Lock()

    def send(self, command: dict[str, Any]) -> None:
        with self._stdin_lock, contextlib.suppress(OSError, ValueError):
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()

    def run(self, cwd: str) -> dict[str, Any]:
        spec = {**self.payload["spec"], "cwd": cwd}
        self.send(spec)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        threading.Thread(target=self._watch_stop, daemon=True).start()
        interval = float(self.payload.get("output_interval") or 0)
        if interval > 0 and self.payload.get("output"):
            threading.Thread(target=self._send_outputs, args=(interval,), daemon=True).start()
        self.forward.log(
            {
                "t": time.time(),
                "level": "info",
                "message": f"Running on Dask worker {self.me['worker_name']!r} ({self.me['worker']}, host "
                f"{self.me['host']}, runner pid {self.proc.pid}) in {cwd}.",
            }
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if "notebook" in record:
                self.notebook = record["notebook"]
                self.saves += 1
            elif "event" in record:
                if record["event"] == "kernel_started":
                    self.kernel = (record.get("kernel_pid"), record.get("kernel_start"))
                if record["event"] == "finished":
                    self.outcome = {k: v for k, v in record.items() if k not in ("event", "t")}
                else:
                    self.forward.event(record)
            elif "level" in record:
                self.forward.log(record)
        self.proc.wait()
        self.done.set()
        # The runner kills its kernel before it reports; make sure no kernel is left behind.
        process.kill_group(*self.kernel)
        if self.outcome is None:
            self.outcome = self._ended_without_result()
        seq = self.forward.close()
        return {"outcome": self.outcome, "notebook": self.notebook, "worker": self.me, "seq": seq}

    def _ended_without_result(self) -> dict[str, Any]:
        reason = self.stop_reason
        if reason in outcomes.STOP_REASONS:
            timeout = self.payload["spec"].get("timeout_seconds") or 0
            return outcomes.stopped(reason, timeout, cancelled="Cancelled; the runner was stopped.")
        message = (
            f"The job's runner process (pid {self.proc.pid} on Dask worker {self.me['worker']}) ended with exit "
            f"code {self.proc.returncode} without reporting a result: it was killed or ran out of memory."
        )
        if self.stderr_tail.strip():
            message += f" Its last output: {self.stderr_tail.strip()[-1000:]}"
        return outcomes.failed("runner_lost", message, "RunnerLost")

    def _send_outputs(self, interval: float) -> None:
        """Every ``interval`` seconds, the latest saved output notebook, if it changed, for the server
        to write while the job runs (as a local job's output grows cell by cell): in a Dask
        Variable, which holds only the latest, and an event that says it is there."""
        from distributed import Variable

        output = Variable(self.payload["output"])
        sent = 0
        while not self.done.wait(interval):
            saves, notebook = self.saves, self.notebook
            if saves == sent or notebook is None:
                continue
            try:
                output.set(notebook)
            except Exception:
                continue  # the next round tries again; the final notebook is the task's result
            sent = saves
            self.forward.event({"event": "output_saved", "t": time.time(), "saves": saves})

    def _drain_stderr(self) -> None:
        """Keep the end of the runner's (and its kernel's) raw stderr, for diagnostics."""
        stderr = self.proc.stderr
        assert stderr is not None
        while chunk := stderr.read(4096):
            self.stderr_tail = (self.stderr_tail + chunk)[-STDERR_TAIL_CHARS:]

    def _released(self) -> bool:
        """Whether the scheduler no longer wants this task's result (the server cancelled it)."""
        if not self.key:
            return False
        ts = self.worker.state.tasks.get(self.key)
        return ts is None or ts.state in ("cancelled", "released", "forgotten")

    def _watch_stop(self) -> None:
        """Wait for the server's stop request (or the task being cancelled), then stop the job."""
        while not self.done.is_set():
            reason = _variable_value(self.stop_variable, 1.0)
            if reason is None and self._released():
                reason = "cancel"
            if reason is not None:
                break
        else:
            return
        self.stop_reason = reason
        self.send({"stop": reason})
        # The runner interrupts the kernel and kills it after 3 s; this is the backstop.
        if self.done.wait(STOP_KILL_AFTER / 2):
            return
        process.kill_group(*self.kernel)
        if self.done.wait(STOP_KILL_AFTER / 2):
            return
        process.kill_group(self.proc.pid)
