"""MCP tools of the execution group (tool layer; spec module C): execute_notebook and manage_async_job."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations
from pydantic import Field

from ..caller import current_caller
from ..exceptions import InvalidArgument
from ..jobs.models import Job, JobStarter
from ..services import Services
from . import authorize, tool_call

log = logging.getLogger(__name__)

RUNS = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)
MANAGES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)


def list_entry(job: Job) -> dict[str, Any]:
    """A job as ``manage_async_job(operation="list")`` shows it."""
    return {
        "job_id": job.job_id,
        "notebook_path": job.notebook_path,
        "output_path": job.output_path,
        "status": job.status,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "completed_at": job.completed_at,
        "execution_time": job.execution_time,
        "progress_percent": job.progress.percent,
        "message": job.message,
        **({"warnings": job.warnings} if job.warnings else {}),
    }


def sync_result(job: Job, recommendation: dict[str, Any]) -> dict[str, Any]:
    """The spec's sync-mode result of execute_notebook for a finished job."""
    result = job.result
    error = job.error
    return {
        "mode": "sync",
        "job_id": job.job_id,
        "notebook_path": job.notebook_path,
        "output_path": job.output_path,
        "execution_status": job.status,
        "execution_time": job.execution_time,
        "cells_total": job.progress.cells_total,
        "cells_executed": job.progress.cells_executed,
        "cells_succeeded": result.cells_succeeded if result else 0,
        "cells_failed": result.cells_failed if result else 0,
        "parameters_injected": job.parameters,
        "kernel_name": job.kernel_name,
        "error": error.model_dump() if error else None,
        "note": result.note if result else None,
        "recommendation": recommendation,
        "message": job.message,
        **({"warnings": job.warnings} if job.warnings else {}),
        "success": True,
    }


