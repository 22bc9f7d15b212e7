"""Notebook-mode execution (service layer): a notebook's code cells run on a kernel, outputs written back."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..exceptions import CellIndexError, InvalidArgument, KernelDied
from ..metrics import EXECUTION_DURATION_SECONDS, NOTEBOOK_EXECUTIONS_TOTAL
from ..notebooks.cells import cell_source
from .connection import Execution, KernelConnection
from .execution import Executor
from .live_output_writer import LiveOutputWriter
from .models import CellOutcome, ExecutionOutcome, NotebookRun, ProgressFn
from .output_writer import ContentsOutputWriter, OutputWriter, index_list


class NotebookRunner:
    """Runs cells of a notebook on a kernel, in order, under the kernel connection's lock.

    Parameters
    ----------
    executor
        Runs each cell's code (timeouts, interrupts, progress).
    notebooks
        The NotebookService: the notebook is read through it, and ContentsOutputWriter writes
        the outputs back through it.
    connect
        ``await connect(kernel_id)``: the kernel's connection (the lifecycle's registry); raises
        KernelNotFound.
    """

    def __init__(
        self,
        executor: Executor,
        notebooks: Any,
        connect: Callable[[str], Awaitable[KernelConnection]],
        log: logging.Logger,
    ) -> None:
        self.executor = executor
        self.notebooks = notebooks
        self.connect = connect
        self.log = log

    async def run(
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
        outputs and execution_count back into the notebook (through ``output_writer``).

        With ``cell_index`` or ``cell_id``, only that cell runs (it must be a code cell). ``timeout`` applies to
        each cell. The run stops at the first cell that raises or times out unless
        ``continue_on_error`` (None: the server's default). Cells with no source are cleared, not
        sent (as in JupyterLab). Raises NotebookNotFound, CellIndexError, InvalidArgument,
        KernelNotFound, KernelBusy or KernelDied (outputs of cells finished before are written).
        """
        seconds = self.executor.resolve_timeout(timeout)
        keep_going = self.executor.settings.continue_on_error if continue_on_error is None else bool(continue_on_error)
        api_path, nb = await self.notebooks.get(path)
        cells = list(nb.cells)
        if cell_id is not None:
            cell_index = self.notebooks.locate(
                api_path, cells, cell_id=cell_id, index=cell_index, index_argument="cell_index"
            )
        if cell_index is not None:
            if isinstance(cell_index, bool) or not isinstance(cell_index, int):
                raise InvalidArgument(f"cell_index must be an integer (0-based cell index), got {cell_index!r}.")
            if not 0 <= cell_index < len(cells):
                count = len(cells)
                valid = f" (0-{count - 1})" if count else ""
                raise CellIndexError(
                    f"cell_index {cell_index} is out of range: the notebook has {count} cell"
                    f"{'s' if count != 1 else ''}{valid}."
                )
            if cells[cell_index].get("cell_type") != "code":
                code_cells = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"]
                raise InvalidArgument(
                    f"cell {cell_index} of {api_path!r} is a {cells[cell_index].get('cell_type')} cell: only code "
                    f"cells run. Code cells: {index_list(code_cells)}."
                )
            targets = [cell_index]
        else:
            targets = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"]
        run = NotebookRun(path=api_path)
        writer = self.output_writer(api_path, cells)
        started = time.monotonic()
        conn = await self.connect(kernel_id)
        await self.executor.acquire(conn, seconds)
        try:
            await self.executor.check_alive(conn)
            for position, index in enumerate(targets):
                source = cell_source(cells[index])
                if progress is not None:
                    await self.executor.report(
                        progress, position, len(targets), f"running cell {index} ({position + 1} of {len(targets)})"
                    )
                if not source.strip():
                    outcome = ExecutionOutcome("ok", None, [], None, 0.0)
                else:
                    try:
                        outcome = await self.executor.run(
                            conn,
                            source,
                            seconds,
                            progress,
                            label=f"cell {index}",
                            progress_done=position,
                            progress_total=len(targets),
                            on_sent=functools.partial(self._watch, writer, index),
                        )
                    except KernelDied as e:
                        self._count_notebook_run(cell_index, "died")
                        done = [c.cell_index for c in run.cells]
                        many = len(done) > 1
                        note = (
                            f" Cell{'s' if many else ''} {index_list(done)} had finished; "
                            f"{'their' if many else 'its'} outputs were saved."
                            if done
                            else ""
                        )
                        await writer.flush(force=True)
                        raise KernelDied(f"{e} It was running cell {index} of {api_path!r}.{note}") from e
                    except asyncio.CancelledError:
                        self._count_notebook_run(cell_index, "cancelled")
                        self.executor.spawn(writer.flush(force=True), f"jupyter_mcp_ext.write.{api_path}")
                        raise
                writer.cell_finished(index, outcome)
                run.cells.append(CellOutcome(index, "code", outcome, cells[index].get("id")))
                await writer.flush()
                if outcome.status in ("error", "timeout", "abort") and not keep_going:
                    run.stopped_at = index
                    run.not_run = targets[position + 1 :]
                    break
            if progress is not None:
                await self.executor.report(progress, len(run.cells), len(targets), "done")
        finally:
            conn.lock.release()
        await writer.flush(force=True)
        run.write_error = writer.error
        run.execution_time = round(time.monotonic() - started, 6)
        failed = any(c.outcome.status != "ok" for c in run.cells)
        self._count_notebook_run(cell_index, "failed" if failed else "completed")
        EXECUTION_DURATION_SECONDS.labels(kind="notebook" if cell_index is None else "notebook_cell").observe(
            run.execution_time
        )
        return run

    @staticmethod
    def _count_notebook_run(cell_index: int | None, status: str) -> None:
        if cell_index is None:
            NOTEBOOK_EXECUTIONS_TOTAL.labels(kind="execute_on_kernel", status=status).inc()

    def output_writer(self, api_path: str, cells: list[Any]) -> OutputWriter:
        """The writer of one run's outputs into the notebook at ``api_path`` (``cells``: as read
        when the run began): the one place where the run's output destination is chosen.

        With real-time collaboration running, outputs stream into the notebook's live document
        while JupyterLab has it open (``LiveOutputWriter``); else they go into the file."""
        live = getattr(self.notebooks, "live", None)
        if live is not None and live.enabled:
            return LiveOutputWriter(self.notebooks, live, api_path, cells, self.log)
        return ContentsOutputWriter(self.notebooks, api_path, cells, self.log)

    def _watch(self, writer: OutputWriter, index: int, execution: Execution) -> None:
        """Show the writer cell ``index``'s execution as it happens (``Executor.run``'s on_sent)."""

        def arrived(msg_type: str) -> None:
            try:
                writer.output_arrived(index, msg_type, execution.outputs, execution.execution_count)
            except Exception:
                self.log.warning("Output writer failed on cell %s of a notebook run", index, exc_info=True)

        try:
            writer.cell_started(index)
        except Exception:
            self.log.warning("Output writer failed on cell %s of a notebook run", index, exc_info=True)
        execution.on_update = arrived
