"""Notebooks and jobs as MCP resources: ``notebook://<path>`` reads as ``read_cells``' list view, ``job://<id>``
as a job's status, progress and log tail; ``resources/list`` gives the notebooks under the root, most recently
changed first."""

from __future__ import annotations

import logging
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resources.templates import ResourceSecurity
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    Annotations,
    ListResourcesResult,
    PaginatedRequestParams,
)
from mcp_types import Resource as MCPResource
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..exceptions import InvalidArgument, JobNotFound, JobsUnavailable, MCPExtError, NotFound
from ..services import Services
from ..tools.results import dumps, fit
from ..tools.shaping import continuation, list_columns, list_entry, list_page, source_text
from . import sdk
from .identity import reader_of, reader_of_context
from .uris import CELL_TEMPLATE, JOB_TEMPLATE, NOTEBOOK_TEMPLATE, RESOURCE_NOT_FOUND, cell_uri, job_uri, notebook_uri

log = logging.getLogger(__name__)

#: Most notebooks ``resources/list`` gives (the most recently changed).
MAX_LISTED_NOTEBOOKS = 200
#: Most notebook files looked at to find them (a deeper tree is listed in part).
MAX_SCANNED_NOTEBOOKS = 10_000
#: Log lines a job resource ends with.
JOB_LOG_TAIL = 20
#: Characters of a cell's preview in a notebook resource (``read_cells``' default).
PREVIEW_CHARS = 100

JSON = "application/json"


def _not_found(ctx: Any, message: str, uri: str) -> MCPError:
    """The error of a resource that does not exist: -32002 (2025-11-25), invalid params in 2026-07-28."""
    version = getattr(ctx, "protocol_version", None)
    code = INVALID_PARAMS if version in MODERN_PROTOCOL_VERSIONS else RESOURCE_NOT_FOUND
    return MCPError(code, message, data={"uri": uri})


def _error(ctx: Any, error: MCPExtError, uri: str) -> MCPError:
    if isinstance(error, NotFound):
        return _not_found(ctx, str(error), uri)
    return MCPError(INVALID_PARAMS, str(error), data={"uri": uri})


async def notebook_view(services: Services, path: str, *, argument: str = "uri") -> tuple[str, dict[str, Any]]:
    """A notebook as its resource reads: ``read_cells(mode="list")``'s result, within ``max_result_chars``.

    Raises NotebookNotFound, NotANotebook, PathError or InvalidArgument (``argument`` named)."""
    api_path, nb = await services.notebooks.get(path, argument=argument)
    cells = list(nb.cells)
    limit = services.app.max_result_chars
    payload: dict[str, Any] = {"uri": notebook_uri(api_path), "path": api_path, "mode": "list"}
    payload["columns"] = list_columns(True)
    entries, next_index = list_page(cells, 0, len(cells) - 1, True, PREVIEW_CHARS, limit) if cells else ([], None)
    payload["cells"] = entries
    payload["cell_count"] = len(cells)
    if next_index is not None:
        payload["next_start_index"] = next_index
        payload["truncated"] = continuation(api_path, "list", (0, next_index - 1), len(cells), next_index, limit)
    return api_path, fit(payload, limit)


async def cell_view(services: Services, path: str, cell_id: str) -> dict[str, Any]:
    """One cell as its resource reads: its entry in the list view, and its whole source (its outputs in full:
    ``read_cells(mode="single", cell_id=...)``). Raises NotebookNotFound, CellIndexError, PathError."""
    api_path, nb = await services.notebooks.get(path, argument="uri")
    cells = list(nb.cells)
    index = services.notebooks.locate(api_path, cells, cell_id=cell_id)
    view = {
        "uri": cell_uri(api_path, cell_id),
        "path": api_path,
        **list_entry(cells[index], index, False, 0),
        "source": source_text(cells[index].get("source", "")),
    }
    return fit(view, services.app.max_result_chars)


async def job_view(services: Services, job_id: str) -> dict[str, Any]:
    """A job as its resource reads: its record (``manage_async_job(operation="status")``) and the last
    ``JOB_LOG_TAIL`` log lines. Raises JobNotFound, JobsUnavailable."""
    jobs = services.jobs
    if jobs is None:
        raise JobsUnavailable("Notebook jobs are not available on this server.")
    job = await jobs.get(job_id)
    first = await jobs.logs(job_id, 0, 1)
    tail = await jobs.logs(job_id, max(0, first.total_lines - JOB_LOG_TAIL), JOB_LOG_TAIL)
    view = {"uri": job_uri(job.job_id), **job.public(), "log_tail": tail.logs, "log_lines": tail.total_lines}
    return fit(view, services.app.max_result_chars)


