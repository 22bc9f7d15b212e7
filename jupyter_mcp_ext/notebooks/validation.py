"""Notebook validation (service layer): nbformat's schema errors by cell, the practical warnings of
``inspect_notebook``, and the check of a whole notebook given to ``write_notebook``."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from typing import Any

import nbformat
from nbformat import NotebookNode

from ..exceptions import InvalidArgument


def _cell_index_of(error: Any) -> int | None:
    path = list(getattr(error, "absolute_path", []) or [])
    if len(path) >= 2 and path[0] == "cells" and isinstance(path[1], int):
        return path[1]
    return None


def iter_validation_errors(nb: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """nbformat's own JSON-schema errors for ``nb``, each with the cell index it concerns (or None)."""
    try:
        errors = list(nbformat.validator.iter_validate(copy.deepcopy(nb)))
    except Exception as e:  # an unknown nbformat version, for one
        yield {"type": type(e).__name__, "message": str(e), "cell_index": None}
        return
    for error in errors:
        where = "/".join(str(p) for p in getattr(error, "absolute_path", []) or [])
        yield {
            "type": "schema",
            "message": (f"{where}: " if where else "") + str(getattr(error, "message", error)),
            "cell_index": _cell_index_of(error),
        }


def validation_errors(nb: dict[str, Any]) -> list[dict[str, Any]]:
    """All of ``iter_validation_errors`` as a list."""
    return list(iter_validation_errors(nb))


def validation_report(nb: dict[str, Any]) -> dict[str, Any]:
    """The ``validation`` block of ``inspect_notebook``: nbformat errors plus practical warnings."""
    started = time.perf_counter()
    errors = validation_errors(nb)
    warnings: list[dict[str, Any]] = []
    metadata = nb.get("metadata") or {}
    if not metadata.get("kernelspec"):
        warnings.append(
            {
                "type": "missing_kernelspec",
                "message": "metadata.kernelspec is missing: give a kernel_name when executing this notebook.",
                "cell_index": None,
            }
        )
    minor = nb.get("nbformat_minor", 0)
    seen_ids: set[str] = set()
    for i, cell in enumerate(nb.get("cells") or []):
        cell_id = cell.get("id")
        if not isinstance(cell_id, str):
            cell_id = None  # a wrong type is one of nbformat's schema errors above
        if minor >= 5 and not cell_id:
            warnings.append({"type": "missing_cell_id", "message": "cell has no id (nbformat 4.5+)", "cell_index": i})
        elif cell_id:
            if cell_id in seen_ids:
                warnings.append(
                    {"type": "duplicate_cell_id", "message": f"cell id {cell_id!r} repeats", "cell_index": i}
                )
            seen_ids.add(cell_id)
        outputs = cell.get("outputs")
        for output in outputs if isinstance(outputs, list) else []:
            if isinstance(output, dict) and output.get("output_type") == "error":
                warnings.append(
                    {
                        "type": "error_output",
                        "message": f"stored error output: {output.get('ename')}: {output.get('evalue')}",
                        "cell_index": i,
                    }
                )
    return {
        "is_valid": not errors,
        "nbformat_version": f"{nb.get('nbformat')}.{minor}",
        "errors": errors,
        "warnings": warnings,
        "validation_time": round(time.perf_counter() - started, 6),
    }


def validated_notebook(content: Any, check_source: Callable[..., Any]) -> NotebookNode:
    """``content`` (an nbformat 4 notebook as a dict or JSON text) as a valid NotebookNode, with
    the defaults nbformat fills in; raises InvalidArgument naming the first validation errors.
    ``check_source(source, argument=...)`` checks each cell's source (its length)."""
    if isinstance(content, str):
        try:
            nb = nbformat.reads(content, as_version=4)
        except Exception as e:
            raise InvalidArgument(f"content is not a readable notebook JSON: {e}") from e
    elif isinstance(content, dict):
        if content.get("nbformat") != 4:
            raise InvalidArgument(
                "content must be an nbformat 4 notebook: an object with 'cells', 'metadata', "
                f"'nbformat': 4 and 'nbformat_minor'; got nbformat={content.get('nbformat')!r}."
            )
        content = dict(content)
        content.setdefault("metadata", {})
        content.setdefault("nbformat_minor", 5)
        for cell in content.get("cells", []) if isinstance(content.get("cells"), list) else []:
            if isinstance(cell, dict):
                if cell.get("cell_type") == "code":
                    cell.setdefault("outputs", [])
                    cell.setdefault("execution_count", None)
                cell.setdefault("metadata", {})
                if isinstance(cell.get("source"), list):
                    cell["source"] = "".join(cell["source"])
        try:
            _, normalized = nbformat.validator.normalize(content)
        except Exception as e:
            raise InvalidArgument(f"content is not a valid notebook: {e}") from e
        nb = nbformat.from_dict(normalized)
    else:
        raise InvalidArgument("content must be a notebook object (nbformat 4 JSON) or its JSON text.")
    errors = validation_errors(nb)
    if errors:
        first = "; ".join(
            (f"cell {e['cell_index']}: " if e["cell_index"] is not None else "") + e["message"][:300]
            for e in errors[:3]
        )
        raise InvalidArgument(f"content is not a valid nbformat 4 notebook ({len(errors)} errors): {first}")
    for cell in nb.cells:
        check_source(cell.get("source", ""), argument="content.cells[].source")
    return nb


__all__ = ["iter_validation_errors", "validated_notebook", "validation_errors", "validation_report"]
