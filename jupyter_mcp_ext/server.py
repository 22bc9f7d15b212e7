"""The MCP server (tool layer): builds the SDK's ``MCPServer`` and registers the tool groups on it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from pydantic import ValidationError

from . import __version__
from .config import ConfigurationError
from .names import closest
from .notebooks.paths import shown
from .services import Services

#: What each kind of pydantic error says an argument must be.
EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a JSON object",
    "list_type": "a JSON array",
    "none_required": "null",
}
#: Most argument errors listed in one message.
MAX_ARGUMENT_ERRORS = 5


def _type_name(value: Any) -> str:
    return {bool: "a boolean", str: "a string", int: "an integer", float: "a number", dict: "an object"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def unknown_arguments(names: Sequence[str], valid: Sequence[str]) -> str:
    """What to say of arguments a tool does not take: each with the closest valid one, then all of
    them, e.g. ``unknown argument 'dir'; did you mean 'directory'? valid: directory, recursive, start_index``."""
    listed = "valid: " + (", ".join(valid) if valid else "none (this tool takes no arguments)")
    matches = [closest(name, valid) for name in names]
    if len(names) == 1:
        return f"unknown argument {names[0]!r}; " + (f"did you mean {matches[0]!r}? " if matches[0] else "") + listed
    each = [f"{n!r}" + (f" (did you mean {m!r}?)" if m else "") for n, m in zip(names, matches, strict=True)]
    return f"unknown arguments {', '.join(each[:-1])} and {each[-1]}; {listed}"


def argument_errors(tool: str, error: ValidationError, valid: Sequence[str] = ()) -> str:
    """A short message for arguments that do not fit a tool's input schema: each argument named,
    what it must be, and what was given (cut to a few dozen characters), instead of pydantic's dump.
    Alternatives of one argument (``int | None``, ``dict | str``) are said together. Arguments the
    tool does not take are named with the closest of ``valid`` (the tool's arguments) and all of them."""
    per_argument: dict[str, dict[str, Any]] = {}
    unknown: list[str] = []
    for item in error.errors(include_url=False):
        loc = [str(p) for p in item.get("loc", ())]
        name = loc[0] if loc else "arguments"
        kind = item.get("type", "")
        if kind == "extra_forbidden" and len(loc) == 1:
            unknown.append(name)
            continue
        entry = per_argument.setdefault(name, {"expected": [], "input": item.get("input"), "other": None})
        if kind == "missing":
            entry["other"] = "is required"
        elif kind == "literal_error":
            entry["expected"].append("one of " + str((item.get("ctx") or {}).get("expected", "")))
        elif kind in EXPECTED:
            entry["expected"].append(EXPECTED[kind])
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            bound = next(iter((item.get("ctx") or {}).values()), "")
            sign = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}[kind]
            entry["expected"].append(f"a number {sign} {bound}")
        else:
            entry["other"] = f"is not valid ({item.get('msg', kind)})"
    parts = []
    if unknown:
        parts.append(unknown_arguments(unknown, valid))
    for name, entry in list(per_argument.items())[:MAX_ARGUMENT_ERRORS]:
        if entry["other"] == "is required":
            parts.append(f"{name} is required")
            continue
        expected = list(dict.fromkeys(e for e in entry["expected"] if e != "null"))
        if "null" in entry["expected"]:
            expected.append("omitted")
        want = f"must be {' or '.join(expected)}" if expected else entry["other"] or "is not valid"
        parts.append(f"{name} {want}, got {shown(entry['input'], 60)} ({_type_name(entry['input'])})")
    more = len(per_argument) - MAX_ARGUMENT_ERRORS
    return f"Invalid arguments for {tool}: " + "; ".join(parts) + (f"; and {more} more." if more > 0 else ".")


