"""The REST API of jobs under <base_url>jupyter-mcp-ext/jobs: the same jobs as the MCP tools."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
import yaml

from .conftest import poll, tool

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "jobs-openapi.yaml"


def assert_matches_openapi(schema_name: str, instance: dict) -> None:
    """Check a response against docs/jobs-openapi.yaml, so that the document stays true."""
    validator = pytest.importorskip("openapi_schema_validator")
    spec = yaml.safe_load(OPENAPI.read_text())
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    validator.validate(instance, schema, cls=validator.OAS30Validator)


@pytest.fixture
def rest(server_url, auth_headers):
    """Factory: ``async with rest() as http`` is an HTTP client of the jobs API with the token."""

    def connect() -> httpx2.AsyncClient:
        return httpx2.AsyncClient(base_url=f"{server_url}jupyter-mcp-ext/", headers=auth_headers, timeout=60)

    return connect


@pytest.mark.kernel
@pytest.mark.slow
async def test_rest_creates_lists_reads_logs_and_deletes_the_jobs_mcp_sees(rest, mcp_client, notebooks):
    async with rest() as http:
        created = await http.post("jobs", json={"notebook_path": "simple_execute.ipynb", "parameters": {"msg": "rest"}})
        assert created.status_code == 201, created.text
        job_id = created.json()["job_id"]
        assert created.headers["Location"].endswith(f"jupyter-mcp-ext/jobs/{job_id}")

        async def finished():
            job = (await http.get(f"jobs/{job_id}")).json()
            return job if job["status"] == "completed" else None

        job = await poll(finished, 60, "the REST job")
        logs = (await http.get(f"jobs/{job_id}/logs", params={"since_line": 0, "limit": 3})).json()
        rest = (await http.get(f"jobs/{job_id}/logs", params={"since_line": logs["next_since_line"]})).json()
        listed = (await http.get("jobs")).json()
        async with mcp_client() as client:
            seen_by_mcp = await tool(client, "manage_async_job", operation="status", job_id=job_id)
        deleted = await http.delete(f"jobs/{job_id}")
        gone = await http.get(f"jobs/{job_id}")

        assert job["parameters"] == {"msg": "rest"} and job["progress"]["percent"] == 100.0
        assert_matches_openapi("Job", job)
        assert_matches_openapi("LogPage", logs)
        assert_matches_openapi("Counts", listed["counts"])
        assert [line["line"] for line in logs["logs"]] == [1, 2, 3] and logs["has_more"]
        assert rest["logs"][0]["line"] == 4 and "rest" in [line["message"] for line in rest["logs"]]
        assert [j["job_id"] for j in listed["jobs"]] == [job_id] and listed["counts"]["completed"] == 1
        assert seen_by_mcp["status"] == "completed"
        assert deleted.status_code == 204 and gone.status_code == 404
        assert (notebooks / "simple_execute_output.ipynb").exists()


@pytest.mark.kernel
@pytest.mark.slow
async def test_rest_cancel_stops_a_running_job_and_delete_refuses_while_it_runs(rest, notebooks):
    async with rest() as http:
        job_id = (await http.post("jobs", json={"notebook_path": "keyboard_interrupt.ipynb"})).json()["job_id"]

        async def sleeping():
            job = (await http.get(f"jobs/{job_id}")).json()
            return job if job["progress"]["current_cell"] else None

        await poll(sleeping, 60, "the sleep cell to start")
        refused = await http.delete(f"jobs/{job_id}")
        cancelled = await http.post(f"jobs/{job_id}/cancel")
        again = await http.post(f"jobs/{job_id}/cancel")

        assert refused.status_code == 409 and "cancel it first" in refused.json()["message"]
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert again.status_code == 409


@pytest.mark.parametrize("executor_config", [{"warm_runners": 0}])
async def test_rest_maps_errors_to_status_codes_and_requires_a_token(rest, server_url, notebooks):
    async with rest() as http:
        missing = await http.post("jobs", json={"notebook_path": "missing.ipynb"})
        outside = await http.post("jobs", json={"notebook_path": "simple_execute.ipynb", "output_path": "../x.ipynb"})
        bad_kernel = await http.post("jobs", json={"notebook_path": "simple_execute.ipynb", "kernel_name": "nope"})
        unknown_field = await http.post("jobs", json={"notebook": "simple_execute.ipynb"})
        not_json = await http.post("jobs", content=b"{oops")
        unknown_job = await http.get("jobs/job_000000000000")
        bad_since = await http.get("jobs/job_000000000000/logs", params={"since_line": "x"})
        async with httpx2.AsyncClient(timeout=30) as anonymous:
            no_token = await anonymous.get(f"{server_url}jupyter-mcp-ext/jobs")

        assert missing.status_code == 404 and "does not exist" in missing.json()["message"]
        assert outside.status_code == 403
        assert bad_kernel.status_code == 400 and "installed:" in bad_kernel.json()["message"]
        assert unknown_field.status_code == 400 and "notebook_path" in unknown_field.json()["message"]
        assert not_json.status_code == 400
        assert unknown_job.status_code == 404
        assert bad_since.status_code == 400
        assert no_token.status_code in (401, 403)
        assert (await http.get("jobs")).json()["counts"]["total"] == 0
