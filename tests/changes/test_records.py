"""The change record on its own: which cells a write touched, a call's writes folded into one change, where a
removed cell goes back, and the store's bounds."""

from __future__ import annotations

import time
from typing import Any

import nbformat
import pytest

from jupyter_mcp_ext.changes import diff
from jupyter_mcp_ext.changes.models import Change
from jupyter_mcp_ext.changes.store import ChangeStore
from jupyter_mcp_ext.exceptions import ChangeConflict
from jupyter_mcp_ext.notebooks.edits import working_copy


@pytest.fixture(params=["unit"])
def notebook_backend(request: Any) -> str:
    """No server here: these tests use the record's functions directly."""
    return str(request.param)


def notebook(*sources: str) -> Any:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def edited(nb: Any, index: int, source: str) -> Any:
    after = working_copy(nb)
    after.cells[index] = nbformat.from_dict({**after.cells[index], "source": source})
    return after


def test_a_write_touches_only_the_cells_it_replaced_and_a_moved_cell_is_no_change():
    nb = notebook("a", "b", "c", "d")
    after = edited(nb, 2, "C")
    after.cells.insert(0, after.cells.pop(3))  # "d" moved to the top, unchanged
    before, changed = diff.touched(nb, after)
    assert [s.cell["source"] for s in before] == ["c"]
    assert [s.cell["source"] for s in changed] == ["C"] and changed[0].id == nb.cells[2].id


def test_a_calls_writes_fold_into_one_change_keeping_each_cells_first_state():
    nb = notebook("a", "b")
    change = Change(id="chg_1", path="n.ipynb", tool="execute_on_kernel", time=time.time())
    first = edited(nb, 0, "a1")
    diff.merge(change, *diff.touched(nb, first))
    second = edited(first, 0, "a2")
    diff.merge(change, *diff.touched(first, second))
    assert [s.cell["source"] for s in change.before] == ["a"]
    assert [s.cell["source"] for s in change.after] == ["a2"]
    back = edited(second, 0, "a")
    diff.merge(change, *diff.touched(second, back))
    assert change.before == [] and change.after == [], "back where it started: no change left"


def test_a_removed_cell_goes_back_between_its_neighbours_even_when_cells_were_added_around():
    nb = notebook("a", "b", "c")
    removed = working_copy(nb)
    del removed.cells[1]
    change = Change(id="chg_1", path="n.ipynb", tool="remove_cell", time=time.time())
    diff.merge(change, *diff.touched(nb, removed))
    now = working_copy(removed)
    now.cells.insert(0, nbformat.v4.new_markdown_cell("title"))
    diff.revert(now, change)
    assert [c.source for c in now.cells] == ["title", "a", "b", "c"]
    assert now.cells[2].id == nb.cells[1].id


def test_a_revert_in_conflict_changes_nothing_of_the_working_copy():
    nb = notebook("a", "b")
    after = edited(nb, 0, "A")
    change = Change(id="chg_1", path="n.ipynb", tool="update_cell", time=time.time())
    diff.merge(change, *diff.touched(nb, after))
    typed = edited(after, 0, "A, and what the person typed")
    copy = working_copy(typed)
    with pytest.raises(ChangeConflict) as refused:
        diff.revert(copy, change)
    assert refused.value.cells == [nb.cells[0].id]
    assert [c.source for c in copy.cells] == ["A, and what the person typed", "b"]


def record(n: int, size: int = 1000, age: float = 0.0) -> Change:
    return Change(id=f"chg_{n:012x}", path="n.ipynb", tool="update_cell", time=time.time() - age, summary="x" * size)


def test_the_store_drops_the_oldest_records_beyond_its_size_and_age(tmp_path):
    store = ChangeStore(str(tmp_path / "changes.sqlite"), max_bytes=5000, max_age=3600)
    store.save(record(0, age=7200))
    for n in range(1, 9):
        store.save(record(n))
    store.prune()
    kept = [c.id for c in store.of_notebook("n.ipynb", None)]
    assert store.total_bytes() <= 5000
    assert kept and kept[0] == record(8).id and record(0).id not in kept
    assert kept == sorted(kept, reverse=True), "the newest stay"
    assert oct((tmp_path / "changes.sqlite").stat().st_mode & 0o777) == oct(0o600)
