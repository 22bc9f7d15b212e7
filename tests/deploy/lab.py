"""A Jupyter server with this extension, run as a subprocess as an operator would run it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from .conftest import START_TIMEOUT, free_port, stop_process, wait_until


@dataclass
class Lab:
    """A running server: ``url`` is its base URL (ending in "/"), ``root`` its root directory."""

    url: str
    token: str
    root: Path
    log: Path
    process: subprocess.Popen[Any]

    @property
    def mcp_url(self) -> str:
        return f"{self.url}mcp"

    def api(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        """Call the server's REST API (``<base_url><path>``) with its token."""
        return httpx2.request(
            method, self.url + path, headers={"Authorization": f"token {self.token}"}, timeout=60, **kwargs
        )

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


def start_lab(state: Path, *args: str, env: dict[str, str] | None = None) -> Lab:
    """Start ``jupyter server`` with ``args`` and its Jupyter directories under ``state``; returns once it
    answers (``/api/me``: ``/api/status`` would also need a gateway to answer)."""
    root = state / "root"
    root.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    environ = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(state / "config"),
        "JUPYTER_DATA_DIR": str(state / "data"),
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "IPYTHONDIR": str(state / "ipython"),
        **(env or {}),
    }
    log = state / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--no-browser",
                "--allow-root",
                f"--port={port}",
                "--ip=127.0.0.1",
                f"--ServerApp.root_dir={root}",
                f"--IdentityProvider.token={token}",
                *args,
            ],
            cwd=state,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    lab = Lab(url=f"http://127.0.0.1:{port}/", token=token, root=root, log=log, process=process)
    try:
        wait_until(lambda: lab.api("GET", "api/me").status_code == 200, START_TIMEOUT, "the server", process, log)
    except BaseException:
        lab.stop()
        raise
    return lab