#: The tools whose offer makes notebooks (and cells), and jobs, readable as resources: an operator who withholds
#: them (``allowed_tools``, ``denied_tools``) withholds the resources too.
NOTEBOOK_TOOLS = frozenset({"read_cells", "read_notebook"})
JOB_TOOLS = frozenset({"manage_async_job"})


def offered_kinds(tools: set[str]) -> set[str]:
    """The resource kinds ("notebook", "cell", "job") the server offers, given the tools it offers."""
    kinds = {"notebook", "cell"} if NOTEBOOK_TOOLS & tools else set()
    return kinds | ({"job"} if JOB_TOOLS & tools else set())


def register(mcp: MCPServer, services: Services, kinds: set[str]) -> None:
    """Register the resource templates of ``kinds`` and the ``resources/list`` handler on ``mcp``."""
    if "notebook" in kinds:
        _register_notebooks(mcp, services)
    if "job" in kinds:
        _register_jobs(mcp, services)

    async def list_resources(ctx: Any, params: PaginatedRequestParams) -> ListResourcesResult:
        resources = list(await mcp.list_resources())
        reader = reader_of(ctx)
        if "notebook" in kinds and await reader.may_read("notebook"):
            resources += await listed_notebooks(services)
        return ListResourcesResult(resources=resources)

    sdk.add_request_handler(mcp, "resources/list", PaginatedRequestParams, list_resources)


def _register_notebooks(mcp: MCPServer, services: Services) -> None:
    @mcp.resource(
        NOTEBOOK_TEMPLATE,
        name="notebook",
        title="Notebook",
        description="A notebook of this server: notebook:// followed by its path relative to the server root, as "
        "is (notebook://reports/q1.ipynb). Reads as read_cells(mode='list'): per cell its index, id, type, preview "
        "and outputs. Subscribe to be told when anyone changes it (an agent, a person typing in JupyterLab, a job).",
        mime_type=JSON,
        security=ResourceSecurity(exempt_params={"path"}),
    )
    async def notebook(path: str, ctx: Context) -> str:
        uri = notebook_uri(path)
        reader = reader_of_context(ctx)
        await reader.require("read", "contents", f"reading {uri}")
        try:
            _, view = await notebook_view(services, path)
        except MCPExtError as e:
            raise _error(ctx, e, uri) from e
        return dumps(view)

    @mcp.resource(
        CELL_TEMPLATE,
        name="notebook-cell",
        title="Notebook cell",
        description="One cell of a notebook, by its id: notebook-cell://<path>/<cell_id>. Reads as its entry of "
        "read_cells(mode='list') with its whole source. Subscribe to be told when its notebook changes.",
        mime_type=JSON,
        security=ResourceSecurity(exempt_params={"path"}),
    )
    async def cell(path: str, cell_id: str, ctx: Context) -> str:
        uri = cell_uri(path, cell_id)
        reader = reader_of_context(ctx)
        await reader.require("read", "contents", f"reading {uri}")
        try:
            return dumps(await cell_view(services, path, cell_id))
        except MCPExtError as e:
            raise _error(ctx, e, uri) from e


def _register_jobs(mcp: MCPServer, services: Services) -> None:
    @mcp.resource(
        JOB_TEMPLATE,
        name="job",
        title="Notebook job",
        description="A notebook job (execute_notebook): status, progress, the cell running, the error, and the last "
        "lines of its log. Subscribe to follow it.",
        mime_type=JSON,
    )
    async def job(job_id: str, ctx: Context) -> str:
        uri = job_uri(job_id)
        reader = reader_of_context(ctx)
        await reader.require("read", "kernels", f"reading {uri}")
        try:
            return dumps(await job_view(services, job_id))
        except MCPExtError as e:
            raise _error(ctx, e, uri) from e


async def listed_notebooks(services: Services) -> list[MCPResource]:
    """The notebooks under the server root as resources, the most recently changed first (at most
    ``MAX_LISTED_NOTEBOOKS``)."""
    try:
        files = await services.notebooks.list_files(".", recursive=True, limit=MAX_SCANNED_NOTEBOOKS)
    except (InvalidArgument, NotFound, JobNotFound):
        return []
    files.sort(key=lambda f: f.get("last_modified") or "", reverse=True)
    return [
        MCPResource(
            uri=notebook_uri(f["path"]),
            name=f["path"],
            title=f["name"],
            mime_type=JSON,
            size=f.get("size"),
            annotations=Annotations(last_modified=f["last_modified"]) if f.get("last_modified") else None,
        )
        for f in files[:MAX_LISTED_NOTEBOOKS]
    ]


__all__ = [
    "MAX_LISTED_NOTEBOOKS",
    "cell_view",
    "job_view",
    "listed_notebooks",
    "notebook_view",
    "offered_kinds",
    "register",
]
