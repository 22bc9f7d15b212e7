"""``jupyter mcp-ext`` (command line, outside the server): connect an MCP client to a running Jupyter server.

``jupyter mcp-ext connect [CLIENT]`` finds the running servers as ``jupyter server list`` does
(jupyter_server's ``list_running_servers``), checks that the extension answers there, and prints
configuration for the client with the endpoint URL and the token header filled in.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

#: The stdio-to-HTTP bridge for clients that only start local (stdio) servers: mcp-remote from npm,
#: started with npx as the Inspector is. (mcp-proxy from PyPI bridges as well: docs/clients.md.)
BRIDGE = "mcp-remote"

#: The Inspector's major version: 0.x has no ``--header`` in its CLI.
INSPECTOR = "@modelcontextprotocol/inspector@2"


@dataclass
class Endpoint:
    """A running server's MCP endpoint: its URL and the Authorization header value ("token <t>")."""

    url: str
    authorization: str | None
    server_url: str
    root_dir: str | None = None


def _header(endpoint: Endpoint) -> str:
    return endpoint.authorization or "token <token>"


def claude_code(endpoint: Endpoint, name: str) -> str:
    header = shlex.quote(f"Authorization: {_header(endpoint)}")
    return f"claude mcp add --transport http {shlex.quote(name)} {shlex.quote(endpoint.url)} --header {header}"


def vscode(endpoint: Endpoint, name: str) -> str:
    config = {"servers": {name: {"type": "http", "url": endpoint.url, "headers": {"Authorization": _header(endpoint)}}}}
    return json.dumps(config, indent=2)


def cursor(endpoint: Endpoint, name: str) -> str:
    config = {"mcpServers": {name: {"url": endpoint.url, "headers": {"Authorization": _header(endpoint)}}}}
    return json.dumps(config, indent=2)


def stdio(endpoint: Endpoint, name: str) -> str:
    # The header goes through an environment variable, which mcp-remote expands: a space inside
    # an argument breaks some clients' command lines (Claude Desktop on Windows).
    args = ["-y", BRIDGE, endpoint.url, "--header", "Authorization:${JUPYTER_AUTHORIZATION}"]
    host = urllib.parse.urlsplit(endpoint.url).hostname or ""
    if endpoint.url.startswith("http://") and host not in ("localhost", "127.0.0.1", "::1"):
        args.append("--allow-http")  # mcp-remote refuses plain HTTP to another host unless told
    server = {"command": "npx", "args": args, "env": {"JUPYTER_AUTHORIZATION": _header(endpoint)}}
    return json.dumps({"mcpServers": {name: server}}, indent=2)


def inspector(endpoint: Endpoint, name: str) -> str:
    header = shlex.quote(f"Authorization: {_header(endpoint)}")
    return (
        f"npx -y {INSPECTOR} --cli {shlex.quote(endpoint.url)} --transport http --header {header} --method tools/list"
    )


@dataclass
class ClientFormat:
    title: str
    render: Callable[[Endpoint, str], str]
    where: str


CLIENTS: dict[str, ClientFormat] = {
    "claude-code": ClientFormat("Claude Code", claude_code, "run in a shell"),
    "vscode": ClientFormat("VS Code", vscode, "save as .vscode/mcp.json (or merge into it)"),
    "cursor": ClientFormat("Cursor", cursor, "save as ~/.cursor/mcp.json or .cursor/mcp.json (or merge into it)"),
    "claude-desktop": ClientFormat(
        "Claude Desktop",
        stdio,
        "merge into claude_desktop_config.json (Settings > Developer > Edit Config); Claude Desktop starts "
        "the mcp-remote bridge with npx (Node.js)",
    ),
    "stdio": ClientFormat(
        "Any stdio-only MCP client",
        stdio,
        "the client starts `npx -y mcp-remote ...`, a bridge from stdio to this HTTP endpoint",
    ),
    "inspector": ClientFormat("MCP Inspector", inspector, "run in a shell (drop --cli ... for the web UI)"),
}


def running_servers() -> list[dict[str, Any]]:
    """The servers ``jupyter server list`` shows (their runtime files, for live processes)."""
    from jupyter_server.serverapp import list_running_servers

    return list(list_running_servers())


