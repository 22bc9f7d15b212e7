"""MCP tool of schedules (tool layer): manage_schedule, notebook jobs run on cron times."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations
from pydantic import Field

from ..caller import current_caller
from ..exceptions import InvalidArgument
from ..jobs.models import JobStarter
from ..jobs.schedules import ScheduleInfo
from ..services import Services
from . import authorize, tool_call

SCHEDULES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)

#: History entries a tool result shows (newest first); the REST API shows them all.
HISTORY_SHOWN = 10


def listed(schedule: ScheduleInfo) -> dict[str, Any]:
    """A schedule as ``manage_schedule(operation="list")`` shows it."""
    last = schedule.last_runs[0] if schedule.last_runs else None
    return {
        "schedule_id": schedule.schedule_id,
        "notebook_path": schedule.notebook_path,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "status": schedule.status,
        "next_runs": schedule.next_runs[:1],
        "last_run": {"job_id": last.job_id, "status": last.status, "scheduled_for": last.scheduled_for}
        if last
        else None,
        "message": schedule.message,
    }


def shown(schedule: ScheduleInfo) -> dict[str, Any]:
    """A schedule as the other operations show it: every field, the next runs, the latest runs and history."""
    data = schedule.model_dump(mode="json", exclude={"created_at", "updated_at", "created_by"})
    data["history"] = data["history"][:HISTORY_SHOWN]
    return data


def register(mcp: MCPServer, services: Services) -> None:
    """Register manage_schedule on ``mcp``."""
    schedules = services.jobs.schedules

    @mcp.tool(annotations=SCHEDULES)
    @tool_call()  # the permissions depend on the operation: asked below
    async def manage_schedule(
        ctx: Context,
        operation: Literal["create", "list", "get", "update", "pause", "resume", "delete", "run_now"],
        schedule_id: str | None = None,
        fields: Annotated[
            dict[str, Any] | None,
            Field(
                description="create/update: notebook_path, cron (5 fields, e.g. '0 7 * * 1-5'), timezone (IANA; "
                "default UTC), parameters, allow_undeclared_parameters, kernel_name, output_path (may use {name} {date} {time}; default "
                "scheduled-runs/{name}-{date}-{time}.ipynb beside the notebook), timeout_seconds, overlap (a run due "
                "while one runs: 'skip' or 'queue'), catch_up (runs missed while the server was down: 'run_once' or "
                "'skip'), start_date, end_date (ISO 8601)."
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Run a notebook as a Papermill job on a cron schedule; each run is a job of manage_async_job.

        create needs fields notebook_path and cron; update changes the fields given; the other operations take
        schedule_id. Results give status, next_runs, last_runs and history."""
        starter = JobStarter(via="mcp", client_name=current_caller().client)
        if fields is not None and not isinstance(fields, dict):
            raise InvalidArgument("fields must be an object of schedule fields, e.g. {'cron': '0 7 * * 1-5'}.")
        fields = dict(fields or {})
        if operation == "list":
            await authorize(ctx, "read", "kernels")
            return {
                "operation": "list",
                "schedules": [listed(s) for s in await schedules.list()],
                "scheduler": schedules.scheduler_status(),
                "success": True,
            }
        if operation == "create":
            await authorize(ctx, "execute", "kernels")
            await authorize(ctx, "write", "contents")
            created = await schedules.create(created_by=starter, **fields)
            return {"operation": "create", **shown(created), "success": True}
        if not schedule_id:
            raise InvalidArgument(f"operation={operation!r} needs schedule_id (from create or list).")
        if operation == "get":
            await authorize(ctx, "read", "kernels")
            return {"operation": "get", **shown(await schedules.get(schedule_id)), "success": True}
        await authorize(ctx, "execute", "kernels")
        if operation == "delete":
            await schedules.delete(schedule_id)
            return {"operation": "delete", "schedule_id": schedule_id, "success": True}
        if operation == "run_now":
            await authorize(ctx, "write", "contents")
            schedule, job, message = await schedules.run_now(schedule_id)
            result = shown(schedule)
            return {
                "operation": "run_now",
                "job_id": job.job_id if job else None,
                "job_status": job.status if job else None,
                **result,
                "message": message,
                "success": True,
            }
        if operation == "update":
            await authorize(ctx, "write", "contents")
            updated = await schedules.update(schedule_id, **fields)
        else:
            updated = await (schedules.pause if operation == "pause" else schedules.resume)(schedule_id)
        return {"operation": operation, **shown(updated), "success": True}
