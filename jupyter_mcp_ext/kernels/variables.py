"""A Python kernel's variables, read without a trace: the introspection that list_variables sends, and its answer.

The kernel evaluates one user expression (Jupyter messaging's ``user_expressions``) of a silent
execute_request with no code: nothing is printed, the execution count and the history (``In``,
``_ih``, the history database) stay as they were, and no name is added to the namespace (the
introspection runs in a namespace of its own, handed the user's). The debug protocol's
``inspectVariables`` would need the debugger on and returns everything unshaped.
"""

from __future__ import annotations

import ast
import asyncio
import json
from typing import Any

from jupyter_core.utils import ensure_async

from ..exceptions import MCPExtError
from .connection import KernelConnection

#: Most names described (the rest are counted, in name order).
MAX_VARIABLES = 500
#: Most characters of a value's short repr.
MAX_REPR_CHARS = 80

#: The introspection, run by ``exec`` in a dict of its own: ``__ns__`` is the user's namespace,
#: ``__private__`` whether names starting with ``_`` are wanted; it leaves JSON in ``__result__``.
INTROSPECTION = r"""
import json as _json, re as _re, reprlib as _reprlib, types as _types

_ns = __ns__
_ipython_names = {"In", "Out", "exit", "quit", "get_ipython", "_ih", "_oh", "_dh"}
try:
    _hidden = _ns["get_ipython"]().user_ns_hidden
    # IPython's own names, unless the person assigned something else to one of them.
    _ipython_names = {n for n, v in _hidden.items() if _ns.get(n, _hidden) is v}
except Exception:
    pass
_cache = _re.compile(r"_(_{0,2}|i{1,3}|i?\d+|ih|oh|dh)$")  # _, __, ___, _i, _ii, _iii, _i3, _3
_functions = (_types.FunctionType, _types.BuiltinFunctionType, _types.MethodType, _types.BuiltinMethodType)
_short = _reprlib.Repr()
_short.maxstring, _short.maxother, _short.maxlevel = 70, 160, 2
_short.maxlist = _short.maxtuple = _short.maxset = _short.maxfrozenset = _short.maxdict = 8


def _type_name(value):
    kind = type(value)
    package = (kind.__module__ or "").split(".")[0]
    return kind.__name__ if package in ("builtins", "") else f"{package}.{kind.__name__}"


def _describe(name, value):
    entry = {"name": name, "type": _type_name(value)}
    try:
        shape = getattr(value, "shape", None)
    except Exception:
        shape = None
    if isinstance(shape, tuple) and all(isinstance(n, int) for n in shape):
        entry["shape"] = list(shape)
        try:
            dtype = getattr(value, "dtype", None)
            if dtype is not None:
                entry["dtype"] = str(dtype)
        except Exception:
            pass
    else:
        try:
            if hasattr(type(value), "__len__"):
                entry["length"] = len(value)
        except Exception:
            pass
    try:
        columns = getattr(value, "columns", None) if "shape" in entry and hasattr(value, "dtypes") else None
        if columns is not None:
            text = "columns: " + ", ".join(f"{c} ({t})" for c, t in list(value.dtypes.items())[:30])
        else:
            text = _short.repr(value)
    except Exception as e:
        text = f"<repr failed: {type(e).__name__}>"
    text = " ".join(text.split())
    entry["repr"] = text if len(text) <= __max_repr__ else text[: __max_repr__ - 1] + "\u2026"
    return entry


_variables, _hidden_counts, _total = [], {}, 0
for _name in sorted(_ns, key=lambda n: (n.lower(), n)):
    if _name in _ipython_names or _cache.match(_name) or _name.startswith("__"):
        continue
    _value = _ns[_name]
    _kind = (
        "modules" if isinstance(_value, _types.ModuleType)
        else "functions" if isinstance(_value, _functions)
        else "classes" if isinstance(_value, type)
        else "private" if _name.startswith("_") and not __private__
        else None
    )
    if _kind:
        _hidden_counts[_kind] = _hidden_counts.get(_kind, 0) + 1
        continue
    _total += 1
    if len(_variables) < __max_variables__:
        _variables.append(_describe(_name, _value))
__result__ = _json.dumps({"variables": _variables, "count": _total, "hidden": _hidden_counts})
"""


def expression(include_private: bool) -> str:
    """The user expression that runs ``INTROSPECTION`` on the kernel's namespace and evaluates to its JSON."""
    scope = (
        f'{{"__ns__": globals(), "__private__": {include_private!r}, '
        f'"__max_repr__": {MAX_REPR_CHARS}, "__max_variables__": {MAX_VARIABLES}}}'
    )
    return f'(lambda d: (__import__("builtins").exec({INTROSPECTION!r}, d), d["__result__"])[1])({scope})'


def parse(answer: Any, kernel_id: str) -> dict[str, Any]:
    """The introspection's answer (a ``user_expressions`` entry of the execute_reply) as
    ``{"variables": [...], "count": n, "hidden": {kind: n}}``. Raises MCPExtError saying what the
    kernel answered when the introspection failed there."""
    if not isinstance(answer, dict):
        raise MCPExtError(f"Kernel {kernel_id} did not evaluate the introspection of its variables (no answer).")
    if answer.get("status") != "ok":
        what = f"{answer.get('ename', 'Error')}: {answer.get('evalue', '')}".strip()
        raise MCPExtError(f"Kernel {kernel_id} could not list its variables: {what}.")
    text = ((answer.get("data") or {}).get("text/plain")) or ""
    try:
        value = ast.literal_eval(text)
        result = json.loads(value if isinstance(value, str) else text)
    except (ValueError, SyntaxError, TypeError) as e:
        raise MCPExtError(f"Kernel {kernel_id} answered the introspection of its variables with {text[:200]!r}.") from e
    if not isinstance(result, dict) or not isinstance(result.get("variables"), list):
        raise MCPExtError(f"Kernel {kernel_id} answered the introspection of its variables with {text[:200]!r}.")
    return result


async def kernel_language(conn: KernelConnection, kernel: Any, kernel_spec_manager: Any) -> tuple[str | None, str]:
    """A kernel's language and kernelspec name: its own kernel_info_reply's ``language_info`` (asked for
    if it has not answered one yet), else its kernelspec's (None when neither says)."""
    name = str(getattr(kernel, "kernel_name", "") or "?")
    if conn.kernel_info is None:
        conn.request_kernel_info()
        try:
            await asyncio.wait_for(conn.info_received.wait(), timeout=2.0)
        except asyncio.TimeoutError:
            pass
    language = ((conn.kernel_info or {}).get("language_info") or {}).get("name")
    if not language:
        try:
            specs = await ensure_async(kernel_spec_manager.get_all_specs())
            language = ((specs.get(name) or {}).get("spec") or {}).get("language")
        except Exception:
            language = None
    return language, name
