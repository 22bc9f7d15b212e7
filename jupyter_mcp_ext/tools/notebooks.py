"""MCP tools of the notebook group (spec module A): read, write, create, cell CRUD, read_cells, inspect."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations
from nbformat import NotebookNode
from pydantic import Field

from ..exceptions import InvalidArgument
from ..notebooks.cells import check_index
from ..notebooks.presence import editor
from ..notebooks.service import validation_report
from ..services import Services
from . import authorize, client_name, tool_errors

NotebookPath = Annotated[
    str,
    Field(
        description="Notebook path relative to the Jupyter server's root directory, e.g. 'analysis.ipynb' or 'reports/q1.ipynb'."
    ),
]
CellIndex = Annotated[int | None, Field(description="0-based index of the cell. Give index or cell_id.")]
CellId = Annotated[
    str | None,
    Field(
        description="The cell's id (the 'id' that read_cells returns). It names the same cell even after "
        "cells were added or removed above it (someone else may be editing the notebook). Give index or cell_id."
    ),
]

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
EDIT = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)


#: Cell metadata the ContentsManager adds on read and nbformat drops on write (``strip_transient``).
TRANSIENT_CELL_METADATA = ("trusted",)


def file_metadata(cell: dict[str, Any]) -> dict[str, Any]:
    """A cell's metadata as the file has it: without the ContentsManager's transient ``trusted`` mark,
    which JupyterLab keeps out of the metadata it shows too."""
    metadata = cell.get("metadata") or {}
    if not isinstance(metadata, dict) or not any(k in metadata for k in TRANSIENT_CELL_METADATA):
        return metadata
    return {k: v for k, v in metadata.items() if k not in TRANSIENT_CELL_METADATA}


def as_in_file(nb: dict[str, Any]) -> dict[str, Any]:
    """The notebook with each cell's metadata as the file has it (see ``file_metadata``); shares the rest."""
    cells = [{**c, "metadata": file_metadata(c)} if "metadata" in c else c for c in nb.get("cells") or []]
    return {**nb, "cells": cells}


def full_cell(cell: dict[str, Any], index: int | None = None) -> dict[str, Any]:
    """A cell as the read tools return it: id, cell_type, source, metadata (+ outputs, execution_count)."""
    out: dict[str, Any] = {}
    if index is not None:
        out["index"] = index
    if cell.get("id"):
        out["id"] = cell["id"]
    out["cell_type"] = cell.get("cell_type")
    out["source"] = cell.get("source", "")
    out["metadata"] = file_metadata(cell)
    if cell.get("cell_type") == "code":
        out["outputs"] = cell.get("outputs", [])
        out["execution_count"] = cell.get("execution_count")
    elif cell.get("attachments"):
        out["attachments"] = cell["attachments"]
    return out


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


def source_text(source: Any) -> str:
    """A cell's source as text, also where a notebook that fails validation stores something else."""
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return "" if source is None else json.dumps(source)


def cell_outputs(cell: dict[str, Any]) -> list[dict[str, Any]]:
    """A cell's outputs that are JSON objects (an invalid notebook may store anything there)."""
    outputs = cell.get("outputs")
    return [o for o in outputs if isinstance(o, dict)] if isinstance(outputs, list) else []


def preview_cell(cell: dict[str, Any], index: int, include_preview: bool, preview_length: int) -> dict[str, Any]:
    source = source_text(cell.get("source", ""))
    out: dict[str, Any] = {"index": index}
    if cell.get("id"):
        out["id"] = cell["id"]
    out["cell_type"] = cell.get("cell_type")
    if include_preview:
        out["preview"] = source[:preview_length]
    out["full_length"] = len(source)
    out["has_outputs"] = bool(cell.get("outputs"))
    out["execution_count"] = cell.get("execution_count")
    return out


def metadata_block(nb: dict[str, Any]) -> dict[str, Any]:
    metadata = dict(nb.get("metadata") or {})
    block: dict[str, Any] = {
        "kernelspec": metadata.pop("kernelspec", None),
        "language_info": metadata.pop("language_info", None),
    }
    for key in ("authors", "title"):
        if key in metadata:
            block[key] = metadata.pop(key)
    block["custom_metadata"] = metadata
    return block


