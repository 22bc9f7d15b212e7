"""The person's focus in JupyterLab (service layer): what each Lab tab last reported, and which report wins.

Our Lab extension reports, per browser tab, the notebook the person has focused, its active cell and
selection, and the other notebooks open (``POST jupyter-mcp-ext/context``, debounced), and repeats it as
a heartbeat every ``HEARTBEAT_SECONDS`` while the page is open. One server is one person's (as under
JupyterHub), so among the tabs heard from in the last ``STALE_SECONDS`` the one focused most recently
wins. A tab that closes says so; a tab not heard from for ``STALE_SECONDS`` counts as closed (a crashed
browser, a lost network, a sleeping laptop). The person may turn the reports off in Lab's settings:
what was reported is then forgotten and the answer says that sharing is off.

The state lives in memory only: after a server restart the open tabs report again within a heartbeat.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: Seconds between two heartbeats of an open Lab page (the Lab extension's own constant: keep them together).
HEARTBEAT_SECONDS = 60
#: Seconds without a report or heartbeat after which a tab counts as closed. Browsers run the timers of a
#: hidden page about once a minute, so a heartbeat may come up to two minutes apart.
STALE_SECONDS = 180
#: Most tabs remembered at once; the one heard from least recently goes first.
MAX_TABS = 32
#: Most selected cells a report lists (a "select all" of a long notebook is counted, not listed).
MAX_SELECTED_CELLS = 100
#: Most other open notebooks a report lists.
MAX_OPEN_NOTEBOOKS = 200

Status = Literal["active", "no_notebook", "no_lab", "off"]

_Path = Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=r"^[^\x00]*$")]
_CellId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Position(BaseModel):
    """A place in a cell's source: ``line`` and ``column``, both counted from 0 (CodeMirror's, as Lab gives it)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    line: int = Field(ge=0)
    column: int = Field(ge=0)


class TextSelection(BaseModel):
    """The cursor (``start`` == ``end``) or the selected text in the active cell's editor."""

    model_config = ConfigDict(extra="forbid", strict=True)

    start: Position
    end: Position


class SelectedCell(BaseModel):
    """A selected cell: its index in the notebook as the person sees it, and its nbformat 4.5 id (None without)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    index: int = Field(ge=0)
    id: _CellId | None = None


class FocusReport(BaseModel):
    """One Lab tab's report, the body of ``POST jupyter-mcp-ext/context``.

    ``tab`` is an id the page made up when it loaded. ``heartbeat`` is true when the person's focus
    did not move since the tab's last report (a heartbeat, a kernel started, a save; the focus time
    then stays). ``path`` is the notebook the person has
    focused (None when no notebook is open in the tab), relative to the server root; ``cell_index``
    and ``cell_id`` its active cell; ``selected_cells`` the selected cells (the active one included,
    at most ``MAX_SELECTED_CELLS``; ``selected_cell_count`` says how many there are);
    ``text_selection`` the cursor or selection in the active cell while it is being edited;
    ``kernel_id`` the notebook's kernel; ``unsaved`` whether Lab holds changes not yet saved to the
    file; ``open_notebooks`` every notebook open in the tab.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    tab: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    heartbeat: bool = False
    path: _Path | None = None
    cell_index: int | None = Field(default=None, ge=0)
    cell_id: _CellId | None = None
    cell_type: Literal["code", "markdown", "raw"] | None = None
    selected_cells: list[SelectedCell] = Field(default_factory=list, max_length=MAX_SELECTED_CELLS)
    selected_cell_count: int | None = Field(default=None, ge=0)
    text_selection: TextSelection | None = None
    kernel_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    unsaved: bool = False
    open_notebooks: list[_Path] = Field(default_factory=list, max_length=MAX_OPEN_NOTEBOOKS)


@dataclass
class _Tab:
    report: FocusReport
    #: When the tab's focus last changed (seconds since the epoch).
    focused_at: float
    #: When the tab was last heard from (the monotonic clock).
    seen: float


