"""Fixtures of the integrity tests: a server whose job database lives in the test's tmp dir, the
stress budget, and a recorder of what each racing writer was told."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from ..conftest import TOKEN

#: Seconds each stress test races its writers (CI runs them all; ``-m "not stress"`` skips them).
STRESS_SECONDS = float(os.environ.get("JUPYTER_MCP_STRESS_SECONDS", "8"))


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


@pytest.fixture
def jp_server_config(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The suite's server, with the job database under the test's tmp dir, plus what a test passes
    with ``parametrize("jp_server_config", [...], indirect=True)``."""
    base = {
        "ServerApp": {"jpserver_extensions": {"jupyter_mcp_ext": True}, "allow_root": True},
        "IdentityProvider": {"token": TOKEN},
        "MCPExtensionApp": {"jobs_db_path": str(tmp_path / "jobdata" / "jobs.sqlite")},
    }
    return merged(base, getattr(request, "param", {}))
