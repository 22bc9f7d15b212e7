"""Authorizers for the native tests: one that keeps a user from the notebooks."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.authorizer import Authorizer


class NoContentsForBob(Authorizer):
    """Everyone may do everything, except that user bob may not read or write contents."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (getattr(user, "username", None) == "bob" and resource == "contents")
