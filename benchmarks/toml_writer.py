"""Write a nested dict as TOML (the standard library reads TOML but cannot write it)."""

from __future__ import annotations


def to_toml(tree: dict, prefix: str = "") -> str:
    """Flat values first, then one ``[table]`` per nested dict; None values are left out."""
    lines = []
    for key, value in tree.items():
        if not isinstance(value, dict) and value is not None:
            lines.append(f"{_key(key)} = {toml_value(value)}")
    for key, value in tree.items():
        if isinstance(value, dict):
            name = f"{prefix}{_key(key)}"
            lines.append(f"\n[{name}]")
            lines.append(to_toml(value, prefix=f"{name}.").strip("\n"))
    return "\n".join(lines) + "\n"


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else toml_value(key)