class LabContext:
    """What the person's JupyterLab tabs reported, and the answer of ``get_active_notebook``.

    Parameters
    ----------
    stale_seconds : float
        Seconds without a report after which a tab counts as closed. Default ``STALE_SECONDS``.
    clock, wall : callable
        The monotonic clock (staleness) and the wall clock (the focus time shown); tests pass their own.
    """

    def __init__(
        self,
        stale_seconds: float = STALE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.stale_seconds = stale_seconds
        self._clock = clock
        self._wall = wall
        self._tabs: dict[str, _Tab] = {}
        #: When the person turned sharing off (wall clock), None while it is on.
        self._off_at: float | None = None

    def report(self, report: FocusReport) -> None:
        """Take a tab's report: a focus change, or a heartbeat (which keeps the tab's focus time).

        A heartbeat from a tab not known (the server restarted since its last change) counts as a
        focus change: it is the best knowledge there is. Any report means sharing is on.
        """
        now = self._clock()
        known = self._tabs.get(report.tab)
        focused_at = known.focused_at if known is not None and report.heartbeat else self._wall()
        self._tabs.pop(report.tab, None)  # re-inserted last: the dict stays ordered by when tabs were seen
        self._tabs[report.tab] = _Tab(report, focused_at, now)
        self._off_at = None
        while len(self._tabs) > MAX_TABS:
            del self._tabs[next(iter(self._tabs))]

    def forget(self, tab: str, *, off: bool = False) -> None:
        """A tab closed (its report goes), or, with ``off``, the person turned sharing off: every report goes."""
        if off:
            self._tabs.clear()
            self._off_at = self._wall()
        else:
            self._tabs.pop(tab, None)

    def current(self) -> dict[str, Any]:
        """The person's focus, as ``get_active_notebook`` and ``GET jupyter-mcp-ext/context`` answer it.

        ``status`` is "active" (a notebook: ``path``, ``cell_index``, ``cell_id``, ``cell_type``,
        ``selected_cells``, ``text_selection``, ``kernel_id``, ``unsaved``, ``open_notebooks``,
        ``focused_at`` in ISO 8601 UTC and ``seconds_since_focus``), "no_notebook" (Lab is open without
        a notebook), "no_lab" (no tab heard from in ``stale_seconds``) or "off" (the person turned
        sharing off); the last three carry a ``message``.
        """
        self._drop_stale()
        if not self._tabs:
            if self._off_at is not None:
                return {
                    "status": "off",
                    "message": "The person turned off sharing their active notebook in JupyterLab "
                    "(Settings > MCP: active notebook). Ask them which notebook and cell they mean.",
                    "off_since": _iso(self._off_at),
                }
            return {
                "status": "no_lab",
                "message": "No JupyterLab is open on this server (no Lab tab has reported in the last "
                f"{self.stale_seconds // 60:g} minutes), so there is no active notebook. Ask the person which "
                "notebook they mean, or use list_notebook_files.",
            }
        # The most recent focus wins; a tie (two reports in one clock tick) goes to the tab heard from last.
        tabs = list(self._tabs.values())  # in the order they were last heard from
        winner = max(enumerate(tabs), key=lambda pair: (pair[1].focused_at, pair[0]))[1]
        report = winner.report
        others = _others(report.path, [winner, *(t for t in reversed(tabs) if t is not winner)])
        base = {
            "focused_at": _iso(winner.focused_at),
            "seconds_since_focus": max(0, round(self._wall() - winner.focused_at)),
        }
        if report.path is None:
            return {
                "status": "no_notebook",
                "message": "JupyterLab is open, but no notebook is open in it.",
                "open_notebooks": others,
                **base,
            }
        result: dict[str, Any] = {
            "status": "active",
            "path": report.path,
            "cell_index": report.cell_index,
            "cell_id": report.cell_id,
            "cell_type": report.cell_type,
            "selected_cells": [c.model_dump() for c in report.selected_cells],
        }
        count = report.selected_cell_count
        if count is not None and count > len(report.selected_cells):
            result["selected_cell_count"] = count
        if report.text_selection is not None:
            result["text_selection"] = report.text_selection.model_dump()
        result["kernel_id"] = report.kernel_id
        if report.unsaved:
            result["unsaved"] = True
            result["message"] = (
                "The notebook has changes not yet saved: indices are those the person sees, which may differ "
                "from the file until Lab saves it."
            )
        result["open_notebooks"] = others
        result.update(base)
        return result

    def _drop_stale(self) -> None:
        limit = self._clock() - self.stale_seconds
        for tab in [t for t, state in self._tabs.items() if state.seen < limit]:
            del self._tabs[tab]


def _others(path: str | None, tabs: list[_Tab]) -> list[str]:
    """The notebooks open in the tabs, the focused tab's first, each once, without ``path``."""
    seen = {path} if path is not None else set()
    others: list[str] = []
    for tab in tabs:
        for name in tab.report.open_notebooks:
            if name not in seen:
                seen.add(name)
                others.append(name)
    return others[:MAX_OPEN_NOTEBOOKS]


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
