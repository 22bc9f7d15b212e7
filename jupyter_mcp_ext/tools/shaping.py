"""The read tools' view of notebooks (tool layer): cells as a model uses them, within the result budget.

The notebook service returns nbformat dicts (from a file or a live document alike); this module
turns them into what ``read_cells``, ``read_notebook`` and ``inspect_notebook`` return:

- ``outputs``: "shaped" (default; the output shaper of ``jupyter_mcp_ext.outputs``, images as
  image content), "summary" (output types and sizes, errors by name), "none", or "raw" (nbformat
  exactly as stored, for round trips);
- cell metadata without execution timing and UI state (``EXECUTION_METADATA``), notebook
  metadata without widget state and Papermill's timings, unless ``outputs="raw"``;
- a budget: cells are added while the result stays within ``max_result_chars``; what does not
  fit is named with the call that returns it (the next ``start_index``, or a larger budget).

``protect_write`` is the other half: what a read returned in a view (shaped outputs, left-out
metadata, a notebook cut short) never replaces what the file has when written back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ..exceptions import InvalidArgument
from ..notebooks.cells import file_metadata
from ..outputs import (
    Shaped,
    ShapeOptions,
    join_text,
    output_kinds,
    shape_outputs,
    strip_ansi,
    summarize_output,
    take_image,
)
from .results import dumps

OutputsChoice = Literal["none", "summary", "shaped", "raw"]

#: Cell metadata that says how and when a cell ran, or how Lab displays it: left out of views.
EXECUTION_METADATA = ("execution", "papermill", "ExecuteTime", "collapsed", "scrolled", "jupyter")
#: Papermill's notebook-level timings, left out of views (its parameters and paths stay).
PAPERMILL_TIMINGS = ("start_time", "end_time", "duration", "environment_variables", "version")
#: Notebook metadata with the state of a JavaScript front end, named with its size in views.
FRONTEND_STATE = ("widgets",)
#: The key of notebook metadata that marks a notebook returned cut short by read_notebook.
PARTIAL_MARK = "jupyter_mcp_ext_partial"
#: What a source cut by the budget carries: write_notebook refuses to store it.
SOURCE_CUT_MARK = "characters of this cell's source are not shown"
#: Characters kept free for the fields around the cells (path, counts, hints).
ENVELOPE_CHARS = 600
#: Characters of an error's name and value in a cell list entry.
LIST_ERROR_CHARS = 120

_IMAGE_REF = re.compile(r"\[image #(\d+) of this result")
_VIEW_MARKERS = re.compile(
    r"\[\.\.\. [\d,]+ of [\d,]+ characters cut here by |traceback entr(?:y|ies) \([\d,]+ characters\) cut by "
    r"|\[image #\d+ of this result|\[image not returned \(|" + re.escape(SOURCE_CUT_MARK)
)

OUTPUTS_DESCRIPTION = (
    "'shaped': text as a model reads it, images as image content, long text cut; 'summary': output types and "
    "sizes; 'none'; 'raw': nbformat as stored, to copy outputs."
)
MAX_RESULT_DESCRIPTION = (
    "Characters this result may take. Default: the server's budget (40,000 unless set). 0: no limit."
)


@dataclass
class ReadOptions:
    """How one read call shapes cells: the ``outputs`` choice, the budget (``limit`` characters,
    0 = none), the shaper's options, and ``call`` (the tool call as text, for continuation hints)."""

    outputs: str
    limit: int
    shape: ShapeOptions
    path: str
    shaped: Shaped = field(default_factory=Shaped)

    @property
    def raw(self) -> bool:
        return self.outputs == "raw"


def lean_cell_metadata(cell: dict[str, Any]) -> dict[str, Any]:
    """A cell's metadata without execution timing and UI state (``EXECUTION_METADATA``)."""
    metadata = file_metadata(cell)
    if not isinstance(metadata, dict) or not any(k in metadata for k in EXECUTION_METADATA):
        return metadata
    return {k: v for k, v in metadata.items() if k not in EXECUTION_METADATA}


