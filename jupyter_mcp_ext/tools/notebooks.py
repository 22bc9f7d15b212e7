"""MCP tools of the notebook group (tool layer; spec module A): read, write, create, cells, inspect."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ToolAnnotations
from nbformat import NotebookNode
from pydantic import Field

from ..exceptions import InvalidArgument
from ..notebooks.cells import check_index
from ..notebooks.service import validation_report
from ..outputs import ShapeOptions, strip_ansi
from ..services import Services
from . import tool_call
from .results import dumps, effective_limit, image_budget, json_result
from .shaping import (
    MAX_RESULT_DESCRIPTION,
    OUTPUTS_DESCRIPTION,
    PARTIAL_MARK,
    OutputsChoice,
    ReadOptions,
    cell_outputs,
    cell_view,
    continuation,
    error_line,
    file_metadata,
    fit_cell,
    lean_notebook_metadata,
    list_columns,
    list_page,
    page,
    protect_write,
)

NotebookPath = Annotated[
    str,
    Field(description="Notebook path relative to the server's root directory, e.g. 'reports/q1.ipynb'."),
]
CellIndex = Annotated[int | None, Field(description="0-based index of the cell. Give index or cell_id.")]
CellId = Annotated[
    str | None,
    Field(
        description="The cell's id (from read_cells): it names the same cell after cells were added or removed "
        "above it. Give index or cell_id."
    ),
]
Outputs = Annotated[OutputsChoice, Field(description=OUTPUTS_DESCRIPTION)]
MaxResultChars = Annotated[int | None, Field(description=MAX_RESULT_DESCRIPTION, ge=0)]

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
EDIT = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)


def as_in_file(nb: dict[str, Any]) -> dict[str, Any]:
    """The notebook with each cell's metadata as the file has it (see ``file_metadata``); shares the rest."""
    cells = [{**c, "metadata": file_metadata(c)} if "metadata" in c else c for c in nb.get("cells") or []]
    return {**nb, "cells": cells}


def trusted(contents_manager: Any, nb: dict[str, Any]) -> bool | None:
    """Whether JupyterLab will show the notebook's HTML / JavaScript outputs: the contents manager's
    notary knows its signature, or no cell has outputs that need trust (nbformat's ``check_signature``
    and ``check_cells``, as the contents manager applies them when it reads a notebook). Computed on
    the notebook as the file has it, without the trust marks of an earlier read (a cached notebook's
    marks would be stale once the notebook is signed), and without changing ``nb``. None when the
    contents manager has no notary."""
    notary = getattr(contents_manager, "notary", None)
    if notary is None:
        return None
    try:
        view = NotebookNode(as_in_file(nb))
        return bool(notary.check_signature(view) or notary.check_cells(view))
    except Exception:  # a notebook that fails validation may hold anything in its cells
        return None


def metadata_block(nb: dict[str, Any]) -> dict[str, Any]:
    """inspect_notebook's ``metadata``: kernelspec, language_info, authors, title, the rest as
    ``custom_metadata`` (front-end widget state named with its size; Papermill's block whole)."""
    metadata = lean_notebook_metadata(nb.get("metadata") or {})
    if "papermill" in (nb.get("metadata") or {}):
        metadata["papermill"] = nb["metadata"]["papermill"]
    block: dict[str, Any] = {
        "kernelspec": metadata.pop("kernelspec", None),
        "language_info": metadata.pop("language_info", None),
    }
    for key in ("authors", "title"):
        if key in metadata:
            block[key] = metadata.pop(key)
    block["custom_metadata"] = metadata
    return block


