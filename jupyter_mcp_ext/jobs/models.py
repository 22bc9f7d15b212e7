"""Pydantic models of notebook jobs (service layer): the record, its progress, result and error, a log page."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

JobStatus = Literal["queued", "running", "completed", "failed", "timeout", "cancelled"]

#: Statuses of a job that has not ended yet.
ACTIVE_STATUSES: tuple[str, ...] = ("queued", "running")
#: Statuses of a job that has ended; only these records may be deleted.
FINISHED_STATUSES: tuple[str, ...] = ("completed", "failed", "timeout", "cancelled")

ErrorReason = Literal[
    "cell_error",  # a cell raised (its index, ename, evalue and traceback are given)
    "kernel_died",  # the kernel process died during the run (crash, out of memory, killed)
    "runner_lost",  # the job's runner process ended without reporting a result
    "bad_input",  # the input notebook could not be loaded or parameterized
    "kernel_start_failed",  # the kernel could not be started
    "timeout",  # the job ran longer than its timeout_seconds
    "server_shutdown",  # the server stopped the job while shutting down
    "internal_error",  # anything else; the message says what
]


class JobError(BaseModel):
    """Why a job did not complete. ``cell_index`` is 0-based in the *input* notebook (None for the
    injected-parameters cell, or when no cell was running); ``output_cell_index`` is the same
    cell's index in the output notebook, where Papermill inserted its parameters cell;
    ``cell_id`` its nbformat 4.5 id (in both)."""

    type: str = Field(description="The exception name (ename) or a category such as KernelDied or Timeout.")
    message: str
    reason: ErrorReason
    cell_index: int | None = None
    output_cell_index: int | None = None
    cell_id: str | None = None
    execution_count: int | None = None
    ename: str | None = None
    evalue: str | None = None
    traceback: list[str] | None = None


class CurrentCell(BaseModel):
    """The cell running now: 0-based index in the input notebook (None for the injected-parameters
    cell) and in the output notebook, its id, the start of its source."""

    index: int | None = None
    output_index: int | None = None
    cell_id: str | None = None
    source: str = ""
    started_at: float | None = None


class JobProgress(BaseModel):
    """Code cells executed out of the code cells to execute (non-empty code cells, the
    injected-parameters cell included)."""

    cells_total: int = 0
    cells_executed: int = 0
    current_cell: CurrentCell | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def percent(self) -> float:
        if not self.cells_total:
            return 0.0
        return round(100.0 * min(self.cells_executed, self.cells_total) / self.cells_total, 1)


class JobResult(BaseModel):
    """How a finished job ended."""

    cells_succeeded: int = 0
    cells_failed: int = 0
    error: JobError | None = None
    note: str | None = Field(default=None, description="E.g. a sys.exit(0) that ended the run early.")


class RunnerInfo(BaseModel):
    """The processes running a job (for operators; pids are of this machine)."""

    runner_pid: int | None = None
    runner_start: int | None = None
    kernel_pid: int | None = None
    kernel_start: int | None = None


class JobStarter(BaseModel):
    """Who started a job: an MCP client (``via="mcp"``, with the name from its MCP ``clientInfo``
    when it sent one), the REST API (``via="lab"``: JupyterLab's Notebook Jobs panel, or a script),
    or a schedule (``via="schedule"``; the job's ``schedule_id`` names it)."""

    via: Literal["mcp", "lab", "schedule"]
    client_name: str | None = Field(default=None, description="The MCP client's clientInfo.name, e.g. 'claude-code'.")


class JobOwner(BaseModel):
    """The server process that manages a job (its pid, start time and a per-run instance id)."""

    pid: int
    start: int | None = None
    instance: str


class Job(BaseModel):
    """A notebook job. Paths are API paths relative to the server root; times are seconds since
    the epoch; ``timeout_seconds`` 0 means no limit."""

    job_id: str
    notebook_path: str
    output_path: str
    status: JobStatus = "queued"
    created_at: float
    started_at: float | None = None
    completed_at: float | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    kernel_name: str
    timeout_seconds: float
    working_dir: str = ""
    env_overrides: dict[str, str] = Field(
        default_factory=dict, description="Kept in memory only: the job database stores the names, never the values."
    )
    env_override_names: list[str] = Field(default_factory=list)
    progress: JobProgress = Field(default_factory=JobProgress)
    result: JobResult | None = None
    runner: RunnerInfo = Field(default_factory=RunnerInfo)
    message: str | None = None
    cancel_requested_at: float | None = None
    owner: JobOwner | None = None
    started_by: JobStarter | None = None
    schedule_id: str | None = Field(default=None, description="The schedule this job is a run of.")
    scheduled_for: float | None = Field(default=None, description="The run's scheduled time, for a run of a schedule.")
    warnings: list[str] = Field(
        default_factory=list,
        description="Sentences about what the run does that its caller may not expect: parameters the notebook has "
        "no 'parameters' cell for, or does not declare (let through by allow_undeclared_parameters).",
    )

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def error(self) -> JobError | None:
        return self.result.error if self.result else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def execution_time(self) -> float | None:
        """Seconds from start to end (to now while running); None while queued."""
        if self.started_at is None:
            return None
        end = self.completed_at if self.completed_at is not None else time.time()
        return round(max(0.0, end - self.started_at), 3)

    def public(self) -> dict[str, Any]:
        """The record as the REST API and the tools show it: environment values and the owner
        left out (``env_override_names`` lists the variables)."""
        data = self.model_dump(mode="json", exclude={"env_overrides", "owner"})
        data["env_override_names"] = sorted(set(self.env_override_names) | set(self.env_overrides))
        data["error"] = data["result"]["error"] if data.get("result") else None
        return data


class RunSpec(BaseModel):
    """What an executor needs to run a job: file-system paths and the resolved kernelspec."""

    job_id: str
    notebook_path: str = Field(description="API path, for messages.")
    input_path: str = Field(description="Absolute file-system path of the input notebook.")
    output_path: str = Field(description="Absolute file-system path of the output notebook.")
    output_staging_path: str | None = Field(
        default=None,
        description="If set, the executor writes the output notebook here instead, each save whole (renamed "
        "into place), and reports each with an 'output_saved' event; the server writes it to output_path "
        "through its ContentsManager, under the notebook's lock.",
    )
    cwd: str = Field(description="Absolute working directory of the run.")
    parameters: dict[str, Any] = Field(default_factory=dict)
    kernel_name: str
    kernelspec: dict[str, Any] | None = Field(
        default=None, description="argv, env, display_name, language, interrupt_mode, metadata, resource_dir."
    )
    language: str | None = None
    env_overrides: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = 0.0
    start_timeout: float = 60.0
    started_at: float | None = None


class LogPage(BaseModel):
    """Numbered log lines after ``since_line`` (lines are 1-based; ``since_line`` 0 is the start)."""

    job_id: str
    status: JobStatus
    logs: list[dict[str, Any]]
    since_line: int
    next_since_line: int
    total_lines: int
    has_more: bool