class JupyterMCPServer(MCPServer):
    """The SDK's ``MCPServer`` with argument errors said shortly, in one place (``argument_errors``):
    the SDK would send pydantic's whole report, input values and documentation links included."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as e:
            if isinstance(e, UnexpectedToolError) or not isinstance(e.__cause__, ValidationError):
                raise
            raise ToolError(argument_errors(name, e.__cause__, self.argument_names(name))) from e.__cause__

    def argument_names(self, name: str) -> list[str]:
        """The arguments tool ``name`` takes, in the order of its signature (none for an unknown tool)."""
        tool = self._tool_manager.get_tool(name)
        if tool is None:
            return []
        fields = tool.fn_metadata.arg_model.model_fields
        return [field.alias or key for key, field in fields.items()]

    def make_arguments_strict(self) -> None:
        """Validate every tool's arguments strictly: no boolean or numeric string where an integer is
        expected, no "true" for a boolean (pydantic's lax mode would turn ``True`` into cell 1), and no
        argument the tool does not take (the SDK's models ignore them: a misspelt ``dir`` would list
        the root, as a success). Through the argument models' ``model_config``, as the SDK validates
        with them in both protocol generations."""
        for tool in self._tool_manager.list_tools():
            model = tool.fn_metadata.arg_model
            model.model_config["strict"] = True
            model.model_config["extra"] = "forbid"
            model.model_rebuild(force=True)


INSTRUCTIONS = """\
Tools for the Jupyter server you are connected to: its notebooks (paths are relative to the \
server's root directory), its kernels (the same ones JupyterLab shows) and Papermill jobs. \
Read a notebook with read_cells(mode="list") first, then read or edit single cells. Run code \
with execute_on_kernel; run a whole notebook as a parameterized job with execute_notebook."""


def _new_mcp_server(**kwargs: Any) -> JupyterMCPServer:
    # MCPServer() calls logging.basicConfig(), which installs a Rich handler at INFO on the root
    # logger when it has none: inside Jupyter Server that would reroute every library's logging.
    # A placeholder handler makes basicConfig a no-op; the root logger stays as Jupyter set it.
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    root.addHandler(placeholder)
    try:
        return JupyterMCPServer(**kwargs)
    finally:
        root.removeHandler(placeholder)


def build_mcp_server(services: Services) -> JupyterMCPServer:
    """Create the MCP server with the tools the operator offers.

    Tool groups come from ``jupyter_mcp_ext.tools``: notebooks and system always; kernels and
    jobs when their services exist. ``select_tools`` then removes what ``read_only``,
    ``allowed_tools`` and ``denied_tools`` withhold. Deprecated aliases (the spec's older tool
    names) are added only when ``MCPExtensionApp.enable_legacy_tool_names`` is set, and only for
    the tools offered. Resources, subscriptions, tasks, the MCP App views and log notifications
    come from ``jupyter_mcp_ext.mcp_native`` (``services.native``).

    Raises ConfigurationError when ``allowed_tools`` or ``denied_tools`` names a tool that does not exist.
    """
    from .mcp_native import NativeFeatures
    from .tools import aliases, context, jobs, kernels, notebooks, schedules, system
    from .tools.results import tidy_tools

    serverapp = getattr(services.app, "serverapp", None)
    native = services.native = NativeFeatures(services, getattr(serverapp, "event_logger", None))
    mcp = _new_mcp_server(
        name="jupyter-mcp-ext", version=__version__, instructions=INSTRUCTIONS, **native.server_arguments()
    )
    notebooks.register(mcp, services)
    system.register(mcp, services)
    context.register(mcp, services)
    if services.kernels is not None:
        kernels.register(mcp, services)
    if services.jobs is not None:
        jobs.register(mcp, services)
        schedules.register(mcp, services)
    app = services.app
    withheld = select_tools(mcp, read_only=app.read_only, allowed=app.allowed_tools, denied=app.denied_tools)
    services.extra["withheld_tools"] = withheld
    if app.enable_legacy_tool_names:
        aliases.register(mcp, services)
    mcp.make_arguments_strict()
    tidy_tools(mcp, app.max_result_chars)
    native.install(mcp)
    return mcp


def changes_nothing(tool: Any) -> bool:
    """Whether a registered tool is one that ``read_only`` offers: its annotations say it is read-only.

    The annotations are the tools' own declaration to clients (``readOnlyHint``), so one statement
    serves both; a tool without annotations counts as changing something.
    """
    annotations = getattr(tool, "annotations", None)
    return bool(annotations is not None and annotations.read_only_hint)


def select_tools(mcp: MCPServer, *, read_only: bool, allowed: list[str] | None, denied: list[str]) -> list[str]:
    """Remove the tools the operator does not offer; return the names of those withheld.

    Raises ConfigurationError naming any name in ``allowed`` / ``denied`` that is not a tool, with the valid names.
    """
    from .tools.aliases import ALIASES

    tools = {tool.name: tool for tool in mcp._tool_manager.list_tools()}
    problems = []
    for setting, names in (("allowed_tools", allowed or []), ("denied_tools", denied)):
        for name in names:
            if name in tools:
                continue
            if name in ALIASES:
                hint = f"it is a deprecated alias of {ALIASES[name][0]}, which is the name to give"
            else:
                hint = "valid names: " + ", ".join(sorted(tools))
            problems.append(f"MCPExtensionApp.{setting} names {name!r}, which is not a tool of this server: {hint}.")
    if problems:
        raise ConfigurationError(problems)
    withheld = [
        name
        for name, tool in tools.items()
        if (read_only and not changes_nothing(tool)) or (allowed is not None and name not in allowed) or name in denied
    ]
    for name in withheld:
        mcp.remove_tool(name)
    return sorted(withheld)