def register(mcp: MCPServer, services: Services) -> None:
    """Register the job tools on ``mcp``."""
    jobs = services.jobs
    background: set[asyncio.Task[Any]] = set()

    @mcp.tool(annotations=RUNS)
    @tool_call(("execute", "kernels"), ("write", "contents"))
    async def execute_notebook(
        ctx: Context,
        notebook_path: Annotated[
            str, Field(description="The notebook to run, relative to the server's root directory.")
        ],
        mode: Annotated[
            Literal["sync", "async"],
            Field(
                description="'sync' waits for the result (with progress notifications); 'async' returns a job_id "
                "at once."
            ),
        ] = "sync",
        output_path: Annotated[
            str | None,
            Field(
                description="Where to write the executed notebook (not the input). Default: <name>_output.ipynb "
                "beside it, or in the server's output directory."
            ),
        ] = None,
        parameters: Annotated[
            dict[str, Any] | None,
            Field(
                description="Values for the notebook's parameters, injected after its cell tagged 'parameters' "
                "(Papermill's way), e.g. {'n': 1000}. Names that cell does not declare are refused."
            ),
        ] = None,
        allow_undeclared_parameters: Annotated[
            bool, Field(description="Inject parameters the notebook does not declare anyway (a warning says so).")
        ] = False,
        kernel_name: Annotated[
            str | None,
            Field(description="Kernelspec to run with. Default: the notebook's own."),
        ] = None,
        timeout_seconds: Annotated[
            float | None,
            Field(
                description="Seconds the whole run may take, then it stops as 'timeout'. Default: the server's "
                "job_timeout (300 unless set). 0: no limit."
            ),
        ] = None,
        working_dir_override: Annotated[
            str | None,
            Field(description="Working directory, relative to the root. Default: the notebook's directory."),
        ] = None,
        env_overrides: Annotated[
            dict[str, str] | None,
            Field(description="Extra environment variables for the kernel."),
        ] = None,
    ) -> dict[str, Any]:
        """Run a whole notebook as a Papermill job with parameters, in its own process, writing the executed
        notebook to output_path. For a few lines of code in a live kernel use execute_on_kernel.

        mode="sync" waits and returns execution_status ("completed", "failed", "timeout", "cancelled"; success
        is true even when the notebook failed), execution_time, cell counts and the error (cell_index in the
        input, output_cell_index, message, traceback). mode="async" returns job_id at once, for
        manage_async_job; use it for runs longer than a few minutes (recommendation estimates the duration
        from past runs). Jobs over the concurrency limit wait as "queued".
        """
        job = await jobs.submit(
            notebook_path,
            output_path=output_path,
            parameters=parameters,
            kernel_name=kernel_name,
            timeout_seconds=timeout_seconds,
            working_dir_override=working_dir_override,
            env_overrides=env_overrides,
            allow_undeclared_parameters=allow_undeclared_parameters,
            started_by=JobStarter(via="mcp", client_name=current_caller().client),
        )
        if mode == "async":
            recommendation = await jobs.recommendation(job.notebook_path)
            estimate = recommendation["estimated_duration_minutes"]
            since = job.started_at or job.created_at
            return {
                "mode": "async",
                "job_id": job.job_id,
                "notebook_path": job.notebook_path,
                "output_path": job.output_path,
                "status": job.status,
                "created_at": job.created_at,
                "started_at": job.started_at,
                "estimated_completion": since + estimate * 60 if estimate is not None else None,
                "parameters_injected": job.parameters,
                "kernel_name": job.kernel_name,
                "timeout_seconds": job.timeout_seconds,
                "recommendation": recommendation,
                "message": (
                    "Job started successfully. Use manage_async_job() to check status."
                    if job.status == "running"
                    else f"Job queued ({job.message}). Use manage_async_job() to check status."
                ),
                **({"warnings": job.warnings} if job.warnings else {}),
                "success": True,
            }

        last = -1.0

        async def report(current: Job) -> None:
            nonlocal last
            progress = current.progress
            value = progress.cells_executed + (0.5 if progress.current_cell else 0.0)
            value = max(value, min(last + 0.001, progress.cells_executed + 0.999))
            if value <= last:
                return
            last = value
            try:
                await ctx.report_progress(value, progress.cells_total or None, current.message)
            except Exception:
                log.debug("Could not send a progress notification", exc_info=True)

        try:
            final = await jobs.wait(job.job_id, on_change=report)
        except asyncio.CancelledError:
            # The client gave up on the call: nobody will read the result, so stop the job.
            task = asyncio.ensure_future(jobs.cancel(job.job_id))
            background.add(task)
            task.add_done_callback(background.discard)
            raise
        return sync_result(final, await jobs.recommendation(final.notebook_path))

    @mcp.tool(annotations=MANAGES)
    @tool_call()
    async def manage_async_job(
        ctx: Context,
        operation: Annotated[
            Literal["status", "logs", "cancel", "list"],
            Field(description="'status', 'logs', 'cancel' (one job) or 'list' (all jobs, newest first)."),
        ],
        job_id: Annotated[
            str | None, Field(description="The job's id (from execute_notebook); not for 'list'.")
        ] = None,
        since_line: Annotated[
            int,
            Field(description="'logs': the last line you have (a previous next_since_line; 0: from the start)."),
        ] = 0,
    ) -> dict[str, Any]:
        """Follow and control the notebook jobs of execute_notebook (kept across server restarts).

        - status: status ("queued", "running", "completed", "failed", "timeout", "cancelled"), timings,
          progress (cells executed of cells_total, the current cell), and once finished the result (cells
          succeeded and failed, the error with its cell).
        - logs: the notebook's stdout/stderr and the runner's events, numbered lines after since_line, also
          while it runs (has_more: more lines are ready).
        - cancel: stops the job and its kernel within about 10 s; the partial output notebook is kept.
        - list: every job with status and progress, and counts per status.
        """
        if operation != "list" and not job_id:
            raise InvalidArgument(f"operation={operation!r} needs job_id (the id execute_notebook returned).")
        if operation == "cancel":
            await authorize(ctx, "execute", "kernels")
            job = await jobs.cancel(job_id)
            cancelled = job.status == "cancelled"
            return {
                "operation": "cancel",
                "job_id": job.job_id,
                "status": job.status,
                "cancelled_at": job.cancel_requested_at,
                "execution_time": job.execution_time,
                "output_path": job.output_path,
                "message": (job.message or "Cancelled.")
                if cancelled
                else f"The job ended ({job.status}) before the cancel took effect. {job.message or ''}".strip(),
                "success": True,
            }
        await authorize(ctx, "read", "kernels")
        if operation == "status":
            job = await jobs.get(job_id)
            return {"operation": "status", **job.public(), "success": True}
        if operation == "logs":
            page = await jobs.logs(job_id, since_line)
            return {"operation": "logs", **page.model_dump(), "success": True}
        listed = await jobs.list()
        counts = await jobs.counts()
        return {
            "operation": "list",
            "jobs": [list_entry(job) for job in listed],
            "active_jobs": counts["queued"] + counts["running"],
            "queued_jobs": counts["queued"],
            "running_jobs": counts["running"],
            "completed_jobs": counts["completed"],
            "failed_jobs": counts["failed"],
            "timeout_jobs": counts["timeout"],
            "cancelled_jobs": counts["cancelled"],
            "total_jobs": counts["total"],
            **(
                {
                    "unreadable_records": counts["unreadable_records"],
                    "note": f"{counts['unreadable_records']} job record(s) in the job database cannot be read "
                    "(written by another version, or edited by hand) and are skipped.",
                }
                if counts.get("unreadable_records")
                else {}
            ),
            "success": True,
        }
