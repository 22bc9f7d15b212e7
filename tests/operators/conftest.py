"""Fixtures of the operator tests: the suite's server with extra config, and the server's log captured."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from ..test_transport import jupyter_server_process, merged  # noqa: F401 (a fixture of the operator tests too)


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """The suite's server config, plus what a test passes with ``parametrize("jp_server_config", [...], indirect=True)``."""
    return merged(jp_server_config, getattr(request, "param", {}))


class Records(logging.Handler):
    """Every record that reaches the server's log (its handler's view), formatted as the server writes it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self, level: int = logging.DEBUG, prefix: str = "") -> list[str]:
        return [
            r.getMessage()
            for r in self.records
            if r.levelno >= level and (r.name.startswith(prefix) if prefix else True)
        ]


@pytest.fixture
def server_log(jp_serverapp: Any) -> Iterator[Records]:
    """The server's log at DEBUG, as its handler sees it (the extension's loggers included)."""
    handler = Records()
    logs = [jp_serverapp.log]
    app = next(iter(jp_serverapp.extension_manager.extension_apps["jupyter_mcp_ext"]))
    if app.log is not jp_serverapp.log:
        logs.append(app.log)
    levels = [log.level for log in logs]
    for log in logs:
        log.addHandler(handler)
        log.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for log, level in zip(logs, levels, strict=True):
            log.removeHandler(handler)
            log.setLevel(level)