def probe(server: dict[str, Any], timeout: float = 5.0) -> tuple[dict[str, Any] | None, str | None]:
    """Ask a server for the extension's status: ``(status, None)`` or ``(None, why not)``."""
    url = server["url"].rstrip("/") + "/jupyter-mcp-ext/status"
    request = urllib.request.Request(url)
    if server.get("token"):
        request.add_header("Authorization", f"token {server['token']}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the server's own URL)
            return json.loads(response.read()), None
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None, "jupyter_mcp_ext is not enabled on this server (`jupyter server extension list`)"
        return None, f"the server answered HTTP {e.code}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return None, f"the server did not answer ({reason})"


def endpoint_of(server: dict[str, Any], status: dict[str, Any] | None) -> Endpoint:
    base = server["url"].rstrip("/")
    # The status' mcp_path starts with the server's base_url, which server["url"] already holds.
    path = "mcp"
    if status and status.get("mcp_path"):
        path = status["mcp_path"].rstrip("/").rsplit("/", 1)[-1]
    token = server.get("token")
    return Endpoint(
        url=f"{base}/{path}",
        authorization=f"token {token}" if token else None,
        server_url=server["url"],
        root_dir=server.get("root_dir"),
    )


def _matches(server: dict[str, Any], wanted: str) -> bool:
    """``--server`` names a server by its URL (as `jupyter server list` prints it), its MCP URL, or its port."""
    if wanted.isdigit():
        return str(server.get("port")) == wanted
    wanted = wanted.rstrip("/")
    url = server["url"].rstrip("/")
    return wanted in (url, f"{url}/mcp") or url.startswith(wanted + "/")


def choose(servers: list[dict[str, Any]], wanted: str | None) -> dict[str, Any]:
    """The server ``--server`` names, or the only one running. Raises SystemExit with the choices otherwise."""
    listing = "\n".join(f"  {s['url']}  (root {s.get('root_dir', '?')})" for s in servers)
    if wanted:
        chosen = [s for s in servers if _matches(s, wanted)]
        if len(chosen) == 1:
            return chosen[0]
        if not servers:
            raise SystemExit(f"No Jupyter server is running here, so none matches --server {wanted}.")
        raise SystemExit(f"--server {wanted} matches {len(chosen)} of the running Jupyter servers:\n{listing}")
    if not servers:
        raise SystemExit(
            "No Jupyter server is running here (as `jupyter server list` sees them). "
            "Start one with `jupyter lab`, then run this again."
        )
    if len(servers) > 1:
        raise SystemExit(f"Several Jupyter servers are running; pick one with --server URL:\n{listing}")
    return servers[0]


def render(endpoint: Endpoint, clients: Iterable[str], name: str, status: dict[str, Any] | None) -> str:
    """The text printed for ``clients``: only the snippet for one client, commented sections for several."""
    names = list(clients)
    if len(names) == 1:
        return CLIENTS[names[0]].render(endpoint, name)
    lines = [f"# MCP endpoint of the Jupyter server {endpoint.server_url}: {endpoint.url}"]
    if endpoint.authorization is None:
        lines.append(
            "# This server has no token (password login): MCP clients need one. Restart it with "
            "--IdentityProvider.token=<token> and put that token where <token> stands."
        )
    if status is not None:
        offered = status.get("tool_count", len(status.get("tools", [])))
        lines.append(f"# It offers {offered} tools{' (read-only)' if status.get('read_only') else ''}.")
    lines.append("# The snippets hold the server's token: keep them out of shared files and version control.")
    for key in names:
        client = CLIENTS[key]
        lines += ["", f"## {client.title} ({key}): {client.where}", client.render(endpoint, name)]
    return "\n".join(lines)


def connect(args: argparse.Namespace) -> int:
    servers = running_servers()
    server = choose(servers, args.server)
    status, problem = probe(server)
    if problem:
        print(f"warning: {server['url']}: {problem}; printing the configuration anyway.", file=sys.stderr)
    endpoint = endpoint_of(server, status)
    clients = list(CLIENTS) if args.client in (None, "all") else [args.client]
    print(render(endpoint, clients, args.name, status))
    return 0


def settings_help() -> str:
    """Every MCPExtensionApp setting as traitlets prints it for ``--help-all`` (docs/configuration.md's source too).

    ``jupyter lab --help-all`` lists only JupyterLab's own classes, not its extensions'.
    """
    from .config import CONFIG_FILE_ENV, ENV_PREFIX, own_traits
    from .extension import MCPExtensionApp

    lines = [
        "MCPExtensionApp settings: set them in jupyter_server_config.py, on the `jupyter lab` command line, in the",
        f"JSON file named by {CONFIG_FILE_ENV}, or as {ENV_PREFIX}<NAME> (which wins over all).",
        "",
    ]
    for _name, trait in sorted(own_traits(MCPExtensionApp).items()):
        lines.append(MCPExtensionApp.class_get_trait_help(trait))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter mcp-ext",
        description="Connect MCP clients to the MCP endpoint of a running Jupyter server (jupyter-mcp-ext).",
    )
    parser.add_argument("--help-all", action="store_true", help="list every setting of the extension and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    command = commands.add_parser(
        "connect",
        help="print ready-to-paste MCP client configuration for a running server",
        description="Find the running Jupyter servers (as `jupyter server list` does) and print MCP client "
        "configuration with the endpoint URL and the server's token filled in.",
    )
    command.add_argument(
        "client",
        nargs="?",
        choices=[*CLIENTS, "all"],
        help="the client to configure; default: all of them",
    )
    command.add_argument(
        "--server", metavar="URL", help="which running server, by its URL (see `jupyter server list`) or port"
    )
    command.add_argument("--name", default="jupyter", help="the name the client gives the server (default: jupyter)")
    command.set_defaults(run=connect)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jupyter-mcp-ext`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.help_all:
        print(settings_help())
        return 0
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
