"""Name -> model factory registry, so grid files can pick a model by a plain string."""

from __future__ import annotations

from collections.abc import Callable

import torch.nn as nn

from benchmarks.errors import UserError

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: make a model factory available under ``name``."""

    def add(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        _MODELS[name] = factory
        return factory

    return add


def model_names() -> list[str]:
    return sorted(_MODELS)


def build_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model; an unknown name is a user error listing the valid ones."""
    if name not in _MODELS:
        raise UserError(f"unknown model {name!r} (model.name); "
                        f"valid models: {', '.join(model_names())}")
    return _MODELS[name](**kwargs)
