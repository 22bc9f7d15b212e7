"""Deprecated aliases (tool layer): the spec's older tool names, forwarded to the consolidated tools.

Registered only when ``MCPExtensionApp.enable_legacy_tool_names`` is set, so that the default
tool list stays short for the model's context. Each alias calls the consolidated tool through
the MCP server itself, so validation, authorization and results are exactly the new tool's.
The mapping is the spec's "Tableau de mapping complet" (api-spec.md).
"""

from __future__ import annotations

import inspect
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from ..services import Services

#: old name -> (new tool, fixed arguments, {old argument: new argument}, description)
ALIASES: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "read_cell": ("read_cells", {"mode": "single"}, {"path": "path", "index": "index"}),
    "read_cells_range": (
        "read_cells",
        {"mode": "range"},
        {"path": "path", "start_index": "start_index", "end_index": "end_index"},
    ),
    "list_notebook_cells": ("read_cells", {"mode": "list"}, {"path": "path"}),
    "get_notebook_metadata": ("inspect_notebook", {"mode": "metadata"}, {"path": "path"}),
    "get_notebook_info": ("inspect_notebook", {"mode": "metadata"}, {"path": "path"}),
    "inspect_notebook_outputs": ("inspect_notebook", {"mode": "outputs"}, {"path": "path"}),
    "validate_notebook": ("inspect_notebook", {"mode": "validate"}, {"path": "path"}),
    "execute_cell": (
        "execute_on_kernel",
        {"mode": "code"},
        {"kernel_id": "kernel_id", "code": "code", "timeout": "timeout"},
    ),
    "execute_notebook_cell": (
        "execute_on_kernel",
        {"mode": "notebook_cell"},
        {"kernel_id": "kernel_id", "path": "path", "cell_index": "cell_index", "timeout": "timeout"},
    ),
    "get_kernel_status": ("list_kernels", {}, {"kernel_id": "kernel_id"}),
    "get_execution_status": ("list_kernels", {}, {}),
    "execute_notebook_papermill": (
        "execute_notebook",
        {"mode": "sync"},
        {
            "notebook_path": "notebook_path",
            "input_path": "notebook_path",
            "output_path": "output_path",
            "parameters": "parameters",
            "kernel_name": "kernel_name",
            "timeout_seconds": "timeout_seconds",
        },
    ),
    "execute_notebook_solution_a": (
        "execute_notebook",
        {"mode": "sync"},
        {"notebook_path": "notebook_path", "input_path": "notebook_path", "output_path": "output_path"},
    ),
    "parameterize_notebook": (
        "execute_notebook",
        {"mode": "sync"},
        {
            "notebook_path": "notebook_path",
            "input_path": "notebook_path",
            "output_path": "output_path",
            "parameters": "parameters",
        },
    ),
    "execute_notebook_sync": (
        "execute_notebook",
        {"mode": "sync"},
        {
            "notebook_path": "notebook_path",
            "output_path": "output_path",
            "parameters": "parameters",
            "timeout_seconds": "timeout_seconds",
        },
    ),
    "start_notebook_async": (
        "execute_notebook",
        {"mode": "async"},
        {
            "notebook_path": "notebook_path",
            "input_path": "notebook_path",
            "output_path": "output_path",
            "parameters": "parameters",
            "timeout_seconds": "timeout_seconds",
        },
    ),
    "get_execution_status_async": ("manage_async_job", {"operation": "status"}, {"job_id": "job_id"}),
    "get_job_logs": ("manage_async_job", {"operation": "logs"}, {"job_id": "job_id", "since_line": "since_line"}),
    "cancel_job": ("manage_async_job", {"operation": "cancel"}, {"job_id": "job_id"}),
    "list_jobs": ("manage_async_job", {"operation": "list"}, {}),
}


def _alias(mcp: MCPServer, old: str, new: str, fixed: dict[str, Any], renames: dict[str, str]) -> None:
    shown = ", ".join(f"{k}={v!r}" for k, v in fixed.items())

    async def forward(ctx: Context, **arguments: Any) -> CallToolResult:
        args = dict(fixed)
        args.update({renames[k]: v for k, v in arguments.items() if v is not None})
        return await mcp.call_tool(new, args, ctx)  # type: ignore[return-value]

    # The old arguments as real parameters, so that old clients call the alias as they called the
    # old tool; their types and checks are the new tool's, applied when it is called.
    params = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Context)]
    params += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Any) for name in renames
    ]
    forward.__signature__ = inspect.Signature(params, return_annotation=CallToolResult)  # type: ignore[attr-defined]
    forward.__annotations__ = {"ctx": Context, **{name: Any for name in renames}, "return": CallToolResult}
    mcp.add_tool(forward, name=old, description=f"Deprecated alias of {new}({shown}); use {new} directly.")


def register(mcp: MCPServer, services: Services) -> None:
    """Register every alias whose consolidated tool exists on ``mcp``."""
    existing = {tool.name for tool in mcp._tool_manager.list_tools()}
    for old, (new, fixed, renames) in ALIASES.items():
        if new in existing and old not in existing:
            _alias(mcp, old, new, fixed, renames)
