"""Loads TOML presets into the typed, frozen parameter objects each component declares.

Each component owns a frozen dataclass of its parameters (e.g. `MixerParams`); a preset is a TOML file whose tables
are named after components; a field that is itself a parameter dataclass is a sub-table (`[pose.tracking]`). Presets
ship in `config/`; a user file given with --config is laid over the preset. Unknown keys and wrong types are errors
that name the file and the key, so a typo never silently does nothing.
"""
from __future__ import annotations

import dataclasses
import tomllib
import typing
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

P = TypeVar("P")


class ConfigError(ValueError):
    """A preset or user config file is wrong; the message names the file and the key."""


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("footfall.config").iterdir() if p.name.endswith(".toml"))


def read_preset(name: str) -> dict[str, Any]:
    """A shipped TOML file from config/ by name (without .toml)."""
    res = resources.files("footfall.config").joinpath(f"{name}.toml")
    if not res.is_file():
        raise ConfigError(f"config preset '{name}': no such preset (have: {', '.join(preset_names())})")
    return tomllib.loads(res.read_text())


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merged key by key; `over` wins."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load(preset: str = "default", user_file: str | Path | None = None) -> dict[str, Any]:
    """The default preset, then the named preset, then the user's file laid over each other."""
    table = read_preset("default")
    if preset != "default":
        table = merge(table, read_preset(preset))
    if user_file is not None:
        table = merge(table, read_toml(user_file))
    return table


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):  # a sub-table, e.g. [pose.tracking]
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table")
        return params(hint, value, where)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool):
        if type(value) is not hint:
            raise ConfigError(f"{where}: expected {hint.__name__}, got {type(value).__name__}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list")
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_coerce(v, item, where) for v in value)
    if origin is typing.Literal:
        if value not in typing.get_args(hint):
            raise ConfigError(f"{where}: expected one of {typing.get_args(hint)}, got {value!r}")
        return value
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(value, args[0], where) if len(args) == 1 else value
    return value


def params(cls: type[P], table: dict[str, Any] | None, where: str = "config") -> P:
    """Build the frozen parameter object `cls` from a TOML table, rejecting unknown keys and wrong types."""
    table = table or {}
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in table.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def section(table: dict[str, Any], name: str, cls: type[P], source: str = "config") -> P:
    """The parameter object for one component from the merged config table."""
    return params(cls, table.get(name), f"{source} [{name}]")
