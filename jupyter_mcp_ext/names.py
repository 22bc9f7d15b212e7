"""The closest of valid names to a misspelt one, for errors that say "did you mean ...?"."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, valid: Iterable[str]) -> str | None:
    """The valid name a misspelt or shortened ``name`` most likely meant, or None.

    One that contains ``name`` or that ``name`` contains (``dir`` -> ``directory``) wins, the nearest
    in spelling among them; else the nearest in spelling overall if it is near enough (``dealy`` ->
    ``delay``; difflib's ratio >= 0.6).
    """
    valid = list(valid)
    folded = name.lower().replace("-", "_")
    related = [v for v in valid if folded in v.lower() or (len(v) > 2 and v.lower() in folded)]
    ranked = difflib.get_close_matches(folded, related or valid, n=1, cutoff=0.0 if related else 0.6)
    return ranked[0] if ranked else None
