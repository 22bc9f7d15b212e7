"""Agent changes (service layer): the record of one change an MCP client made to one notebook."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

#: What a record is: a tool call's cell changes, a notebook it created, or a revert (of either).
ChangeKind = Literal["edit", "create", "delete"]


class Author(BaseModel):
    """Who made a change: the MCP client (``clientInfo.name``), a short id telling two of its sessions
    apart (never the token), and the Jupyter user as the server's identity provider knows it; the tool
    and the call it came from. A revert from JupyterLab has ``client`` "JupyterLab" and tool "revert"."""

    client: str | None = None
    session: str | None = None
    user: str | None = None
    tool: str
    #: Unique per tool call: the writes of one call (a run's outputs, written cell by cell) make one record.
    call_id: str


class CellState(BaseModel):
    """One cell as it was before or after a change: its nbformat ``cell`` (a dict, outputs included), its
    ``index`` in the notebook then, and the ids of up to three cells before and after it (where a removed
    cell goes back). ``id`` is the nbformat 4.5 cell id (None in a notebook without ids)."""

    id: str | None
    index: int
    cell: dict[str, Any]
    prev_ids: list[str] = Field(default_factory=list)
    next_ids: list[str] = Field(default_factory=list)

    @property
    def key(self) -> str:
        """The cell's identity within one notebook: its id, or its index for a cell without one."""
        return self.id if self.id else f"#{self.index}"


class Change(BaseModel):
    """One tool call's change to one notebook, with what undoing it needs: the cells it touched as they
    were before (``before``: updated and removed cells) and after (``after``: updated and added cells),
    keyed by cell id, and the notebook's metadata before and after when the call changed it. A ``create``
    record holds the notebook it created in ``after``; a ``delete`` record (the revert of a create) the
    notebook that was moved to the trash in ``before``."""

    id: str
    path: str
    file_id: str | None = None
    kind: ChangeKind = "edit"
    client: str | None = None
    session: str | None = None
    user: str | None = None
    tool: str
    call_id: str = ""
    #: Seconds since the epoch (UTC) of the call's first write.
    time: float
    summary: str = ""
    before: list[CellState] = Field(default_factory=list)
    after: list[CellState] = Field(default_factory=list)
    metadata_before: dict[str, Any] | None = None
    metadata_after: dict[str, Any] | None = None
    #: For a create / delete: the notebook's ``nbformat`` and ``nbformat_minor``.
    nbformat: list[int] | None = None
    reverted: bool = False
    reverted_by: str | None = None
    #: For a revert: the ids of the changes it reverted.
    reverts: list[str] = Field(default_factory=list)
    kept: bool = False

    @property
    def cells(self) -> list[str]:
        """The ids (or ``#index`` keys) of the cells the change touched, in notebook order after it."""
        keys = [s.key for s in sorted(self.after, key=lambda s: s.index)]
        keys += [s.key for s in sorted(self.before, key=lambda s: s.index) if s.key not in keys]
        return keys

    def public(self) -> dict[str, Any]:
        """The list view of the REST API: no cell contents."""
        return {
            "id": self.id,
            "path": self.path,
            "kind": self.kind,
            "client": self.client,
            "session": self.session,
            "user": self.user,
            "tool": self.tool,
            "time": dt.datetime.fromtimestamp(self.time, dt.timezone.utc).isoformat(),
            "cells": self.cells,
            "summary": self.summary,
            "reverted": self.reverted,
            "reverted_by": self.reverted_by,
            "reverts": self.reverts,
            "kept": self.kept,
        }

    def detail(self) -> dict[str, Any]:
        """The item view: the list view with the cells before and after, for a diff."""
        return {
            **self.public(),
            "before": [s.model_dump() for s in self.before],
            "after": [s.model_dump() for s in self.after],
            "metadata_before": self.metadata_before,
            "metadata_after": self.metadata_after,
        }


__all__ = ["Author", "CellState", "Change", "ChangeKind"]
