"""Authorizers for the native tests: one that keeps a user from the notebooks."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.authorizer import Authorizer


class NoContentsForBob(Authorizer):
    """Everyone may do everything, except that user bob may not read or write contents."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (getattr(user, "username", None) == "bob" and resource == "contents")


class Revocable(Authorizer):
    """Everyone may do everything, but the users named in ``no_contents`` (changed by the test, as an operator
    revoking a grant would) may not read or write contents."""

    no_contents: set[str] = set()

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (getattr(user, "username", None) in self.no_contents and resource == "contents")
