"""A notebook run's outputs streamed into the live document (service layer), while JupyterLab has it open:
each output goes into its cell as it arrives."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nbformat import NotebookNode

from ..notebooks.cells import cell_source
from ..notebooks.live import LiveDocuments
from ..notebooks.live_document import ORIGIN, LiveNotebook, sync_outputs
from .models import ExecutionOutcome
from .output_writer import ContentsOutputWriter

#: Seconds between two writes of one cell's outputs into the live document while it runs (a kernel may
#: send hundreds of stream messages a second; people read far fewer updates).
STREAM_INTERVAL = 0.05


class LiveOutputWriter(ContentsOutputWriter):
    """Shows a run in the open notebook as JupyterLab shows a cell it runs, and writes the final outputs
    as ``ContentsOutputWriter`` does (through the notebook service: the live document or the file).

    When a cell starts, its outputs are cleared, its execution_count emptied and its
    ``execution_state`` set to "running" (JupyterLab's ``[*]``); each IOPub message then changes the
    cell's outputs in the document with the fewest Y changes (stream text appended as JupyterLab appends
    it, a display replaced in place by ``update_display_data``, outputs cleared by ``clear_output``),
    at most every STREAM_INTERVAL seconds; when it finishes, its outputs, execution_count and "idle"
    state are set at once. A cell is found by its id (else by index if its source is unchanged), in
    the document open at that moment: a room that opens mid-run is shown the cells that start after.
    """

    def __init__(
        self, notebooks: Any, live: LiveDocuments, api_path: str, cells: list[Any], log: logging.Logger
    ) -> None:
        super().__init__(notebooks, api_path, cells, log)
        self.live = live
        #: index -> the outputs as last written into the document (copies), its execution_count
        self._shown: dict[int, tuple[list[dict[str, Any]], int | None]] = {}
        self._latest: dict[int, tuple[list[dict[str, Any]], int | None]] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._running: set[int] = set()
        self._at: dict[int, int] = {}

    # -- finding the cell -------------------------------------------------------------------

    def _ycell(self, index: int) -> tuple[LiveNotebook, Any] | None:
        live = self.live.find(self.api_path)
        if live is None:
            return None
        cell_id, source = self._keys[index]
        ycells = live.document.ycells
        at: int | None = self._at.get(index)
        if cell_id and at is not None and at < len(ycells) and ycells[at].get("id") == cell_id:
            return live, ycells[at]  # where it was a moment ago: no need to look through the cells
        cells = live.cells()
        at = None
        if cell_id:
            at = next((i for i, c in enumerate(cells) if c.get("id") == cell_id), None)
        elif index < len(cells) and cell_source(cells[index]) == source:
            at = index
        if at is None:
            return None
        self._at[index] = at
        return live, ycells[at]

    # -- the seam ---------------------------------------------------------------------------

    def cell_started(self, index: int) -> None:
        found = self._ycell(index)
        if found is None:
            return
        live, ycell = found
        # Written straight into the document, not through the notebook service: say what the cell was.
        self.notebooks.edits.writing(self.api_path, live.cells(), [self._at[index]])
        with live.ydoc.transaction(origin=ORIGIN):
            youtputs = ycell.get("outputs")
            if youtputs is not None and len(youtputs):
                youtputs.clear()
            ycell["execution_count"] = None
            ycell["execution_state"] = "running"
        self._shown[index] = ([], None)
        self._running.add(index)

    def output_arrived(
        self, index: int, msg_type: str, outputs: list[NotebookNode], execution_count: int | None
    ) -> None:
        if index not in self._shown:
            return
        # The runner keeps changing its list and the nodes in it: keep copies of this state.
        self._latest[index] = ([dict(o) for o in outputs], execution_count)
        if index not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[index] = loop.call_later(STREAM_INTERVAL, self._show_latest, index)

    def _show_latest(self, index: int) -> None:
        self._timers.pop(index, None)
        latest = self._latest.pop(index, None)
        if latest is not None:
            try:
                self._show(index, *latest)
            except Exception:
                self.log.warning("Could not show the outputs of cell %s in %s", index, self.api_path, exc_info=True)

    def _show(self, index: int, outputs: list[Any], execution_count: int | None, *, state: str | None = None) -> None:
        shown = self._shown.get(index)
        found = self._ycell(index)
        if shown is None or found is None:
            return
        live, ycell = found
        before, count = shown
        with live.ydoc.transaction(origin=ORIGIN):
            youtputs = ycell.get("outputs")
            if youtputs is not None:
                sync_outputs(youtputs, before, outputs)
            if execution_count != count:
                ycell["execution_count"] = execution_count
            if state is not None:
                ycell["execution_state"] = state
        self._shown[index] = ([dict(o) for o in outputs], execution_count)

    def cell_finished(self, index: int, outcome: ExecutionOutcome) -> None:
        timer = self._timers.pop(index, None)
        if timer is not None:
            timer.cancel()
        self._latest.pop(index, None)
        if index in self._shown:
            try:
                self._show(index, list(outcome.outputs), outcome.execution_count, state="idle")
            except Exception:
                self.log.warning("Could not show the outputs of cell %s in %s", index, self.api_path, exc_info=True)
            self._running.discard(index)
        super().cell_finished(index, outcome)

    async def flush(self, force: bool = False) -> None:
        if force:
            # A run cut short (kernel died, cancelled) leaves no cell showing "running".
            for index in list(self._running):
                found = self._ycell(index)
                if found is not None:
                    live, ycell = found
                    with live.ydoc.transaction(origin=ORIGIN):
                        ycell["execution_state"] = "idle"
                self._running.discard(index)
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
        await super().flush(force)


__all__ = ["STREAM_INTERVAL", "LiveOutputWriter"]
