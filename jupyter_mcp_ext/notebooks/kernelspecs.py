"""Kernelspecs for new notebooks (service layer): the ``metadata.kernelspec`` and ``language_info`` a
notebook created for an installed kernelspec gets, without starting a kernel."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

from jupyter_core.utils import ensure_async

from ..exceptions import KernelSpecNotFound

#: ``language_info`` fields that the usual kernels report for their language (ipykernel, IRkernel, IJulia).
KNOWN_LANGUAGE_INFO: dict[str, dict[str, Any]] = {
    "python": {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
    },
    "r": {"codemirror_mode": "r", "file_extension": ".r", "mimetype": "text/x-r-source", "pygments_lexer": "r"},
    "julia": {"file_extension": ".jl", "mimetype": "application/julia"},
}


def _runs_this_python(argv: list[str]) -> bool:
    """Whether a kernelspec's ``argv`` starts the interpreter this server runs on.

    jupyter_client launches a bare ``python`` / ``python3`` / ``python3.X`` (this version) as
    ``sys.executable`` (``KernelManager.format_kernel_cmd``); any other program must be that file.
    """
    if not argv:
        return False
    major, minor = sys.version_info[:2]
    if argv[0] in {"python", f"python{major}", f"python{major}.{minor}"}:
        return True
    try:
        return os.path.samefile(argv[0], sys.executable)
    except OSError:
        return False


async def kernelspec_metadata(kernel_spec_manager: Any, name: str, *, argument: str = "kernel_name") -> dict[str, str]:
    """The ``metadata.kernelspec`` dict (name, display_name, language) of an installed kernelspec.

    Raises KernelSpecNotFound listing the installed kernelspec names.
    """
    ksm = kernel_spec_manager
    try:
        spec = await ensure_async(ksm.get_kernel_spec(name))
    except Exception as e:
        names = sorted((await ensure_async(ksm.get_all_specs())).keys())
        raise KernelSpecNotFound(
            f"{argument} {name!r} is not an installed kernelspec; installed: {', '.join(names) or 'none'}."
        ) from e
    return {"name": name, "display_name": spec.display_name, "language": spec.language}


async def language_info(kernel_spec_manager: Any, name: str) -> dict[str, Any]:
    """The ``metadata.language_info`` a kernel of kernelspec ``name`` would report, without starting it.

    Known languages get the fields their kernels report (ipykernel's for Python: file_extension,
    mimetype, codemirror_mode, pygments_lexer, nbconvert_exporter); the Python ``version`` is
    the server's own when the kernelspec runs the server's interpreter (a bare ``python`` or
    ``sys.executable``, as the default ``python3`` kernelspec does). The kernel replaces it with
    its exact ``kernel_info`` when the notebook is first run and saved.
    """
    spec = await ensure_async(kernel_spec_manager.get_kernel_spec(name))
    language = (spec.language or "").lower()
    info: dict[str, Any] = {"name": language, **KNOWN_LANGUAGE_INFO.get(language, {})}
    if language == "python" and _runs_this_python(list(spec.argv or [])):
        info["version"] = platform.python_version()
    return info


__all__ = ["KNOWN_LANGUAGE_INFO", "kernelspec_metadata", "language_info"]