def output_analysis(nb: dict[str, Any], limit: int, path: str) -> dict[str, Any]:
    """inspect_notebook's ``output_analysis``: counts, and per code cell its outputs' types, sizes
    and error name, as long as they fit ``limit`` characters (then ``next_start_index``)."""
    counts = {"stream": 0, "display_data": 0, "execute_result": 0, "error": 0}
    cells: list[dict[str, Any]] = []
    cells_with_outputs = cells_with_errors = code_cells = 0
    used = 600
    next_index = None
    for i, cell in enumerate(nb.get("cells") or []):
        if cell.get("cell_type") != "code":
            continue
        code_cells += 1
        outputs = cell_outputs(cell)
        types = [str(o.get("output_type", "")) for o in outputs]
        for t in types:
            counts[t] = counts.get(t, 0) + 1
        error = next((o for o in outputs if o.get("output_type") == "error"), None)
        cells_with_outputs += bool(outputs)
        cells_with_errors += error is not None
        if next_index is not None:
            continue
        entry = {
            "index": i,
            "execution_count": cell.get("execution_count"),
            "output_count": len(outputs),
            "output_types": types,
            "has_error": error is not None,
            "error_name": strip_ansi(str(error.get("ename"))) if error else None,
            "output_size_bytes": len(json.dumps(outputs).encode()) if outputs else 0,
        }
        used += len(json.dumps(entry)) + 1
        if limit and used > limit and cells:
            next_index = i
            continue
        cells.append(entry)
    analysis: dict[str, Any] = {
        "total_cells": len(nb.get("cells") or []),
        "code_cells": code_cells,
        "cells_with_outputs": cells_with_outputs,
        "cells_with_errors": cells_with_errors,
        "output_types": counts,
        "cells": cells,
    }
    if next_index is not None:
        analysis["next_start_index"] = next_index
        analysis["truncated"] = (
            f"{len(cells)} of {code_cells} code cells are listed (max_result_chars={limit:,}): "
            f"read_cells(path={path!r}, mode='list', start_index={next_index}) lists the others with their outputs "
            "and errors."
        )
    return analysis


