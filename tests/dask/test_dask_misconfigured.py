"""A worker without this package: jobs fail at once, saying what the workers need."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..jobs.conftest import tool
from .conftest import Cluster, dask_cluster_at

pytestmark = [pytest.mark.dask, pytest.mark.slow]

#: A sitecustomize that takes this package off the worker's path, as on a worker where it was never installed.
NOT_INSTALLED = """
import os, sys
import jupyter_mcp_ext
source = os.path.dirname(os.path.dirname(os.path.abspath(jupyter_mcp_ext.__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != source]
for name in [m for m in sys.modules if m.split(".")[0] == "jupyter_mcp_ext"]:
    del sys.modules[name]
"""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NOT_INSTALLED)
    with dask_cluster_at(tmp_path / "cluster", workers=1, worker_env={"PYTHONPATH": str(site)}) as cluster:
        yield cluster


async def test_a_job_on_a_worker_without_the_package_fails_at_once_naming_what_to_install(mcp_client, notebooks):
    async with mcp_client() as client:
        data = await tool(client, "execute_notebook", notebook_path="simple_execute.ipynb")

    assert data["execution_status"] == "failed", data
    assert data["error"]["reason"] == "internal_error"
    assert data["error"]["type"] == "WorkerNotReady"
    assert "'w1'" in data["error"]["message"] and "jupyter_mcp_ext is not installed" in data["error"]["message"]
    assert "docs/dask.md" in data["error"]["message"]
