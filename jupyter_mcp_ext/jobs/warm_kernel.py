"""A kernel started before its job (job process): which kernelspecs can start warm, and how.

An idle runner (``runner.py``) starts the kernel of its kernelspec while it waits for a job. When
the job comes, the runner hands that kernel to Papermill (``papermill_engine``) instead of starting
one, after checking that the job would get the same kernel cold: the same kernelspec, the same
environment (no ``env_overrides``), and a Python kernel that can be moved to the job's working
directory before its first cell. Otherwise the warm kernel is killed and the job starts its own.

Each warm kernel belongs to one runner process, which runs one job at most: a job never gets a
kernel that another job used. The kernel is the runner's child, in a session of its own, as a
kernel started for the job would be; ipykernel exits by itself when that parent dies
(``JPY_PARENT_PID``), so an idle runner killed from outside leaves no kernel behind.

The standard library only at import time: the server imports ``cold_reason`` to choose which
kernelspecs to warm.
"""

from __future__ import annotations

import time
from typing import Any

from . import process

#: argv entries that mark a kernelspec as ipykernel's (``python -m ipykernel_launcher -f ...``).
IPYKERNEL_MODULES = ("ipykernel_launcher", "ipykernel")

#: Run silently in a warm kernel before the job's first cell: what a kernel started in ``cwd``
#: would have, with no name left in the user's namespace and no history entry. IPython records
#: its starting directory twice (``starting_dir``, and ``_dh``, the directory history);
#: ``sys.path`` holds ``''`` for the working directory, which follows the move by itself.
MOVE_CODE = (
    "(lambda os, pathlib, ip: (os.chdir({cwd!r}), setattr(ip, 'starting_dir', os.getcwd()), "
    "ip.history_manager.dir_hist.__setitem__(slice(None), [pathlib.Path.cwd()])))"
    "(__import__('os'), __import__('pathlib'), get_ipython())"
)


def _relative_path(value: str) -> bool:
    """Whether an argv entry or environment value names a path relative to the working directory."""
    if value in (".", "..") or value.startswith(("./", "../")):
        return True
    return "/" in value and not value.startswith(("/", "{", "~")) and "://" not in value


def cold_reason(kernelspec: dict[str, Any] | None) -> str | None:
    """Why a job of this kernelspec always starts its kernel cold, or None if it can start warm.

    A kernel can be started ahead when it is ipykernel (its ``argv`` runs ``-m ipykernel_launcher``
    or ``-m ipykernel``, language Python), through jupyter_client's local provisioner, and neither
    its ``argv`` nor its ``env`` names a relative path (which would resolve against the runner's
    directory instead of the job's).
    """
    if not kernelspec:
        return "the kernelspec is unknown"
    language = str(kernelspec.get("language") or "")
    argv = [str(a) for a in kernelspec.get("argv") or []]
    if language.lower() != "python" or not any(a in IPYKERNEL_MODULES for a in argv):
        return (
            f"its kernel ({language or 'language unknown'}, argv {argv[:3]}) is not ipykernel, which is the "
            "only kernel a job can be moved into before its first cell"
        )
    provisioner = ((kernelspec.get("metadata") or {}).get("kernel_provisioner") or {}).get("provisioner_name")
    if provisioner not in (None, "local-provisioner"):
        return f"its kernel is started by the kernel provisioner {provisioner!r}"
    env = kernelspec.get("env") or {}
    for value in [*argv, *(str(v) for v in env.values())]:
        if _relative_path(value):
            return f"its argv or env names the relative path {value!r}"
    return None


class WarmKernel:
    """A kernel of ``kernelspec`` (as the server resolved it) started by this process ahead of its job.

    ``start`` launches it (without waiting for it to answer: the job's client does that);
    ``unusable`` says why a job cannot take it; ``discard`` kills it. The kernel manager ``km`` is
    an ``AsyncKernelManager`` started on this thread's event loop, the one Papermill's client runs on.
    """

    def __init__(self, kernel_name: str, kernelspec: dict[str, Any]) -> None:
        self.kernel_name = kernel_name
        self.kernelspec = kernelspec
        self.km: Any = None
        self.started_at: float | None = None
        self.taken = False

    def start(self) -> None:
        from jupyter_core.utils import run_sync
        from nbclient import NotebookClient

        from .papermill_engine import kernel_manager_class, served_kernel_spec_manager

        km = kernel_manager_class()(
            kernel_name=self.kernel_name,
            kernel_spec_manager=served_kernel_spec_manager(self.kernel_name, self.kernelspec),
        )
        # The arguments nbclient gives an ipykernel it starts (its history in memory, not in the
        # profile's database), so that the kernel is the one a cold start would run.
        hist_file = NotebookClient.ipython_hist_file.default_value
        extra = [f"--HistoryManager.hist_file={hist_file}"] if km.ipykernel and hist_file else []
        run_sync(km.start_kernel)(extra_arguments=extra)
        self.km = km
        self.started_at = time.time()

    @property
    def pid(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        return getattr(provisioner, "pid", None) or getattr(getattr(provisioner, "process", None), "pid", None)

    def unusable(self, spec: dict[str, Any]) -> str | None:
        """Why the job ``spec`` (a ``RunSpec`` dict) must start its kernel cold, or None."""
        if self.km is None:
            return "no kernel could be started ahead"
        if spec.get("env_overrides"):
            return "the job sets env_overrides, which the kernel started ahead does not have"
        if spec.get("kernel_name") != self.kernel_name:
            return (
                f"the job runs kernelspec {spec.get('kernel_name')!r}; the kernel started ahead is {self.kernel_name!r}"
            )
        if spec.get("kernelspec") != self.kernelspec:
            return f"the kernelspec {self.kernel_name!r} changed since its kernel was started ahead"
        if not process.is_alive(self.pid):
            return "the kernel started ahead has exited"
        return None

    def take(self) -> Any:
        """The kernel manager, for the job's client (the job now owns the kernel)."""
        self.taken = True
        return self.km

    def discard(self) -> None:
        """Kill the kernel unless a job took it (the job then shuts it down), and remove its files."""
        if self.km is None or self.taken:
            return
        process.kill_group(self.pid)
        popen = getattr(self.km.provisioner, "process", None)
        try:
            if popen is not None:
                popen.wait(5)  # reaped: no zombie for the length of the job
            self.km.cleanup_connection_file()
        except Exception:
            pass
        self.km = None
