"""What the extension's REST handlers share (handler layer): the one table from the services' exceptions
to HTTP status codes, the decorator that answers them as ``{"message", "reason"}`` JSON, and a JSON body
reader that refuses what is not an object."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from jupyter_server.base.handlers import APIHandler

from .exceptions import (
    Conflict,
    InvalidArgument,
    JobNotFound,
    JobsUnavailable,
    KernelSpecNotFound,
    MCPExtError,
    NotFound,
    PathError,
    PermissionDenied,
)

#: The one table from the services' exceptions to HTTP status codes (the most specific class wins).
STATUS_BY_ERROR: dict[type[MCPExtError], int] = {
    JobNotFound: 404,
    KernelSpecNotFound: 400,  # a bad kernel_name argument, not a missing resource of this API
    NotFound: 404,
    PathError: 403,
    PermissionDenied: 403,
    Conflict: 409,
    InvalidArgument: 400,
    JobsUnavailable: 503,
    MCPExtError: 400,
}


def status_for(error: MCPExtError) -> int:
    """The HTTP status of a service exception, from ``STATUS_BY_ERROR`` along its class's MRO."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def service_errors(method: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Answer the service's exceptions as ``{"message", "reason"}`` JSON with their status code (and the
    ``cells`` in conflict, for an exception that names them)."""

    @functools.wraps(method)
    async def wrapper(self: APIHandler, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except MCPExtError as e:
            self.set_status(status_for(e))
            body: dict[str, Any] = {"message": str(e), "reason": type(e).__name__}
            cells = getattr(e, "cells", None)
            if cells is not None:
                body["cells"] = cells
            self.finish(json.dumps(body))

    return wrapper


def json_body(handler: APIHandler) -> dict[str, Any]:
    """The request body as a JSON object; raises InvalidArgument for anything else."""
    try:
        body = json.loads(handler.request.body or b"{}")
    except ValueError as e:
        raise InvalidArgument(f"The request body is not valid JSON: {e}") from e
    if not isinstance(body, dict):
        raise InvalidArgument("The request body must be a JSON object.")
    return body


__all__ = ["STATUS_BY_ERROR", "json_body", "service_errors", "status_for"]
