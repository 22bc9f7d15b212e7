"""The REST routes behind JupyterLab's Notebook Jobs panel: notebook parameters, rerun, who started a job."""

from __future__ import annotations

from typing import Any

import nbformat
import pytest

from .conftest import poll
from .test_rest_api import assert_matches_openapi


def parameters_notebook(root: Any, path: str = "report.ipynb") -> str:
    """A notebook with a parameters cell using each kind of assignment Papermill's Python translator reads."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        "import datetime\n"
        "quarter = 'Q1'  # the quarter to report on\n"
        "n: int = 10\n"
        "rate = 0.5  # type: float\n"
        "regions = ['north', 'south']\n"
        "verbose = False\n"
        "label = None\n"
        "when = datetime.date.today()\n"
    )
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("print(quarter, n, rate, regions, verbose, label)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(root / path))
    return path


@pytest.mark.parametrize("executor_config", [{"warm_runners": 0}])
async def test_notebook_parameters_are_papermills_inference_with_json_defaults(contents_api, jp_root_dir):
    parameters_notebook(jp_root_dir)
    async with contents_api() as http:
        answer = await http.get("jupyter-mcp-ext/notebook-parameters", params={"path": "report.ipynb"})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert_matches_openapi("NotebookParameters", body)
    by_name = {p["name"]: p for p in body["parameters"]}
    assert list(by_name) == ["quarter", "n", "rate", "regions", "verbose", "label", "when"]
    assert by_name["quarter"] == {
        "name": "quarter",
        "inferred_type_name": None,
        "default": "'Q1'",
        "value": "Q1",
        "has_value": True,
        "help": "the quarter to report on",
    }
    assert (by_name["n"]["inferred_type_name"], by_name["n"]["value"]) == ("int", 10)
    assert (by_name["rate"]["inferred_type_name"], by_name["rate"]["value"]) == ("float", 0.5)
    assert by_name["regions"]["value"] == ["north", "south"] and by_name["verbose"]["value"] is False
    assert by_name["label"]["has_value"] and by_name["label"]["value"] is None
    assert by_name["when"]["has_value"] is False and by_name["when"]["default"] == "datetime.date.today()"
    assert body["has_parameters_cell"] and body["kernel_name"] == "python3" and body["language"] == "python"
    assert body["output_path"] == "report_output.ipynb" and body["timeout_seconds"] == 300
    assert "python3" in [k["name"] for k in body["kernelspecs"]]


@pytest.mark.parametrize("executor_config", [{"warm_runners": 0}])
async def test_notebook_parameters_errors_name_the_path(contents_api, make_notebook):
    make_notebook("plain.ipynb", ["1 + 1"])
    async with contents_api() as http:
        plain = (await http.get("jupyter-mcp-ext/notebook-parameters", params={"path": "plain.ipynb"})).json()
        missing = await http.get("jupyter-mcp-ext/notebook-parameters", params={"path": "nope.ipynb"})
        outside = await http.get("jupyter-mcp-ext/notebook-parameters", params={"path": "../x.ipynb"})
        no_path = await http.get("jupyter-mcp-ext/notebook-parameters")

    assert plain["has_parameters_cell"] is False and plain["parameters"] == []
    assert missing.status_code == 404 and "nope.ipynb" in missing.json()["message"]
    assert outside.status_code == 403
    assert no_path.status_code == 400 and "path is required" in no_path.json()["message"]


@pytest.mark.kernel
@pytest.mark.slow
async def test_rerun_starts_a_new_job_with_the_same_notebook_and_parameters(contents_api, jp_root_dir):
    parameters_notebook(jp_root_dir)
    async with contents_api() as http:
        first = (
            await http.post(
                "jupyter-mcp-ext/jobs",
                json={"notebook_path": "report.ipynb", "parameters": {"quarter": "Q3"}, "timeout_seconds": 120},
            )
        ).json()
        refused = await http.post(f"jupyter-mcp-ext/jobs/{first['job_id']}/rerun")

        async def finished(job_id: str) -> Any:
            job = (await http.get(f"jupyter-mcp-ext/jobs/{job_id}")).json()
            return job if job["status"] not in ("queued", "running") else None

        await poll(lambda: finished(first["job_id"]), 60, "the first job")
        rerun = await http.post(f"jupyter-mcp-ext/jobs/{first['job_id']}/rerun")
        second = await poll(lambda: finished(rerun.json()["job_id"]), 60, "the rerun")

    assert refused.status_code == 409 and "still" in refused.json()["message"]
    assert rerun.status_code == 201 and rerun.headers["Location"].endswith(second["job_id"])
    assert_matches_openapi("Job", second)
    assert second["job_id"] != first["job_id"] and second["status"] == "completed"
    assert (second["notebook_path"], second["parameters"], second["timeout_seconds"]) == (
        "report.ipynb",
        {"quarter": "Q3"},
        120,
    )
    assert second["output_path"] == first["output_path"] and second["started_by"] == {"via": "lab", "client_name": None}
    out = nbformat.read(str(jp_root_dir / "report_output.ipynb"), as_version=4)
    assert "Q3 10 0.5" in "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))
