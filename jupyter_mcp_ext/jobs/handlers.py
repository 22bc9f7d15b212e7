"""REST handlers of the jobs API (REST layer), under ``<base_url>jupyter-mcp-ext/`` (docs/jobs-api.md).

``GET/POST /jobs``, ``GET/DELETE /jobs/<job_id>``, ``POST /jobs/<job_id>/cancel``,
``POST /jobs/<job_id>/rerun``, ``GET /jobs/<job_id>/logs?since_line=&limit=``, and
``GET /notebook-parameters?path=`` (what a job of a notebook would run with). The handlers only
translate: they call the same ``JobService`` functions as the MCP tools, and its exceptions become
status codes through the extension's one table (``rest.STATUS_BY_ERROR``).
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
from .models import JobStarter

#: Jobs created through this API are shown as started from JupyterLab (its panel uses this API).
REST_STARTER = JobStarter(via="lab")

#: Running a notebook job runs code in a kernel: the same resource Jupyter's kernels API guards.
AUTH_RESOURCE = "kernels"

_JOB_ID = r"(?P<job_id>[^/]+)"
_ACTION = r"(?P<action>cancel|rerun|logs)"


class _JobsAPIHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def jobs(self) -> Any:
        service = self.settings["jupyter_mcp_ext_services"].jobs
        if service is None:
            raise web.HTTPError(404, "Notebook jobs are not enabled on this server.")
        return service

    def get_json_object(self) -> dict[str, Any]:
        return json_body(self)


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
            "allow_undeclared_parameters",
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
