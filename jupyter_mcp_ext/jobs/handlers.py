"""REST handlers of the jobs API under ``<base_url>jupyter-mcp-ext/jobs``."""

from __future__ import annotations

from typing import Any

default_handlers: list[tuple[str, Any]] = []
