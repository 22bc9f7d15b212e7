"""REST handlers of the jobs API (REST layer), under ``<base_url>jupyter-mcp-ext/`` (docs/jobs-api.md).

``GET/POST /jobs``, ``GET/DELETE /jobs/<job_id>``, ``POST /jobs/<job_id>/cancel``,
``POST /jobs/<job_id>/rerun``, ``GET /jobs/<job_id>/logs?since_line=&limit=``, and
``GET /notebook-parameters?path=`` (what a job of a notebook would run with). The handlers only
translate: they call the same ``JobService`` functions as the MCP tools, and map its exceptions
to status codes in one table.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..exceptions import (
    Conflict,
    InvalidArgument,
    JobNotFound,
    JobsUnavailable,
    KernelSpecNotFound,
    MCPExtError,
    NotFound,
    PathError,
    PermissionDenied,
)
from .models import JobStarter

#: Jobs created through this API are shown as started from JupyterLab (its panel uses this API).
REST_STARTER = JobStarter(via="lab")

#: Running a notebook job runs code in a kernel: the same resource Jupyter's kernels API guards.
AUTH_RESOURCE = "kernels"

_JOB_ID = r"(?P<job_id>[^/]+)"
_ACTION = r"(?P<action>cancel|rerun|logs)"

#: The one table from the service's exceptions to HTTP status codes (the most specific class wins).
STATUS_BY_ERROR: dict[type[MCPExtError], int] = {
    JobNotFound: 404,
    KernelSpecNotFound: 400,  # a bad kernel_name argument, not a missing resource of this API
    NotFound: 404,
    PathError: 403,
    PermissionDenied: 403,
    Conflict: 409,
    InvalidArgument: 400,
    JobsUnavailable: 503,
    MCPExtError: 400,
}


def status_for(error: MCPExtError) -> int:
    """The HTTP status of a service exception, from ``STATUS_BY_ERROR`` along its class's MRO."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def service_errors(method: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Answer the service's exceptions as ``{"message", "reason"}`` JSON with their status code."""

    @functools.wraps(method)
    async def wrapper(self: APIHandler, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except MCPExtError as e:
            self.set_status(status_for(e))
            self.finish(json.dumps({"message": str(e), "reason": type(e).__name__}))

    return wrapper


class _JobsAPIHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def jobs(self) -> Any:
        service = self.settings["jupyter_mcp_ext_services"].jobs
        if service is None:
            raise web.HTTPError(404, "Notebook jobs are not enabled on this server.")
        return service

    def get_json_object(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as e:
            raise InvalidArgument(f"The request body is not valid JSON: {e}") from e
        if not isinstance(body, dict):
            raise InvalidArgument("The request body must be a JSON object.")
        return body


class JobsHandler(_JobsAPIHandler):
    """``GET``: all jobs, newest first (``?status=`` filters), with counts. ``POST``: create a job."""

    @web.authenticated
    @authorized
    @service_errors
    async def get(self) -> None:
        jobs = await self.jobs.list(status=self.get_query_argument("status", None))
        self.finish(json.dumps({"jobs": [job.public() for job in jobs], "counts": await self.jobs.counts()}))

    @web.authenticated
    @authorized("execute")
    @service_errors
    async def post(self) -> None:
        if not await ensure_async(self.authorizer.is_authorized(self, self.current_user, "write", "contents")):
            raise web.HTTPError(403, "User is not authorized to write contents (the output notebook).")
        body = self.get_json_object()
        known = {
            "notebook_path",
            "output_path",
            "parameters",
            "kernel_name",
            "timeout_seconds",
            "working_dir_override",
            "env_overrides",
        }
        unknown = sorted(set(body) - known)
        if unknown:
            raise InvalidArgument(f"Unknown field(s) {', '.join(unknown)}; accepted: {', '.join(sorted(known))}.")
        if not isinstance(body.get("notebook_path"), str):
            raise InvalidArgument("notebook_path is required: the notebook to run, relative to the server root.")
        job = await self.jobs.submit(body.pop("notebook_path"), **body, started_by=REST_STARTER)
        self.set_status(201)
        self.set_header("Location", f"{self.base_url}jupyter-mcp-ext/jobs/{job.job_id}")
        self.finish(json.dumps(job.public()))


class JobHandler(_JobsAPIHandler):
    """``GET``: one job. ``DELETE``: a finished job's record and log (409 while it is active)."""

    @web.authenticated
    @authorized
    @service_errors
    async def get(self, job_id: str) -> None:
        self.finish(json.dumps((await self.jobs.get(job_id)).public()))

    @web.authenticated
    @authorized
    @service_errors
    async def delete(self, job_id: str) -> None:
        await self.jobs.delete(job_id)
        self.set_status(204)
        self.finish()


class JobActionHandler(_JobsAPIHandler):
    """``POST .../cancel``: cancel (answers once the job has stopped). ``POST .../rerun``: a new job
    with the same notebook and arguments (201). ``GET .../logs``: log lines."""

    @web.authenticated
    @authorized("execute")
    @service_errors
    async def post(self, job_id: str, action: str) -> None:
        if action == "cancel":
            self.finish(json.dumps((await self.jobs.cancel(job_id)).public()))
            return
        if action != "rerun":
            raise web.HTTPError(405, f"Use GET for {action}.")
        if not await ensure_async(self.authorizer.is_authorized(self, self.current_user, "write", "contents")):
            raise web.HTTPError(403, "User is not authorized to write contents (the output notebook).")
        job = await self.jobs.rerun(job_id, started_by=REST_STARTER)
        self.set_status(201)
        self.set_header("Location", f"{self.base_url}jupyter-mcp-ext/jobs/{job.job_id}")
        self.finish(json.dumps(job.public()))

    @web.authenticated
    @authorized
    @service_errors
    async def get(self, job_id: str, action: str) -> None:
        if action != "logs":
            raise web.HTTPError(405, f"Use POST for {action}.")
        try:
            since_line = int(self.get_query_argument("since_line", "0"))
            limit = int(self.get_query_argument("limit", "1000"))
        except ValueError as e:
            raise InvalidArgument("since_line and limit must be integers.") from e
        page = await self.jobs.logs(job_id, since_line, limit)
        self.finish(page.model_dump_json())


class NotebookParametersHandler(_JobsAPIHandler):
    """``GET ?path=<notebook>``: the notebook's parameters as Papermill infers them, and the kernel,
    output path and timeout a job of it would get by default (for JupyterLab's "Run as Job" dialog)."""

    auth_resource = "contents"

    @web.authenticated
    @authorized("read")
    @service_errors
    async def get(self) -> None:
        path = self.get_query_argument("path", None)
        if not path:
            raise InvalidArgument(
                "path is required: the notebook, relative to the server root, e.g. ?path=report.ipynb."
            )
        self.finish((await self.jobs.notebook_parameters(path)).model_dump_json())


default_handlers: list[tuple[str, Any]] = [
    (r"/jupyter-mcp-ext/jobs/?", JobsHandler),
    (rf"/jupyter-mcp-ext/jobs/{_JOB_ID}/{_ACTION}/?", JobActionHandler),
    (rf"/jupyter-mcp-ext/jobs/{_JOB_ID}/?", JobHandler),
    (r"/jupyter-mcp-ext/notebook-parameters/?", NotebookParametersHandler),
]