def output_analysis(nb: dict[str, Any]) -> dict[str, Any]:
    counts = {"stream": 0, "display_data": 0, "execute_result": 0, "error": 0}
    cells = []
    cells_with_outputs = cells_with_errors = code_cells = 0
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
        cells.append(
            {
                "index": i,
                "execution_count": cell.get("execution_count"),
                "output_count": len(outputs),
                "output_types": types,
                "has_error": error is not None,
                "error_name": error.get("ename") if error else None,
                "output_size_bytes": len(json.dumps(outputs).encode()) if outputs else 0,
            }
        )
    return {
        "total_cells": len(nb.get("cells") or []),
        "code_cells": code_cells,
        "cells_with_outputs": cells_with_outputs,
        "cells_with_errors": cells_with_errors,
        "output_types": counts,
        "cells": cells,
    }


def register(mcp: MCPServer, services: Services) -> None:
    """Register the notebook tools on ``mcp``."""
    notebooks = services.notebooks

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    async def read_notebook(ctx: Context, path: NotebookPath) -> dict[str, Any]:
        """Read a whole notebook: every cell with its source, metadata and outputs, plus the notebook metadata.

        For a large notebook prefer read_cells: mode="list" gives a short preview of every cell, and
        mode="single" or mode="range" read only the cells you need. Returns notebook (nbformat 4 JSON),
        path and cell_count.
        """
        await authorize(ctx, "read", "contents")
        editor.set(client_name(ctx))
        api_path, nb = await notebooks.get(path)
        return {"notebook": as_in_file(nb), "path": api_path, "cell_count": len(nb.cells), "success": True}

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_errors
    async def write_notebook(
        ctx: Context,
        path: NotebookPath,
        content: Annotated[
            dict[str, Any] | str,
            Field(
                description="The whole notebook as nbformat 4 JSON: {'cells': [...], 'metadata': {...}, 'nbformat': 4, "
                "'nbformat_minor': 5}. Cells need cell_type, source and metadata."
            ),
        ],
    ) -> dict[str, Any]:
        """Write a whole notebook, replacing the file at path (or creating it).

        The content is validated against the nbformat schema first; an invalid notebook is refused with
        the validation errors and nothing is written. To change one cell use update_cell, add_cell or
        remove_cell instead: they keep everything else as it is.
        """
        await authorize(ctx, "write", "contents")
        editor.set(client_name(ctx))
        api_path, nb = await notebooks.write(path, content)
        return {
            "path": api_path,
            "cell_count": len(nb.cells),
            "success": True,
            "message": f"Wrote {len(nb.cells)} cells to {api_path}.",
        }

    @mcp.tool(annotations=EDIT)
    @tool_errors
    async def create_notebook(
        ctx: Context,
        path: NotebookPath,
        kernel: Annotated[
            str, Field(description="Name of an installed kernelspec, e.g. 'python3'. list_kernels shows them.")
        ] = "python3",
    ) -> dict[str, Any]:
        """Create a new, empty notebook for a kernel. Fails if the file already exists.

        The notebook's metadata gets the kernel's kernelspec and language, so JupyterLab and
        execute_notebook know which kernel runs it. Add cells with add_cell.
        """
        await authorize(ctx, "write", "contents")
        editor.set(client_name(ctx))
        api_path, nb, kernelspec = await notebooks.create(path, kernel)
        return {"notebook": nb, "path": api_path, "kernel": kernelspec["name"], "success": True}

    @mcp.tool(annotations=EDIT)
    @tool_errors
    async def add_cell(
        ctx: Context,
        path: NotebookPath,
        cell_type: Annotated[Literal["code", "markdown", "raw"], Field(description="The kind of cell.")],
        source: Annotated[str, Field(description="The cell's text: code, Markdown or raw text.")],
        metadata: Annotated[
            dict[str, Any] | None,
            Field(description="Optional cell metadata, e.g. {'tags': ['parameters']} for a Papermill parameters cell."),
        ] = None,
        index: Annotated[
            int | None,
            Field(
                description="Optional 0-based position to insert at; the cell now at that index moves down. "
                "Omit index and cell_id to append at the end."
            ),
        ] = None,
        cell_id: Annotated[
            str | None,
            Field(
                description="Optional: insert the new cell right after the cell with this id. Prefer it to index "
                "when the notebook may have changed since you read it."
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Add a cell to a notebook: appended at the end, inserted at index, or right after the cell cell_id.

        Returns the new cell's cell_index, its cell_id and the new cell_count. Use the cell_id to address
        this cell later: indices shift when cells are added or removed above it.
        """
        await authorize(ctx, "write", "contents")
        editor.set(client_name(ctx))
        api_path, at, count, cell = await notebooks.add_cell(path, cell_type, source, metadata, index, cell_id)
        result: dict[str, Any] = {"path": api_path, "cell_index": at, "cell_count": count, "success": True}
        if cell.get("id"):
            result["cell_id"] = cell["id"]
        return result

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_errors
    async def remove_cell(
        ctx: Context, path: NotebookPath, index: CellIndex = None, cell_id: CellId = None
    ) -> dict[str, Any]:
        """Remove one cell from a notebook, given its index or its cell_id. The cells after it move up by one.

        Returns removed_index and the removed cell's cell_id.
        """
        await authorize(ctx, "write", "contents")
        editor.set(client_name(ctx))
        api_path, at, count, removed = await notebooks.remove_cell(path, index, cell_id)
        result: dict[str, Any] = {"path": api_path, "removed_index": at, "cell_count": count, "success": True}
        if removed.get("id"):
            result["cell_id"] = removed["id"]
        return result

    @mcp.tool(annotations=EDIT)
    @tool_errors
    async def update_cell(
        ctx: Context,
        path: NotebookPath,
        source: Annotated[str, Field(description="The cell's new text; it replaces the whole source.")],
        index: CellIndex = None,
        cell_id: CellId = None,
    ) -> dict[str, Any]:
        """Replace the source of one cell, given its index or its cell_id. The cell keeps its id, type,
        metadata and outputs.

        Returns the cell_index and cell_id of the cell that was changed.
        """
        await authorize(ctx, "write", "contents")
        editor.set(client_name(ctx))
        api_path, at, cell = await notebooks.update_cell(path, index, source, cell_id)
        result: dict[str, Any] = {"path": api_path, "cell_index": at, "updated": True, "success": True}
        if cell.get("id"):
            result["cell_id"] = cell["id"]
        return result

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    async def read_cells(
        ctx: Context,
        path: NotebookPath,
        mode: Annotated[
            Literal["single", "range", "list", "all"],
            Field(
                description="'list' (default): a preview of every cell; 'single': one cell (needs index); "
                "'range': cells start_index..end_index (needs start_index); 'all': every cell in full."
            ),
        ] = "list",
        index: Annotated[int | None, Field(description="Cell index for mode='single' (0-based).")] = None,
        cell_id: Annotated[
            str | None, Field(description="mode='single': the id of the cell to read, instead of its index.")
        ] = None,
        start_index: Annotated[
            int | None, Field(description="First cell for mode='range' (0-based, included).")
        ] = None,
        end_index: Annotated[
            int | None,
            Field(description="Last cell for mode='range' (0-based, included); omit to read to the end."),
        ] = None,
        include_preview: Annotated[bool, Field(description="mode='list': include each cell's preview text.")] = True,
        preview_length: Annotated[
            int, Field(description="mode='list': characters of preview per cell.", ge=0, le=100_000)
        ] = 100,
    ) -> dict[str, Any]:
        """Read cells of a notebook.

        Start with mode="list" to see every cell's index, id, type, a short preview and whether it has
        outputs; then read what you need in full with mode="single" (one cell, by index or cell_id) or
        mode="range" (a span of cells). mode="all" returns every cell in full, like read_notebook without the
        notebook metadata. Full cells carry id, cell_type, source, metadata, and for code cells
        outputs and execution_count.
        """
        await authorize(ctx, "read", "contents")
        editor.set(client_name(ctx))
        if mode == "single" and index is None and cell_id is None:
            raise_missing("index", "mode='single'", "the 0-based index of the cell to read, or its cell_id")
        if mode == "range" and start_index is None:
            raise_missing("start_index", "mode='range'", "the first cell to read (0-based); end_index is optional")
        check_mode_arguments(mode, index=index, cell_id=cell_id, start_index=start_index, end_index=end_index)
        api_path, nb = await notebooks.get(path)
        cells = nb.cells
        if mode == "single":
            i = notebooks.locate(api_path, cells, index=index, cell_id=cell_id)
            return {"path": api_path, "mode": "single", "cell": full_cell(cells[i]), "index": i, "success": True}
        if mode == "range":
            start = check_index(start_index, len(cells), argument="start_index")
            end = len(cells) - 1 if end_index is None else check_index(end_index, len(cells), argument="end_index")
            if end < start:
                raise InvalidArgument(
                    f"end_index {end} is before start_index {start}: end_index must be >= start_index."
                )
            return {
                "path": api_path,
                "mode": "range",
                "cells": [full_cell(cells[i], i) for i in range(start, end + 1)],
                "start_index": start,
                "end_index": end,
                "cell_count": len(cells),
                "success": True,
            }
        if mode == "all":
            return {
                "path": api_path,
                "mode": "all",
                "cells": [full_cell(c, i) for i, c in enumerate(cells)],
                "cell_count": len(cells),
                "success": True,
            }
        return {
            "path": api_path,
            "mode": "list",
            "cells": [preview_cell(c, i, include_preview, preview_length) for i, c in enumerate(cells)],
            "cell_count": len(cells),
            "success": True,
        }

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    async def inspect_notebook(
        ctx: Context,
        path: NotebookPath,
        mode: Annotated[
            Literal["metadata", "outputs", "validate", "full"],
            Field(
                description="'metadata' (default): kernelspec, language and other notebook metadata; "
                "'outputs': what the code cells' outputs are, errors included; 'validate': nbformat schema "
                "validation with cell indices; 'full': all three."
            ),
        ] = "metadata",
    ) -> dict[str, Any]:
        """Inspect a notebook without reading its cells: its metadata, a summary of its outputs, or a validation report.

        mode="metadata" also says whether the notebook is trusted: JupyterLab renders its HTML and
        JavaScript outputs only when it is (Jupyter's notebook signature).
        mode="outputs" tells which cells have outputs and which failed (error name per cell).
        mode="validate" runs nbformat's schema validation and lists errors and warnings with the cell
        index they concern.
        """
        await authorize(ctx, "read", "contents")
        editor.set(client_name(ctx))
        api_path, nb = await notebooks.get(path)
        result: dict[str, Any] = {"path": api_path, "mode": mode}
        if mode in ("metadata", "full"):
            result["metadata"] = metadata_block(nb)
            result["trusted"] = trusted(notebooks.contents_manager, nb)
            result["nbformat"] = nb.get("nbformat")
            result["nbformat_minor"] = nb.get("nbformat_minor")
            result["cell_count"] = len(nb.cells)
        if mode in ("outputs", "full"):
            result["output_analysis"] = output_analysis(nb)
        if mode in ("validate", "full"):
            result["validation"] = validation_report(nb)
        result["success"] = True
        return result

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    async def list_notebook_files(
        ctx: Context,
        directory: Annotated[
            str, Field(description="Directory relative to the server root; '.' (default) is the root itself.")
        ] = ".",
        recursive: Annotated[bool, Field(description="Also list notebooks in subdirectories.")] = False,
    ) -> dict[str, Any]:
        """List the notebooks (.ipynb files) in a directory of the Jupyter server, with size in bytes and last modification time.

        Hidden files are skipped as JupyterLab's file browser skips them.
        """
        await authorize(ctx, "read", "contents")
        editor.set(client_name(ctx))
        files = await notebooks.list_files(directory, recursive)
        return {"directory": directory, "recursive": recursive, "files": files, "count": len(files), "success": True}


def raise_missing(argument: str, mode: str, what: str) -> None:
    raise InvalidArgument(f"{mode} needs {argument}: {what}.")


#: read_cells: the cell-addressing arguments each mode takes.
READ_CELLS_ARGUMENTS = {
    "single": ("index", "cell_id"),
    "range": ("start_index", "end_index"),
    "list": (),
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
