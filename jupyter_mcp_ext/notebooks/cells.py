"""Cells (service layer): a cell addressed by its 0-based index or its nbformat 4.5 ``id``, ids for cells that
lack one, where ids were last seen, and new cells and exact source replacements."""

from __future__ import annotations

import difflib
import itertools
import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn

import nbformat
from nbformat import NotebookNode
from nbformat.corpus.words import generate_corpus_id

from ..exceptions import CellIndexError, InvalidArgument

#: Most cell ids an error message lists.
LISTED_IDS = 6
#: Cell lists remembered per notebook before their ids are indexed (see ``SeenCellIds``).
REMEMBERED_LISTS = 64

CELL_TYPES = ("code", "markdown", "raw")


def cell_source(cell: Mapping[str, Any]) -> str:
    """A cell's source as one string (nbformat allows a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


#: Cell metadata that the ContentsManager adds when it reads a notebook and drops when it saves one.
TRANSIENT_CELL_METADATA = ("trusted",)


def file_metadata(cell: Mapping[str, Any]) -> Any:
    """A cell's metadata as the file has it: without the ContentsManager's transient ``trusted`` mark,
    which JupyterLab keeps out of the metadata it shows too."""
    metadata = cell.get("metadata") or {}
    if not isinstance(metadata, dict) or not any(k in metadata for k in TRANSIENT_CELL_METADATA):
        return metadata
    return {k: v for k, v in metadata.items() if k not in TRANSIENT_CELL_METADATA}


def as_in_file(cell: Mapping[str, Any]) -> Mapping[str, Any]:
    """The cell as the file has it (see ``file_metadata``); the cell itself when nothing differs."""
    metadata = cell.get("metadata")
    if not isinstance(metadata, dict) or not any(k in metadata for k in TRANSIENT_CELL_METADATA):
        return cell
    return {**cell, "metadata": file_metadata(cell)}


def first_difference(a: Iterable[Any], b: Iterable[Any], default: int) -> int:
    """The position of the first pair of ``a`` and ``b`` that are not the same object, else ``default``
    (iterators all the way down: no Python loop over the cells). An edit replaces the cells it changes
    and shares the others, so this skips a notebook's untouched ends at C speed."""
    differs = map(operator.is_not, a, b)
    return next(itertools.compress(itertools.count(), differs), default)


