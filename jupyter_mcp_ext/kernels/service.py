"""The kernel service (lifecycle, execution) on the server's MultiKernelManager."""

from __future__ import annotations

from typing import Any


class KernelService:
    """Placeholder until the kernel tools land."""

    @classmethod
    def from_app(cls, app: Any, services: Any) -> KernelService | None:
        return None
