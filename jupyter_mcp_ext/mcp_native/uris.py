"""The URIs of this server's resources, and what they name.

- ``notebook://<path>``: a notebook, ``<path>`` its API path as is (``notebook://reports/q1.ipynb``,
  slashes not encoded); the same string in the template (RFC 6570 ``notebook://{+path}``), reads,
  subscriptions and notifications. A client may percent-encode characters (``%20``); it is told of
  changes under the URI it subscribed with.
- ``notebook-cell://<path>/<cell_id>``: one cell of a notebook, by its nbformat id (it names the same cell after
  cells are added or removed above it); followed, it is told of every change of its notebook.
- ``job://<job_id>``: a notebook job (status, progress, the current cell, the log's tail).
- ``ui://jupyter-mcp-ext/...``: the MCP App views (``apps.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

NOTEBOOK_SCHEME = "notebook://"
CELL_SCHEME = "notebook-cell://"
JOB_SCHEME = "job://"
UI_PREFIX = "ui://jupyter-mcp-ext/"

#: The JSON-RPC error of a resource that does not exist (MCP 2025-11-25, server/resources).
RESOURCE_NOT_FOUND = -32002

NOTEBOOK_TEMPLATE = NOTEBOOK_SCHEME + "{+path}"
CELL_TEMPLATE = CELL_SCHEME + "{+path}/{cell_id}"
JOB_TEMPLATE = JOB_SCHEME + "{job_id}"

#: What the error of an unknown URI lists as valid.
VALID_URIS = (
    "notebook://<path> (a notebook's API path as is, e.g. notebook://reports/q1.ipynb), "
    "notebook-cell://<path>/<cell_id> (one cell), job://<job_id> (a notebook job) and ui://jupyter-mcp-ext/<view> "
    "(the MCP App views)"
)


@dataclass(frozen=True)
class Target:
    """What a resource URI names: ``kind`` "notebook" (``name``: the path as given, decoded), "cell"
    (``name``: the notebook's path, ``cell_id``), "job" (``name``: the job id) or "ui" (``name``: the view)."""

    kind: str
    name: str
    cell_id: str | None = None


def notebook_uri(api_path: str) -> str:
    """The URI of the notebook at ``api_path``: ``notebook://`` and the path as is."""
    return NOTEBOOK_SCHEME + api_path


def cell_uri(api_path: str, cell_id: str) -> str:
    return CELL_SCHEME + api_path + "/" + cell_id


def job_uri(job_id: str) -> str:
    return JOB_SCHEME + job_id


def parse(uri: object, *, argument: str = "uri") -> Target:
    """What ``uri`` names. Raises a JSON-RPC invalid-params error naming ``argument`` when it is not a URI
    of this server's resources."""
    if not isinstance(uri, str) or not uri:
        raise MCPError(INVALID_PARAMS, f"{argument} must be a resource URI string: {VALID_URIS}.")
    for scheme, kind in ((NOTEBOOK_SCHEME, "notebook"), (CELL_SCHEME, "cell"), (JOB_SCHEME, "job"), (UI_PREFIX, "ui")):
        if uri.startswith(scheme):
            name = unquote(uri[len(scheme) :])
            if not name or "?" in name or "#" in name:
                break
            if kind == "job" and "/" in name:
                break
            if kind == "cell":
                path, _, cell_id = name.rpartition("/")
                if not path or not cell_id:
                    break
                return Target(kind, path, cell_id)
            return Target(kind, name)
    raise MCPError(
        INVALID_PARAMS,
        f"{argument} {uri[:200]!r} is not a resource of this server; its resources are {VALID_URIS}.",
        data={"uri": uri[:1000]},
    )


__all__ = [
    "CELL_SCHEME",
    "CELL_TEMPLATE",
    "JOB_SCHEME",
    "JOB_TEMPLATE",
    "NOTEBOOK_SCHEME",
    "NOTEBOOK_TEMPLATE",
    "RESOURCE_NOT_FOUND",
    "Target",
    "UI_PREFIX",
    "cell_uri",
    "job_uri",
    "notebook_uri",
    "parse",
]