def register(mcp: MCPServer, services: Services) -> None:
    """Register the notebook tools on ``mcp``."""
    notebooks = services.notebooks
    app = services.app

    def read_options(path: str, outputs: str, max_result_chars: int | None) -> ReadOptions:
        limit = effective_limit(app.max_result_chars, {"max_result_chars": max_result_chars})
        # One cell's output text: max_output_chars, or half the budget when that is larger.
        per_cell = 0 if not limit or not app.max_output_chars else min(max(app.max_output_chars, limit // 2), limit)
        shape = ShapeOptions(
            max_output_chars=per_cell,
            max_image_bytes=app.max_image_bytes,
            error_output_type=app.error_output_type,
            max_error_output=app.max_error_output,
            image_budget=image_budget(limit),
            image_hint="read that cell alone with read_cells(mode='single'), or pass max_result_chars=0",
        )
        return ReadOptions(outputs=outputs, limit=limit, shape=shape, path=path)

    def write_shape() -> ShapeOptions:
        """The shaper's options of a read without budget: what an uncut view of outputs looks like."""
        return ShapeOptions(
            max_output_chars=0,
            max_image_bytes=0,
            error_output_type=app.error_output_type,
            max_error_output=app.max_error_output,
        )

    @mcp.tool(annotations=READ_ONLY)
    @tool_call(("read", "contents"))
    async def read_notebook(
        ctx: Context, path: NotebookPath, outputs: Outputs = "shaped", max_result_chars: MaxResultChars = None
    ) -> CallToolResult:
        """Read a whole notebook: its cells and metadata. For a large one prefer read_cells (mode="list", then
        the cells you need). A notebook over the result budget comes cut at a cell boundary (truncated says how
        to read the rest) and cannot be written back with write_notebook.
        """
        api_path, nb = await notebooks.get(path)
        opts = read_options(api_path, outputs, max_result_chars)
        cells = list(nb.cells)
        metadata = dict(nb.metadata) if opts.raw else lean_notebook_metadata(nb.metadata)
        notebook: dict[str, Any] = {"cells": [], "metadata": metadata}
        notebook.update(nbformat=nb.get("nbformat"), nbformat_minor=nb.get("nbformat_minor"))
        result: dict[str, Any] = {"notebook": notebook, "path": api_path, "cell_count": len(cells)}
        if cells:
            shown = page(cells, 0, len(cells) - 1, opts, used=len(dumps(metadata)), with_index=False)
            notebook["cells"] = shown.views
            if shown.next_index is not None:
                last = shown.next_index - 1
                notebook["metadata"] = {**metadata, PARTIAL_MARK: f"cells 0-{last} of {len(cells)}"}
                result["next_start_index"] = shown.next_index
                result["truncated"] = (
                    continuation(
                        api_path,
                        "range",
                        (0, last),
                        len(cells),
                        shown.next_index,
                        opts.limit,
                        outputs=None if outputs == "shaped" else outputs,
                    )
                    + " This partial notebook cannot be written back with write_notebook."
                )
        result["success"] = True
        return json_result(result, opts.shaped.images)

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_call(("write", "contents"))
    async def write_notebook(
        ctx: Context,
        path: NotebookPath,
        content: Annotated[
            dict[str, Any] | str,
            Field(
                description="The notebook as nbformat 4 JSON: {'cells': [...], 'metadata': {...}, 'nbformat': 4, "
                "'nbformat_minor': 5}."
            ),
        ],
    ) -> dict[str, Any]:
        """Replace (or create) a whole notebook, creating missing folders. Invalid nbformat is refused and nothing
        is written. Cells whose outputs are left out or are a read tool's view keep the file's outputs (matched
        by id); outputs: [] clears them. To change one cell use update_cell, add_cell or remove_cell.
        """
        kept: list[int] = []

        def keep_file_outputs(content: Any, current: Any) -> Any:
            # Runs under the notebook's write lock, on the file as it is right before the save.
            content, kept[:] = protect_write(content, current, write_shape())
            return content

        api_path, nb = await notebooks.write(path, content, protect=keep_file_outputs)
        message = f"Wrote {len(nb.cells)} cells to {api_path}."
        if kept:
            message += f" Cells {', '.join(map(str, kept[:20]))} kept the outputs the file has."
        return {"path": api_path, "cell_count": len(nb.cells), "success": True, "message": message}

    @mcp.tool(annotations=EDIT)
    @tool_call(("write", "contents"))
    async def create_notebook(
        ctx: Context,
        path: NotebookPath,
        kernel: Annotated[str, Field(description="An installed kernelspec (list_kernels shows them).")] = "python3",
    ) -> dict[str, Any]:
        """Create an empty notebook for a kernel (and missing folders); fails if the file exists. Its metadata
        names the kernelspec, so JupyterLab and execute_notebook know what runs it. Add cells with add_cell.
        """
        api_path, nb, kernelspec = await notebooks.create(path, kernel)
        return {"notebook": nb, "path": api_path, "kernel": kernelspec["name"], "success": True}

    @mcp.tool(annotations=EDIT)
    @tool_call(("write", "contents"))
    async def add_cell(
        ctx: Context,
        path: NotebookPath,
        cell_type: Literal["code", "markdown", "raw"],
        source: Annotated[str, Field(description="The cell's text.")],
        metadata: Annotated[
            dict[str, Any] | None,
            Field(description="Cell metadata, e.g. {'tags': ['parameters']} for Papermill's parameters cell."),
        ] = None,
        index: Annotated[
            int | None,
            Field(description="0-based position to insert at (the cell there moves down). Default: the end."),
        ] = None,
        cell_id: Annotated[
            str | None,
            Field(description="Insert right after the cell with this id (safer than index if the notebook changed)."),
        ] = None,
    ) -> dict[str, Any]:
        """Add a cell: appended, inserted at index, or right after the cell cell_id. A missing notebook is created
        (default kernel, folders too). Returns the cell's cell_index and cell_id (use it to address the cell
        later: indices shift), and cell_count.
        """
        api_path, at, count, cell, created = await notebooks.add_cell_creating(
            path, cell_type, source, metadata, index, cell_id
        )
        result: dict[str, Any] = {"path": api_path, "cell_index": at, "cell_count": count, "success": True}
        if cell.get("id"):
            result["cell_id"] = cell["id"]
        if created:
            result["created"] = True
        return result

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_call(("write", "contents"))
    async def remove_cell(
        ctx: Context, path: NotebookPath, index: CellIndex = None, cell_id: CellId = None
    ) -> dict[str, Any]:
        """Remove one cell from a notebook, given its index or its cell_id. The cells after it move up by one.

        Returns removed_index and the removed cell's cell_id.
        """
        api_path, at, count, removed = await notebooks.remove_cell(path, index, cell_id)
        result: dict[str, Any] = {"path": api_path, "removed_index": at, "cell_count": count, "success": True}
        if removed.get("id"):
            result["cell_id"] = removed["id"]
        return result

    @mcp.tool(annotations=EDIT)
    @tool_call(("write", "contents"))
    async def update_cell(
        ctx: Context,
        path: NotebookPath,
        index: CellIndex = None,
        cell_id: CellId = None,
        source: Annotated[str | None, Field(description="The whole new source (or use old_text and new_text).")] = None,
        old_text: Annotated[
            str | None,
            Field(description="A piece of the source, exactly as it is there; it must occur once."),
        ] = None,
        new_text: Annotated[str | None, Field(description="What replaces old_text ('' deletes it).")] = None,
        clear_outputs: Annotated[
            bool, Field(description="Also clear outputs and execution_count (they came from the old source).")
        ] = False,
    ) -> dict[str, Any]:
        """Change one cell's source, given its index or cell_id: all of it (source), or one exact piece
        (old_text -> new_text, as a file edit). The cell keeps its id, type, metadata and, unless clear_outputs,
        its outputs. Returns the cell_index and cell_id changed."""
        api_path, at, cell = await notebooks.update_cell(
            path, index, source, cell_id, old_text=old_text, new_text=new_text, clear_outputs=clear_outputs
        )
        result: dict[str, Any] = {"path": api_path, "cell_index": at, "updated": True, "success": True}
        if cell.get("id"):
            result["cell_id"] = cell["id"]
        if clear_outputs and cell.get("cell_type") == "code":
            result["outputs_cleared"] = True
        return result

    @mcp.tool(annotations=READ_ONLY)
    @tool_call(("read", "contents"))
    async def read_cells(
        ctx: Context,
        path: NotebookPath,
        mode: Annotated[
            Literal["single", "range", "list", "all"],
            Field(description="'list', 'single' (needs index), 'range' (needs start_index) or 'all'."),
        ] = "list",
        index: Annotated[int | None, Field(description="mode='single': the cell's 0-based index.")] = None,
        cell_id: Annotated[str | None, Field(description="mode='single': the cell's id, instead of index.")] = None,
        start_index: Annotated[
            int | None, Field(description="mode='range' or 'list': the first cell (0-based).")
        ] = None,
        end_index: Annotated[
            int | None,
            Field(description="mode='range' or 'list': the last cell, included. Default: the last one."),
        ] = None,
        include_preview: Annotated[bool, Field(description="mode='list': include each cell's preview.")] = True,
        preview_length: Annotated[
            int, Field(description="mode='list': most characters of a preview.", ge=0, le=100_000)
        ] = 100,
        list_format: Annotated[
            Literal["rows", "objects"],
            Field(description="mode='list': a row per cell under columns (default), or an object per cell."),
        ] = "rows",
        outputs: Outputs = "shaped",
        max_result_chars: MaxResultChars = None,
    ) -> CallToolResult:
        """Read a notebook's cells. Start with mode="list": a row per cell with the columns the result names:
        index, id, cell_type, full_length, preview (the first line; for code the first that is not an import,
        magic or comment), execution_count, has_outputs, the kinds of output, the error and tags (empty trailing
        columns left out). Then read what you need in full: mode="single" (one cell, by index or cell_id) or
        "range" (start_index..end_index); "all" reads every cell. Images come as image content. A result over
        the budget stops at a cell boundary: truncated names the call that continues.
        """
        if mode == "single" and index is None and cell_id is None:
            raise_missing("index", "mode='single'", "the 0-based index of the cell to read, or its cell_id")
        if mode == "range" and start_index is None:
            raise_missing("start_index", "mode='range'", "the first cell to read (0-based); end_index is optional")
        check_mode_arguments(mode, index=index, cell_id=cell_id, start_index=start_index, end_index=end_index)
        api_path, nb = await notebooks.get(path)
        cells = list(nb.cells)
        opts = read_options(api_path, outputs, max_result_chars)
        if mode == "single":
            i = notebooks.locate(api_path, cells, index=index, cell_id=cell_id)
            view = cell_view(cells[i], i, opts, with_index=False)
            if opts.limit and len(dumps(view)) + 300 > opts.limit:
                view = fit_cell(view, opts.limit - 300, opts, i, cells[i])
            return json_result(
                {"path": api_path, "mode": "single", "cell": view, "index": i, "success": True}, opts.shaped.images
            )
        start = 0 if start_index is None else check_index(start_index, len(cells), argument="start_index")
        if end_index is None:
            end = len(cells) - 1
        else:
            end = check_index(end_index, len(cells), argument="end_index")
            if end < start:
                raise InvalidArgument(
                    f"end_index {end} is before start_index {start}: end_index must be >= start_index."
                )
        result: dict[str, Any] = {"path": api_path, "mode": mode}
        if mode == "list":
            rows = list_format == "rows"
            if rows:
                result["columns"] = list_columns(include_preview)
            result["cells"], next_index = list_page(
                cells, start, end, include_preview, preview_length, opts.limit, rows=rows
            )
            if start_index is not None:
                result["start_index"] = start
        else:
            shown = page(cells, start, end, opts, used=0) if cells else None
            result["cells"] = shown.views if shown else []
            next_index = shown.next_index if shown else None
            if mode == "range":
                result["start_index"] = start
                result["end_index"] = end if next_index is None else next_index - 1
        result["cell_count"] = len(cells)
        if next_index is not None:
            result["next_start_index"] = next_index
            extra = {
                "end_index": end_index,
                "outputs": None if outputs == "shaped" else outputs,
                "list_format": "objects" if mode == "list" and list_format == "objects" else None,
            }
            result["truncated"] = continuation(
                api_path,
                "list" if mode == "list" else "range",
                (start, next_index - 1),
                len(cells),
                next_index,
                opts.limit,
                **extra,
            )
        result["success"] = True
        return json_result(result, opts.shaped.images)

    @mcp.tool(annotations=READ_ONLY)
    @tool_call(("read", "contents"))
    async def inspect_notebook(
        ctx: Context,
        path: NotebookPath,
        mode: Annotated[
            Literal["metadata", "outputs", "validate", "full"],
            Field(description="'metadata', 'outputs', 'validate' or 'full' (all three)."),
        ] = "metadata",
    ) -> dict[str, Any]:
        """Inspect a notebook without reading its cells. mode="metadata": kernelspec, language, other metadata,
        and trusted (whether JupyterLab renders its HTML and JavaScript outputs); "outputs": which code cells
        have outputs and which failed; "validate": nbformat schema errors and warnings by cell index.
        """
        api_path, nb = await notebooks.get(path)
        result: dict[str, Any] = {"path": api_path, "mode": mode}
        if mode in ("metadata", "full"):
            result["metadata"] = metadata_block(nb)
            result["trusted"] = trusted(notebooks.contents_manager, nb)
            result["nbformat"] = nb.get("nbformat")
            result["nbformat_minor"] = nb.get("nbformat_minor")
            result["cell_count"] = len(nb.cells)
        if mode in ("outputs", "full"):
            result["output_analysis"] = output_analysis(
                nb, app.max_result_chars // (2 if mode == "full" else 1), api_path
            )
        if mode in ("validate", "full"):
            report = validation_report(nb)
            for warning in report["warnings"]:
                if warning["type"] == "error_output":
                    cell = nb.cells[warning["cell_index"]]
                    warning["message"] = f"stored error output: {error_line(cell_outputs(cell))}"
            result["validation"] = report
        result["success"] = True
        return result

    @mcp.tool(annotations=READ_ONLY)
    @tool_call(("read", "contents"))
    async def list_notebook_files(
        ctx: Context,
        directory: Annotated[str, Field(description="Directory relative to the server root; '.' is the root.")] = ".",
        recursive: Annotated[bool, Field(description="Include subdirectories.")] = False,
        start_index: Annotated[int, Field(description="Skip this many (a previous next_start_index).", ge=0)] = 0,
    ) -> dict[str, Any]:
        """List the notebooks (.ipynb) in a directory, with size in bytes and last modification time, sorted
        by path; hidden files are skipped as in JupyterLab. A long list comes in pages (next_start_index).
        """
        files = await notebooks.list_files(directory, recursive)
        total = len(files)
        shown, used = [], 400
        next_index = None
        for i in range(start_index, total):
            used += len(dumps(files[i])) + 1
            if app.max_result_chars and used > app.max_result_chars:
                next_index = i
                break
            shown.append(files[i])
        result: dict[str, Any] = {"directory": directory, "recursive": recursive, "files": shown, "count": total}
        if start_index:
            result["start_index"] = start_index
        if next_index is not None:
            result["next_start_index"] = next_index
            result["truncated"] = (
                f"Notebooks {start_index}-{next_index - 1} of {total} are listed: "
                f"list_notebook_files(directory={directory!r}, recursive={recursive}, start_index={next_index}) "
                "continues."
            )
        result["success"] = True
        return result


def raise_missing(argument: str, mode: str, what: str) -> None:
    raise InvalidArgument(f"{mode} needs {argument}: {what}.")


#: read_cells: the cell-addressing arguments each mode takes.
READ_CELLS_ARGUMENTS = {
    "single": ("index", "cell_id"),
    "range": ("start_index", "end_index"),
    "list": ("start_index", "end_index"),
    "all": (),
}


def check_mode_arguments(mode: str, **given: int | str | None) -> None:
    """Refuse read_cells arguments that the mode does not use (the spec's "inconsistent with the mode"),
    saying which mode would use them, rather than silently reading something else than was asked."""
    stray = [name for name, value in given.items() if value is not None and name not in READ_CELLS_ARGUMENTS[mode]]
    if not stray:
        return
    single = "index" in stray or "cell_id" in stray
    wanted = "mode='single' (index or cell_id)" if single else "mode='range' (start_index, end_index)"
    takes = ", ".join(READ_CELLS_ARGUMENTS[mode]) or "no cell index"
    raise InvalidArgument(
        f"mode={mode!r} takes {takes}, but {' and '.join(stray)} {'was' if len(stray) == 1 else 'were'} given: "
        f"to read those cells use {wanted}."
    )


__all__ = ["register"]
