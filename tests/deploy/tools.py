"""The outside programs the deployment tests run, installed once into a cache directory.

- configurable-http-proxy (npm), JupyterHub's proxy;
- Jupyter Enterprise Gateway (PyPI) in a virtual environment of its own: it pins jupyter_server 1.x, which cannot
  share an environment with this extension.

``python -m tests.deploy.tools`` installs both (CI runs it); the test fixtures call the same functions, so a local
run installs what is missing the first time and reuses it afterwards. The cache directory is
``$JUPYTER_MCP_DEPLOY_TOOLS``, else ``.deploy-tools/`` at the repository root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: What the gateway's environment gets: the release the tests were written against, and a kernel for it.
GATEWAY_REQUIREMENTS = ["jupyter_enterprise_gateway>=3.3,<4", "ipykernel>=6"]
PROXY_PACKAGE = "configurable-http-proxy@^5"


def tools_dir() -> Path:
    return Path(os.environ.get("JUPYTER_MCP_DEPLOY_TOOLS") or ROOT / ".deploy-tools")


def proxy_command() -> Path:
    """The configurable-http-proxy executable, installed with npm if it is not there yet."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return Path(found)
    prefix = tools_dir() / "proxy"
    command = prefix / "node_modules" / ".bin" / "configurable-http-proxy"
    if not command.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install configurable-http-proxy (JupyterHub's proxy)")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), PROXY_PACKAGE], check=True)
    return command


def gateway_python() -> Path:
    """The Python of Enterprise Gateway's own virtual environment, made if it is not there yet."""
    venv = tools_dir() / "gateway-venv"
    python = venv / "bin" / "python"
    done = venv / ".installed"
    if not done.exists() or done.read_text() != repr(GATEWAY_REQUIREMENTS):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *GATEWAY_REQUIREMENTS],
            check=True,
        )
        done.write_text(repr(GATEWAY_REQUIREMENTS))
    return python


if __name__ == "__main__":
    print("configurable-http-proxy:", proxy_command())
    print("Enterprise Gateway python:", gateway_python())
