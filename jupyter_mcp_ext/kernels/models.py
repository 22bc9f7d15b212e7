"""What the kernel service is configured with and what its executions return (service layer, plain data)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nbformat import NotebookNode

#: ``async progress(done, total, message)``: reports progress to whoever asked for the execution.
ProgressFn = Callable[[float, "float | None", str], Awaitable[None]]


@dataclass
class KernelSettings:
    """The extension's kernel traits (see ``MCPExtensionApp`` for units and defaults)."""

    max_kernels: int = 10
    execution_timeout: float = 60.0
    jupyter_timeout: float = 300.0
    continue_on_error: bool = False
    kernel_idle_timeout: float = 0.0
    cleanup_interval: float = 300.0


@dataclass
class ExecutionOutcome:
    """What one execution produced.

    status: "ok", "error" (the code raised), "abort" (the kernel skipped it after an earlier
    error in its queue) or "timeout" (interrupted at the timeout, or never started).
    outputs: nbformat 4 output nodes, exactly as a notebook stores them.
    error: the raw ``{"ename", "evalue", "traceback"}`` of the error output, if any.
    execution_time: seconds from sending the request to its end.
    message: a sentence about what happened when it is not plain (timeouts).
    user_expressions: the reply's ``user_expressions`` (each ``{"status", "data", ...}``), when asked.
    """

    status: str
    execution_count: int | None
    outputs: list[NotebookNode]
    error: dict[str, Any] | None
    execution_time: float
    message: str | None = None
    user_expressions: dict[str, Any] | None = None


@dataclass
class CellOutcome:
    """The outcome of one notebook cell (``outcome`` is None for a cell that had nothing to run);
    ``cell_id`` is the cell's nbformat 4.5 id, if it has one."""

    cell_index: int
    cell_type: str
    outcome: ExecutionOutcome
    cell_id: str | None = None


@dataclass
class NotebookRun:
    """The result of running cells of a notebook: per-cell outcomes, in order.

    ``stopped_at`` is the index of the cell whose error stopped the run (None if it ran to the
    end); ``not_run`` the indices of the code cells left unrun after it. ``notice``: a sentence
    about the kernel the caller should know (it was restarted since the previous call).
    """

    path: str
    cells: list[CellOutcome] = field(default_factory=list)
    stopped_at: int | None = None
    not_run: list[int] = field(default_factory=list)
    write_error: str | None = None
    execution_time: float = 0.0
    notice: str | None = None
