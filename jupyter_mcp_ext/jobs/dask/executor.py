"""The Dask job executor (service layer): each notebook job a task on a Dask cluster.

A worker runs the task, and the job in a subprocess of its own.

Selected by configuration alone: ``MCPExtensionApp.job_executor_class =
"jupyter_mcp_ext.jobs.dask.DaskJobExecutor"`` and ``MCPExtensionApp.dask_scheduler_address``
(or ``dask_gateway_cluster``, a Dask Gateway cluster by name). See docs/dask.md.

No file system is shared with the workers. The server reads the input notebook through the
notebook service (the ContentsManager) and sends its content with the parameters, the kernel
name and the environment overrides in the task (``task.run_notebook_job``). The worker sends the
job's events and log lines back as Dask events on the job's topic (``Worker.log_event``; the
server subscribes with ``Client.subscribe_topic``, ``messages.py``): they are pushed as they
happen, they do not block the worker, and the scheduler keeps each topic's recent history, so
that a restarted server replays what it missed (messages are numbered; ``Client.get_events``).
Pub/sub is gone from distributed and ``Queue`` is experimental and polled; events are what
distributed itself uses to forward workers' prints. The executed notebook is the task's result; the server writes it
as it writes a local job's output (the job service's output writer): through the ContentsManager,
under the notebook's lock, never over a change someone else saved to that file meanwhile.

The task's future is published on the scheduler (``Client.publish_dataset``) for as long as the
job runs: it keeps the task alive when the server goes away, and a restarted server takes it up
again (``Client.get_dataset``) to follow the job to its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

from traitlets import Bool, Dict, Float, Int, Unicode

from ...exceptions import JobsUnavailable, MCPExtError
from .. import outcomes
from ..executor import STOP_KILL_AFTER, ActiveJob, EventSink, JobExecutor
from ..models import RunSpec
from .cluster import ClusterConnection
from .messages import JobMessages

#: Prefix of the names this executor gives things on the scheduler (task key, topic, variables).
PREFIX = "jupyter-mcp-ext-"
#: Seconds to wait for messages a finished task sent before its result, when they are late.
LATE_MESSAGES_SECONDS = 3.0


@dataclass
class _Active(ActiveJob):
    """What the executor follows of one job on the cluster: its task's future, its worker, and the
    messages applied so far."""

    output_api_path: str | None = None
    future: Any = None
    worker: dict[str, Any] | None = None
    applied_seq: int = 0
    pending: dict[int, dict[str, Any]] = field(default_factory=dict)
    stop_sent: bool = False
    lost: str | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    output_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    progressed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def name(self) -> str:
        return PREFIX + self.job_id


def task_entry() -> Any:
    """The function each job's task calls on its worker: it imports the task module there.

    Made here as a nested function so that Dask ships it by value (cloudpickle): a worker without
    this package can still run it, and the job fails at once saying what the workers need, instead
    of the worker failing to deserialize the task, restarting and taking it up again until the
    scheduler gives up on it.
    """

    def run_on_worker(payload: dict[str, Any]) -> dict[str, Any]:
        import importlib
        import importlib.util

        missing = [name for name in ("jupyter_mcp_ext", "papermill") if importlib.util.find_spec(name) is None]
        if not missing:
            task = importlib.import_module("jupyter_mcp_ext.jobs.dask.task")
            return dict(task.run_notebook_job(payload))
        from distributed import get_worker

        worker = get_worker()
        message = (
            f"The Dask worker {str(worker.name)!r} ({worker.address}) cannot run notebook jobs: "
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed there. The workers need "
            "jupyter-mcp-ext, Papermill, distributed and the notebooks' kernels (docs/dask.md)."
        )
        outcome = {
            "status": "failed",
            "error": {"type": "WorkerNotReady", "message": message, "reason": "internal_error"},
        }
        return {"outcome": outcome, "notebook": None, "worker": {"worker": worker.address}, "seq": 0}

    return run_on_worker


class DaskJobExecutor(JobExecutor[_Active]):
    """Runs each notebook job as a task on a Dask cluster (``MCPExtensionApp.dask_scheduler_address``
    or ``dask_gateway_cluster``); job statuses, progress, logs, cancel and restarts behave as with
    ``ProcessJobExecutor``. The workers need this package, Papermill and the kernels
    (docs/dask.md)."""

    keep_running_on_shutdown = Bool(
        True,
        config=True,
        help="When the server shuts down, leave jobs running on the cluster; the next server start takes "
        "them up again and records their results. Default True. False stops them (partial output kept, "
        "marked failed with reason server_shutdown).",
    )
    cluster_concurrency = Bool(
        False,
        config=True,
        help="Hand the concurrency of jobs to the cluster: every job is submitted at once and waits on the "
        "cluster for a free worker thread (or for the Dask resources in 'resources'), instead of waiting "
        "as 'queued' for MCPExtensionApp.max_concurrent_jobs. Default False: max_concurrent_jobs holds.",
    )
    resources = Dict(
        {},
        config=True,
        help="Dask worker resources each job needs, e.g. {'notebook_jobs': 1} with workers started as "
        "'dask worker ... --resources notebook_jobs=2' to run at most 2 jobs per worker. Default {}: a "
        "job takes one worker thread.",
    )
    warm_runners = Int(
        1,
        config=True,
        help="Runner processes each worker keeps started and idle from its first job on, Papermill already "
        "imported. Default 1. 0 starts a runner per job.",
    )
    worker_root_dir = Unicode(
        "",
        config=True,
        help="Where the server's root directory is mounted on the workers, if it is. Set, a job runs in "
        "<worker_root_dir>/<its working directory> (the notebook's directory, or working_dir_override), "
        "so that relative paths work as locally. Default '': each job runs in a new empty temporary "
        "directory on its worker, removed afterwards.",
    )
    output_save_interval = Float(
        5.0,
        config=True,
        help="Seconds between writes of a running job's output notebook (what it has executed so far), so that "
        "it can be watched while the job runs and a job whose worker is lost keeps its partial output. "
        "Default 5. 0 writes it only when the job ends.",
    )
    connect_timeout = Float(
        10.0,
        config=True,
        help="Seconds to wait for the scheduler when connecting. While it cannot be reached, new jobs fail "
        "at once with the last connection error; the executor keeps trying in the background. Default 10.",
    )
    monitor_interval = Float(
        1.0,
        config=True,
        help="Seconds between checks of the cluster (connection, workers, lost workers of running jobs). Default 1.",
    )

    def __init__(self, *, state_dir: str, on_event: EventSink, **kwargs: Any) -> None:
        super().__init__(state_dir=state_dir, on_event=on_event, **kwargs)
        self.cluster = ClusterConnection(
            scheduler_address=str(getattr(self.parent, "dask_scheduler_address", "") or ""),
            gateway_cluster=str(getattr(self.parent, "dask_gateway_cluster", "") or ""),
            connect_timeout=self.connect_timeout,
            monitor_interval=self.monitor_interval,
            log=self.log,
            on_checked=self._checked,
            on_connected=self._reconnected,
        )
        self.messages = JobMessages(
            job_dir=self.job_dir,
            append=self._append,
            job_log=self.job_log,
            on_event=self.on_event,
            on_output_saved=lambda active: self._background(self._write_partial(active)),
            connect_timeout=self.connect_timeout,
            log=self.log,
        )

    # -- the cluster ------------------------------------------------------------------------

    @property
    def app(self) -> Any:
        """The extension app (the ``parent`` this executor was built with)."""
        return self.parent

    @property
    def _client(self) -> Any:
        return self.cluster.client

    def _where(self) -> str:
        return self.cluster.where()

    async def _client_ready(self, wait: float | None = None) -> Any:
        return await self.cluster.ready(wait)

    async def start(self) -> None:
        os.makedirs(self.state_dir, exist_ok=True)
        await self.cluster.start()

    def _checked(self, workers: dict[str, Any]) -> None:
        """After each look at the cluster: a running job whose worker is gone is lost."""
        for active in list(self._active.values()):
            worker = (active.worker or {}).get("worker")
            if worker and worker not in workers and active.lost is None and not active.done.is_set():
                from .task import worker_lost_message

                active.lost = worker_lost_message(active.worker or {})
                active.wake.set()

    def _reconnected(self) -> None:
        for active in list(self._active.values()):
            if active.future is not None and active.future.status == "cancelled":
                active.wake.set()  # its follower takes the job up again on the new connection

    async def ensure_ready(self) -> None:
        await self.cluster.ready()

    def running_limit(self, configured: int) -> int:
        return 1_000_000 if self.cluster_concurrency else configured

    def describe(self) -> dict[str, Any]:
        """The cluster as last seen (never waits for it): for system_info and the status endpoint."""
        return {
            "executor": "dask",
            **self.cluster.describe(),
            "jobs_on_cluster": sum(1 for a in self._active.values() if a.future is not None and not a.detached),
            "concurrency": "cluster" if self.cluster_concurrency else "max_concurrent_jobs",
        }

    # -- lifecycle --------------------------------------------------------------------------

    async def stop(self) -> None:
        if self.keep_running_on_shutdown:
            for active in self._active.values():
                if active.future is not None:
                    active.detached = True
                    active.wake.set()
                    self.job_log(
                        active.job_id, "info", "The Jupyter server shut down; the job keeps running on the cluster."
                    )
        await self._end_all()
        await self.cluster.stop()
        self._active.clear()

    # -- running a job ----------------------------------------------------------------------

    def _api_path(self, os_path: str) -> str:
        root = getattr(self.app.serverapp.contents_manager, "root_dir", "") or ""
        return os.path.relpath(os_path, root).replace(os.sep, "/")

    async def _input_text(self, spec: RunSpec) -> str:
        """The input notebook's JSON, read through the notebook service (the ContentsManager)."""
        import nbformat

        notebooks = self.app.services.notebooks
        _, nb = await notebooks.get(spec.notebook_path, argument="notebook_path")
        return str(nbformat.writes(nb))

    def _payload(self, active: _Active, spec: RunSpec, text: str) -> dict[str, Any]:
        return {
            "job_id": spec.job_id,
            "key": active.name,
            "topic": active.name,
            "claim": active.name + "-claim",
            "stop": active.name + "-stop",
            "worker_root_dir": self.worker_root_dir,
            "warm_runners": self.warm_runners,
            "output": active.name + "-output",
            "output_interval": self.output_save_interval,
            "spec": {
                "job_id": spec.job_id,
                "notebook_path": spec.notebook_path,
                "output_api_path": active.output_api_path,
                "working_dir": self._api_path(spec.cwd) if spec.cwd else "",
                "input_notebook": text,
                "parameters": spec.parameters,
                # The worker resolves the kernel by name among its own kernelspecs: the server's
                # (its argv, its paths) may not exist there.
                "kernel_name": spec.kernel_name,
                "language": spec.language,
                "env_overrides": spec.env_overrides,
                "timeout_seconds": spec.timeout_seconds,
                "start_timeout": spec.start_timeout,
            },
        }

    async def run(self, spec: RunSpec) -> dict[str, Any] | None:
        active = _Active(spec.job_id, timeout_seconds=spec.timeout_seconds, started_at=spec.started_at or time.time())
        active.output_api_path = self._api_path(spec.output_path)
        with self._following(active):
            os.makedirs(self.job_dir(spec.job_id), exist_ok=True)
            try:
                client = await self._client_ready()
            except JobsUnavailable as e:
                self.job_log(spec.job_id, "error", str(e))
                return outcomes.failed("internal_error", str(e), "ClusterUnavailable")
            try:
                text = await self._input_text(spec)
            except MCPExtError as e:
                return outcomes.failed("bad_input", f"The input notebook could not be prepared: {e}", type(e).__name__)
            if active.stop_reason is not None:
                return self._stopped_outcome(active)
            self.messages.subscribe(client, active)
            future = client.submit(
                task_entry(),
                self._payload(active, spec, text),
                key=active.name,
                pure=False,
                retries=0,
                resources=dict(self.resources) or None,
            )
            active.future = future
            await client.publish_dataset(future, name=active.name, override=True)
            self.job_log(spec.job_id, "info", f"Submitted to {self._where()}; waiting for a worker.")
            if active.stop_reason is not None:
                await self._send_stop(active)
            return await self._follow(active)

    async def resume(self, job_id: str, known: dict[str, Any]) -> dict[str, Any] | None:
        active = _Active(
            job_id,
            timeout_seconds=known.get("timeout_seconds") or 0.0,
            started_at=known.get("started_at") or time.time(),
        )
        with self._following(active):
            active.applied_seq, active.worker, active.output_api_path = self.messages.recorded(job_id)
            try:
                client = await self._client_ready(wait=self.connect_timeout)
            except JobsUnavailable as e:
                message = f"The job could not be taken up again after the server restarted: {e}"
                self.job_log(job_id, "error", message)
                return outcomes.failed("runner_lost", message, "ClusterUnavailable")
            self.messages.subscribe(client, active)
            future = await client.get_dataset(active.name, default=None)
            if future is None:
                message = (
                    f"The job's task is no longer known to {self._where()} (the scheduler restarted, or the task "
                    "ended and its result was taken by an earlier server); its result is lost."
                )
                self.job_log(job_id, "error", message)
                return outcomes.failed("runner_lost", message, "RunnerLost")
            active.future = future
            await self.messages.replay(client, active)
            self.job_log(job_id, "info", f"The Jupyter server restarted; following the job on {self._where()} again.")
            return await self._follow(active)

    # -- following a job to its end -------------------------------------------------------------

    async def _follow(self, active: _Active) -> dict[str, Any] | None:
        while True:
            future = active.future
            waiter = asyncio.ensure_future(self._result(future))
            try:
                while not waiter.done():
                    active.wake.clear()
                    wake = asyncio.ensure_future(active.wake.wait())
                    await asyncio.wait({waiter, wake}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                    wake.cancel()
                    if active.detached:
                        return None
                    if active.lost is not None and not waiter.done():
                        await self._write_partial(active)  # the latest the worker sent before it was lost
                        await self._forget(active)
                        return outcomes.failed("runner_lost", active.lost, "WorkerLost")
                    self._timeout_backstop(active)
            finally:
                waiter.cancel()
            status, value = waiter.result()
            if status == "finished":
                return await self._finished(active, value)
            if status == "cancelled" and getattr(value, "reason", "") == "scheduler-connection-lost":
                # The connection dropped; the task may live on: take it up again once reconnected.
                again = await self._reattach(active)
                if again is not None:
                    active.future = again
                    continue
                message = (
                    f"The connection to {self._where()} was lost while the job ran, and the job could not be "
                    "found again (the scheduler restarted or stays unreachable)."
                )
                self.job_log(active.job_id, "error", message)
                return outcomes.failed("runner_lost", message, "RunnerLost")
            await self._forget(active)
            if active.lost is not None:
                return outcomes.failed("runner_lost", active.lost, "WorkerLost")
            if status == "cancelled":
                if active.stop_reason is not None:
                    return self._stopped_outcome(active)
                message = f"The job's task was cancelled on {self._where()} ({value})."
                return outcomes.failed("runner_lost", message, "RunnerLost")
            return self._task_error(active, value)

    async def _result(self, future: Any) -> tuple[str, Any]:
        try:
            return "finished", await future.result()
        except Exception as e:
            return ("cancelled" if future.status == "cancelled" else "error"), e

    async def _reattach(self, active: _Active) -> Any:
        try:
            client = await self._client_ready(wait=max(self.connect_timeout, 30.0))
            future = await client.get_dataset(active.name, default=None)
        except Exception:
            return None
        if future is not None:
            self.messages.subscribe(client, active)
            await self.messages.replay(client, active)
            self.job_log(active.job_id, "info", f"Reconnected to {self._where()}; following the job again.")
        return future

    async def _finished(self, active: _Active, result: dict[str, Any]) -> dict[str, Any]:
        client = self._client
        last = int(result.get("seq") or 0)
        deadline = time.monotonic() + LATE_MESSAGES_SECONDS
        while active.applied_seq < last and time.monotonic() < deadline:
            active.progressed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(active.progressed.wait(), max(0.01, deadline - time.monotonic()))
        if active.applied_seq < last and client is not None:
            await self.messages.replay(client, active)
        active.done.set()  # no message after the result
        if result.get("worker") and active.worker is None:
            active.worker = result["worker"]
        outcome = dict(result.get("outcome") or {})
        notebook = result.get("notebook")
        if notebook and active.output_api_path:
            try:
                async with active.output_lock:
                    await self._write_output(active, notebook)
            except Exception as e:
                self.log.exception("Could not write the output notebook of job %s", active.job_id)
                message = f"The job ran, but its output notebook {active.output_api_path!r} could not be written: {e}"
                self.job_log(active.job_id, "error", message)
                if outcome.get("status") == "completed":
                    outcome = {**outcome, **outcomes.failed("internal_error", message, type(e).__name__)}
        # Releasing the task on the scheduler need not delay the job's end (and the next queued job).
        self._background(self._forget(active))
        return outcome

    async def _write_partial(self, active: _Active) -> None:
        """Write the output notebook a running job has saved so far (the latest the worker sent)."""
        from distributed import Variable

        client = self._client
        if client is None or not active.output_api_path:
            return
        async with active.output_lock:
            if active.done.is_set():
                return  # the final notebook is written instead
            try:
                text = await asyncio.wait_for(Variable(active.name + "-output", client=client).get(timeout=5), 10)
                if not active.done.is_set():
                    await self._write_output(active, text)
            except Exception as e:
                self.log.warning("Could not write the partial output of job %s: %s", active.job_id, e)

    async def _write_output(self, active: _Active, text: str) -> None:
        """Hand the notebook the worker sent to the job service, as the local runner does: saved
        whole at the job's staging path (written beside it, then renamed over it), then announced
        by an ``output_saved`` event. The service writes it to output_path through the notebook
        service, under the notebook's lock, and checks first that nobody else saved that file since
        the job's previous write (else their work is kept and the output goes beside it)."""
        from ..output_writer import OUTPUT_STAGING_NAME

        path = os.path.join(self.job_dir(active.job_id), OUTPUT_STAGING_NAME)

        def save() -> None:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(path + ".tmp", path)

        await asyncio.to_thread(save)
        self.on_event(active.job_id, {"event": "output_saved", "t": time.time()})

    def _task_error(self, active: _Active, error: BaseException) -> dict[str, Any]:
        name = type(error).__name__
        if name == "KilledWorker":
            message = f"The Dask workers running the job kept dying ({error}); the scheduler gave up on it. " + (
                f"Last worker: {active.worker.get('worker')}." if active.worker else ""
            )
            return outcomes.failed("runner_lost", message, "WorkerLost")
        hint = ""
        if isinstance(error, ImportError) or name == "ModuleNotFoundError":
            hint = " The workers need jupyter-mcp-ext, Papermill and distributed installed (docs/dask.md)."
        message = f"The job's task failed on {self._where()}: {name}: {error}.{hint}"
        self.job_log(active.job_id, "error", message)
        return outcomes.failed("internal_error", message, name)

    def _stopped_outcome(self, active: _Active) -> dict[str, Any]:
        where = "before a worker took it" if active.worker is None else "on the cluster"
        reason = active.stop_reason or "server_shutdown"
        return outcomes.stopped(reason, active.timeout_seconds, cancelled=f"Cancelled {where}.")

    async def _forget(self, active: _Active) -> None:
        """Drop what the scheduler keeps of a job that ended (its future, variables, subscription)."""
        active.done.set()
        client = self._client
        if client is None or client.status != "running":
            return
        from distributed import Variable

        with contextlib.suppress(Exception):
            client.unsubscribe_topic(active.name)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.unpublish_dataset(active.name), 5)
        if active.future is not None and not active.future.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.cancel([active.future], force=True), 5)
        for suffix in ("-claim", "-stop", "-output"):
            with contextlib.suppress(Exception):
                Variable(active.name + suffix, client=client).delete()

    # -- stopping ----------------------------------------------------------------------------

    async def _request_stop(self, active: _Active) -> bool:
        if active.future is None:
            return False  # not submitted yet: run sees stop_reason before it submits
        await self._send_stop(active)
        if active.worker is None and self._client is not None:
            # Still waiting on the cluster: no worker runs it yet (one that just took it
            # sees its task cancelled and stops the runner).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._client.unpublish_dataset(active.name), 5)
                await asyncio.wait_for(self._client.cancel([active.future], force=True), 5)
        return True

    async def _send_stop(self, active: _Active) -> None:
        from distributed import Variable

        client = self._client
        if client is None or active.stop_sent:
            return
        try:
            await asyncio.wait_for(Variable(active.name + "-stop", client=client).set(active.stop_reason), 5)
            active.stop_sent = True
        except Exception as e:
            self.log.warning("Could not send the stop request of job %s: %s", active.job_id, e)

    async def _escalate(self, active: _Active) -> None:
        """If the worker does not stop the job in time, the server gives up on it (the worker's
        task kills the kernel and the runner on its own after ``STOP_KILL_AFTER``)."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(active.done.wait(), STOP_KILL_AFTER + 2)
            return
        self.job_log(active.job_id, "warning", "The job did not stop in time on the cluster: cancelling its task.")
        client = self._client
        if client is not None and active.future is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.unpublish_dataset(active.name), 5)
                await asyncio.wait_for(client.cancel([active.future], force=True), 5)
