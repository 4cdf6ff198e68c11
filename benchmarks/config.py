"""Typed configs from plain dicts: unknown keys and wrong types are one-line user errors.

A cell's config is a tree of dataclasses; grid files and ``--set`` overrides are nested
dicts merged onto the defaults. Flattened ``section.key`` names become MLflow params and
the hash of the resolved config is how a finished cell is recognised on a rerun.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from datetime import date
from typing import Any

from benchmarks.errors import UserError


def build_config(cls: type, values: dict[str, Any], where: str = "config"):
    """Instantiate dataclass ``cls`` from ``values``, recursing into nested dataclasses."""
    if not isinstance(values, dict):
        raise UserError(f"{where} must be a table of settings, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise UserError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(names)}")
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        key = f"{where}.{name}" if where != "config" else name
        if dataclasses.is_dataclass(hint):
            kwargs[name] = build_config(hint, value, key)
        else:
            kwargs[name] = _coerce(value, hint, key)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check ``value`` against a simple annotation (int, float, str, bool, X | None, list)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, key)
            except UserError:
                continue
        raise UserError(f"{key}: {value!r} is not a valid value (expected {hint})")
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise UserError(f"{key}: expected a list, got {value!r}")
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if hint is bool:
        if not isinstance(value, bool):
            raise UserError(f"{key}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"{key}: expected a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if isinstance(value, date):
            return value.isoformat()
        if not isinstance(value, str):
            raise UserError(f"{key}: expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config annotation {hint!r} for {key}")


def set_dotted(tree: dict, dotted: str, value: Any) -> None:
    """Set ``tree['a']['b'] = value`` for ``dotted = 'a.b'``, creating tables on the way."""
    *parents, last = dotted.split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise UserError(f"{dotted}: {part!r} is a value, not a table")
    node[last] = value


def merge(base: dict, extra: dict) -> dict:
    """Deep-merge ``extra`` onto a copy of ``base``."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def to_dict(config) -> dict:
    return dataclasses.asdict(config)


def flatten(config) -> dict[str, Any]:
    """``{'data.window': 5, ...}``: the MLflow params of a cell."""
    out: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else key, value)
        else:
            out[prefix] = node

    walk("", to_dict(config))
    return out


def config_hash(task: str, config, ignore_seed: bool = False) -> str:
    """Stable short hash of task + resolved config: the identity of a cell across reruns.

    With ``ignore_seed`` it identifies the configuration, so seeds can be aggregated.
    """
    tree = to_dict(config)
    if ignore_seed:
        tree["train"] = {k: v for k, v in tree["train"].items() if k != "seed"}
    blob = json.dumps({"task": task, "config": tree}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
