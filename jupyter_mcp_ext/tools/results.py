"""Tool results as a model receives them (tool layer): compact JSON beside the structured content, images as
image blocks, and a size budget on every result.

The SDK would send a tool's dict as pretty-printed JSON text (``indent=2``) *and* as structured
content, and publish an ``outputSchema`` that says nothing (``{"type": "object",
"additionalProperties": true}``) for every tool. ``tidy_tools`` makes every registered tool
return what ``json_result`` builds instead: the JSON text without indentation or spaces, the
same object as structured content, then the images. A result that carries images has no
structured copy: clients that prefer structured content give the model only that and drop the
content blocks, images included (Claude Code and Codex do, anthropics/claude-code#54737), so the
chart of a cell would never reach the model. It also lists the tools leaner: docstrings
without the source's indentation and line breaks, input schemas without pydantic's ``title``
entries and null defaults, annotations without hints that say nothing: all of
which the model reads in ``tools/list`` for nothing.

The budget (``MCPExtensionApp.max_result_chars``): the text of a result stays within it unless
the call asked for more. The read tools cut at cell and output boundaries themselves and say
which call returns the rest (``tools.shaping``); ``fit`` is the net under every other tool: it
shortens the longest list of the result (or its longest string) and says so.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Sequence
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp.types import CallToolResult, ImageContent, TextContent, ToolAnnotations

from ..outputs import Image

#: The official Python MCP client refuses one SSE event over 1 MiB (``mcp.client.streamable_http``,
#: ``DEFAULT_MAX_SSE_EVENT_SIZE``), and a result goes in one event: its text, its structured copy
#: and its images together. Results stay under this many bytes unless a call asks for more.
MAX_MESSAGE_BYTES = 1024 * 1024
#: Bytes kept free in that message for the JSON-RPC envelope and the escaping of the text copy.
MESSAGE_MARGIN = 16 * 1024


def dumps(payload: Any) -> str:
    """Compact JSON: no indentation, no spaces after separators, non-ASCII text as is."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)


def json_result(payload: dict[str, Any], images: Sequence[Image] = (), *, text: str | None = None) -> CallToolResult:
    """The result of a tool call: ``payload`` as compact JSON text and as structured content, then
    ``images`` as image content (referenced from the JSON as ``[image #1 ...]`` and so on).
    ``finish`` drops the structured copy of a result with images before it is sent."""
    content: list[Any] = [TextContent(type="text", text=dumps(payload) if text is None else text)]
    content += [ImageContent(type="image", data=image.data, mime_type=image.mime_type) for image in images]
    return CallToolResult(content=content, structured_content=payload)


def image_budget(max_result_chars: int) -> int:
    """Base64 characters left for images in one result whose text may reach ``max_result_chars``
    (a result with images sends its text once, escaped; see ``MAX_MESSAGE_BYTES``); 0 (no limit)
    for 0."""
    if not max_result_chars:
        return 0
    return max(0, MAX_MESSAGE_BYTES - MESSAGE_MARGIN - int(1.1 * max_result_chars))


def effective_limit(default: int, arguments: dict[str, Any]) -> int:
    """The budget of one call: ``max_result_chars`` if the call gave it (0 = no limit); for
    execute_on_kernel, a ``max_output_chars`` above the budget (or 0) raises it to fit."""
    asked = arguments.get("max_result_chars")
    if isinstance(asked, int) and not isinstance(asked, bool):
        return asked
    outputs = arguments.get("max_output_chars")
    if isinstance(outputs, int) and not isinstance(outputs, bool) and default:
        if outputs == 0:
            return 0
        if outputs > default // 2:
            return outputs + default
    return default


def _longest_list(payload: Any, path: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], int]:
    """The path to the list with the most JSON characters inside ``payload`` (dicts and lists
    walked two levels deep), and its size."""
    best: tuple[tuple[Any, ...], int] = ((), 0)
    if len(path) > 3:
        return best
    items = payload.items() if isinstance(payload, dict) else enumerate(payload) if isinstance(payload, list) else ()
    for key, value in items:
        if isinstance(value, list) and len(value) > 1:
            size = len(dumps(value))
            if size > best[1]:
                best = ((*path, key), size)
        if isinstance(value, dict | list):
            inner = _longest_list(value, (*path, key))
            if inner[1] > best[1]:
                best = inner
    return best