def plain(value: Any) -> Any:
    """A deep copy as plain dicts and lists (NotebookNode is a dict, but Y types and records want plain values)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def cell_range_text(count: int) -> str:
    """Describe the valid 0-based indices of ``count`` cells, for error messages."""
    return f"the notebook has {count} cell{'s' if count != 1 else ''}" + (f" (0-{count - 1})" if count else "")


def check_index(index: Any, count: int, *, argument: str = "index", allow_end: bool = False) -> int:
    """Return ``index`` if it addresses a cell of a notebook with ``count`` cells.

    Raises CellIndexError naming the valid range otherwise. With ``allow_end``, ``count``
    itself is valid (an insertion position after the last cell).
    """
    if isinstance(index, bool) or not isinstance(index, int):
        raise InvalidArgument(f"{argument} must be an integer (0-based cell index), got {index!r}.")
    upper = count if allow_end else count - 1
    if index < 0 or index > upper:
        if allow_end:
            raise CellIndexError(
                f"{argument} {index} is out of range: {cell_range_text(count)}; "
                f"insert positions are 0-{count} ({count} appends)."
            )
        raise CellIndexError(f"{argument} {index} is out of range: {cell_range_text(count)}.")
    return index


def _listed(cells: Sequence[Any], indices: Sequence[int]) -> str:
    return ", ".join(f"{i}: {cells[i].get('id')!r}" for i in indices if cells[i].get("id"))


def find_cell_id(
    cells: Sequence[Any],
    cell_id: Any,
    *,
    argument: str = "cell_id",
    last_seen: Mapping[str, int] | None = None,
) -> int:
    """The index of the cell whose ``id`` is ``cell_id``.

    Raises CellIndexError when no cell has that id: the message names the cells now around the
    place where the id was last seen (``last_seen``: cell id -> index where it was last read, if
    known), ids that look alike (a mistyped id), or else the first and last cells, and says how
    to list them all. Raises InvalidArgument if ``cell_id`` is not a non-empty string.
    """
    if not isinstance(cell_id, str) or not cell_id:
        raise InvalidArgument(
            f"{argument} must be a cell id (a non-empty string, as read_cells returns), got {cell_id!r}."
        )
    for i, cell in enumerate(cells):
        if cell.get("id") == cell_id:
            return i
    count = len(cells)
    if not count:
        raise CellIndexError(f"{argument} {cell_id!r} is not in the notebook: it has no cells.")
    if not any(c.get("id") for c in cells):
        raise CellIndexError(
            f"{argument} {cell_id!r} is not in the notebook: its cells have no ids (an nbformat 4.4 or older "
            "notebook; the first edit gives them ids). Address cells by index."
        )
    hint = "it was deleted or the id is wrong"
    around: list[int] = []
    if last_seen is not None and cell_id in last_seen:
        hint = "it was deleted since it was read"
        at = min(last_seen[cell_id], count - 1)
        around = list(range(max(0, at - LISTED_IDS // 2), min(count, at + LISTED_IDS // 2 + 1)))
    else:
        ids = [c.get("id") for c in cells if c.get("id")]
        alike = difflib.get_close_matches(cell_id, ids, n=3, cutoff=0.6)
        if alike:
            around = [i for i, c in enumerate(cells) if c.get("id") in alike]
            hint = "did you mean one of these?"
    if around:
        listed = f"Cells near it: {_listed(cells, around)}."
    else:
        head = list(range(min(count, LISTED_IDS // 2)))
        tail = [i for i in range(max(0, count - LISTED_IDS // 2), count) if i not in head]
        listed = f"First and last cells: {_listed(cells, head + tail)}."
    return _raise_missing(argument, cell_id, count, hint, listed)


def _raise_missing(argument: str, cell_id: str, count: int, hint: str, listed: str) -> NoReturn:
    raise CellIndexError(
        f"{argument} {cell_id!r} is not in the notebook ({cell_range_text(count)}; {hint}). {listed} "
        "read_cells(mode='list') lists every cell with its id."
    )


def resolve_cell(
    cells: Sequence[Any],
    *,
    index: Any = None,
    cell_id: Any = None,
    index_argument: str = "index",
    last_seen: Mapping[str, int] | None = None,
) -> int:
    """The index of the cell addressed by ``index`` or by ``cell_id`` (exactly one of them).

    Raises InvalidArgument if both or neither are given, CellIndexError (see ``check_index`` and
    ``find_cell_id``) if the cell does not exist.
    """
    if index is not None and cell_id is not None:
        raise InvalidArgument(
            f"give either {index_argument} or cell_id, not both: cell_id names the cell even after cells were "
            "inserted or removed above it."
        )
    if cell_id is not None:
        return find_cell_id(cells, cell_id, last_seen=last_seen)
    if index is None:
        raise InvalidArgument(f"give the cell's {index_argument} (0-based) or its cell_id.")
    return check_index(index, len(cells), argument=index_argument)


def ensure_cell_ids(nb: NotebookNode) -> bool:
    """Give every cell without an ``id`` a new one, upgrading an nbformat 4.0-4.4 notebook to 4.5 (cell ids
    need 4.5), as JupyterLab does when it saves a notebook it opened. Returns whether anything changed.

    Cells are replaced, not mutated (``NotebookService.edit``'s rule). New ids follow nbformat's
    ``random_cell_id`` and never repeat one in the notebook.
    """
    changed = False
    if nb.get("nbformat") == 4 and nb.get("nbformat_minor", 0) < 5:
        nb["nbformat_minor"] = 5
        changed = True
    cells = nb.get("cells") or []
    if all(map(dict.get, cells, itertools.repeat("id"))):  # the usual case, checked at C speed
        return changed
    missing = [i for i, c in enumerate(cells) if not c.get("id")]
    taken = {c.get("id") for c in cells if c.get("id")}
    for i in missing:
        cell = cells[i]
        new_id = generate_corpus_id()
        while new_id in taken:
            new_id = generate_corpus_id()
        taken.add(new_id)
        cells[i] = NotebookNode({"id": new_id, **cell})
        changed = True
    return changed


def new_cell(cell_type: str, source: str, metadata: dict[str, Any] | None, nbformat_minor: int) -> NotebookNode:
    """Build an nbformat 4 cell; gives it an ``id`` only where the notebook's minor version has ids (4.5+)."""
    if cell_type not in CELL_TYPES:
        raise InvalidArgument(f"cell_type {cell_type!r} is not valid: use one of 'code', 'markdown', 'raw'.")
    factory = {
        "code": nbformat.v4.new_code_cell,
        "markdown": nbformat.v4.new_markdown_cell,
        "raw": nbformat.v4.new_raw_cell,
    }[cell_type]
    cell = factory(source=source, metadata=nbformat.from_dict(metadata or {}))
    if nbformat_minor < 5:
        cell.pop("id", None)
    return cell


def replace_once(text: str, old: str, new: str, index: int) -> str:
    """``text`` with the one occurrence of ``old`` replaced by ``new`` (cell ``index``'s source).

    Raises InvalidArgument if ``old`` does not occur, or occurs more than once (with the lines
    where it does), so that an edit never lands somewhere else than meant.
    """
    count = text.count(old)
    if count == 1:
        return text.replace(old, new, 1)
    if count == 0:
        begins = text[:80] + ("..." if len(text) > 80 else "")
        hint = ""
        if old.strip() and old.strip() in text:
            hint = " It does occur with other leading or trailing whitespace: copy the piece exactly."
        raise InvalidArgument(
            f"old_text was not found in the source of cell {index}: it must match exactly, spaces, indentation and "
            f"line breaks included.{hint} The source has {len(text):,} characters and begins {begins!r}; read the "
            "cell again and copy the piece from it."
        )
    lines: list[int] = []
    start = 0
    while (at := text.find(old, start)) != -1 and len(lines) < 10:
        lines.append(text.count("\n", 0, at) + 1)
        start = at + 1
    raise InvalidArgument(
        f"old_text occurs {count} times in the source of cell {index} (at lines {', '.join(map(str, lines))}): "
        "give a longer piece, one that occurs once, or replace the whole source with source."
    )


class SeenCellIds:
    """Where each cell id of a notebook was when it was last read or edited (id -> index), to say
    where a cell_id that is gone used to be; ids are added, never dropped.

    The cell lists are kept as they are and their ids indexed only when a cell_id is not found (or
    every ``REMEMBERED_LISTS`` of them): indexing 5,000 ids costs more than the rest of an edit of a
    live notebook. Lists are kept for the ``max_notebooks`` notebooks most recently used.
    """

    def __init__(self, max_notebooks: int) -> None:
        self.max_notebooks = max_notebooks
        self._last_ids: dict[str, dict[str, int]] = {}
        self._last_cells: OrderedDict[str, list[list[Any]]] = OrderedDict()

    def remember(self, api_path: str, nb: NotebookNode) -> None:
        """Note the cells of the notebook at ``api_path`` as read or edited now."""
        cells = nb.get("cells") or []
        pending = self._last_cells.setdefault(api_path, [])
        if not pending or pending[-1] is not cells:
            pending.append(cells)
            if len(pending) > REMEMBERED_LISTS:
                self.index(api_path)
        self._last_cells.move_to_end(api_path)
        while len(self._last_cells) > self.max_notebooks:
            dropped, _ = self._last_cells.popitem(last=False)
            self._last_ids.pop(dropped, None)

    def index(self, api_path: str) -> dict[str, int]:
        """Where each id of the notebook at ``api_path`` was last seen; lets go of its cell lists."""
        seen = self._last_ids.setdefault(api_path, {})
        for cells in self._last_cells.get(api_path, []):
            seen.update((c["id"], i) for i, c in enumerate(cells) if c.get("id"))
        self._last_cells.get(api_path, []).clear()
        return seen


__all__ = [
    "CELL_TYPES",
    "TRANSIENT_CELL_METADATA",
    "SeenCellIds",
    "as_in_file",
    "cell_range_text",
    "cell_source",
    "check_index",
    "ensure_cell_ids",
    "file_metadata",
    "first_difference",
    "find_cell_id",
    "new_cell",
    "plain",
    "replace_once",
    "resolve_cell",
]
