"""The extension's event schemas (infrastructure) for Jupyter Server's event system (``jupyter_events``).

Each schema is a YAML file in this package; ``register_schemas`` registers them with the
server's ``event_logger``, so that ``/api/events/subscribe`` (JupyterLab's
``serviceManager.events``) and any handler an operator configures receive the events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The ``$id`` of the notebook job event (jupyter_mcp_ext/events/job.yaml).
JOB_EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_mcp_ext/job/v1"
JOB_EVENT_SCHEMA_VERSION = "1"
JOB_EVENT_SCHEMA_PATH = Path(__file__).with_name("job.yaml")
#: The ``$id`` of the agent change event (jupyter_mcp_ext/events/change.yaml).
CHANGE_EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_mcp_ext/change/v1"
CHANGE_EVENT_SCHEMA_VERSION = "1"
CHANGE_EVENT_SCHEMA_PATH = Path(__file__).with_name("change.yaml")


def register_schemas(event_logger: Any) -> None:
    """Register the extension's schemas with a ``jupyter_events.EventLogger`` (once per logger).

    Must run before clients subscribe: a listener that subscribes to all events only receives
    those of the schemas registered when it subscribed.
    """
    for schema_id, path in (
        (JOB_EVENT_SCHEMA_ID, JOB_EVENT_SCHEMA_PATH),
        (CHANGE_EVENT_SCHEMA_ID, CHANGE_EVENT_SCHEMA_PATH),
    ):
        if schema_id not in event_logger.schemas:
            event_logger.register_event_schema(path)