def _get(payload: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        payload = payload[key]
    return payload


def fit(payload: dict[str, Any], limit: int) -> dict[str, Any]:
    """``payload`` within ``limit`` characters of compact JSON (``limit`` 0: as it is).

    The longest list is cut to the items that fit, repeatedly; then the longest strings keep
    their beginning. ``truncated`` says what was left out, and that a larger
    ``max_result_chars`` (where the tool takes it) or a narrower call returns it.
    """
    if not limit or len(dumps(payload)) <= limit:
        return payload
    payload = json.loads(dumps(payload))  # a copy of plain JSON values to cut
    notes: list[str] = []
    for _ in range(8):
        size = len(dumps(payload))
        if size <= limit:
            break
        path, list_size = _longest_list(payload)
        if not path or list_size < (size - limit) // 4:
            break
        items = _get(payload, path)
        total = len(items)
        keep = total
        over = size - limit + 200
        while keep > 1 and over > 0:
            keep -= 1
            over -= len(dumps(items[keep])) + 1
        del items[keep:]
        name = ".".join(str(p) for p in path)
        notes.append(f"{name}: the first {keep} of {total} items")
    if len(dumps(payload)) > limit:
        _cut_strings(payload, limit)
        notes.append("long texts cut")
    payload["truncated"] = (
        f"This result was cut to max_result_chars={limit:,} characters ({'; '.join(notes)}). "
        "Ask for less at a time (a narrower call), or for more with a larger max_result_chars where the tool takes it "
        "(0 = no limit)."
    )
    return payload


def _cut_strings(payload: Any, limit: int) -> None:
    """Cut the longest strings of ``payload`` (in place) until its JSON fits ``limit``."""
    strings: list[tuple[int, Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(value, str) and len(value) > 200:
                strings.append((len(value), node, key))
            elif isinstance(value, dict | list):
                walk(value)

    walk(payload)
    strings.sort(key=lambda s: -s[0])
    for length, node, key in strings:
        over = len(dumps(payload)) - limit
        if over <= 0:
            return
        keep = max(100, length - over - 100)
        node[key] = node[key][:keep] + f" [... {length - keep:,} characters cut by max_result_chars]"


def finish(result: Any, limit: int) -> Any:
    """A tool's return value as the result to send: dicts become ``json_result``s; a
    CallToolResult's structured content is fitted to ``limit`` too (its text rebuilt compact), and
    left out when the result carries images (see the module's docstring): every client then shows
    the model the JSON text and the images."""
    if isinstance(result, dict):
        compact = dumps(result)
        if limit and len(compact) > limit:
            result = fit(result, limit)
            compact = dumps(result)
        return json_result(result, text=compact)
    if isinstance(result, CallToolResult) and not result.is_error and isinstance(result.structured_content, dict):
        text = result.content[0] if result.content else None
        if isinstance(text, TextContent) and limit and len(text.text) > limit:
            payload = fit(result.structured_content, limit)
            result = CallToolResult(
                content=[TextContent(type="text", text=dumps(payload)), *result.content[1:]],
                structured_content=payload,
            )
        if any(isinstance(block, ImageContent) for block in result.content):
            result = result.model_copy(update={"structured_content": None})
    return result


def lean_schema(schema: Any) -> Any:
    """A tool's input schema as a model needs to read it: without pydantic's ``title`` entries
    (property names stay, of course), without ``"default": null`` (an argument that is not
    required is left out to not give it), without ``additionalProperties: true``, which JSON Schema
    implies, and with ``anyOf [{"type": X, ...}, {"type": "null"}]`` said as ``{"type": [X, "null"],
    ...}``: the same schema, and null still accepted, in half the characters."""
    if isinstance(schema, list):
        return [lean_schema(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    lean = {
        key: {k: lean_schema(v) for k, v in value.items()} if key == "properties" else lean_schema(value)
        for key, value in schema.items()
        if key != "title"
        and not (key == "additionalProperties" and value is True)
        and not (key == "default" and value is None)
    }
    return _nullable_type(lean)


def _nullable_type(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with an ``anyOf`` of one typed schema and null folded into a type list."""
    options = schema.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return schema
    other = options[0] if options[1] == {"type": "null"} else options[1]
    if not isinstance(other, dict) or not isinstance(other.get("type"), str) or set(other) & set(schema):
        return schema
    folded = {k: v for k, v in schema.items() if k != "anyOf"}
    folded.update(other)
    folded["type"] = [other["type"], "null"]
    return folded


def lean_description(text: str) -> str:
    """A docstring as a tool description: dedented (``inspect.cleandoc``), and each paragraph on one
    line (the line breaks of source code are not the model's; list items keep their own lines)."""
    paragraphs = inspect.cleandoc(text or "").split("\n\n")
    joined = []
    for paragraph in paragraphs:
        lines = paragraph.split("\n")
        out = lines[0]
        for line in lines[1:]:
            out += ("\n" if line.lstrip().startswith(("- ", "* ")) else " ") + line.strip()
        joined.append(out)
    return "\n\n".join(joined)


def lean_annotations(annotations: ToolAnnotations | None) -> ToolAnnotations | None:
    """Tool annotations without the hints that say nothing: ``destructiveHint`` and
    ``idempotentHint`` of a read-only tool (the MCP spec gives them meaning only when
    ``readOnlyHint`` is false), and ``readOnlyHint``/``idempotentHint`` false, their default.
    ``destructiveHint`` and ``openWorldHint`` are kept as declared."""
    if annotations is None:
        return None
    read_only = annotations.read_only_hint
    return annotations.model_copy(
        update={
            "read_only_hint": True if read_only else None,
            "destructive_hint": None if read_only else annotations.destructive_hint,
            "idempotent_hint": annotations.idempotent_hint if annotations.idempotent_hint and not read_only else None,
        }
    )


def tidy_tools(mcp: MCPServer, max_result_chars: int) -> None:
    """Make every tool registered on ``mcp`` return ``finish``'s results within ``max_result_chars``
    (0 = no limit; a call's own ``max_result_chars`` argument wins), list it with a lean
    description, input schema and annotations, and no ``outputSchema``."""
    for tool in mcp._tool_manager.list_tools():
        tool.description = lean_description(tool.description or "")
        tool.parameters = lean_schema(tool.parameters)
        tool.annotations = lean_annotations(tool.annotations)
        # No output model: the SDK then passes our CallToolResult through as it is.
        tool.fn_metadata = FuncMetadata(arg_model=tool.fn_metadata.arg_model)
        tool.__dict__.pop("output_schema", None)  # a cached_property of the SDK's Tool
        tool.fn = _budgeted(tool.fn, max_result_chars)


def _budgeted(fn: Any, default: int) -> Any:
    @functools.wraps(fn)
    async def call(*args: Any, **kwargs: Any) -> Any:
        return finish(await fn(*args, **kwargs), effective_limit(default, kwargs))

    return call
