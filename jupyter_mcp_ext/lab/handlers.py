"""REST handler of the person's focus in JupyterLab, ``<base_url>jupyter-mcp-ext/context`` (REST layer).

``POST`` takes a Lab tab's report (``service.FocusReport``), ``DELETE ?tab=<id>[&reason=off]`` forgets a
closed tab (or, with ``reason=off``, every report: the person turned sharing off), ``GET`` answers what
``get_active_notebook`` answers, for scripts. Authorized as Jupyter's contents API: the focus is about
notebooks, so ``GET`` needs ``read`` on ``contents``, and reporting it (which steers what an agent edits)
``write``, as a user who may not change notebooks has no business pointing an agent at one.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from pydantic import ValidationError
from tornado import web

from ..exceptions import InvalidArgument
from ..rest import json_body, service_errors
from .service import FocusReport, LabContext

#: The focus is about notebooks: the resource Jupyter's contents API guards.
AUTH_RESOURCE = "contents"

_TAB = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def report_errors(error: ValidationError) -> str:
    """A short sentence for a report that does not fit ``FocusReport``: each field, and what is wrong with it."""
    parts = []
    for item in error.errors(include_url=False)[:5]:
        field = ".".join(str(p) for p in item.get("loc", ())) or "body"
        if item.get("type") == "extra_forbidden":
            parts.append(f"unknown field {field}")
        else:
            parts.append(f"{field}: {item.get('msg', 'not valid')}")
    return "The report is not valid: " + "; ".join(parts) + "."


class ContextHandler(APIHandler):
    """``GET`` the person's focus; ``POST`` a Lab tab's report; ``DELETE ?tab=<id>[&reason=off|closed]``."""

    auth_resource = AUTH_RESOURCE

    @property
    def context(self) -> LabContext:
        return self.settings["jupyter_mcp_ext_services"].lab  # type: ignore[no-any-return]

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(self.context.current()))

    @web.authenticated
    @authorized
    @service_errors
    async def post(self) -> None:
        body: Any = json_body(self)
        try:
            report = FocusReport.model_validate(body)
        except ValidationError as e:
            raise InvalidArgument(report_errors(e)) from None
        self.context.report(report)
        self.set_status(204)
        self.finish()

    @web.authenticated
    @authorized
    @service_errors
    async def delete(self) -> None:
        tab = self.get_query_argument("tab", "")
        reason = self.get_query_argument("reason", "closed")
        if not _TAB.match(tab):
            raise InvalidArgument("tab is required: the id the Lab tab reported with (1-64 letters, digits, - or _).")
        if reason not in ("closed", "off"):
            raise InvalidArgument(f"reason must be 'closed' or 'off', got {reason!r}.")
        self.context.forget(tab, off=reason == "off")
        self.set_status(204)
        self.finish()


default_handlers = [(r"/jupyter-mcp-ext/context", ContextHandler)]
