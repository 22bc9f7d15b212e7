"""Quiet answers to what MCP clients ask before they connect: OAuth discovery, and the Streamable HTTP GET probe.

Jupyter logs every 4xx response as a warning. OAuth-capable clients (mcp-remote, the Inspector's UI) look for
OAuth metadata even when they hold a token, and mcp-remote first does a GET on the endpoint: each connection of
mcp-remote wrote a ``400 GET /mcp`` and six ``404 /.well-known/...`` warnings into the lab's log, for a client
that then worked. These requests get the same answers as before, logged at debug level.

Discovery stays a 404, so that no client starts an OAuth flow this server cannot finish: the MCP authorization
spec (2025-11-25) has clients look for Protected Resource Metadata (RFC 9728) and authorization server metadata
(RFC 8414, OpenID Connect Discovery) after a 401, and the official SDKs' clients (and mcp-remote, which looks
first) treat a 404 there as "no OAuth" and go on with the Authorization header they were given.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from tornado.httputil import responses

#: The OAuth / OpenID Connect discovery documents clients look for, with or without the resource's path
#: after them (RFC 9728 section 3.1, RFC 8414 section 3.1; OpenID Connect Discovery also before it).
DISCOVERY_PATTERN = r"\.well-known/(?:oauth-protected-resource|oauth-authorization-server|openid-configuration)(?:/.*)?"

NO_OAUTH_MESSAGE = (
    "This Jupyter server does not use OAuth: send its token with every MCP request, as the header "
    "'Authorization: token <token>' (or 'Authorization: Bearer <token>')."
)


class DebugLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger whose warnings are written at debug level: for the request log line of an answer that is
    expected (Jupyter's ``log_request`` logs every 4xx through ``handler.log.warning``)."""

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.debug(msg, *args, **kwargs)


class OAuthDiscoveryHandler(JupyterHandler):
    """404 with a sentence that names the token, for the OAuth discovery documents, logged at debug level.

    Registered under the server's base URL and, when the base URL is not ``/``, at the server's root too
    (RFC 9728 and RFC 8414 put the well-known path before the resource's path: an MCP endpoint at
    ``/user/ada/mcp`` is probed at ``/.well-known/oauth-protected-resource/user/ada/mcp``).
    """

    @property
    def log(self) -> Any:
        return DebugLog(super().log, {})

    @allow_unauthenticated
    def get(self, *args: Any) -> None:
        self.set_status(404)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"message": NO_OAUTH_MESSAGE, "reason": responses[404]}))

    @allow_unauthenticated
    def head(self, *args: Any) -> None:
        self.set_status(404)
        self.finish()


def discovery_handlers(mcp_path: str) -> list[tuple[str, Any]]:
    """The discovery routes under the base URL (the ExtensionApp prefixes it): the documents for the server and
    for ``<base_url><mcp_path>``, and OpenID Connect's ``<mcp_path>/.well-known/openid-configuration``."""
    return [
        (rf"/{DISCOVERY_PATTERN}", OAuthDiscoveryHandler),
        (rf"/{mcp_path}/{DISCOVERY_PATTERN}", OAuthDiscoveryHandler),
    ]


def root_discovery_handlers() -> list[tuple[str, Any]]:
    """The discovery routes at the server's root, outside its base URL (add them with ``web_app.add_handlers``
    when the base URL is not ``/``)."""
    return [(rf"/{DISCOVERY_PATTERN}", OAuthDiscoveryHandler)]
