"""The Papermill engine and I/O handlers of a job process (job process).

The engine reports each cell to the job's ``JobRun``; the I/O handlers stage the output notebook
or keep both notebooks in memory.

Imported in the job process only (the runner and the Dask workers): the standard library and this
package's ``files`` at import time, Papermill, nbclient and jupyter_client when a job runs.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING, Any

from . import files

if TYPE_CHECKING:
    from .job_run import JobRun

#: The name this engine is registered under in Papermill.
ENGINE_NAME = "jupyter_mcp_ext"
#: Papermill I/O scheme of the in-memory input and output notebooks (``--pipe`` mode).
MEMORY_SCHEME = "jupyter-mcp-ext-memory://"


class JobStopped(Exception):
    """Raised inside the job process to stop before the next cell (cancel, timeout, shutdown)."""


class MemoryIO:
    """Papermill I/O handler of an in-memory job: the input is the spec's JSON text, and every save
    of the output (Papermill saves after each cell and at the end) goes to the sink as
    ``{"notebook": <JSON text>}``."""

    def __init__(self, input_text: str, sink: files.JsonLinesWriter) -> None:
        self._input = input_text
        self._sink = sink

    def read(self, path: str) -> str:
        return self._input

    def write(self, buf: str, path: str) -> None:
        self._sink.write({"notebook": buf})

    def listdir(self, path: str) -> list[str]:
        return []

    def pretty_path(self, path: str) -> str:
        return path


class PapermillLogHandler(logging.Handler):
    """Papermill's and nbclient's log records (they share papermill's logger) as job log lines."""

    def __init__(self, log: files.LogWriter) -> None:
        super().__init__(logging.INFO)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= logging.ERROR else "warning" if record.levelno >= 30 else "info"
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        for line in message.splitlines() or [""]:
            self._log.log(level, line)


def register_staging(run: JobRun, staging_path: str, output_path: str) -> None:
    """Make Papermill's saves of the output notebook go to ``staging_path`` in the job directory,
    each one whole (written beside it, then renamed over it) and announced by an ``output_saved``
    event; the server then writes it to the output notebook through its ContentsManager, under the
    notebook's lock (a job process writing the file itself would race JupyterLab and the MCP tools).
    Papermill's handler registry (``papermill_io.register``) is its own extension point."""
    from papermill.iorw import papermill_io

    staged, real = json.dumps(staging_path), json.dumps(output_path)

    class StagingHandler:
        saves = 0

        @classmethod
        def read(cls, path: str) -> str:
            with open(path, encoding="utf-8") as f:
                return f.read()

        @classmethod
        def write(cls, buf: str, path: str) -> None:
            # Papermill records the output path in the notebook's metadata: keep the real one there.
            text = buf.replace(staged, real)
            partial = path + ".partial"
            with open(partial, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(partial, path)
            cls.saves += 1
            run.event("output_saved", path=path, saves=cls.saves)

        @classmethod
        def listdir(cls, path: str) -> list[str]:
            return os.listdir(path)

        @classmethod
        def pretty_path(cls, path: str) -> str:
            return output_path

    papermill_io.register(staging_path, StagingHandler)


def served_kernel_spec_manager(kernel_name: str, kernelspec: dict[str, Any] | None) -> Any:
    """A KernelSpecManager that serves ``kernelspec`` (as the server resolved it: the server's
    KernelSpecManager may differ from this process's) under ``kernel_name``, and looks up others."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class JobKernelSpecManager(KernelSpecManager):
        def get_kernel_spec(self, name: str) -> KernelSpec:
            if kernelspec and name == kernel_name:
                known = set(KernelSpec.class_trait_names()) - {"resource_dir"}
                fields = {k: v for k, v in kernelspec.items() if k in known}
                return KernelSpec(resource_dir=kernelspec.get("resource_dir", ""), **fields)
            return super().get_kernel_spec(name)

    return JobKernelSpecManager()


_KERNEL_MANAGER_CLASS: Any = None


def kernel_manager_class() -> Any:
    """The kernel manager of job kernels, warm or cold: jupyter_client's ``AsyncKernelManager``,
    which waits for a kernel's graceful exit checking every 0.1 s, here every 10 ms (the job's end
    waits for its kernel's exit, so that the notebook's atexit handlers have run)."""
    global _KERNEL_MANAGER_CLASS
    if _KERNEL_MANAGER_CLASS is None:
        from jupyter_client.manager import AsyncKernelManager

        class JobKernelManager(AsyncKernelManager):  # type: ignore[misc]
            async def _async_finish_shutdown(
                self, waittime: float | None = None, pollinterval: float = 0.1, restart: bool = False
            ) -> None:
                await super()._async_finish_shutdown(waittime, min(pollinterval, 0.01), restart)

        _KERNEL_MANAGER_CLASS = JobKernelManager
    return _KERNEL_MANAGER_CLASS


def register_engine(run: JobRun) -> None:
    """Register the Papermill engine that reports to ``run`` (one job per process)."""
    from nbclient.util import ensure_async, run_hook, run_sync
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    spec = run.spec

    class JobClient(PapermillNotebookClient):
        def create_kernel_manager(self) -> Any:
            warm = run.take_warm_kernel()
            if warm is not None:
                # nbclient starts no kernel for a manager that has one, and still owns it: it
                # connects its client, and shuts the kernel down at the end as its own.
                self.km = warm
                run.kernel_started(warm)
                return self.km
            self.km = kernel_manager_class()(
                kernel_name=self.kernel_name or spec["kernel_name"],
                kernel_spec_manager=served_kernel_spec_manager(spec["kernel_name"], spec.get("kernelspec")),
                config=self.config,
            )
            return self.km

        async def async_start_new_kernel_client(self) -> Any:
            if not run.warm:
                kc = await super().async_start_new_kernel_client()
                run.event("kernel_ready")
                return kc
            # As nbclient's, but without wait_for_ready's last step, 0.2 s of listening for IOPub
            # messages: a warm kernel is up, and its answer to the move, on both channels, shows
            # that the client is connected (``JobRun.move_kernel``).
            assert self.km is not None
            try:
                self.kc = self.km.client()
                await ensure_async(self.kc.start_channels())
                await run.move_kernel(self.kc, self.startup_timeout)
            except Exception:
                await self._async_cleanup_kernel()
                raise
            self.kc.allow_stdin = False
            await run_hook(self.on_notebook_start, notebook=self.nb)
            run.event("kernel_ready")
            return self.kc

        start_new_kernel_client = run_sync(async_start_new_kernel_client)

        async def async_start_new_kernel(self, **kwargs: Any) -> None:
            if run.stop_reason is not None:
                raise JobStopped(run.stop_reason)
            await super().async_start_new_kernel(**kwargs)
            run.kernel_started(self.km)

        start_new_kernel = run_sync(async_start_new_kernel)

        async def async_execute_cell(self, cell: Any, cell_index: int, *args: Any, **kwargs: Any) -> Any:
            if run.stop_reason is not None:
                raise JobStopped(run.stop_reason)
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

        execute_cell = run_sync(async_execute_cell)

    class JobEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: int = 60,
            execution_timeout: Any = None,
            **kwargs: Any,
        ) -> Any:
            # As papermill's NBClientEngine, with JobClient and our hooks.
            if spec.get("input_notebook") is not None:
                # Record the server's API paths, not the in-memory ones.
                papermill_meta = nb_man.nb.metadata.setdefault("papermill", {})
                papermill_meta["input_path"] = spec.get("notebook_path")
                papermill_meta["output_path"] = spec.get("output_api_path")
            run.prepare(nb_man.nb)
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs,
                timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = JobClient(nb_man, **final_kwargs)
            client.on_cell_start = run.on_cell_start
            client.on_cell_executed = run.on_cell_executed
            run.client = client
            return client.execute()

    papermill_engines.register(ENGINE_NAME, JobEngine)
