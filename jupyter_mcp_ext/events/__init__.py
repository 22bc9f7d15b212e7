"""The extension's event schemas for Jupyter Server's event system (``jupyter_events``).

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


def register_schemas(event_logger: Any) -> None:
    """Register the extension's schemas with a ``jupyter_events.EventLogger`` (once per logger).

    Must run before clients subscribe: a listener that subscribes to all events only receives
    those of the schemas registered when it subscribed.
    """
    if JOB_EVENT_SCHEMA_ID not in event_logger.schemas:
        event_logger.register_event_schema(JOB_EVENT_SCHEMA_PATH)
