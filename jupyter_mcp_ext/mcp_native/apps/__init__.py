"""The MCP App views (MCP Apps, ``io.modelcontextprotocol/ui``): a live job view and a rendered notebook.

Each is one self-contained HTML file in this folder, served as ``text/html;profile=mcp-app``: no network
but the host's bridge (``postMessage``), a strict Content-Security-Policy, light and dark.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from mcp.server.apps import Apps, ResourceCsp

JOB_VIEW = "ui://jupyter-mcp-ext/job"
NOTEBOOK_VIEW = "ui://jupyter-mcp-ext/notebook"

#: Tool -> its view.
VIEWS = {"execute_notebook": JOB_VIEW, "manage_async_job": JOB_VIEW, "read_cells": NOTEBOOK_VIEW}


def html(name: str) -> str:
    """The HTML of view ``name`` ("job", "notebook")."""
    return (files(__package__) / f"{name}.html").read_text(encoding="utf-8")


def build_apps() -> tuple[Apps, dict[str, dict[str, Any]]]:
    """The Apps extension with both views, and each tool's ``_meta.ui`` (given to Apps clients only)."""
    apps = Apps()
    # No connect, resource or frame domain: the views reach nothing but the host.
    csp = ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[], base_uri_domains=[])
    apps.add_html_resource(
        JOB_VIEW,
        html("job"),
        name="job-view",
        title="Notebook job",
        description="A notebook job's live progress, the cell running, its log and a cancel button.",
        csp=csp,
        prefers_border=True,
    )
    apps.add_html_resource(
        NOTEBOOK_VIEW,
        html("notebook"),
        name="notebook-view",
        title="Notebook",
        description="A notebook's cells with their outputs rendered, charts as images.",
        csp=csp,
        prefers_border=True,
    )
    ui = {tool: {"resourceUri": uri} for tool, uri in VIEWS.items()}
    return apps, ui


__all__ = ["JOB_VIEW", "NOTEBOOK_VIEW", "VIEWS", "build_apps", "html"]
