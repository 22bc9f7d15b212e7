"""API paths (service layer): normalization and confinement to the server root, as Jupyter's REST API uses them."""

from __future__ import annotations

import os
import posixpath
import unicodedata
from typing import Any

from ..exceptions import InvalidArgument, PathError

#: Longest argument text quoted in an error message; longer values are cut (``shown``).
MAX_SHOWN_CHARS = 120

#: Bidirectional-text controls: they make a name display as something else than it is
#: (``invoice\u202eblm.ipynb`` shows as ``invoicebnpi.lmb``); refused in new file names.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def shown(value: Any, limit: int = MAX_SHOWN_CHARS) -> str:
    """``repr(value)`` for an error message, cut to about ``limit`` characters with the full length
    said, so that a 100,000-character argument does not make a 200 KB error."""
    text = repr(value)
    if len(text) <= limit:
        return text
    length = len(value) if isinstance(value, (str, bytes, list, dict)) else len(text)
    return f"{text[:limit]}... ({length:,} characters)"


def check_new_file_name(api_path: str, *, argument: str = "path") -> None:
    """Refuse a path to create or write whose names hold control characters (newlines, tabs, NUL,
    escape), line or paragraph separators, or bidirectional-text controls: such names break
    listings, logs and shells, and can disguise a file as another."""
    for char in api_path:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp") or char in BIDI_CONTROLS:
            what = "a bidirectional-text control" if char in BIDI_CONTROLS else "a control character"
            raise InvalidArgument(
                f"{argument} {shown(api_path)} contains {what} (U+{ord(char):04X}); file names may not hold "
                "control characters, line breaks or bidirectional-text controls. Choose a plain name."
            )


def _inside(real: str, real_root: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _absolute_to_api_path(raw: str, path: str, root_dir: str, argument: str) -> str:
    """Read a path starting with ``/``: a file-system path under the root, or else an API path.

    Jupyter's REST API takes ``/dir/nb.ipynb`` as ``dir/nb.ipynb`` under the root; clients also
    pass absolute file-system paths. A file-system path under the root is converted; else the API
    reading stands if it exists under the root; a file-system path that exists elsewhere is
    refused; a new file's API reading stands if its directory exists under the root; anything
    else is refused as outside the root.
    """
    real_root = os.path.realpath(root_dir)
    real = os.path.realpath(raw)
    if _inside(real, real_root):
        relative = os.path.relpath(real, real_root).replace(os.sep, "/")
        return "" if relative == "." else relative
    outside = (
        f"{argument} {shown(path)} is outside the server root. Paths are relative to the server's root "
        "directory, e.g. 'analysis.ipynb' or 'reports/q1.ipynb'."
    )
    api_parts = [p for p in raw.split("/") if p]
    if os.path.lexists(os.path.join(real_root, *api_parts)):
        return "/".join(api_parts)
    if os.path.lexists(raw):
        raise PathError(outside)
    if os.path.isdir(os.path.join(real_root, *api_parts[:-1])):
        return "/".join(api_parts)
    raise PathError(outside)


def normalize_api_path(path: str, contents_manager: Any, *, argument: str = "path", allow_root: bool = False) -> str:
    """Return ``path`` as an API path relative to the server root (``"dir/nb.ipynb"``).

    Parameters
    ----------
    path : str
        A path as a client gives it: relative to the server root (Jupyter's REST API form),
        with or without a leading ``/``; or an absolute file-system path that lies inside the
        contents manager's ``root_dir`` (accepted for convenience and converted).
    contents_manager
        The server's ContentsManager; its ``root_dir`` (if any) and ``allow_hidden`` apply.
    argument : str
        The tool argument's name, used in error messages.
    allow_root : bool
        Whether the root itself (``""``) is an acceptable answer (directories).

    Raises
    ------
    PathError
        If the path is empty, leaves the root (``..``, an absolute path elsewhere, a symlink
        pointing outside), or names a hidden file while the server hides them.
    """
    if not isinstance(path, str):
        raise PathError(f"{argument} must be a string path relative to the server root.")
    raw = path.strip()
    if "\0" in raw:
        raise PathError(f"{argument} {shown(path)} contains a NUL character.")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError as e:
        raise PathError(
            f"{argument} {shown(path)} is not valid text: it holds a lone surrogate "
            f"(U+{ord(raw[e.start]):04X}), which no file name can contain."
        ) from e
    raw = raw.replace("\\", "/")
    root_dir = getattr(contents_manager, "root_dir", None)
    if raw.startswith("/") and root_dir:
        raw = _absolute_to_api_path(raw, path, root_dir, argument)
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise PathError(
            f"{argument} {shown(path)} leaves the server root ('..' is not allowed). Paths are relative to the "
            "server root, e.g. 'analysis.ipynb' or 'reports/q1.ipynb'."
        )
    if len(parts) and parts[0].endswith(":") and len(parts[0]) == 2:
        raise PathError(f"{argument} {shown(path)} is a drive path; give a path relative to the server root.")
    api_path = posixpath.join(*parts) if parts else ""
    if not api_path and not allow_root:
        raise PathError(
            f"{argument} is empty: give a notebook path relative to the server root, e.g. 'analysis.ipynb'."
        )
    if not getattr(contents_manager, "allow_hidden", False):
        hidden = next((p for p in parts if p.startswith(".")), None)
        if hidden is not None:
            raise PathError(
                f"{argument} {shown(path)} is hidden ({hidden!r} starts with '.') and this server does not serve "
                "hidden files (ContentsManager.allow_hidden is False)."
            )
    if not resolves_inside_root(api_path, contents_manager):
        raise PathError(
            f"{argument} {shown(path)} resolves (through a symbolic link) to a place outside the server root."
        )
    return api_path


def resolves_inside_root(api_path: str, contents_manager: Any) -> bool:
    """Whether ``api_path``, symbolic links resolved, stays inside the contents manager's ``root_dir``.

    Jupyter's FileContentsManager checks the lexical path only: a symlink inside the root that
    points outside it would escape. A contents manager without a ``root_dir`` (not file-backed)
    has no links to follow, so every path is inside.
    """
    root_dir = getattr(contents_manager, "root_dir", None)
    if not root_dir or not api_path:
        return True
    real = os.path.realpath(os.path.join(root_dir, *api_path.split("/")))
    return _inside(real, os.path.realpath(root_dir))
