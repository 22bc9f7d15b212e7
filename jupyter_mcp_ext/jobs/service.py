"""The job service: creates, tracks and cancels notebook jobs."""

from __future__ import annotations

from typing import Any


class JobService:
    """Placeholder until the job tools land."""

    @classmethod
    def from_app(cls, app: Any, services: Any) -> JobService | None:
        return None
