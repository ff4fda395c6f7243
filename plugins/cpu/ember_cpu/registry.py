"""The kernel tables of the cpu plugin's kernel modules (one rule for all of them)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["registry"]


def registry() -> tuple[dict[str, Callable], Callable]:
    """A new kernel table and its ``@kernel(name)`` decorator, which enters the decorated
    function in the table under the op's ``name`` and returns it unchanged."""
    table: dict[str, Callable] = {}

    def kernel(name: str) -> Callable:
        def deco(fn: Callable) -> Callable:
            table[name] = fn
            return fn
        return deco
    return table, kernel
