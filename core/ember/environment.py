"""Reading ember's environment variables: one parser per kind of value.

Every switch ember (or a plugin) reads from the environment goes through here, so they
all accept the same spellings and refuse the same mistakes with a message that names
the variable.  An empty or unset variable means "use the default".
"""

from __future__ import annotations

import os

__all__ = ["flag", "names"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def flag(name: str, default: bool = False) -> bool:
    """The boolean switch ``name``: ``1/true/yes/on`` or ``0/false/no/off`` (any case).

    Raises ``ValueError`` naming the variable for anything else, rather than guessing
    (``EMBER_CPU_FALLBACK=off`` must not turn the fallback on).
    """
    raw = os.environ.get(name, "")
    text = raw.strip().lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"environment variable {name}={raw!r} is not a boolean: use one of "
                     f"1/0, true/false, yes/no, on/off (any case)")


def names(name: str) -> list[str]:
    """The comma-separated list ``name`` (``EMBER_BACKENDS=rocm,cpu``), blanks dropped,
    in order.  What the entries must be is the caller's rule."""
    return [t.strip() for t in os.environ.get(name, "").split(",") if t.strip()]
