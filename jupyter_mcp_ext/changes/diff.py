"""Agent changes (service layer): the cells one write touched, a call's writes merged into one change,
its one-line summary, and the revert of changes on a notebook (with the conflicts that refuse it).

Cells are compared by object first: an edit of the notebook service replaces the cells it changes and
shares the others (``NotebookEdits``), so the untouched ends of a 5,000-cell notebook are skipped at C
speed; the rest are matched by nbformat 4.5 cell id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nbformat
from nbformat import NotebookNode

from ..exceptions import ChangeConflict
from ..notebooks.cells import as_in_file, cell_source, first_difference, plain
from .models import CellState, Change

#: Ids of neighbouring cells kept with a removed cell, on each side, to put it back where it was.
NEIGHBOURS = 3
#: Characters of a cell's first line quoted in a summary.
SUMMARY_QUOTE = 40


def cell_state(cells: Sequence[Any], index: int) -> CellState:
    """Cell ``index`` of ``cells`` as a record keeps it (a plain copy, with its neighbours' ids)."""
    cell = cells[index]
    prev_ids = [c.get("id") for c in cells[max(0, index - NEIGHBOURS) : index] if c.get("id")]
    next_ids = [c.get("id") for c in cells[index + 1 : index + 1 + NEIGHBOURS] if c.get("id")]
    return CellState(
        id=cell.get("id") or None, index=index, cell=plain(as_in_file(cell)), prev_ids=prev_ids[::-1], next_ids=next_ids
    )


def touched(before: Any, after: Any) -> tuple[list[CellState], list[CellState]]:
    """The cells a write changed: (``before``: cells updated or removed, as they were; ``after``: cells
    updated or added, as they are). Cells are matched by object, then by id; a cell that only moved
    is not a change."""
    old: list[Any] = list(before.get("cells") or []) if before is not None else []
    new: list[Any] = list(after.get("cells") or [])
    shorter = min(len(old), len(new))
    lo = first_difference(old, new, shorter)
    hi = min(first_difference(reversed(old), reversed(new), shorter), shorter - lo)
    old_mid, new_mid = range(lo, len(old) - hi), range(lo, len(new) - hi)
    by_object = {id(old[i]): i for i in old_mid}
    by_id = {old[i]["id"]: i for i in old_mid if old[i].get("id")}
    matched: dict[int, int] = {}  # old index -> new index
    for j in new_mid:
        i = by_object.get(id(new[j]))
        if i is None and new[j].get("id"):
            i = by_id.get(new[j]["id"])
        if i is not None and i not in matched:
            matched[i] = j
    before_states: list[CellState] = []
    after_states: list[CellState] = []
    for i in old_mid:
        at = matched.get(i)
        if at is None:
            before_states.append(cell_state(old, i))
        elif new[at] is not old[i] and as_in_file(new[at]) != as_in_file(old[i]):
            before_states.append(cell_state(old, i))
            after_states.append(cell_state(new, at))
    taken = set(matched.values())
    after_states += [cell_state(new, j) for j in new_mid if j not in taken]
    return before_states, after_states


def merge(change: Change, before: list[CellState], after: list[CellState]) -> None:
    """Fold one more write of the same call into ``change``: a cell keeps the state it had before the
    call's first write that touched it, and takes the state of the latest; a cell the call added and then
    removed, or brought back to what it was, leaves the change."""
    befores = {s.key: s for s in change.before}
    afters = {s.key: s for s in change.after}
    for state in before:
        if state.key not in befores and state.key not in afters:
            befores[state.key] = state
    removed = {s.key for s in before} - {s.key for s in after}
    for key in removed:
        afters.pop(key, None)
    for state in after:
        afters[state.key] = state
    for key in set(befores) & set(afters):
        if befores[key].cell == afters[key].cell:
            del befores[key], afters[key]
    change.before = sorted(befores.values(), key=lambda s: s.index)
    change.after = sorted(afters.values(), key=lambda s: s.index)


def note_before(change: Change, states: list[CellState]) -> None:
    """Record what cells were like before a write that does not go through the notebook service (a run's
    outputs streamed into the live document): the call's later writes then diff from these."""
    known = {s.key for s in change.before} | {s.key for s in change.after}
    change.before = sorted([*change.before, *(s for s in states if s.key not in known)], key=lambda s: s.index)


def refresh(change: Change, nb: Any) -> None:
    """Give the cells noted before a direct write (``note_before``) their state in ``nb``, the notebook
    now: a writer into the live document changes them without the notebook service seeing it."""
    afters = {s.key for s in change.after}
    noted = [s for s in change.before if s.key not in afters]
    if not noted:
        return
    cells: list[Any] = list(nb.get("cells") or [])
    by_id = {c.get("id"): i for i, c in enumerate(cells) if c.get("id")}
    for state in noted:
        at = by_id.get(state.id) if state.id else None
        if at is not None and as_in_file(cells[at]) != state.cell:
            change.after.append(cell_state(cells, at))
    change.after.sort(key=lambda s: s.index)


def _first_line(cell: dict[str, Any]) -> str:
    line = next((ln.strip() for ln in cell_source(cell).splitlines() if ln.strip()), "")
    return line if len(line) <= SUMMARY_QUOTE else line[: SUMMARY_QUOTE - 1] + "…"


def _cells_text(indices: list[int]) -> str:
    indices = sorted(set(indices))
    word = "cell" if len(indices) == 1 else "cells"
    shown = ", ".join(str(i) for i in indices[:6]) + (f" and {len(indices) - 6} more" if len(indices) > 6 else "")
    return f"{word} {shown}"


def summarize(change: Change) -> str:
    """A one-line description of a change, e.g. "updated cell 3 (source, outputs)", "added cell 5: import x"."""
    if change.kind == "create":
        return f"created the notebook ({len(change.after)} cells)"
    if change.kind == "delete":
        return "moved the notebook it had created to the trash"
    befores = {s.key: s for s in change.before}
    afters = {s.key: s for s in change.after}
    added = [afters[k] for k in afters if k not in befores]
    removed = [befores[k] for k in befores if k not in afters]
    updated = [afters[k] for k in afters if k in befores]
    verb = "reverted: " if change.reverts else ""
    parts: list[str] = []
    if len(added) == 1 and not removed and not updated:
        quote = _first_line(added[0].cell)
        return f"{verb}added cell {added[0].index}" + (f": {quote}" if quote else "")
    if len(removed) == 1 and not added and not updated:
        quote = _first_line(removed[0].cell)
        return f"{verb}removed cell {removed[0].index}" + (f": {quote}" if quote else "")
    if updated:
        fields: list[str] = []
        for state in updated:
            was = befores[state.key].cell
            for name, label in (("source", "source"), ("outputs", "outputs"), ("cell_type", "type")):
                if was.get(name) != state.cell.get(name) and label not in fields:
                    fields.append(label)
            if was.get("metadata") != state.cell.get("metadata") and "metadata" not in fields:
                fields.append("metadata")
        parts.append(
            f"updated {_cells_text([s.index for s in updated])}" + (f" ({', '.join(fields)})" if fields else "")
        )
    if added:
        parts.append(f"added {_cells_text([s.index for s in added])}")
    if removed:
        parts.append(f"removed {_cells_text([s.index for s in removed])}")
    if not parts and change.metadata_after is not None:
        parts.append("changed the notebook's metadata")
    return verb + ("; ".join(parts) or "no cell changed")


def _find(cells: list[Any], state: CellState) -> int | None:
    """Where the cell of ``state`` is now: by id, else (a cell without id) at its index if its type and
    source are still what ``state`` holds."""
    if state.id:
        return next((i for i, c in enumerate(cells) if c.get("id") == state.id), None)
    i = state.index
    if i < len(cells) and not cells[i].get("id") and _typed(cells[i]) == _typed(state.cell):
        return i
    return None


def _typed(cell: dict[str, Any]) -> tuple[Any, str]:
    """What a person types in a cell: its type and source (a conflict is a difference in these)."""
    return cell.get("cell_type"), cell_source(cell)


def _placement(cells: list[Any], state: CellState) -> int:
    """Where a removed cell goes back: after the nearest earlier neighbour that is still there, else
    before the nearest later one, else at its old index (or the end)."""
    ids = {c.get("id"): i for i, c in enumerate(cells) if c.get("id")}
    for prev in state.prev_ids:
        if prev in ids:
            return ids[prev] + 1
    for nxt in state.next_ids:
        if nxt in ids:
            return ids[nxt]
    return min(state.index, len(cells))


def conflicts(nb: Any, change: Change) -> list[tuple[str, str]]:
    """The cells that refuse the revert of ``change`` on ``nb`` as it is now, each as (its key, what
    happened to it): a cell the revert would restore or remove whose type or source differs from what the
    change left (a person typed there since), a cell it would restore that was deleted since, a cell it
    would put back whose id is taken."""
    cells: list[Any] = list(nb.get("cells") or [])
    befores = {s.key: s for s in change.before}
    found: list[tuple[str, str]] = []
    for state in change.after:
        at = _find(cells, state)
        if at is None:
            if state.key in befores:
                found.append((state.key, f"cell {state.key!r} (cell {state.index} then) was deleted since"))
            continue  # added by the change and deleted since: nothing to undo
        if _typed(cells[at]) != _typed(state.cell):
            found.append((state.key, f"cell {at} (id {state.key!r}) was edited since"))
    after_keys = {s.key for s in change.after}
    for state in change.before:
        if state.key not in after_keys and state.id and (at := _find(cells, state)) is not None:
            found.append((state.key, f"cell {at} has the id {state.key!r} of the cell it would put back"))
    return found


def revert(nb: NotebookNode, change: Change) -> list[str]:
    """Undo ``change`` on ``nb`` (a working copy: its cells list is changed, its cells replaced, never
    mutated); returns the keys of the cells restored, removed or put back.

    An updated cell gets its earlier type, source, metadata and attachments back, and its earlier
    outputs and execution_count when the cell's outputs are still the change's (a cell run since keeps
    its new outputs); an added cell is removed; a removed cell is put back, same id, next to the
    neighbours it had. Raises ChangeConflict naming the cells in conflict (see ``conflicts``); then
    nothing of ``nb`` was changed.
    """
    found = conflicts(nb, change)
    if found:
        shown = "; ".join(why for _, why in found[:6]) + (f"; and {len(found) - 6} more" if len(found) > 6 else "")
        raise ChangeConflict(
            f"This change ({change.tool}, {change.id}) cannot be reverted without losing later work: {shown}. "
            "Nothing was changed. Keep the change, or undo the later edits of those cells first.",
            cells=[key for key, _ in found],
        )
    cells: list[Any] = nb["cells"]
    befores = {s.key: s for s in change.before}
    done: list[str] = []
    for state in change.after:
        at = _find(cells, state)
        if at is None:
            continue
        was = befores.get(state.key)
        if was is None:
            del cells[at]
            done.append(state.key)
            continue
        current = cells[at]
        restored = nbformat.from_dict(
            {k: v for k, v in plain(was.cell).items() if k not in ("outputs", "execution_count")}
        )
        if current.get("cell_type") == "code" and restored.get("cell_type") == "code":
            outputs_are_the_changes = current.get("outputs") == state.cell.get("outputs") and current.get(
                "execution_count"
            ) == state.cell.get("execution_count")
            source = was.cell if outputs_are_the_changes else current
            restored["outputs"] = nbformat.from_dict(plain(source.get("outputs") or []))
            restored["execution_count"] = source.get("execution_count")
        elif restored.get("cell_type") == "code":
            restored["outputs"] = nbformat.from_dict(plain(was.cell.get("outputs") or []))
            restored["execution_count"] = was.cell.get("execution_count")
        cells[at] = restored
        done.append(state.key)
    after_keys = {s.key for s in change.after}
    for state in sorted((s for s in change.before if s.key not in after_keys), key=lambda s: s.index):
        cells.insert(_placement(cells, state), nbformat.from_dict(plain(state.cell)))
        done.append(state.key)
    if change.metadata_before is not None and nb.get("metadata") == change.metadata_after:
        nb["metadata"] = nbformat.from_dict(plain(change.metadata_before))
    return done


__all__ = ["cell_state", "conflicts", "merge", "note_before", "refresh", "revert", "summarize", "touched"]
