"""Where MCPExtensionApp's settings come from (extension layer) besides Jupyter's config, and bad ones reported.

Jupyter's config (``jupyter_server_config.py``, the command line) is traitlets' own business. On top
of it an operator may point ``JUPYTER_MCP_CONFIG`` at a JSON file of the same keys as the traits,
and set single traits with ``JUPYTER_MCP_<NAME>`` variables; precedence is Jupyter's config, then
the JSON file, then the variables. traitlets only warns about an unknown name and stops at the
first bad value with a traceback; here every problem of every source is collected so that the
server can refuse to start with one message that names each setting and what it accepts.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from traitlets import Bool, Enum, Float, HasTraits, Int, List, TraitError, TraitType, Type, Unicode

#: Environment variables ``JUPYTER_MCP_<TRAIT NAME IN UPPER CASE>`` override the traits.
ENV_PREFIX = "JUPYTER_MCP_"

#: The environment variable naming a JSON file of trait values.
CONFIG_FILE_ENV = "JUPYTER_MCP_CONFIG"

#: How a value from ``jupyter_server_config.py`` or the command line is named in messages.
JUPYTER_CONFIG = "Jupyter config or command line"

#: Environment names kept from the standalone jupyter-papermill MCP server.
ENV_ALIASES = {"LOG_LEVEL": "log_level_mcp"}


class ConfigurationError(Exception):
    """One or more settings of the extension are not valid; ``problems`` has one sentence per setting."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def describe(trait: TraitType[Any, Any]) -> str:
    """What a trait accepts, as an operator would write it ("a number >= 0", "true or false", ...)."""
    if isinstance(trait, Bool):
        return "true or false"
    if isinstance(trait, Enum):
        return "one of " + ", ".join(repr(v) for v in trait.values or ())
    if isinstance(trait, (Int, Float)):
        kind = "a whole number" if isinstance(trait, Int) else "a number"
        low = trait.metadata.get("exclusive_min")
        if low is not None:
            return f"{kind} > {low}"
        if trait.min is not None:
            return f"{kind} >= {trait.min}"
        return kind
    if isinstance(trait, Type):
        klass = trait.klass if isinstance(trait.klass, str) else f"{trait.klass.__module__}.{trait.klass.__name__}"
        default = trait.default_value
        example = default if isinstance(default, str) else f"{default.__module__}.{default.__qualname__}"
        return f"the import path of a subclass of {klass}, such as {example!r}"
    if isinstance(trait, List):
        return 'a list of names (JSON ["a", "b"], or "a,b" in an environment variable)'
    if isinstance(trait, Unicode):
        return "a string"
    return type(trait).__name__


def problem(name: str, value: Any, source: str, trait: TraitType[Any, Any], error: BaseException | None) -> str:
    """The sentence for one bad value: the setting, where it came from, what is wrong and what is valid."""
    cause = ""
    if isinstance(trait, Type) and error is not None and error.__cause__ is not None:
        cause = f" ({type(error.__cause__).__name__}: {error.__cause__})"
    elif isinstance(trait, Type) and error is not None and "subclass" in str(error):
        cause = " (not a subclass of the required class)"
    return f"MCPExtensionApp.{name} = {value!r} (from {source}) is not valid{cause}: it must be {describe(trait)}."


def own_traits(obj: HasTraits | type[HasTraits]) -> dict[str, TraitType[Any, Any]]:
    """The configurable traits the class itself defines (not those of ExtensionApp / Application)."""
    cls = obj if isinstance(obj, type) else type(obj)
    return {n: t for n, t in cls.class_traits(config=True).items() if t.this_class is cls}


def unknown(name: str, obj: HasTraits, source: str) -> str:
    """The sentence for a setting name that does not exist, with the closest valid names."""
    names = sorted(own_traits(obj))
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"{source}: {name!r} is not a setting of MCPExtensionApp.{hint} Valid names: {', '.join(names)}."


