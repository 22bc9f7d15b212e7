"""LiveNotebook reads the document as the notebook the room would save, and converts again only what changed."""

from __future__ import annotations

import json
import logging
from typing import Any

import nbformat
import pytest
from nbformat import NotebookNode

from jupyter_mcp_ext.notebooks.live_document import LiveNotebook

from .test_document_edits import _notebook, _Room


def _varied_notebook(minor: int) -> NotebookNode:
    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}, "ratio": 0.5})
    nb.nbformat_minor = minor
    result = v4.new_output(
        "execute_result",
        data={"text/plain": "{'a': 1}", "text/html": "<b>1</b>", "application/json": {"a": 1, "b": 2.5, "c": [1, 3]}},
        execution_count=4,
    )
    image = v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    image.metadata = {"image/png": {"width": 640, "height": 480.5}}
    error = v4.new_output("error", ename="KeyError", evalue="'x'", traceback=["\x1b[0;31mKeyError\x1b[0m", "'x'"])
    nb.cells = [
        v4.new_code_cell(
            "print('é😀\\t\u2028')\n1", execution_count=4, outputs=[v4.new_output("stream", text="é\n"), result]
        ),
        v4.new_code_cell("plot()", metadata={"tags": ["a"], "scrolled": False, "height": 3}, outputs=[image, error]),
        v4.new_markdown_cell("![x](attachment:x.png)", attachments={"x.png": {"image/png": "iVBORw0KGgo="}}),
        v4.new_markdown_cell("# no attachments", attachments={}),
        v4.new_raw_cell("raw\r\ntext", metadata={"format": "text/x-rst"}),
        v4.new_code_cell(""),
    ]
    return nb


def _as_saved(room: _Room) -> NotebookNode:
    """What the room writes to the file (jupyter_ydoc's conversion, then nbformat), read back."""
    return nbformat.reads(nbformat.writes(nbformat.from_dict(room._document.get())), as_version=4)


def _type(ycell: Any, text: str) -> None:
    source = ycell["source"]
    source.insert(len(source), text)


def _person_edits(room: _Room) -> None:
    """Changes as JupyterLab makes them: numbers come from JavaScript as floats."""
    with room.ydoc.transaction():
        room._document.ycells[1]["execution_count"] = 7.0
        room._document.ycells[1]["metadata"]["height"] = 4.0
        _type(room._document.ycells[0], "\n2")


@pytest.mark.parametrize("minor", [4, 5])
def test_the_document_reads_as_the_notebook_the_room_would_save(minor):
    room = _Room(_varied_notebook(minor))
    live = LiveNotebook(room, logging.getLogger(__name__))
    _person_edits(room)
    read, saved = live.notebook(), _as_saved(room)
    assert read == saved
    assert read["cells"][1]["execution_count"] == 7 and type(read["cells"][1]["execution_count"]) is int
    assert all(type(c) is NotebookNode for c in read["cells"])
    assert [type(o) for o in read["cells"][1]["outputs"]] == [NotebookNode, NotebookNode]
    fields = ["cell_type", "source", "metadata", "outputs", "execution_count"]
    assert list(read["cells"][0]) == (fields if minor == 4 else ["id", *fields]), "a cell's fields in nbformat's order"
    for mine, theirs in zip(read["cells"], saved["cells"], strict=True):
        # Below a cell's own fields, keys come in the file's order: the same on every read.
        for key in ("metadata", "outputs", "attachments"):
            assert json.dumps(mine.get(key)) == json.dumps(theirs.get(key))
    live.close()


def test_a_read_after_the_person_changes_cells_converts_only_those_and_equals_the_saved_notebook():
    room = _Room(_notebook(60))
    live = LiveNotebook(room, logging.getLogger(__name__))
    before = live.notebook()["cells"]
    ycells = room._document.ycells
    with room.ydoc.transaction():
        _type(ycells[4], " + 1")
        ycells[5]["execution_count"] = 99.0
    after = live.notebook()["cells"]
    assert after == _as_saved(room)["cells"]
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a is not b] == [4, 5]
    with room.ydoc.transaction():  # most cells, as when the room reloads the file
        for i in range(0, 60, 2):
            _type(ycells[i], " # changed")
        del ycells[10]
    assert live.notebook()["cells"] == _as_saved(room)["cells"]
    assert live.notebook(keep_ids=True)["cells"][0]["source"].endswith(" # changed")
    live.close()