def lean_notebook_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Notebook metadata without Papermill's timings; widget state named with its size."""
    out = dict(metadata or {})
    papermill = out.get("papermill")
    if isinstance(papermill, dict) and any(k in papermill for k in PAPERMILL_TIMINGS):
        out["papermill"] = {k: v for k, v in papermill.items() if k not in PAPERMILL_TIMINGS}
    for key in FRONTEND_STATE:
        if key in out:
            out[key] = f"[front-end state, {len(dumps(out[key])):,} characters: read with outputs='raw']"
    return out


def source_text(source: Any) -> str:
    """A cell's source as text, also where a notebook that fails validation stores something else."""
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return "" if source is None else dumps(source)


def cell_outputs(cell: dict[str, Any]) -> list[dict[str, Any]]:
    """A cell's outputs that are JSON objects (an invalid notebook may store anything there)."""
    outputs = cell.get("outputs")
    return [o for o in outputs if isinstance(o, dict)] if isinstance(outputs, list) else []


def error_line(outputs: list[dict[str, Any]]) -> str | None:
    """``"ename: evalue"`` of the first error output, ANSI stripped, cut short; None without one."""
    for output in outputs:
        if output.get("output_type") == "error":
            line = f"{strip_ansi(join_text(output.get('ename')))}: {strip_ansi(join_text(output.get('evalue')))}"
            return line if len(line) <= LIST_ERROR_CHARS else line[: LIST_ERROR_CHARS - 3] + "..."
    return None


def single_call(path: str, index: int, **extra: Any) -> str:
    """The read_cells call that reads cell ``index`` alone, as text for a hint."""
    args = "".join(f", {k}={v!r}" for k, v in extra.items())
    return f"read_cells(path={path!r}, mode='single', index={index}{args})"


# -- one cell ------------------------------------------------------------------------------


def cell_view(cell: dict[str, Any], index: int | None, opts: ReadOptions, *, with_index: bool = True) -> dict[str, Any]:
    """A cell as the read tools return it: index, id, cell_type, source, metadata, and for code
    cells execution_count and outputs (per ``opts.outputs``; no ``outputs`` key for "none")."""
    out: dict[str, Any] = {}
    if index is not None and with_index:
        out["index"] = index
    if cell.get("id"):
        out["id"] = cell["id"]
    out["cell_type"] = cell.get("cell_type")
    out["source"] = cell.get("source", "")
    out["metadata"] = file_metadata(cell) if opts.raw else lean_cell_metadata(cell)
    if cell.get("cell_type") == "code":
        out["execution_count"] = cell.get("execution_count")
        if opts.raw:
            out["outputs"] = cell.get("outputs", [])
        elif opts.outputs == "shaped":
            hint = (
                f"{single_call(opts.path, index, max_result_chars=0)} returns it whole."
                if index is not None
                else "read the cell alone with max_result_chars=0 to see it whole."
            )
            shape = ShapeOptions(**{**opts.shape.__dict__, "truncation_hint": hint})
            out["outputs"] = shape_outputs([cell_outputs(cell)], shape, into=opts.shaped).outputs[-1]
        elif opts.outputs == "summary":
            out["outputs"] = [summarize_output(o) for o in cell_outputs(cell)]
    attachments = cell.get("attachments")
    if isinstance(attachments, dict) and attachments:
        out["attachments"] = attachments if opts.raw else _attachments_view(attachments, opts)
    return out


def _attachments_view(attachments: dict[str, Any], opts: ReadOptions) -> dict[str, Any]:
    """Markdown attachments: images as image content ("shaped"), else their MIME types and sizes."""
    view: dict[str, Any] = {}
    for name, bundle in attachments.items():
        if not isinstance(bundle, dict):
            continue
        if opts.outputs == "shaped":
            view[name] = {
                mime: take_image(mime, join_text(value), {}, opts.shape, opts.shaped)
                if mime in ("image/png", "image/jpeg")
                else f"[{mime}, {len(join_text(value)):,} characters]"
                for mime, value in bundle.items()
            }
        else:
            view[name] = {mime: f"[{mime}, {len(join_text(value)):,} characters]" for mime, value in bundle.items()}
    return view


