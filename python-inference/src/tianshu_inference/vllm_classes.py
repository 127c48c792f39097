"""Classes that vLLM loads by qualified name in its own processes (scheduler, executor, worker).

They subclass vLLM classes, so building them at import time would pull vLLM into every import
of their module; `built_on_first_use` gives such a module a `__getattr__` that builds each one
when vLLM first asks for it, in the process that asks, and keeps it.
"""
from __future__ import annotations

from collections.abc import Callable


def built_on_first_use(namespace: dict, builders: dict[str, Callable[[], type]]) -> Callable[[str], type]:
    """The module `__getattr__` for `namespace` (the module's globals()): `builders[name]()` on
    first use of `name`, named after the module so that vLLM's qualified name finds it again."""

    def __getattr__(name: str) -> type:
        build = builders.get(name)
        if build is None:
            raise AttributeError(name)
        cls = build()
        cls.__module__, cls.__name__, cls.__qualname__ = namespace["__name__"], name, name
        namespace[name] = cls
        return cls

    return __getattr__
