"""LiveNotebook.apply turns any edit of a notebook into Y changes that leave the document equal to the edit."""

from __future__ import annotations

import logging
import random
from typing import Any

import nbformat
from jupyter_ydoc import YNotebook
from nbformat import NotebookNode

from jupyter_mcp_ext.notebooks.live_document import LiveNotebook


class _Room:
    """What LiveNotebook needs of a collaboration room: its document, doc, id and clients."""

    room_id = "json:notebook:test"
    clients: set[Any] = set()

    def __init__(self, nb: dict[str, Any]) -> None:
        self._document = YNotebook()
        self.ydoc = self._document.ydoc
        self._document.set(nb)


def _notebook(count: int) -> NotebookNode:
    nb = nbformat.v4.new_notebook()
    for i in range(count):
        if i % 3:
            cell = nbformat.v4.new_code_cell(f"x{i} = {i}", execution_count=i)
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{i}\n")]
        else:
            cell = nbformat.v4.new_markdown_cell(f"# {i}")
        nb.cells.append(cell)
    return nb


def _random_edit(nb: NotebookNode, rng: random.Random, step: int) -> None:
    cells = nb["cells"]
    action = rng.choice(["insert", "delete", "source", "outputs", "metadata", "move", "type"])
    if action == "insert" or not cells:
        cells.insert(rng.randrange(len(cells) + 1), nbformat.v4.new_code_cell(f"new {step}"))
        return
    i = rng.randrange(len(cells))
    if action == "delete":
        del cells[i]
    elif action == "move":
        cells.insert(rng.randrange(len(cells)), cells.pop(i))
    elif action == "type":
        old = cells[i]
        kind = "markdown" if old["cell_type"] == "code" else "code"
        factory = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cells[i] = factory(old["source"], id=old["id"])
    else:
        cell = NotebookNode(cells[i])
        if action == "source":
            cell["source"] = cell["source"] + f" +{step}"
        elif action == "metadata":
            cell["metadata"] = {**cell["metadata"], "tags": [f"t{step}"]}
        elif cell["cell_type"] == "code":
            grown = f"{cell['outputs'][0]['text']}more {step}\n" if cell.get("outputs") else f"{step}\n"
            cell["outputs"] = [nbformat.v4.new_output("stream", name="stdout", text=grown)]
            cell["execution_count"] = step
        cells[i] = cell


def _comparable(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in c.items() if k != "execution_state"} for c in nb["cells"]]


def test_random_edits_applied_as_y_changes_leave_the_document_equal_to_each_edit():
    rng = random.Random(4)
    room = _Room(_notebook(40))
    live = LiveNotebook(room, logging.getLogger(__name__))
    for step in range(300):
        current = live.notebook(keep_ids=True)
        new = NotebookNode({k: v for k, v in current.items() if k != "cells"})
        new["cells"] = list(current["cells"])
        for _ in range(rng.randint(1, 3)):
            _random_edit(new, rng, step)
        live.apply(current, new)
        assert _comparable(room._document.get(deduplicate=False)) == _comparable(new), f"step {step}"
        assert _comparable(live.notebook(keep_ids=True)) == _comparable(new), f"the view, step {step}"
    live.close()


def test_a_growing_stream_is_appended_to_not_replaced():
    room = _Room(_notebook(3))
    live = LiveNotebook(room, logging.getLogger(__name__))
    text = room._document.ycells[1]["outputs"][0]["text"]
    current = live.notebook(keep_ids=True)
    new = NotebookNode({**current, "cells": list(current["cells"])})
    cell = NotebookNode(new["cells"][1])
    cell["outputs"] = [nbformat.v4.new_output("stream", name="stdout", text="1\nand more\n")]
    new["cells"][1] = cell
    live.apply(current, new)
    assert room._document.ycells[1]["outputs"][0]["text"] is not None
    assert str(text) == "1\nand more\n", "the same Y text grew (JupyterLab's appendStreamOutput)"