def fit_cell(
    view: dict[str, Any], room: int, opts: ReadOptions, index: int | None, cell: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A cell view too large for ``room`` characters, cut at output boundaries (then its source),
    with ``omitted`` naming the call that returns it whole. The images of the outputs left out
    leave ``opts.shaped`` too (the view must be the last one shaped)."""
    whole = len(dumps(view))
    # Room for the cell without any cut: its stored size bounds its shaped size.
    needed = max(whole, len(dumps(cell)) if cell is not None else 0) + 2000
    call = (
        single_call(opts.path, index, max_result_chars=-(-needed // 1000) * 1000)
        if index is not None
        else "a larger max_result_chars"
    )
    view = dict(view)
    outputs = view.get("outputs")
    if isinstance(outputs, list) and outputs:
        view["outputs"] = []
        base = len(dumps(view)) + 300
        kept: list[Any] = []
        for output in outputs:
            size = len(dumps(output)) + 1
            if base + size > room:
                break
            kept.append(output)
            base += size
        view["outputs"] = kept
        if len(kept) < len(outputs):
            view["omitted"] = (
                f"Outputs {len(kept)}-{len(outputs) - 1} of this cell ({whole:,} characters in all) do not fit "
                f"in this result: {call} returns the whole cell."
            )
    if len(dumps(view)) > room:
        source = source_text(view.get("source"))
        keep = max(200, room - (len(dumps(view)) - len(source)) - 400)
        if keep < len(source):
            view["source"] = (
                source[:keep] + f"\n[... {len(source) - keep:,} {SOURCE_CUT_MARK}: {call} returns it whole]"
            )
            view["omitted"] = (
                f"This cell ({whole:,} characters) is larger than this result may be: {call} returns it whole."
            )
    referenced = [int(n) for n in _IMAGE_REF.findall(dumps(view))]
    del opts.shaped.images[max(referenced, default=0) :]
    return view


# -- many cells ----------------------------------------------------------------------------


@dataclass
class Page:
    """Cells that fit one result: their views, the index after the last one shown (None when all
    were shown), and the budget used."""

    views: list[dict[str, Any]]
    next_index: int | None
    used: int


def page(
    cells: list[dict[str, Any]], start: int, end: int, opts: ReadOptions, *, used: int, with_index: bool = True
) -> Page:
    """Views of ``cells[start..end]`` (``end`` included) while they fit ``opts.limit`` characters
    beyond the ``used`` ones; at least one cell (cut by ``fit_cell`` if it must be)."""
    views: list[dict[str, Any]] = []
    used += ENVELOPE_CHARS
    for i in range(start, end + 1):
        mark = len(opts.shaped.images)
        view = cell_view(cells[i], i, opts, with_index=with_index)
        size = len(dumps(view)) + 1
        if opts.limit and used + size > opts.limit:
            if views:
                del opts.shaped.images[mark:]
                return Page(views, i, used)
            view = fit_cell(view, opts.limit - used, opts, i, cells[i])
            size = len(dumps(view)) + 1
        views.append(view)
        used += size
    return Page(views, None, used)


#: What ends a preview of a cell whose source goes on.
PREVIEW_MORE = "\u2026"
#: Lines a code cell's preview passes over: imports, IPython magics and shell escapes, comments.
_PREAMBLE = re.compile(r"(import\s|from\s+\S+\s+import\b|%|!|#)")


def _telling_line(source: str) -> str:
    """The first line of code that is not an import, a magic or a comment (where five cells start
    with ``import time``, what each then does); the first line when every line is one of those."""
    lines = source.split("\n")
    open_import = False
    for line in lines:
        text = line.strip()
        if open_import:
            open_import = ")" not in text
            continue
        if not text:
            continue
        if _PREAMBLE.match(text):
            # A parenthesized import goes on until its closing parenthesis.
            open_import = text.startswith(("import", "from")) and "(" in text and ")" not in text
            continue
        return text
    return lines[0].strip()


def preview(source: str, length: int, *, code: bool = False) -> str:
    """The start of a cell for a list: its first non-blank line (for code, the first line that is
    not an import, a magic or a comment), at most ``length`` characters, ending in
    ``PREVIEW_MORE`` when the source has more than that."""
    stripped = source.strip()
    if not stripped or length <= 0:
        return ""
    line = _telling_line(stripped) if code else stripped.split("\n", 1)[0].strip()
    shown = line[:length]
    return shown if shown == stripped else shown + PREVIEW_MORE


def list_entry(cell: dict[str, Any], index: int, include_preview: bool, preview_length: int) -> dict[str, Any]:
    """A cell in ``read_cells(mode="list", list_format="objects")``: the spec's index, cell_type,
    preview and full_length, with its id; for code cells the spec's has_outputs and
    execution_count. Keys that would say nothing are left out: ``outputs`` (what the outputs are)
    only when there are some, ``tags`` and ``error`` only when the cell has them, ``preview``
    without ``include_preview``."""
    source = source_text(cell.get("source", ""))
    out: dict[str, Any] = {"index": index}
    if cell.get("id"):
        out["id"] = cell["id"]
    out["cell_type"] = cell.get("cell_type")
    if include_preview:
        out["preview"] = preview(source, preview_length, code=cell.get("cell_type") == "code")
    out["full_length"] = len(source)
    tags = _tags(cell)
    if tags:
        out["tags"] = tags
    if cell.get("cell_type") == "code":
        outputs = cell_outputs(cell)
        out["has_outputs"] = bool(outputs)
        out["execution_count"] = cell.get("execution_count")
        if outputs:
            out["outputs"] = output_kinds(outputs)
            error = error_line(outputs)
            if error:
                out["error"] = error
    return out


def _tags(cell: dict[str, Any]) -> list[str]:
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return [str(t) for t in tags] if isinstance(tags, list) else []


#: The columns of ``read_cells(mode="list")``'s rows, in order (``preview`` only with include_preview).
LIST_COLUMNS = (
    "index",
    "id",
    "cell_type",
    "full_length",
    "preview",
    "execution_count",
    "has_outputs",
    "outputs",
    "error",
    "tags",
)


def list_columns(include_preview: bool) -> list[str]:
    """The columns of a list's rows."""
    return [c for c in LIST_COLUMNS if include_preview or c != "preview"]


def list_row(cell: dict[str, Any], index: int, include_preview: bool, preview_length: int) -> list[Any]:
    """A cell in ``read_cells(mode="list")``: the values of ``list_columns`` in a row, the
    trailing empty ones left out (a Markdown cell's row ends at its preview). ``outputs`` and
    ``tags`` are comma-separated; ``has_outputs`` and ``execution_count`` are null for cells
    other than code."""
    source = source_text(cell.get("source", ""))
    code = cell.get("cell_type") == "code"
    outputs = cell_outputs(cell) if code else []
    row: list[Any] = [index, cell.get("id") or None, cell.get("cell_type"), len(source)]
    if include_preview:
        row.append(preview(source, preview_length, code=code))
    row += [
        cell.get("execution_count") if code else None,
        bool(outputs) if code else None,
        ",".join(output_kinds(outputs)) or None,
        error_line(outputs),
        ",".join(_tags(cell)) or None,
    ]
    while row and row[-1] is None:
        row.pop()
    return row


def list_page(
    cells: list[dict[str, Any]],
    start: int,
    end: int,
    include_preview: bool,
    preview_length: int,
    limit: int,
    *,
    rows: bool = True,
) -> tuple[list[Any], int | None]:
    """The list of ``cells[start..end]`` (``list_row``s, or ``list_entry`` objects without
    ``rows``) while they fit ``limit`` characters (0 = all; at least one); the index of the first
    one left out, or None."""
    entries: list[Any] = []
    used = ENVELOPE_CHARS
    entry_of = list_row if rows else list_entry
    for i in range(start, end + 1):
        entry = entry_of(cells[i], i, include_preview, preview_length)
        used += len(dumps(entry)) + 1
        if limit and used > limit and entries:
            return entries, i
        entries.append(entry)
    return entries, None


def continuation(
    path: str, mode: str, shown: tuple[int, int], total: int, next_index: int, limit: int, **extra: Any
) -> str:
    """The note of a cut result: which cells it shows and the call that continues."""
    args = "".join(f", {k}={v!r}" for k, v in extra.items() if v is not None)
    return (
        f"Cells {shown[0]}-{shown[1]} of {total} are shown (max_result_chars={limit:,}): "
        f"read_cells(path={path!r}, mode={mode!r}, start_index={next_index}{args}) continues."
    )


# -- writing back ---------------------------------------------------------------------------


def is_view(outputs: Any) -> bool:
    """Whether ``outputs`` is a read tool's view of outputs rather than nbformat as stored: a result
    or display without its MIME bundle and metadata, a stream without text, an error without
    traceback (summaries), or text carrying the shaper's markers (cut text, image references)."""
    if not isinstance(outputs, list):
        return False
    for output in outputs:
        if not isinstance(output, dict):
            return False
        kind = output.get("output_type")
        if kind in ("execute_result", "display_data") and (
            not isinstance(output.get("data"), dict) or "metadata" not in output or "text" in output
        ):
            return True
        if kind == "stream" and "text" not in output:
            return True
        if kind == "error" and "traceback" not in output:
            return True
        if _VIEW_MARKERS.search(dumps(output)):
            return True
    return False


def _counterparts(cells: list[Any], current: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """For each written cell, the file's cell it stands for: the one with its id; when the written
    notebook has no ids (as read from an nbformat 4.4 file, whose open document in JupyterLab has
    ids all the same), the one at its index if of the same type."""
    by_id = {c.get("id"): c for c in current if c.get("id")}
    written_ids = any(isinstance(c, dict) and c.get("id") for c in cells)
    found: list[dict[str, Any] | None] = []
    for i, cell in enumerate(cells):
        match = None
        if isinstance(cell, dict):
            if cell.get("id") and cell.get("id") in by_id:
                match = by_id[cell["id"]]
            elif not written_ids and i < len(current) and current[i].get("cell_type") == cell.get("cell_type"):
                match = current[i]
        found.append(match)
    return found


def protect_write(content: Any, current: dict[str, Any] | None, shape: ShapeOptions) -> tuple[Any, list[int]]:
    """``write_notebook``'s content with what a read left out of its view put back from the file.

    - a notebook that read_notebook returned cut short (``PARTIAL_MARK``), or a source cut by the
      budget, is refused: writing it would delete what was not shown;
    - a code cell whose ``outputs`` are a view (shaped, summary; see ``is_view``) or absent, or
      equal to the file's outputs as the shaper shows them, keeps the file's cell's outputs and
      execution_count (the cell with its id; by index in a notebook without ids); a view with no
      such cell is refused; ``outputs: []`` clears them;
    - cell metadata and notebook metadata that views leave out come back from the file.

    ``content`` is the tool's argument (dict or JSON text); returns it (a dict when changed) and
    the indices of the cells that kept the file's outputs.
    """
    if isinstance(content, str):
        import json

        try:
            parsed = json.loads(content)
        except ValueError:
            return content, []  # the service says what is wrong with it
        if not isinstance(parsed, dict):
            return content, []
        content = parsed
    if not isinstance(content, dict):
        return content, []
    metadata = content.get("metadata")
    if isinstance(metadata, dict) and PARTIAL_MARK in metadata:
        raise InvalidArgument(
            f"content is a notebook that read_notebook returned cut short ({metadata[PARTIAL_MARK]}): writing it "
            "would delete the cells it did not show. Edit cells with update_cell, add_cell and remove_cell, or "
            "read the whole notebook with read_notebook(outputs='raw', max_result_chars=0) before write_notebook."
        )
    cells = content.get("cells")
    if not isinstance(cells, list):
        return content, []
    content = {**content, "cells": list(cells)}
    current_cells = [c for c in (current or {}).get("cells") or [] if isinstance(c, dict)]
    matches = _counterparts(content["cells"], current_cells)
    refused: list[int] = []
    kept: list[int] = []
    for i, (cell, match) in enumerate(zip(content["cells"], matches, strict=True)):
        if not isinstance(cell, dict):
            continue
        cell = {k: v for k, v in cell.items() if k not in ("index", "omitted")}
        if SOURCE_CUT_MARK in source_text(cell.get("source")):
            raise InvalidArgument(
                f"content.cells[{i}].source was cut short by a read tool's budget: writing it would lose the rest "
                f"of the source. Read that cell whole (max_result_chars=0), or edit it with update_cell(old_text=..., "
                "new_text=...)."
            )
        if match is not None:
            cell["metadata"] = _restored_metadata(cell.get("metadata"), match.get("metadata"))
        if cell.get("cell_type") == "code":
            outputs = cell.get("outputs", None)
            keep = outputs is None or is_view(outputs)
            if match is not None and not keep and outputs != match.get("outputs") and outputs:
                keep = outputs == shape_outputs([cell_outputs(match)], shape).outputs[0]
            if keep and match is not None:
                if outputs is not None and outputs != match.get("outputs"):
                    kept.append(i)
                cell["outputs"] = match.get("outputs", [])
                if "execution_count" not in cell or outputs is not None:
                    cell["execution_count"] = match.get("execution_count")
            elif keep and outputs is not None:
                refused.append(i)
        if isinstance(cell.get("attachments"), dict) and match is not None and _attachments_are_view(cell):
            cell["attachments"] = match.get("attachments", {})
        content["cells"][i] = cell
    if refused:
        shown = ", ".join(map(str, refused[:10])) + (" ..." if len(refused) > 10 else "")
        raise InvalidArgument(
            f"content.cells[{shown}] hold outputs as a read tool shows them (outputs='shaped' or 'summary'), not "
            "as a notebook stores them, and the file has no cell with their id to take the real outputs from. "
            "Give those cells outputs: [] (or leave outputs out), or read with outputs='raw' to copy outputs."
        )
    if current is not None and isinstance(metadata, dict):
        content["metadata"] = _restored_notebook_metadata(metadata, current.get("metadata") or {})
    return content, kept


def _attachments_are_view(cell: dict[str, Any]) -> bool:
    return any(
        not isinstance(bundle, dict) or any(isinstance(v, str) and v.startswith("[") for v in bundle.values())
        for bundle in cell["attachments"].values()
    )


def _restored_metadata(written: Any, stored: Any) -> Any:
    """Cell metadata as written, plus the keys views leave out, from the file's cell."""
    if not isinstance(stored, dict):
        return written
    written = dict(written) if isinstance(written, dict) else {}
    for key in EXECUTION_METADATA:
        if key in stored and key not in written:
            written[key] = stored[key]
    return written


def _restored_notebook_metadata(written: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """Notebook metadata as written, with the widget state and Papermill timings of the file where
    the written metadata has only the view's note or leaves them out."""
    out = dict(written)
    for key in FRONTEND_STATE:
        if key in stored and (key not in out or isinstance(out[key], str)):
            out[key] = stored[key]
    papermill, stored_pm = out.get("papermill"), stored.get("papermill")
    if isinstance(papermill, dict) and isinstance(stored_pm, dict):
        out["papermill"] = {**{k: stored_pm[k] for k in PAPERMILL_TIMINGS if k in stored_pm}, **papermill}
    return out
