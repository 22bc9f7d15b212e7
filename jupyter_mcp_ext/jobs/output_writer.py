"""A running job's output notebook, written under the server root (service layer).

It is written through the notebook service, from what the executor saves in the job's directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import posixpath
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..exceptions import Conflict, MCPExtError
from ..notebooks.live import LiveDocumentBusy
from .models import Job

if TYPE_CHECKING:
    from ..notebooks.service import NotebookService, Written

#: The file in a job's directory that the executor writes the output notebook to.
OUTPUT_STAGING_NAME = "output.ipynb"
#: Least seconds between two writes of a running job's output notebook under the root (the last
#: save of a run is always written, before the job is reported finished).
OUTPUT_WRITE_INTERVAL = 0.5


class OutputWriter:
    """Writes a job's output notebook under the server root, through the notebook service (the
    ContentsManager, under the path's write lock), from what the executor saved in the job's
    directory: the latest save only, at most every ``OUTPUT_WRITE_INTERVAL`` seconds, and the last
    one before the job is reported finished.

    The first write replaces what the output path held before the job (as Papermill would). Each
    later write first checks that the notebook still holds the job's previous write: if someone
    else changed it meanwhile (an edit in JupyterLab, an MCP edit), their work is kept and the job's
    output goes to ``<name>-<job_id>.ipynb`` beside it instead, which the job's record then names.
    An output notebook open in JupyterLab with collaboration is written into its shared document
    (``NotebookService.replace``), so that the person watching it sees the job progress, and what
    they type there counts as such a change even before the room has saved it.

    Parameters
    ----------
    notebooks : NotebookService
        Writes the notebook (``replace``, compare-and-swap against the job's previous write).
    job : Job
        The job's record; its ``output_path`` changes when the output is diverted.
    staging_path : str
        Where the executor saves the output notebook (``OUTPUT_STAGING_NAME`` in the job's directory).
    log : logging.Logger
    on_diverted : callable
        ``on_diverted(job)`` stores the record after its ``output_path`` changed.
    """

    def __init__(
        self,
        notebooks: NotebookService,
        job: Job,
        staging_path: str,
        *,
        log: logging.Logger,
        on_diverted: Callable[[Job], None],
    ) -> None:
        self.notebooks = notebooks
        self.log = log
        self.on_diverted = on_diverted
        self.job = job
        self.staging_path = staging_path
        self.written: Written | None = None  # what the job wrote last
        self.written_stat: tuple[int, int] | None = None
        self.note: str | None = None
        self.busy: str | None = None  # why the last write had to wait (the room kept loading), if it did
        self._task: asyncio.Task[None] | None = None
        self._dirty = False
        self._finishing = asyncio.Event()

    def saved(self) -> None:
        """The executor saved the output again: write it soon."""
        self._dirty = True
        if not self._finishing.is_set() and (self._task is None or self._task.done()):
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while self._dirty and not self._finishing.is_set():
            self._dirty = False
            await self._write()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._finishing.wait(), OUTPUT_WRITE_INTERVAL)

    async def finish(self) -> str | None:
        """Write the last save, after a write in progress; returns a note for the job's result.

        A write in progress is waited for, never cancelled: cancelled between its save and the
        record of what it saved, the next write would take the job's own output for someone
        else's change."""
        self._finishing.set()
        if self._task is not None:
            await self._task
        await self._write()
        return self.note or self.busy

    async def _write(self) -> None:
        import nbformat

        try:
            stat = os.stat(self.staging_path)
        except FileNotFoundError:
            return  # the executor writes the output itself, or has not saved yet
        key = (stat.st_mtime_ns, stat.st_size)
        if key == self.written_stat:
            return
        job, notebooks = self.job, self.notebooks
        try:
            nb = await asyncio.to_thread(nbformat.read, self.staging_path, as_version=4)
            try:
                self.written = await notebooks.replace(job.output_path, nb, expected=self.written)
            except LiveDocumentBusy as e:
                # The notebook's room is still loading its file: the next save (or finish) tries again.
                self.log.warning("Job %s: could not write its output notebook yet: %s", job.job_id, e)
                self.busy = f"The output notebook could not be written to {job.output_path!r}: {e}"
                return
            except Conflict:
                stem = posixpath.splitext(job.output_path)[0]
                diverted = f"{stem}-{job.job_id}.ipynb"
                self.note = (
                    f"output_path {job.output_path!r} was changed by someone else while the job ran, so their "
                    f"changes were kept and the job's output was written to {diverted!r} instead."
                )
                self.log.warning("Job %s: %s", job.job_id, self.note)
                job.output_path = diverted
                self.on_diverted(job)
                self.written = await notebooks.replace(diverted, nb, expected=None)
            self.written_stat = key
            self.busy = None
        except (OSError, ValueError, MCPExtError) as e:
            self.log.warning("Job %s: could not write its output notebook: %s", job.job_id, e)
            self.note = f"The output notebook could not be written to {job.output_path!r}: {e}"
