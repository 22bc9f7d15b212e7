"""One notebook job inside its job process (job process): its reports, its stop and its outcome.

Papermill runs it, and ``JobRun`` reports its events and log, stops it on request or at its
timeout, and decides its outcome.

Inside the job process: ``os.chdir`` to the working directory, ``env_overrides`` applied to
``os.environ``, Papermill with an engine of our own (``papermill_engine.py``) that records the
kernel's pid and every cell's reply. A stop (SIGTERM from the server, reason in the ``stop`` file;
a stop command in ``--pipe`` mode) or the job's timeout interrupts the kernel, kills its process
group if it does not stop within ``STOP_GRACE_SECONDS``, and lets Papermill save the partial output
notebook. The final status comes from what this process saw, never from Papermill's output
metadata. The process around it (forking, detaching, the ``--pipe`` protocol) is ``runner.py``.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
import traceback
from typing import Any

from . import files, outcomes, process
from .papermill_engine import (
    ENGINE_NAME,
    MEMORY_SCHEME,
    JobStopped,
    MemoryIO,
    PapermillLogHandler,
    register_engine,
    register_staging,
)
from .warm_kernel import MOVE_CODE, WarmKernel

#: Seconds between interrupting the kernel and killing it, when stopping a job.
STOP_GRACE_SECONDS = 3.0
#: Seconds after which a stopping job process that is still stuck writes its result and exits.
STOP_HARD_LIMIT_SECONDS = 12.0
#: ``sys.exit`` values that IPython reports as a SystemExit error but that mean success.
SUCCESS_EXIT_VALUES = ("", "0", "None", "False")
#: Environment variable carrying the PYTHONPATH the server had before adding this package's path.
ORIGINAL_PYTHONPATH = "JUPYTER_MCP_EXT_ORIGINAL_PYTHONPATH"
MAX_TRACEBACK_CHARS = 20_000


def restore_environment() -> None:
    """Give this process the server's PYTHONPATH back (the runner's own put this package first),
    before any kernel starts from its environment. Safe to call twice."""
    original = os.environ.pop(ORIGINAL_PYTHONPATH, None)
    if original is not None:
        if original:
            os.environ["PYTHONPATH"] = original
        else:
            os.environ.pop("PYTHONPATH", None)


def strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def clean_traceback(lines: list[str] | None) -> list[str]:
    """The traceback lines without ANSI colour codes, cut to ``MAX_TRACEBACK_CHARS`` in total."""
    out: list[str] = []
    used = 0
    for line in lines or []:
        line = strip_ansi(line)
        if used + len(line) > MAX_TRACEBACK_CHARS:
            out.append(f"[... {len(lines or []) - len(out)} more traceback lines cut]")
            break
        out.append(line)
        used += len(line)
    return out


def index_map(raw_cells: list[Any], final_cells: list[Any]) -> list[int | None]:
    """Map each cell index of the notebook Papermill runs to the index in the input notebook.

    Papermill removes its old error-marker cells and inserts one ``injected-parameters`` cell
    (or replaces an existing one in place). The injected cell maps to None.
    """
    marker = "papermill-error-cell-tag"
    kept = [i for i, c in enumerate(raw_cells) if marker not in (c.get("metadata", {}).get("tags") or [])]
    if len(final_cells) == len(kept):
        return list(kept)
    if len(final_cells) == len(kept) + 1:
        for p, cell in enumerate(final_cells):
            if "injected-parameters" in (cell.get("metadata", {}).get("tags") or []):
                return [*kept[:p], None, *kept[p:]]
    return list(range(len(final_cells)))


class JobRun:
    """One job inside the job process: its reporting, its stop logic and its outcome."""

    def __init__(
        self,
        spec: dict[str, Any],
        sink: files.LogWriter | None = None,
        *,
        warm_kernel: WarmKernel | None = None,
        nudge_fd: int | None = None,
    ) -> None:
        """``spec``: a ``RunSpec`` as a dict, with ``job_dir`` (file mode) or ``input_notebook``
        (the notebook's JSON text, in-memory mode). ``sink``: where events, log lines and output
        notebook saves go in in-memory mode (one writer keeps them in order); else the job
        directory's files. ``warm_kernel``: a kernel this process started ahead, which the job
        takes if it would get the same kernel cold (else it is killed). ``nudge_fd``: a
        non-blocking pipe to the server, written a byte after each event so that the server reads
        the events file at once instead of at its next poll."""
        self.spec = spec
        self.warm_kernel = warm_kernel
        #: Whether the job took the warm kernel (decided just before Papermill starts).
        self.warm = False
        self.nudge_fd = nudge_fd
        self.job_dir: str | None = spec.get("job_dir")
        if sink is not None:
            self.events: files.JsonLinesWriter = sink
            self.log = sink
        else:
            assert self.job_dir, "a job directory, or a sink for in-memory jobs"
            self.events = files.JsonLinesWriter(os.path.join(self.job_dir, files.EVENTS))
            self.log = files.LogWriter(os.path.join(self.job_dir, files.LOG))
        self.sink = sink
        self.stdout = files.StreamLines(self.log, "stdout")
        self.stderr = files.StreamLines(self.log, "stderr")
        self.stop_reason: str | None = None
        self.phase = "prepare"  # prepare -> kernel -> cells
        self.kernel_pid: int | None = None
        self.kernel_start: int | None = None
        self.client: Any = None
        self.cells_total = 0
        self.cells_executed = 0
        self.cells_succeeded = 0
        self.cells_failed = 0
        self.current: int | None = None  # index in the executed notebook
        self.current_started: float | None = None
        self.stopped_at: int | None = None  # the cell running when a stop was requested
        self.fatal_error: dict[str, Any] | None = None
        self.allowed_errors: set[int] = set()  # cells whose error their raises-exception tag allows
        self.exit_note: str | None = None
        self.exit_cell: int | None = None  # the cell that ended the run with sys.exit(0)
        self.map: list[int | None] = []
        self.raw_cells: list[Any] = []
        self.done = threading.Event()
        self._finish_lock = threading.Lock()
        self._finished = False
        self.started = time.time()

    # -- reporting -------------------------------------------------------------------------

    def event(self, name: str, **fields: Any) -> None:
        self.events.write({"event": name, "t": time.time(), **fields})
        if self.nudge_fd is not None:
            try:
                os.write(self.nudge_fd, b"\n")
            except BlockingIOError:
                pass  # the server is not reading (it left the job running): it polls instead
            except OSError:
                self.nudge_fd = None  # the server is gone

    def input_index(self, index: int | None) -> int | None:
        if index is None:
            return None
        return self.map[index] if 0 <= index < len(self.map) else index

    def cell_fields(self, index: int | None) -> dict[str, Any]:
        """The cell at ``index`` of the executed notebook named three ways: ``cell_index`` in the
        input notebook, ``output_cell_index`` in the output notebook, and its ``cell_id``."""
        if index is None:
            return {"cell_index": None}
        cells = self.client.nb.cells if self.client is not None else []
        cell_id = cells[index].get("id") if 0 <= index < len(cells) else None
        return {"cell_index": self.input_index(index), "output_cell_index": index, "cell_id": cell_id}

    def cell_label(self, index: int | None) -> str:
        mapped = self.input_index(index)
        return "the injected-parameters cell" if mapped is None else f"cell {mapped}"

    def progress(self) -> None:
        current = None
        if self.current is not None and self.client is not None:
            cell = self.client.nb.cells[self.current]
            current = {
                "index": self.input_index(self.current),
                "output_index": self.current,
                "cell_id": cell.get("id"),
                "source": str(cell.get("source", ""))[:200],
                "started_at": self.current_started,
            }
        self.event(
            "progress",
            cells_total=self.cells_total,
            cells_executed=self.cells_executed,
            cells_succeeded=self.cells_succeeded,
            cells_failed=self.cells_failed,
            current_cell=current,
        )

    # -- engine callbacks ------------------------------------------------------------------

    def prepare(self, nb: Any) -> None:
        """Called with the notebook Papermill is about to run (parameters injected)."""
        self.map = index_map(self.raw_cells, nb.cells)
        self.cells_total = sum(1 for c in nb.cells if c.cell_type == "code" and str(c.source).strip())
        self.phase = "kernel"
        self.progress()

    def kernel_started(self, km: Any) -> None:
        provisioner = getattr(km, "provisioner", None)
        pid = getattr(provisioner, "pid", None) or getattr(getattr(provisioner, "process", None), "pid", None)
        self.kernel_pid = pid
        self.kernel_start = process.start_time(pid) if pid else None
        self.phase = "cells"
        self.event(
            "kernel_started", kernel_pid=pid, kernel_start=self.kernel_start, kernel_name=km.kernel_name, warm=self.warm
        )
        if self.warm:
            assert self.warm_kernel is not None and self.warm_kernel.started_at is not None
            ahead = self.started - self.warm_kernel.started_at
            self.log.log(
                "info", f"Kernel {km.kernel_name} (pid {pid}) was started {ahead:.1f} s before the job: warm start."
            )
        else:
            self.log.log("info", f"Kernel {km.kernel_name} started (pid {pid}).")
        if self.stop_reason is not None:
            self.kill_kernel()
            raise JobStopped(self.stop_reason)

    def take_warm_kernel(self) -> Any:
        """The warm kernel's manager if the job takes it (see ``choose_kernel``), else None."""
        return self.warm_kernel.take() if self.warm and self.warm_kernel is not None else None

    def choose_kernel(self) -> None:
        """Take the warm kernel if the job would get the same kernel cold; else kill it and say why."""
        warm = self.warm_kernel
        if warm is None:
            return
        reason = warm.unusable(self.spec)
        if reason is None:
            self.warm = True
            return
        self.log.log("info", f"Starting the kernel cold: {reason}.")
        warm.discard()

    async def move_kernel(self, kc: Any, timeout: float) -> None:
        """Move a warm kernel to the job's working directory before its first cell (silently:
        no output, no history, no execution count, no name left in the user's namespace), and
        make sure that the client hears the kernel's IOPub messages.

        The kernel's reply comes on the shell channel; its idle status for the request, on IOPub,
        shows that the client's subscription is in place (a client that missed it could miss the
        first cell's outputs). Until it is seen, a ``kernel_info`` request asks again, as
        jupyter_client's ``wait_for_ready`` does. Raises TimeoutError after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout

        async def reply_to(msg_id: str, channel: Any, within: float) -> dict[str, Any] | None:
            end = min(deadline, time.monotonic() + within)
            while (left := end - time.monotonic()) > 0:
                try:
                    msg: dict[str, Any] = await channel.get_msg(timeout=left)
                except queue.Empty:
                    break
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if channel is kc.shell_channel or msg["content"].get("execution_state") == "idle":
                    return msg
            return None

        msg_id = kc.execute(MOVE_CODE.format(cwd=self.spec["cwd"]), silent=True, store_history=False, allow_stdin=False)
        reply = await reply_to(msg_id, kc.shell_channel, timeout)
        if reply is None:
            raise TimeoutError(f"The kernel started ahead did not answer within {timeout:g} s.")
        content = reply.get("content", {})
        if content.get("status") != "ok":
            raise RuntimeError(
                f"The kernel started ahead could not be moved to the job's directory {self.spec['cwd']!r}: "
                f"{content.get('ename')}: {content.get('evalue')}"
            )
        while await reply_to(msg_id, kc.iopub_channel, 0.5) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"The kernel started ahead sent no IOPub message within {timeout:g} s.")
            msg_id = kc.kernel_info()
            await reply_to(msg_id, kc.shell_channel, timeout)

    def on_cell_start(self, cell: Any, cell_index: int, **_: Any) -> None:
        if cell.cell_type != "code" or not str(cell.source).strip():
            return
        self.current = cell_index
        self.current_started = time.time()
        self.log.log("info", f"Running {self.cell_label(cell_index)} ({self.cells_executed + 1}/{self.cells_total}).")
        self.progress()

    def on_cell_executed(self, cell: Any, cell_index: int, execute_reply: dict[str, Any], **_: Any) -> None:
        self.stdout.flush_partial()
        self.stderr.flush_partial()
        content = (execute_reply or {}).get("content", {})
        if content.get("status") == "error" and self.stop_reason is not None:
            # The interrupt of a stop (cancel, timeout, shutdown) ended this cell: it did not fail by itself.
            self.log.log("info", f"{self.cell_label(cell_index)} was interrupted ({self.stop_reason}).")
            self.current = None
            self.progress()
            return
        self.cells_executed += 1
        if content.get("status") == "error":
            ename, evalue = content.get("ename", ""), str(content.get("evalue", ""))
            if ename == "SystemExit" and evalue in SUCCESS_EXIT_VALUES:
                self.cells_succeeded += 1
                self.exit_cell = cell_index
                self.exit_note = (
                    f"{self.cell_label(cell_index)} called sys.exit({evalue}): the notebook stopped there "
                    "with success; the cells after it were not run."
                )
                self.log.log("info", self.exit_note)
            else:
                self.cells_failed += 1
                allowed = "raises-exception" in (cell.get("metadata", {}).get("tags") or [])
                self.log.log(
                    "error",
                    f"{self.cell_label(cell_index)} raised {ename}: {evalue}"
                    + (" (allowed by its raises-exception tag)" if allowed else ""),
                )
                if allowed:
                    self.allowed_errors.add(cell_index)
                elif self.fatal_error is None:
                    self.fatal_error = {
                        "type": ename,
                        "message": f"{self.cell_label(cell_index)} raised {ename}: {evalue}",
                        "reason": "cell_error",
                        **self.cell_fields(cell_index),
                        "execution_count": cell.get("execution_count"),
                        "ename": ename,
                        "evalue": evalue,
                        "traceback": clean_traceback(content.get("traceback")),
                    }
        else:
            self.cells_succeeded += 1
        self.current = None
        self.progress()

    # -- stopping --------------------------------------------------------------------------

    def read_stop_reason(self) -> str:
        reason = ""
        if self.job_dir:
            try:
                with open(os.path.join(self.job_dir, files.STOP), encoding="utf-8") as f:
                    reason = f.read().strip()
            except OSError:
                pass
        return reason if reason in outcomes.STOP_REASONS else "cancel"

    def on_sigterm(self, signum: int, frame: Any) -> None:
        # Keep the handler minimal: the stop work (which may wait) runs in a thread.
        threading.Thread(target=self.stop, args=(self.read_stop_reason(),), daemon=True).start()

    def kill_kernel(self) -> None:
        if self.kernel_pid:
            process.kill_group(self.kernel_pid, self.kernel_start)

    def stop(self, reason: str) -> None:
        """Stop the job: interrupt the kernel, then kill it if it does not stop in time."""
        if self.stop_reason is not None or self.done.is_set():
            return
        self.stop_reason = reason
        self.stopped_at = self.current
        what = {
            "cancel": "Cancel requested",
            "timeout": f"Timeout: the job ran for more than timeout_seconds={(self.spec.get('timeout_seconds') or 0):g}",
            "server_shutdown": "The Jupyter server is shutting down",
        }[reason]
        self.log.log("warning", f"{what}: interrupting the kernel.")
        self.event("stopping", reason=reason)
        client = self.client
        if client is not None:
            client.shutdown_kernel = "immediate"
        if self.kernel_pid:
            process.signal_group(self.kernel_pid, signal.SIGINT, self.kernel_start)
        if self.done.wait(STOP_GRACE_SECONDS):
            return
        if self.kernel_pid and process.is_alive(self.kernel_pid, self.kernel_start):
            self.log.log("warning", f"The kernel did not stop within {STOP_GRACE_SECONDS:g} s: killing it.")
        self.kill_kernel()
        if self.done.wait(STOP_HARD_LIMIT_SECONDS - STOP_GRACE_SECONDS):
            return
        # Papermill is stuck (e.g. saving to a hung file system): report and leave.
        self.log.log("error", "The job process did not stop in time: exiting without the final save.")
        self.finish(self.outcome(JobStopped(reason)))
        os._exit(1)

    # -- outcome ---------------------------------------------------------------------------

    def counts(self) -> dict[str, Any]:
        return {
            "cells_total": self.cells_total,
            "cells_executed": self.cells_executed,
            "cells_succeeded": self.cells_succeeded,
            "cells_failed": self.cells_failed,
        }

    def outcome(self, exc: BaseException | None) -> dict[str, Any]:
        """The job's final status from what this process saw (not Papermill's metadata).

        When Papermill failed on an error output, it wrote the output notebook with two marker
        cells more (one at the top, one before the failing cell): ``output_cell_index`` then
        counts them, so that it names the cell in the notebook the user opens.
        """
        result = self._outcome(exc)
        markers_at = getattr(exc, "cell_index", None) if type(exc).__name__ == "PapermillExecutionError" else None
        error = result.get("error")
        if isinstance(markers_at, int) and error and isinstance(error.get("output_cell_index"), int):
            index = error["output_cell_index"]
            error["output_cell_index"] = index + 1 + (index >= markers_at)
        return result

    def _outcome(self, exc: BaseException | None) -> dict[str, Any]:
        where = f" at {self.cell_label(self.current)}" if self.current is not None else ""
        note = self.exit_note
        if self.stop_reason is not None:
            at = self.stopped_at
            where = f" at {self.cell_label(at)}" if at is not None else " between cells"
        if self.stop_reason in outcomes.STOP_REASONS:
            timeout = self.spec.get("timeout_seconds") or 0
            result = outcomes.stopped(self.stop_reason, timeout, cancelled=f"Cancelled{where}.", where=where)
            if result["error"] is not None:
                result["error"].update(self.cell_fields(self.stopped_at))
            return {**result, **self.counts()}
        error: dict[str, Any]
        if self.fatal_error is not None:
            return {"status": "failed", "error": self.fatal_error, "note": None, **self.counts()}
        name = type(exc).__name__
        if name == "PapermillExecutionError" and getattr(exc, "cell_index", None) in self.allowed_errors:
            # Papermill fails on any error output; nbclient (and we) honour raises-exception tags.
            exc = None
            note = f"{len(self.allowed_errors)} cell(s) raised as their raises-exception tag allows."
        elif (
            name == "PapermillExecutionError"
            and self.exit_cell is not None
            and getattr(exc, "cell_index", None) == self.exit_cell
        ):
            # The reply said sys.exit(0), but the cell's SystemExit error output did not reach the
            # notebook (nbclient gives up waiting for IOPub output after iopub_timeout, 4 s, on a
            # busy machine): Papermill then reports a CellExecutionError without an error output.
            # The reply is what the kernel did.
            exc = None
        if exc is None:
            return {"status": "completed", "error": None, "note": note, **self.counts()}
        if name == "PapermillExecutionError":
            # An error Papermill found in the outputs without a reply we saw (rare).
            error = {
                "type": getattr(exc, "ename", name),
                "message": f"{self.cell_label(getattr(exc, 'cell_index', None))} raised "
                f"{getattr(exc, 'ename', '')}: {getattr(exc, 'evalue', '')}",
                "reason": "cell_error",
                **self.cell_fields(getattr(exc, "cell_index", None)),
                "ename": getattr(exc, "ename", None),
                "evalue": getattr(exc, "evalue", None),
                "traceback": clean_traceback(getattr(exc, "traceback", None)),
            }
            return {"status": "failed", "error": error, "note": None, **self.counts()}
        if name == "DeadKernelError" or (self.phase == "cells" and "Kernel died" in str(exc)):
            error = {
                "type": "KernelDied",
                "message": f"The kernel died{where} (it crashed, ran out of memory or was killed).",
                "reason": "kernel_died",
                **self.cell_fields(self.current),
            }
            return {"status": "failed", "error": error, "note": None, **self.counts()}
        reason = {"prepare": "bad_input", "kernel": "kernel_start_failed"}.get(self.phase, "internal_error")
        summary = {
            "bad_input": "The input notebook could not be prepared",
            "kernel_start_failed": f"The kernel {self.spec.get('kernel_name')!r} could not be started",
            "internal_error": f"The job failed{where}",
        }[reason]
        error = {
            "type": name,
            "message": f"{summary}: {name}: {strip_ansi(str(exc))[:2000]}",
            "reason": reason,
            **self.cell_fields(self.current if reason == "internal_error" else None),
            "traceback": clean_traceback(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        }
        return {"status": "failed", "error": error, "note": None, **self.counts()}

    def finish(self, outcome: dict[str, Any]) -> None:
        with self._finish_lock:
            if self._finished:
                return
            self._finished = True
            self.stdout.flush_partial()
            self.stderr.flush_partial()
            level = "info" if outcome["status"] == "completed" else "error"
            # The duration the job's status shows: from the server's start of the job to now, which
            # the server takes as the job's end (completed_at).
            outcome = {**outcome, "completed_at": time.time()}
            started = self.spec.get("started_at") or self.started
            message = f"Job {outcome['status']} in {outcome['completed_at'] - started:.1f} s."
            if outcome.get("error"):
                message += " " + outcome["error"]["message"]
            elif outcome.get("note"):
                message += " " + outcome["note"]
            self.log.log(level, message)
            self.event("finished", **outcome)

    # -- the run ---------------------------------------------------------------------------

    def notebook_paths(self) -> tuple[str, str]:
        """The input and output paths Papermill reads and writes: the spec's files, or, for a
        notebook in memory, paths of ``MEMORY_SCHEME`` served by ``_MemoryIO``."""
        spec = self.spec
        if spec.get("input_notebook") is None:
            return spec["input_path"], spec["output_path"]
        from papermill.iorw import papermill_io

        assert self.sink is not None, "an in-memory job reports through a sink"
        papermill_io.register(MEMORY_SCHEME, MemoryIO(spec["input_notebook"], self.sink))
        name = spec["notebook_path"].rsplit("/", 1)[-1]
        return f"{MEMORY_SCHEME}input/{name}", f"{MEMORY_SCHEME}output/{name}"

    def run(self) -> None:
        spec = self.spec
        signal.signal(signal.SIGTERM, self.on_sigterm)
        self.event("accepted", runner_pid=os.getpid(), runner_start=process.start_time(os.getpid()))
        self.log.log("info", f"Runner {os.getpid()} started job {spec['job_id']}: {spec['notebook_path']}.")
        restore_environment()
        os.environ.update(spec.get("env_overrides") or {})
        timeout = spec.get("timeout_seconds") or 0
        if timeout > 0:
            timer = threading.Timer(timeout, self.stop, args=("timeout",))
            timer.daemon = True
            timer.start()
        handler = PapermillLogHandler(self.log)
        logging.getLogger("papermill").addHandler(handler)
        logging.getLogger("papermill").setLevel(logging.INFO)
        exc: BaseException | None = None
        try:
            import papermill
            from papermill.iorw import load_notebook_node

            if self.stop_reason is not None:
                raise JobStopped(self.stop_reason)
            self.choose_kernel()
            input_path, output_path = self.notebook_paths()
            self.raw_cells = list(load_notebook_node(input_path).cells)
            register_engine(self)
            if spec.get("input_notebook") is None and spec.get("output_staging_path"):
                output_path = spec["output_staging_path"]
                register_staging(self, output_path, spec["output_path"])
            papermill.execute_notebook(
                input_path,
                output_path,
                parameters=spec.get("parameters") or None,
                engine_name=ENGINE_NAME,
                kernel_name=spec["kernel_name"],
                language=spec.get("language"),
                progress_bar=False,
                log_output=False,
                stdout_file=self.stdout,
                stderr_file=self.stderr,
                start_timeout=spec.get("start_timeout") or 60,
                cwd=spec["cwd"],
            )
        except BaseException as e:  # noqa: B036 - the outcome records whatever ended the job
            exc = e
        finally:
            self.done.set()
            if self.kernel_pid and process.is_alive(self.kernel_pid, self.kernel_start):
                self.kill_kernel()
            if self.warm_kernel is not None:
                self.warm_kernel.discard()  # the job ended before it took its warm kernel
        self.finish(self.outcome(exc))
