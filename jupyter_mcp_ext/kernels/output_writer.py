"""Where a notebook run's outputs go (service layer): the output writer seam, and the writer into the file."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from typing import Any

from nbformat import NotebookNode

from ..notebooks.cells import cell_source
from .models import ExecutionOutcome

#: Seconds between notebook writes while mode="notebook" runs (always written at the end).
WRITE_INTERVAL = 1.0


def index_list(indices: list[int]) -> str:
    """Cell indices for a message: "1, 4, 7", the first 20 of a long list, or "none"."""
    if not indices:
        return "none"
    if len(indices) > 20:
        return ", ".join(map(str, indices[:20])) + f", ... ({len(indices)} in all)"
    return ", ".join(map(str, indices))


class OutputWriter(ABC):
    """Receives the outputs of a notebook run as they happen and writes them into the notebook.

    The notebook runner makes one writer per run and calls, for each cell it runs (``index``: the
    cell's index in the notebook as read when the run began; the writer finds the cell again if
    the notebook changed meanwhile):

    - ``cell_started(index)`` when the cell's code is sent to the kernel (not for a cell with no
      source, which only gets ``cell_finished`` with no outputs);
    - ``output_arrived(index, msg_type, outputs, execution_count)`` after each IOPub message that
      changed the cell: ``outputs`` is the cell's whole output list so far (nbformat 4 nodes,
      streams merged, ``clear_output`` and ``update_display_data`` applied; the runner's own list:
      copy what you keep), ``msg_type`` says what changed it ("execute_input" for the count);
    - ``cell_finished(index, outcome)`` with the cell's final outputs and execution_count;
    - ``await flush()`` after each finished cell, and ``await flush(force=True)`` at the end, when
      the kernel died, or (detached) when the run was cancelled: write what is pending.

    ``cell_started``, ``output_arrived`` and ``cell_finished`` run on the event loop while
    messages are routed: they must not block (buffer, and write in ``flush``); an exception they
    raise is logged and the run goes on. ``error`` is the sentence reported to the caller when
    something could not be written (``NotebookRun.write_error``).
    """

    def __init__(self) -> None:
        self.error: str | None = None

    def cell_started(self, index: int) -> None:
        """The cell's code was sent to the kernel."""
        # Not abstract: a writer of finished cells only needs cell_finished and flush.
        return None

    def output_arrived(
        self, index: int, msg_type: str, outputs: list[NotebookNode], execution_count: int | None
    ) -> None:
        """An IOPub message changed the cell's outputs or execution_count."""
        return None

    @abstractmethod
    def cell_finished(self, index: int, outcome: ExecutionOutcome) -> None:
        """The cell's execution ended with ``outcome``."""

    @abstractmethod
    async def flush(self, force: bool = False) -> None:
        """Write what is pending (``force``: now, however recently the last write was)."""


class ContentsOutputWriter(OutputWriter):
    """Writes cells' outputs and execution_count into the notebook through the notebook service,
    when each cell has finished, at most every WRITE_INTERVAL seconds (always at the end).

    Cells are found again by their id (nbformat 4.5), else by index if the source there is
    unchanged: the notebook may have been edited while the cells ran.
    """

    def __init__(self, notebooks: Any, api_path: str, cells: list[Any], log: logging.Logger) -> None:
        super().__init__()
        self.notebooks = notebooks
        self.api_path = api_path
        self.log = log
        self._keys = {i: (c.get("id"), cell_source(c)) for i, c in enumerate(cells)}
        self._pending: dict[int, ExecutionOutcome] = {}
        self._last_write = 0.0

    def cell_finished(self, index: int, outcome: ExecutionOutcome) -> None:
        self._pending[index] = outcome

    async def flush(self, force: bool = False) -> None:
        if not self._pending or (not force and time.monotonic() - self._last_write < WRITE_INTERVAL):
            return
        pending, self._pending = self._pending, {}
        missing: list[int] = []

        def change(nb: NotebookNode) -> None:
            cells = nb["cells"]
            by_id = {c.get("id"): i for i, c in enumerate(cells) if c.get("id")}
            for index, outcome in pending.items():
                cell_id, source = self._keys[index]
                at = by_id.get(cell_id) if cell_id else None
                if at is None and index < len(cells) and cell_source(cells[index]) == source and not cell_id:
                    at = index
                if at is None:
                    missing.append(index)
                    continue
                cell = NotebookNode(cells[at])
                cell["outputs"] = outcome.outputs
                cell["execution_count"] = outcome.execution_count
                cells[at] = cell

        try:
            await self.notebooks.edit(self.api_path, change)
        except Exception as e:
            self.log.warning("Could not write outputs into %s: %s", self.api_path, e)
            self.error = f"the outputs could not be written into {self.api_path!r}: {e}"
        else:
            if missing:
                self.error = (
                    f"cells {index_list(sorted(missing))} were removed or changed in {self.api_path!r} while they "
                    "ran; their outputs were not written"
                )
        self._last_write = time.monotonic()
