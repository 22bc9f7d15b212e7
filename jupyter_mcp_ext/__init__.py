"""jupyter-mcp-ext: the running Jupyter Server as an MCP server for notebooks, kernels and Papermill jobs."""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    __version__ = "0.0.0.dev0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-mcp-ext"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .extension import MCPExtensionApp

    return [{"module": "jupyter_mcp_ext", "app": MCPExtensionApp}]
