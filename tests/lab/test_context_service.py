"""Which Lab tab's report wins, and when a tab counts as gone: the service on its own, with a clock of the test's."""

from __future__ import annotations

from jupyter_mcp_ext.lab.service import MAX_TABS, STALE_SECONDS, FocusReport, LabContext

from .conftest import report


class Clock:
    """One clock for both of the service's: ``now`` seconds, moved by ``advance``."""

    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def lab(clock: Clock) -> LabContext:
    return LabContext(clock=clock, wall=clock)


def send(context: LabContext, tab: str = "tab-a", path: str | None = "a.ipynb", **fields: object) -> None:
    context.report(FocusReport.model_validate(report(tab, path, **fields)))


def test_nothing_reported_is_no_lab_with_a_message_not_an_error():
    answer = lab(Clock()).current()
    assert answer["status"] == "no_lab" and "No JupyterLab is open" in answer["message"]


def test_the_tab_focused_last_wins_and_a_heartbeat_does_not_take_the_focus():
    clock = Clock()
    context = lab(clock)
    send(context, "tab-a", "a.ipynb")
    clock.advance(5)
    send(context, "tab-b", "b.ipynb")
    clock.advance(5)
    send(context, "tab-a", "a.ipynb", heartbeat=True)
    answer = context.current()
    assert answer["path"] == "b.ipynb" and answer["seconds_since_focus"] == 5
    assert answer["open_notebooks"] == ["a.ipynb"], "the other tab's notebooks are open too"
    clock.advance(5)
    send(context, "tab-a", "a.ipynb")  # the person clicks into the first tab again
    assert context.current()["path"] == "a.ipynb"


def test_a_tab_not_heard_from_for_the_stale_period_is_gone_and_the_other_wins():
    clock = Clock()
    context = lab(clock)
    send(context, "tab-a", "a.ipynb")
    clock.advance(10)
    send(context, "tab-b", "b.ipynb")
    for _ in range(4):  # tab-a's heartbeats keep it; tab-b goes silent
        clock.advance(STALE_SECONDS / 3)
        send(context, "tab-a", "a.ipynb", heartbeat=True)
    assert context.current()["path"] == "a.ipynb"
    clock.advance(STALE_SECONDS + 1)
    assert context.current()["status"] == "no_lab"


def test_a_closed_tab_hands_over_to_the_one_focused_before():
    clock = Clock()
    context = lab(clock)
    send(context, "tab-a", "a.ipynb")
    clock.advance(1)
    send(context, "tab-b", "b.ipynb")
    context.forget("tab-b")
    assert context.current()["path"] == "a.ipynb"


def test_sharing_turned_off_forgets_every_report_until_a_tab_reports_again():
    clock = Clock()
    context = lab(clock)
    send(context, "tab-a", "a.ipynb")
    send(context, "tab-b", "b.ipynb")
    context.forget("tab-a", off=True)
    answer = context.current()
    assert answer["status"] == "off" and "turned off" in answer["message"] and "path" not in answer
    send(context, "tab-a", "a.ipynb")
    assert context.current()["status"] == "active"


def test_the_answer_names_the_cell_the_selection_and_when_the_focus_changed():
    clock = Clock()
    context = lab(clock)
    send(
        context,
        path="work/a.ipynb",
        cell_index=3,
        cell_id="abc",
        selected_cells=[{"index": 3, "id": "abc"}, {"index": 4, "id": "def"}],
        text_selection={"start": {"line": 1, "column": 0}, "end": {"line": 1, "column": 7}},
        kernel_id="k-1",
        unsaved=True,
        open_notebooks=["work/a.ipynb", "b.ipynb"],
    )
    clock.advance(42)
    answer = context.current()
    assert answer["status"] == "active" and (answer["path"], answer["cell_index"], answer["cell_id"]) == (
        "work/a.ipynb",
        3,
        "abc",
    )
    assert [c["index"] for c in answer["selected_cells"]] == [3, 4]
    assert answer["text_selection"]["end"] == {"line": 1, "column": 7} and answer["kernel_id"] == "k-1"
    assert answer["open_notebooks"] == ["b.ipynb"] and "not yet saved" in answer["message"]
    assert answer["focused_at"] == "2026-05-28T20:26:40Z" and answer["seconds_since_focus"] == 42


def test_a_lab_without_a_notebook_says_so():
    context = lab(Clock())
    send(context, path=None)
    answer = context.current()
    assert answer["status"] == "no_notebook" and "no notebook is open" in answer["message"]


def test_the_service_remembers_a_bounded_number_of_tabs():
    clock = Clock()
    context = lab(clock)
    for n in range(MAX_TABS + 10):
        clock.advance(1)
        send(context, f"tab-{n}", f"n{n}.ipynb")
    answer = context.current()
    assert answer["path"] == f"n{MAX_TABS + 9}.ipynb" and len(answer["open_notebooks"]) == MAX_TABS - 1
