"""A real Jupyter Enterprise Gateway for the tests, and a lab whose kernels live on it (``--gateway-url``)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from .conftest import START_TIMEOUT, free_port, kill_leftovers, stop_process, wait_until

#: The user name the lab's kernels are started for (the gateway refuses ``root`` by default, see docs/deploying.md).
KERNEL_USERNAME = "mcp-tester"

#: A kernelspec of the gateway that only another user may start: the gateway neither lists nor starts it for
#: KERNEL_USERNAME.
RESTRICTED_KERNEL = "restricted-python"
#: A kernelspec of the gateway whose program does not exist: the gateway lists it, and fails to launch it.
BROKEN_KERNEL = "broken-python"
#: The most kernels the gateway runs at once; it refuses to start more (HTTP 403).
GATEWAY_MAX_KERNELS = 2

LOCAL_PROCESS_PROXY = "enterprise_gateway.services.processproxies.processproxy.LocalProcessProxy"


@dataclass
class Gateway:
    """A running Enterprise Gateway: its URL (no trailing slash), auth token and its kernels' runtime dir."""

    url: str
    token: str
    python: Path
    state: Path
    log: Path
    process: subprocess.Popen[Any]

    def api(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        """Call the gateway's own REST API (``/api/<path>``) with its token."""
        return httpx2.request(
            method, f"{self.url}/api/{path}", headers={"Authorization": f"token {self.token}"}, timeout=60, **kwargs
        )

    def kernel_ids(self) -> set[str]:
        """The kernels the gateway runs (its own list, not the lab's)."""
        response = self.api("GET", "kernels")
        assert response.status_code == 200, response.text
        return {k["id"] for k in response.json()}

    def kernel_pids(self) -> list[int]:
        """Process ids of the kernels the gateway launched (ipykernel processes of its environment whose
        connection file is in its runtime dir)."""
        pids = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "ipykernel" in cmdline and str(self.state) in cmdline:
                pids.append(int(proc.name))
        return pids

    def stop(self) -> list[int]:
        """Stop the gateway (it shuts its kernels down); kill any kernel left. Returns the killed pids."""
        kernels = self.kernel_pids()
        stop_process(self.process)
        return kill_leftovers(kernels + self.kernel_pids())


def _write_kernelspecs(share: Path, python: Path) -> None:
    """The gateway's kernelspecs: python3, RESTRICTED_KERNEL and BROKEN_KERNEL."""
    specs = [
        ("python3", str(python), {}),
        (RESTRICTED_KERNEL, str(python), {"authorized_users": "someone-else"}),
        (BROKEN_KERNEL, str(share / "no-such-python"), {}),
    ]
    for name, program, config in specs:
        spec_dir = share / "kernels" / name
        spec_dir.mkdir(parents=True, exist_ok=True)
        spec = {
            "argv": [program, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python 3 on the gateway ({name})",
            "language": "python",
            "metadata": {"process_proxy": {"class_name": LOCAL_PROCESS_PROXY, "config": config}},
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))


def start_gateway(state: Path, python: Path) -> Gateway:
    """Start Enterprise Gateway (from its own environment's ``python``) with its state under ``state``."""
    state.mkdir(parents=True, exist_ok=True)
    share = state / "share"
    _write_kernelspecs(share, python)
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        # Its kernelspecs are ours only, its runtime files (kernels' connection files) in the state dir.
        "JUPYTER_PATH": str(share),
        "JUPYTER_DATA_DIR": str(state / "data"),
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "JUPYTER_CONFIG_DIR": str(state / "config"),
        "IPYTHONDIR": str(state / "ipython"),
    }
    env.pop("VIRTUAL_ENV", None)
    log = state / "gateway.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(python),
                "-m",
                "enterprise_gateway",
                "--ip=127.0.0.1",
                f"--port={port}",
                f"--EnterpriseGatewayApp.auth_token={token}",
                # Without it, GET /api/kernels answers 403, and the lab cannot follow its kernels.
                "--EnterpriseGatewayApp.list_kernels=True",
                f"--EnterpriseGatewayApp.max_kernels={GATEWAY_MAX_KERNELS}",
                "--KernelSpecManager.ensure_native_kernel=False",
            ],
            cwd=state,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    gateway = Gateway(f"http://127.0.0.1:{port}", token, python, state, log, process)
    try:
        wait_until(
            lambda: gateway.api("GET", "kernelspecs").status_code == 200, START_TIMEOUT, "the gateway", process, log
        )
    except BaseException:
        gateway.stop()
        raise
    return gateway


def gateway_lab_args(gateway: Gateway) -> list[str]:
    """The lab's command-line options that put its kernels on ``gateway``."""
    return [f"--gateway-url={gateway.url}", f"--GatewayClient.auth_token={gateway.token}"]
