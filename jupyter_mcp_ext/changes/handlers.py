"""REST handlers of agent changes under ``<base_url>jupyter-mcp-ext/changes`` (handler layer; docs/changes-api.md).

``GET /changes?path=<notebook>`` lists a notebook's changes newest first; ``GET /changes/<id>`` gives one
with its cells before and after; ``POST /changes/<id>/revert`` and ``POST /changes/revert`` (``{"ids":
[...]}``, all or nothing) undo; ``POST /changes/<id>/keep`` takes one out of the review. Authorized as
Jupyter's contents API is: reading the list needs ``read`` on ``contents``, reverting and keeping ``write``.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..exceptions import InvalidArgument
from ..rest import json_body, service_errors

#: Changes are notebook contents: the resource Jupyter's contents API guards.
AUTH_RESOURCE = "contents"

_CHANGE_ID = r"(?P<change_id>[^/]+)"
_ACTION = r"(?P<action>revert|keep)"


class _ChangesAPIHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def changes(self) -> Any:
        service = self.settings["jupyter_mcp_ext_services"].changes
        if service is None:
            raise web.HTTPError(404, "Agent changes are not recorded on this server.")
        return service

    def user_name(self) -> str | None:
        """The Jupyter user making the request, for the record of a revert (None for a random anonymous one)."""
        user = self.current_user
        name = getattr(user, "username", None) or getattr(user, "name", None)
        return None if not name or str(getattr(user, "name", "")).startswith("Anonymous ") else str(name)

    async def _reverted(self, ids: list[Any]) -> None:
        result = await self.changes.revert(ids, user=self.user_name())
        self.finish(
            json.dumps(
                {
                    "reverted": result["reverted"],
                    "cells": result["cells"],
                    "changes": [c.public() for c in result["changes"]],
                }
            )
        )


class ChangesHandler(_ChangesAPIHandler):
    """``GET ?path=<notebook>[&pending=true][&limit=N]``: the notebook's changes, newest first
    (``{"path", "changes": [...]}``); ``pending``: only those still to review."""

    @web.authenticated
    @authorized
    @service_errors
    async def get(self) -> None:
        path = self.get_query_argument("path", None)
        if not path:
            raise InvalidArgument("path is required: the notebook, relative to the server root, e.g. ?path=a.ipynb.")
        pending = self.get_query_argument("pending", "false").lower()
        if pending not in ("true", "false", "1", "0"):
            raise InvalidArgument(f"pending must be true or false, got {pending!r}.")
        try:
            limit = int(self.get_query_argument("limit", "0"))
        except ValueError as e:
            raise InvalidArgument("limit must be an integer >= 0 (0: all).") from e
        if limit < 0:
            raise InvalidArgument("limit must be an integer >= 0 (0: all).")
        changes = await self.changes.of_notebook(path, pending=pending in ("true", "1"), limit=limit)
        self.finish(json.dumps({"path": path, "changes": [c.public() for c in changes]}))


class ChangesRevertHandler(_ChangesAPIHandler):
    """``POST`` with ``{"ids": [...]}``: revert those changes, newest first, all or nothing."""

    @web.authenticated
    @authorized
    @service_errors
    async def post(self) -> None:
        body = json_body(self)
        unknown = sorted(set(body) - {"ids"})
        if unknown:
            raise InvalidArgument(f"Unknown field(s) {', '.join(unknown)}; accepted: ids.")
        await self._reverted(body.get("ids"))  # type: ignore[arg-type]


class ChangeHandler(_ChangesAPIHandler):
    """``GET``: one change with its cells before and after."""

    @web.authenticated
    @authorized
    @service_errors
    async def get(self, change_id: str) -> None:
        self.finish(json.dumps(self.changes.get(change_id).detail()))


class ChangeActionHandler(_ChangesAPIHandler):
    """``POST .../revert``: undo the change (409 with ``cells`` on a conflict). ``POST .../keep``: take it out
    of the review."""

    @web.authenticated
    @authorized
    @service_errors
    async def post(self, change_id: str, action: str) -> None:
        if action == "keep":
            self.finish(json.dumps(self.changes.keep(change_id).public()))
            return
        await self._reverted([change_id])


default_handlers: list[tuple[str, Any]] = [
    (r"/jupyter-mcp-ext/changes/?", ChangesHandler),
    (r"/jupyter-mcp-ext/changes/revert/?", ChangesRevertHandler),
    (rf"/jupyter-mcp-ext/changes/{_CHANGE_ID}/{_ACTION}/?", ChangeActionHandler),
    (rf"/jupyter-mcp-ext/changes/{_CHANGE_ID}/?", ChangeHandler),
]
