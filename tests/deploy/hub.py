"""A real JupyterHub for the tests: its proxy, a local-process spawner, and users' servers with this extension."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from .conftest import START_TIMEOUT, free_port, kill_leftovers, stop_process, wait_until

#: The service the tests act as, and the hub permissions it needs: create users, start their servers (and read
#: the spawner's state: the servers' process ids, to check teardown), issue tokens on the users' behalf.
SERVICE = "mcp-deploy-test"
SERVICE_SCOPES = ["admin:users", "admin:servers", "tokens"]

HUB_CONFIG = """\
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {proxy_port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.db_url = "sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{state}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "{state}/jupyterhub.pid"
c.ConfigurableHTTPProxy.command = [{proxy_command!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.auth_token = {proxy_token!r}
c.ConfigurableHTTPProxy.pid_file = "{state}/proxy.pid"

# Test-only authenticator and spawner: any name logs in, servers are local processes of the hub's user.
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{state}/home/{{username}}"
c.Spawner.notebook_dir = "{state}/home/{{username}}/notebooks"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = ["--allow-root"]
c.Spawner.start_timeout = {timeout}
c.Spawner.http_timeout = {timeout}
# The spawner stops a server with SIGINT, then SIGTERM and SIGKILL after these timeouts: a server that does not
# stop on SIGINT must fail the test, not be killed quietly.
c.LocalProcessSpawner.interrupt_timeout = {timeout}
# Answer "202 Accepted" at once, so that both users' servers start at the same time.
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0, "slow_stop_timeout": 0}}

c.JupyterHub.services = [{{"name": {service!r}, "api_token": {service_token!r}}}]
c.JupyterHub.load_roles = [{{"name": {service!r}, "scopes": {scopes!r}, "services": [{service!r}]}}]
"""


@dataclass
class HubUser:
    """A hub user whose server runs: its name, its notebook root on disk, and its server's process id."""

    name: str
    root: Path
    pid: int | None = None
    tokens: dict[str, str] = field(default_factory=dict)


@dataclass
class Hub:
    """A running JupyterHub: ``url`` is the public (proxy) URL, ending in "/"."""

    url: str
    state: Path
    log: Path
    process: subprocess.Popen[Any]
    service_token: str
    users: dict[str, HubUser] = field(default_factory=dict)

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> httpx2.Response:
        """Call the hub's REST API (``/hub/api/<path>``) as the test service (or with ``token``)."""
        return httpx2.request(
            method,
            f"{self.url}hub/api/{path}",
            headers={"Authorization": f"token {token or self.service_token}"},
            content=None if body is None else json.dumps(body),
            timeout=60,
        )

    def server_url(self, name: str) -> str:
        return f"{self.url}user/{name}/"

    def add_users(self, *names: str) -> list[HubUser]:
        """Create the users, start their servers (all at once) and wait until the hub reports each ready."""
        for name in names:
            (self.state / "home" / name / "notebooks").mkdir(parents=True, exist_ok=True)
            response = self.api("POST", f"users/{name}")
            assert response.status_code in (201, 409), response.text
            response = self.api("POST", f"users/{name}/server")
            assert response.status_code in (201, 202), response.text
        users = []
        for name in names:
            wait_until(
                lambda name=name: self.server(name).get("ready"),
                START_TIMEOUT,
                f"{name}'s server",
                self.process,
                self.log,
            )
            pid = (self.server(name).get("state") or {}).get("pid")
            user = self.users[name] = HubUser(name, self.state / "home" / name / "notebooks", int(pid) if pid else None)
            users.append(user)
        return users

    def server(self, name: str) -> dict[str, Any]:
        """The hub's model of the user's default server ({} when it has none); with admin:servers it includes
        the spawner's state (the local process id)."""
        response = self.api("GET", f"users/{name}")
        assert response.status_code == 200, response.text
        return dict((response.json().get("servers") or {}).get("") or {})

    def token(self, name: str, scopes: list[str] | None = None, note: str = "mcp") -> str:
        """A new API token of ``name``: with ``scopes``, or (None) the token page's default permissions."""
        body: dict[str, Any] = {"note": note, "expires_in": 3600}
        if scopes is not None:
            body["scopes"] = scopes
        response = self.api("POST", f"users/{name}/tokens", body)
        assert response.status_code in (200, 201), response.text
        return str(response.json()["token"])

    def stop_server(self, name: str) -> None:
        """Stop the user's server through the hub, as its owner or an admin would, and wait until it is gone."""
        response = self.api("DELETE", f"users/{name}/server")
        assert response.status_code in (202, 204), response.text
        wait_until(lambda: not self.server(name), START_TIMEOUT, f"{name}'s server to stop", self.process, self.log)

    def stop(self) -> list[int]:
        """Stop the users' servers, then the hub (which stops its proxy); kill whatever is left after that.
        Returns the process ids that had to be killed."""
        pids = [u.pid for u in self.users.values() if u.pid]
        if self.process.poll() is None:
            for name in list(self.users):
                with suppress(Exception):
                    self.stop_server(name)
        stop_process(self.process, timeout=START_TIMEOUT)
        proxy_pid_file = self.state / "proxy.pid"
        if proxy_pid_file.exists():
            pids.append(int(proxy_pid_file.read_text().strip()))
        return kill_leftovers(pids)


def start_hub(state: Path, proxy_command: Path) -> Hub:
    """Write the hub's config into ``state`` and start it; returns once its API answers."""
    proxy_port = free_port()
    service_token = secrets.token_hex(16)
    config = state / "jupyterhub_config.py"
    config.write_text(
        HUB_CONFIG.format(
            proxy_port=proxy_port,
            hub_port=free_port(),
            proxy_api_port=free_port(),
            proxy_token=secrets.token_hex(16),
            proxy_command=str(proxy_command),
            state=state,
            singleuser=str(Path(sys.executable).parent / "jupyterhub-singleuser"),
            timeout=int(START_TIMEOUT),
            service=SERVICE,
            service_token=service_token,
            scopes=SERVICE_SCOPES,
        )
    )
    log = state / "jupyterhub.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=state,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    hub = Hub(url=f"http://127.0.0.1:{proxy_port}/", state=state, log=log, process=process, service_token=service_token)
    try:
        wait_until(lambda: hub.api("GET", "").status_code == 200, START_TIMEOUT, "JupyterHub's API", process, log)
    except BaseException:
        hub.stop()
        raise
    return hub
