"""A notebook's parameters as Papermill infers them (service layer), to start a job from JupyterLab.

Papermill's own inspection (``papermill.inspection``, the code behind ``papermill --help-notebook``)
reads the cell tagged ``parameters``: names, defaults, type annotations and help comments. We add
each default as a JSON value when it is a literal, so that a form can be prefilled with it.
"""

from __future__ import annotations

import ast
import copy
import json
import math
from typing import Any

from pydantic import BaseModel, Field


class NotebookParameter(BaseModel):
    """One assignment of the ``parameters`` cell, as Papermill's translator parsed it."""

    name: str
    inferred_type_name: str | None = Field(
        default=None,
        description="The type Papermill infers (from an annotation or a '# type:' comment), e.g. 'int'; None "
        "when it cannot tell.",
    )
    default: str = Field(description="The default value's source text, as written in the cell.")
    value: Any = Field(default=None, description="The default as a JSON value, when has_value.")
    has_value: bool = Field(
        default=False, description="Whether the default is a literal (then value holds it) rather than an expression."
    )
    help: str = Field(default="", description="The comment after the assignment.")


class KernelSpecInfo(BaseModel):
    """An installed kernelspec a job could run with."""

    name: str
    display_name: str
    language: str | None = None


class NotebookParameters(BaseModel):
    """What a job of a notebook would run with by default: its parameters, kernel, output path and timeout."""

    notebook_path: str
    has_parameters_cell: bool
    parameters: list[NotebookParameter]
    kernel_name: str | None = Field(description="The notebook's kernelspec, resolved; None if it has none installed.")
    language: str | None = None
    kernelspecs: list[KernelSpecInfo]
    output_path: str = Field(description="The default output path of a job of this notebook.")
    timeout_seconds: float = Field(description="The default timeout_seconds (0: no limit).")


def papermill_node(nb: Any) -> Any:
    """A copy of ``nb`` in the shape Papermill's helpers expect: every cell has ``metadata.tags``
    (``papermill.iorw.load_notebook_node`` adds them the same way when it reads a file)."""
    import nbformat

    node = nbformat.from_dict(copy.deepcopy(dict(nb)))
    for cell in node.cells:
        cell.setdefault("metadata", nbformat.NotebookNode()).setdefault("tags", [])
    return node


def has_parameters_cell(nb: Any) -> bool:
    """Whether a cell of the notebook is tagged ``parameters`` (Papermill's rule)."""
    from papermill.utils import any_tagged_cell

    return bool(any_tagged_cell(papermill_node(nb), "parameters"))


def infer_parameters(nb: Any, kernel_name: str | None, language: str | None) -> list[NotebookParameter]:
    """The parameters of ``nb``'s first ``parameters``-tagged cell, by Papermill's translator for
    the kernel's language (an empty list for a language Papermill cannot inspect)."""
    return declared_parameters(nb, kernel_name, language) or []


def declared_parameters(nb: Any, kernel_name: str | None, language: str | None) -> list[NotebookParameter] | None:
    """What the first ``parameters``-tagged cell of ``nb`` assigns, as Papermill's translator for the
    kernel's language reads it (``papermill.inspection``'s core, on the notebook we already have): an
    empty list without such a cell; None when Papermill cannot read parameters cells of that
    language (it has no translator for it, or its translator cannot inspect), so nothing can be
    checked against them."""
    from papermill.exceptions import PapermillException
    from papermill.translators import papermill_translators
    from papermill.utils import find_first_tagged_cell_index

    node = papermill_node(nb)
    index = find_first_tagged_cell_index(node, "parameters")
    if index < 0:
        return []
    kernelspec = node.metadata.get("kernelspec") or {}
    kernel_name = kernel_name or kernelspec.get("name")
    language = language or kernelspec.get("language") or (node.metadata.get("language_info") or {}).get("name")
    try:
        translator = papermill_translators.find_translator(kernel_name, language)
        found = translator.inspect(node.cells[index])
    except (PapermillException, NotImplementedError):
        return None
    return [_parameter(p._asdict(), language) for p in found]


def type_label(parameter: NotebookParameter) -> str | None:
    """The parameter's type for a person or a model: Papermill's inferred type (from an annotation or a
    ``# type:`` comment), else the type of its literal default (``delay = 0.1`` -> ``float``); None
    when neither tells."""
    if parameter.inferred_type_name:
        return parameter.inferred_type_name
    if parameter.has_value and parameter.value is not None:
        return type(parameter.value).__name__
    return None


def described(parameters: list[NotebookParameter]) -> str:
    """``delay (float), n (int), start`` : the names of ``parameters`` with their types where known."""
    return ", ".join(p.name + (f" ({t})" if (t := type_label(p)) else "") for p in parameters)


def _parameter(raw: dict[str, Any], language: str | None) -> NotebookParameter:
    type_name = raw.get("inferred_type_name") or None
    default = str(raw.get("default") or "")
    has_value, value = _literal(default, language)
    return NotebookParameter(
        name=raw["name"],
        # Papermill writes the string "None" when there is no annotation.
        inferred_type_name=None if type_name == "None" else type_name,
        default=default,
        value=value,
        has_value=has_value,
        help=str(raw.get("help") or ""),
    )


def _literal(source: str, language: str | None) -> tuple[bool, Any]:
    """``(True, value)`` when ``source`` is a literal that is also a JSON value, else ``(False, None)``."""
    try:
        if (language or "python") == "python":
            value = ast.literal_eval(source)
            if isinstance(value, tuple):
                value = list(value)
        else:
            value = json.loads(source)
        json.dumps(value, allow_nan=False)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    if isinstance(value, float) and not math.isfinite(value):
        return False, None
    return True, value