def assign(obj: HasTraits, name: str, value: Any, source: str) -> str | None:
    """Set ``obj.name = value``; return the problem sentence if the trait refuses the value."""
    trait = obj.traits()[name]
    try:
        setattr(obj, name, value)
    except TraitError as e:
        return problem(name, value, source, trait, e)
    return None


def from_env_string(trait: TraitType[Any, Any], text: str) -> Any:
    """Parse an environment variable's text for ``trait``. A list is JSON or comma-separated names."""
    if isinstance(trait, List):
        stripped = text.strip()
        if stripped.startswith("["):
            return json.loads(stripped)
        return [part.strip() for part in stripped.split(",") if part.strip()]
    return trait.from_string(text)


def load_json_file(path: str) -> tuple[dict[str, Any], list[str]]:
    """Read the ``JUPYTER_MCP_CONFIG`` file: ``({trait: value}, problems)``."""
    source = f"{CONFIG_FILE_ENV}={path}"
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}, [f"{source}: the file does not exist."]
    except OSError as e:
        return {}, [f"{source}: the file cannot be read ({e.strerror or e})."]
    except json.JSONDecodeError as e:
        return {}, [f"{source}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})."]
    if not isinstance(data, dict):
        return {}, [f'{source}: the file must hold a JSON object of settings, such as {{"read_only": true}}.']
    return data, []


def apply_overrides(obj: HasTraits, environ: Mapping[str, str] | None = None, log: Any = None) -> list[str]:
    """Apply the JSON file named by ``JUPYTER_MCP_CONFIG``, then the ``JUPYTER_MCP_<NAME>`` variables.

    Returns the problems found (an empty list when every value was accepted). An unknown key in
    the JSON file is a problem; an unknown ``JUPYTER_MCP_*`` variable is only logged, since the
    environment is shared with other programs.
    """
    environ = os.environ if environ is None else environ
    traits = own_traits(obj)
    problems: list[str] = []
    path = environ.get(CONFIG_FILE_ENV)
    if path:
        data, problems = load_json_file(path)
        source = f"{CONFIG_FILE_ENV} file {path}"
        for name, value in data.items():
            if name not in traits:
                problems.append(unknown(name, obj, source))
            elif (issue := assign(obj, name, value, source)) is not None:
                problems.append(issue)
    for key, text in sorted(environ.items()):
        if not key.startswith(ENV_PREFIX) or key == CONFIG_FILE_ENV:
            continue
        suffix = key[len(ENV_PREFIX) :]
        name = ENV_ALIASES.get(suffix, suffix.lower())
        trait = traits.get(name)
        if trait is None:
            if log is not None:
                close = difflib.get_close_matches(name, list(traits), n=1)
                hint = f" (did you mean {ENV_PREFIX}{close[0].upper()}?)" if close else ""
                log.warning("%s is not a setting of jupyter_mcp_ext and is ignored%s.", key, hint)
            continue
        try:
            value = from_env_string(trait, text)
        except (ValueError, TraitError, SyntaxError):
            problems.append(problem(name, text, f"environment variable {key}", trait, None))
            continue
        if (issue := assign(obj, name, value, f"environment variable {key}")) is not None:
            problems.append(issue)
    return problems


def jupyter_config_problems(obj: HasTraits, section: Mapping[str, Any]) -> list[str]:
    """Check a ``c.MCPExtensionApp`` section key by key: unknown names and refused values."""
    from traitlets.config import Config

    traits = obj.traits(config=True)
    problems = []
    source = JUPYTER_CONFIG
    for name, value in section.items():
        if name not in traits:
            problems.append(unknown(name, obj, source))
            continue
        try:
            obj.update_config(Config({type(obj).__name__: {name: value}}))  # type: ignore[attr-defined]
        except TraitError as e:
            # Command-line values arrive as (a str subclass of) text: show them as typed.
            shown = str(value) if isinstance(value, str) else value
            problems.append(problem(name, shown, source, traits[name], e))
    return problems
