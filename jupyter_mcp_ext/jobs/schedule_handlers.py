"""REST handlers of the schedules (REST layer), under ``<base_url>jupyter-mcp-ext/schedules`` (docs/jobs-api.md).

``GET/POST /schedules``, ``GET/PATCH/DELETE /schedules/<id>``, ``POST /schedules/<id>/run`` and
``GET /schedules/preview?cron=&timezone=`` (the next run times, which JupyterLab's dialog shows as the
user types). They call the same ``ScheduleService`` functions as the ``manage_schedule`` tool and are
authorized like the jobs routes (a schedule runs code in kernels).
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..exceptions import InvalidArgument
from ..rest import json_body, service_errors
from .handlers import AUTH_RESOURCE, REST_STARTER

_SCHEDULE_ID = r"(?P<schedule_id>[^/]+)"


class _SchedulesAPIHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def schedules(self) -> Any:
        jobs = self.settings["jupyter_mcp_ext_services"].jobs
        if jobs is None:
            raise web.HTTPError(404, "Notebook jobs are not enabled on this server.")
        return jobs.schedules

    async def check_write_contents(self) -> None:
        if not await ensure_async(self.authorizer.is_authorized(self, self.current_user, "write", "contents")):
            raise web.HTTPError(403, "User is not authorized to write contents (the runs' output notebooks).")

    def finish_json(self, data: Any) -> None:
        self.finish(json.dumps(data))


class SchedulesHandler(_SchedulesAPIHandler):
    """``GET``: every schedule, and whether this server runs them. ``POST``: make a schedule (201)."""

    @web.authenticated
    @authorized
    @service_errors
    async def get(self) -> None:
        schedules = await self.schedules.list()
        self.finish_json(
            {
                "schedules": [s.model_dump(mode="json") for s in schedules],
                "scheduler": self.schedules.scheduler_status(),
            }
        )

    @web.authenticated
    @authorized("execute")
    @service_errors
    async def post(self) -> None:
        await self.check_write_contents()
        schedule = await self.schedules.create(created_by=REST_STARTER, **json_body(self))
        self.set_status(201)
        self.set_header("Location", f"{self.base_url}jupyter-mcp-ext/schedules/{schedule.schedule_id}")
        self.finish_json(schedule.model_dump(mode="json"))


class ScheduleHandler(_SchedulesAPIHandler):
    """``GET``: one schedule. ``PATCH``: change the fields given (``active`` pauses or resumes).
    ``DELETE``: the schedule (its runs' job records and outputs stay)."""

    @web.authenticated
    @authorized
    @service_errors
    async def get(self, schedule_id: str) -> None:
        self.finish_json((await self.schedules.get(schedule_id)).model_dump(mode="json"))

    @web.authenticated
    @authorized("execute")
    @service_errors
    async def patch(self, schedule_id: str) -> None:
        await self.check_write_contents()
        changes = json_body(self)
        if not changes:
            raise InvalidArgument('The request body names no field to change, e.g. {"active": false}.')
        self.finish_json((await self.schedules.update(schedule_id, **changes)).model_dump(mode="json"))

    @web.authenticated
    @authorized("execute")
    @service_errors
    async def delete(self, schedule_id: str) -> None:
        await self.schedules.delete(schedule_id)
        self.set_status(204)
        self.finish()


class ScheduleRunHandler(_SchedulesAPIHandler):
    """``POST``: run the schedule now; answers the schedule, the job (null while it waits for the
    previous run, with ``overlap`` "queue") and a sentence."""

    @web.authenticated
    @authorized("execute")
    @service_errors
    async def post(self, schedule_id: str) -> None:
        await self.check_write_contents()
        schedule, job, message = await self.schedules.run_now(schedule_id)
        self.finish_json(
            {"schedule": schedule.model_dump(mode="json"), "job": job.public() if job else None, "message": message}
        )


class SchedulePreviewHandler(_SchedulesAPIHandler):
    """``GET ?cron=&timezone=[&count=3][&notebook_path=&output_path=]``: the next run times of a cron
    expression in a timezone (and the output path a schedule of the notebook would write first)."""

    @web.authenticated
    @authorized
    @service_errors
    async def get(self) -> None:
        try:
            count = int(self.get_query_argument("count", "3"))
        except ValueError as e:
            raise InvalidArgument("count must be an integer from 1 to 20.") from e
        preview = await self.schedules.preview(
            self.get_query_argument("cron", None),
            self.get_query_argument("timezone", "UTC"),
            count,
            notebook_path=self.get_query_argument("notebook_path", None) or None,
            output_path=self.get_query_argument("output_path", None) or None,
        )
        self.finish_json(preview)


default_handlers: list[tuple[str, Any]] = [
    (r"/jupyter-mcp-ext/schedules/?", SchedulesHandler),
    (r"/jupyter-mcp-ext/schedules/preview/?", SchedulePreviewHandler),
    (rf"/jupyter-mcp-ext/schedules/{_SCHEDULE_ID}/run/?", ScheduleRunHandler),
    (rf"/jupyter-mcp-ext/schedules/{_SCHEDULE_ID}/?", ScheduleHandler),
]
