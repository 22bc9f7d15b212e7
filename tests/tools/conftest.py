"""The notebook tool tests run in both modes: notebooks open in JupyterLab's real-time collaboration, and not."""

from __future__ import annotations

from ..live.fixtures import (  # noqa: F401  (fixtures)
    data_notebook,
    jp_server_config,
    lab,
    make_notebook,
    mcp_client,
    notebook_backend,
)
