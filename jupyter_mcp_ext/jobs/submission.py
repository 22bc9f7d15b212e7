"""Checking a job request (service layer): notebook, kernel, parameters, timeout, environment, paths.

Each bad argument is refused with a message that names it and what is valid.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jupyter_core.utils import ensure_async

from ..exceptions import Conflict, InvalidArgument, JobsUnavailable, KernelSpecNotFound, NotebookNotFound
from ..names import closest
from ..notebooks.paths import normalize_api_path
from .models import Job, RunSpec
from .parameters import (
    KernelSpecInfo,
    NotebookParameters,
    declared_parameters,
    described,
    has_parameters_cell,
    infer_parameters,
)

if TYPE_CHECKING:
    from ..notebooks.service import NotebookService


@dataclass(frozen=True)
class JobRequest:
    """A job request whose every argument was checked: what a new job records (API paths, the
    kernelspec name as installed, ``timeout_seconds`` in seconds with 0 meaning no limit), and
    ``warnings``: sentences about what the run will do that the caller may not expect (parameters
    that the notebook has no ``parameters`` cell for, or that it does not declare)."""

    notebook_path: str
    output_path: str
    kernel_name: str
    parameters: dict[str, Any]
    timeout_seconds: float
    working_dir: str
    env_overrides: dict[str, str]
    warnings: tuple[str, ...] = ()


class JobSubmission:
    """The checks every job goes through before it is recorded: by ``JobService.submit`` and
    ``rerun``, and by anything that queues jobs of its own (a schedule checks its request once
    when it is made, and each of its runs is submitted as an ordinary job).

    Parameters
    ----------
    app
        The extension app: its traits ``job_timeout``, ``output_directory`` and
        ``jupyter_timeout`` are read at each use.
    notebooks : NotebookService
        For reading notebooks and confining paths to the server root.
    contents_manager, kernel_spec_manager
        The server's managers; jobs need a ContentsManager with a ``root_dir`` on disk.
    """

    def __init__(
        self, *, app: Any, notebooks: NotebookService, contents_manager: Any, kernel_spec_manager: Any
    ) -> None:
        self.app = app
        self.notebooks = notebooks
        self.contents_manager = contents_manager
        self.kernel_spec_manager = kernel_spec_manager

    async def check(
        self,
        notebook_path: str,
        *,
        output_path: str | None = None,
        parameters: dict[str, Any] | None = None,
        kernel_name: str | None = None,
        timeout_seconds: float | None = None,
        working_dir_override: str | None = None,
        env_overrides: dict[str, str] | None = None,
        allow_undeclared_parameters: bool = False,
        active_jobs: Iterable[Job] = (),
    ) -> JobRequest:
        """Check every argument of a job request, writing and starting nothing; returns the request
        as a job would record it (API paths, the kernelspec name, the defaults filled in).

        ``parameters`` are checked against the notebook's ``parameters`` cell as Papermill reads it
        (``parameters.declared_parameters``): a name it does not declare is refused, unless
        ``allow_undeclared_parameters`` (then, as without a ``parameters`` cell, the request's
        ``warnings`` say so). ``active_jobs``: the jobs that are queued or running; one that writes
        the same output path is a Conflict. Raises NotebookNotFound / NotANotebook (notebook_path),
        KernelSpecNotFound (listing the installed kernelspecs), PathError (a path outside the root),
        InvalidArgument (parameters that cannot be serialized or that the notebook does not declare,
        output_path equal to the input, a negative timeout, bad env_overrides), Conflict, or
        JobsUnavailable (no notebooks on this machine's disk).
        """
        timeout = self._check_timeout(timeout_seconds)
        env = self._check_env(env_overrides)
        api_path, nb = await self.notebooks.get(notebook_path, argument="notebook_path")
        if kernel_name is not None:
            kernel, spec = await self.kernelspec(kernel_name, argument="kernel_name")
        else:
            nb_kernel = ((nb.get("metadata") or {}).get("kernelspec") or {}).get("name")
            if not nb_kernel:
                names = sorted((await ensure_async(self.kernel_spec_manager.get_all_specs())).keys())
                raise InvalidArgument(
                    f"notebook_path {api_path!r} has no kernelspec in its metadata, so the kernel to run it is "
                    f"unknown: pass kernel_name, one of the installed kernelspecs: {', '.join(names) or 'none'}."
                )
            kernel, spec = await self.kernelspec(nb_kernel, argument="kernel_name", from_notebook=True)
        if not isinstance(allow_undeclared_parameters, bool):
            raise InvalidArgument(
                f"allow_undeclared_parameters must be true or false, got {allow_undeclared_parameters!r}."
            )
        params = self._check_parameters(parameters, spec.get("language"))
        warnings = self._check_declared(
            nb, api_path, params, kernel, spec.get("language"), allow_undeclared=allow_undeclared_parameters
        )
        out = self._output_path(output_path, api_path, active_jobs)
        working_dir = self._working_dir(working_dir_override, api_path)
        return JobRequest(
            notebook_path=api_path,
            output_path=out,
            kernel_name=kernel,
            parameters=params,
            timeout_seconds=timeout,
            working_dir=working_dir,
            env_overrides=env,
            warnings=tuple(warnings),
        )

    async def notebook_parameters(self, notebook_path: str) -> NotebookParameters:
        """What a job of this notebook would run with by default: the parameters of its
        ``parameters``-tagged cell as Papermill infers them, its kernel, the default output path and
        timeout, and the installed kernelspecs. Raises NotebookNotFound, NotANotebook, PathError.
        """
        api_path, nb = await self.notebooks.get(notebook_path, argument="path")
        specs = (await ensure_async(self.kernel_spec_manager.get_all_specs())) or {}
        kernelspecs = [
            KernelSpecInfo(
                name=name,
                display_name=(entry.get("spec") or {}).get("display_name") or name,
                language=(entry.get("spec") or {}).get("language"),
            )
            for name, entry in sorted(specs.items())
        ]
        nb_kernel = ((nb.get("metadata") or {}).get("kernelspec") or {}).get("name")
        kernel: str | None = None
        language = ((nb.get("metadata") or {}).get("kernelspec") or {}).get("language")
        if nb_kernel:
            try:
                kernel, spec = await self.kernelspec(nb_kernel, argument="kernel_name", from_notebook=True)
                language = spec.get("language") or language
            except KernelSpecNotFound:
                kernel = None
        language = language or ((nb.get("metadata") or {}).get("language_info") or {}).get("name")
        return NotebookParameters(
            notebook_path=api_path,
            has_parameters_cell=has_parameters_cell(nb),
            parameters=infer_parameters(nb, kernel or nb_kernel, language),
            kernel_name=kernel,
            language=language,
            kernelspecs=kernelspecs,
            output_path=self.default_output_path(api_path),
            timeout_seconds=float(self.app.job_timeout or 0),
        )

    async def run_spec(self, job: Job, staging_path: str) -> RunSpec:
        """What the executor runs for a queued job: its paths on disk, its kernelspec resolved again
        (it may have changed while the job waited), and ``staging_path`` for the output notebook.
        Raises KernelSpecNotFound or JobsUnavailable."""
        nb_kernel, spec = await self.kernelspec(job.kernel_name, argument="kernel_name")
        return RunSpec(
            job_id=job.job_id,
            notebook_path=job.notebook_path,
            input_path=self.os_path(job.notebook_path),
            output_path=self.os_path(job.output_path),
            output_staging_path=staging_path,
            cwd=self.os_path(job.working_dir) if job.working_dir else self.root_dir(),
            parameters=job.parameters,
            kernel_name=nb_kernel,
            kernelspec=spec,
            language=spec.get("language"),
            env_overrides=job.env_overrides,
            timeout_seconds=job.timeout_seconds,
            start_timeout=float(self.app.jupyter_timeout or 60),
            started_at=job.started_at,
        )

    def root_dir(self) -> str:
        """The server root on disk. Raises JobsUnavailable when the ContentsManager has none."""
        root = getattr(self.contents_manager, "root_dir", None)
        if not root or not os.path.isdir(root):
            raise JobsUnavailable(
                "Notebook jobs need notebooks on this machine's disk, and this server's ContentsManager "
                f"({type(self.contents_manager).__name__}) has no root_dir. Use execute_on_kernel instead."
            )
        return str(root)

    def os_path(self, api_path: str) -> str:
        """The file on disk of an API path (already confined to the root)."""
        return os.path.join(self.root_dir(), *[p for p in api_path.split("/") if p])

    async def kernelspec(self, name: str, *, argument: str, from_notebook: bool = False) -> tuple[str, dict[str, Any]]:
        """Resolve a kernelspec name (``python`` falls back to ``python3`` as jupyter_client does)."""
        ksm = self.kernel_spec_manager
        for candidate in [name, "python3"] if name == "python" else [name]:
            try:
                spec = await ensure_async(ksm.get_kernel_spec(candidate))
            except Exception:
                continue
            fields = spec.to_dict()
            fields["resource_dir"] = spec.resource_dir
            return candidate, fields
        names = sorted((await ensure_async(ksm.get_all_specs())).keys())
        installed = ", ".join(names) or "none"
        if from_notebook:
            raise KernelSpecNotFound(
                f"The notebook's kernelspec {name!r} is not installed on this server; installed: {installed}. "
                "Pass kernel_name to run it with one of them."
            )
        raise KernelSpecNotFound(f"{argument} {name!r} is not an installed kernelspec; installed: {installed}.")

    def _check_parameters(self, parameters: Any, language: str | None) -> dict[str, Any]:
        if parameters is None:
            return {}
        if not isinstance(parameters, dict):
            raise InvalidArgument(
                'parameters must be an object of name: value, e.g. {"n_samples": 1000, "title": "Q1"}; '
                f"got {type(parameters).__name__}."
            )
        for name, value in parameters.items():
            if not isinstance(name, str) or not name:
                raise InvalidArgument(f"parameters: the name {name!r} is not a non-empty string.")
            if (language or "python") == "python" and not name.isidentifier():
                raise InvalidArgument(
                    f"parameters: {name!r} is not a valid Python variable name; Papermill assigns each "
                    "parameter to a variable of that name."
                )
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as e:
                kind = (
                    "NaN or infinity" if isinstance(value, float) and not math.isfinite(value) else type(value).__name__
                )
                raise InvalidArgument(
                    f"parameters[{name!r}] cannot be serialized ({kind}): parameter values must be JSON values "
                    "(string, number, boolean, null, list, object)."
                ) from e
        return dict(parameters)

    def _check_declared(
        self,
        nb: Any,
        api_path: str,
        params: dict[str, Any],
        kernel: str,
        language: str | None,
        *,
        allow_undeclared: bool,
    ) -> list[str]:
        """Check the names of ``params`` against what the notebook's ``parameters`` cell declares;
        returns the warnings of a run that goes ahead (no such cell: Papermill puts the parameters
        first, where the notebook's own assignments override them; names let through by
        ``allow_undeclared``; a language Papermill cannot inspect). Raises InvalidArgument naming each
        undeclared name, the closest declared one and all of them, with their types."""
        if not params:
            return []
        names = ", ".join(params)
        if not has_parameters_cell(nb):
            return [
                f"{api_path} has no cell tagged 'parameters', so Papermill put the parameters ({names}) in a new "
                "first cell: an assignment of the same name further down overrides them. Tag the cell that sets "
                "their defaults 'parameters' to inject them after it and have their names checked."
            ]
        declared = declared_parameters(nb, kernel, language)
        if declared is None:
            return [
                f"The parameters ({names}) were not checked against the parameters cell of {api_path}: Papermill "
                f"cannot read parameters cells of {language or kernel} notebooks."
            ]
        known = [p.name for p in declared]
        undeclared = [name for name in params if name not in known]
        if not undeclared:
            return []
        declares = f"declares {described(declared)}" if declared else "declares no parameter"
        if allow_undeclared:
            listed = ", ".join(repr(n) for n in undeclared)
            return [
                f"parameters {listed}: not declared by the parameters cell of {api_path} (it {declares}); injected "
                "anyway, after that cell: the notebook uses them only if its code reads those names."
            ]
        each = []
        for name in undeclared:
            match = closest(name, known)
            each.append(f"{name!r}" + (f" (did you mean {match!r}?)" if match else ""))
        one = len(each) == 1
        which = each[0] if one else ", ".join(each[:-1]) + " and " + each[-1]
        raise InvalidArgument(
            f"parameters: {which} {'is not a parameter' if one else 'are not parameters'} of {api_path}: its "
            f"parameters cell {declares}. Papermill would inject {'it' if one else 'them'} anyway and run the "
            "notebook with its defaults; pass allow_undeclared_parameters=true if that is what you want."
        )

    def _check_env(self, env_overrides: Any) -> dict[str, str]:
        if env_overrides is None:
            return {}
        if not isinstance(env_overrides, dict):
            raise InvalidArgument('env_overrides must be an object of NAME: "value" strings.')
        for key, value in env_overrides.items():
            if not isinstance(key, str) or not key or "=" in key or "\0" in key:
                raise InvalidArgument(f"env_overrides: {key!r} is not a valid environment variable name.")
            if not isinstance(value, str) or "\0" in value:
                raise InvalidArgument(
                    f"env_overrides[{key!r}] must be a string (environment values are text), got {value!r}."
                )
        return dict(env_overrides)

    def _check_timeout(self, timeout_seconds: Any) -> float:
        if timeout_seconds is None:
            return float(self.app.job_timeout or 0)
        if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, (int, float)):
            raise InvalidArgument(f"timeout_seconds must be a number of seconds, got {timeout_seconds!r}.")
        if not math.isfinite(timeout_seconds) or timeout_seconds < 0:
            raise InvalidArgument(
                f"timeout_seconds {timeout_seconds!r} is not valid: give a number of seconds >= 0 (0 means no limit)."
            )
        return float(timeout_seconds)

    def default_output_path(self, api_path: str) -> str:
        """``<name>_output.ipynb`` beside the input, or in ``output_directory`` when it is set."""
        stem = posixpath.splitext(posixpath.basename(api_path))[0]
        if self.app.output_directory:
            directory = normalize_api_path(
                self.app.output_directory, self.contents_manager, argument="output_directory", allow_root=True
            )
        else:
            directory = posixpath.dirname(api_path)
        return posixpath.join(directory, f"{stem}_output.ipynb") if directory else f"{stem}_output.ipynb"

    def _output_path(self, output_path: str | None, api_path: str, active_jobs: Iterable[Job]) -> str:
        if output_path is None:
            out = self.default_output_path(api_path)
        else:
            out = self.notebooks.api_path(output_path, argument="output_path", new_file=True)
        if out == api_path or os.path.realpath(self.os_path(out)) == os.path.realpath(self.os_path(api_path)):
            raise InvalidArgument(
                f"output_path {out!r} is the input notebook itself: Papermill would overwrite it. Give another "
                f"path, or omit output_path to write {posixpath.splitext(api_path)[0]}_output.ipynb."
            )
        if os.path.isdir(self.os_path(out)):
            raise InvalidArgument(f"output_path {out!r} is a directory; give a notebook path ending in .ipynb.")
        parent = posixpath.dirname(out)
        if parent and not os.path.isdir(self.os_path(parent)) and output_path is not None:
            raise NotebookNotFound(
                f"output_path {out!r}: the directory {parent!r} does not exist under the server root."
            )
        for other in active_jobs:
            if other.active and other.output_path == out:
                raise Conflict(
                    f"output_path {out!r} is being written by job {other.job_id} ({other.status}); wait for it, "
                    "cancel it, or give another output_path."
                )
        return out

    def _working_dir(self, working_dir_override: str | None, api_path: str) -> str:
        if working_dir_override is None:
            return posixpath.dirname(api_path)
        working_dir = normalize_api_path(
            working_dir_override, self.contents_manager, argument="working_dir_override", allow_root=True
        )
        if not os.path.isdir(self.os_path(working_dir)):
            raise NotebookNotFound(
                f"working_dir_override {working_dir_override!r} is not a directory under the server root."
            )
        return working_dir

    def ensure_output_dir(self, out: str) -> None:
        """Create the configured output_directory (an explicit output_path's directory must exist)."""
        out_dir = posixpath.dirname(out)
        if out_dir and not os.path.isdir(self.os_path(out_dir)):
            os.makedirs(self.os_path(out_dir), exist_ok=True)
