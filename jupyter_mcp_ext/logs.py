"""The extension's logging (infrastructure): its loggers join the server's log; reads do not spam "not trusted".

The extension logs through ``logging.getLogger("jupyter_mcp_ext")`` and its children, attached to
the Jupyter server's own logger as jupyter_server attaches tornado's (``ServerApp.init_logging``):
same handler, same format, same ``--log-level``. Nothing logged here carries a token, a cell
source or an output, at any level.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from typing import Any

#: The logger of the extension; tools log their calls to ``jupyter_mcp_ext.tools``.
LOGGER_NAME = "jupyter_mcp_ext"

_quiet_trust = contextvars.ContextVar("jupyter_mcp_ext_quiet_trust", default=False)


def attach_to_server_log(server_log: logging.Logger) -> logging.Logger:
    """Route the extension's loggers through the Jupyter server's logger; return the extension's logger."""
    logger = logging.getLogger(LOGGER_NAME)
    # jupyter_server sets propagate=False on its own logger and hangs tornado's loggers below it
    # the same way, so that every line shares its handler and level.
    logger.parent = server_log
    logger.propagate = True
    logger.setLevel(logging.NOTSET)
    return logger


class _TrustWarningFilter(logging.Filter):
    """Drops the contents manager's "Notebook ... is not trusted" line for the extension's own reads."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_quiet_trust.get() and record.msg == "Notebook %s is not trusted")


_FILTER = _TrustWarningFilter()


def install_trust_filter(contents_manager: Any) -> None:
    """Let ``quiet_trust_warnings`` silence the contents manager's trust warning (once per logger)."""
    log = getattr(contents_manager, "log", None)
    if isinstance(log, logging.Logger) and _FILTER not in log.filters:
        log.addFilter(_FILTER)


@contextlib.contextmanager
def quiet_trust_warnings() -> Iterator[None]:
    """Within this block (this task only), the contents manager does not log "Notebook ... is not trusted".

    Jupyter's notary logs it on every load and save of a notebook whose outputs it has not signed;
    for JupyterLab, which opens a notebook once, it says why outputs are not rendered. An agent
    reads the same notebook many times, and the line carries nothing it can act on;
    ``inspect_notebook`` reports the trust state instead. Lab's own reads still log it.
    """
    token = _quiet_trust.set(True)
    try:
        yield
    finally:
        _quiet_trust.reset(token)
