"""Anomaly detection: ``detect_anomaly`` / ``set_detect_anomaly`` (PyTorch's names).

While enabled, every recorded node remembers the stack of the forward call that made
it, a failing backward formula reports that stack, and (with ``check_nan``) a formula
returning NaN raises at once, naming its node.  It slows recording down: debug only.
"""

from __future__ import annotations

import traceback
import warnings

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]

# [enabled, check_nan]; one list so the hot path reads a single module global
_mode = [False, True]


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    return _mode[0]


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection also checks backward results for NaN."""
    return _mode[1]


class set_detect_anomaly:
    """Turn anomaly detection on or off (takes effect at once; undone when used as a
    context manager and left)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = tuple(_mode)
        _mode[0], _mode[1] = bool(mode), bool(check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        _mode[0], _mode[1] = self.prev


class detect_anomaly:
    """Context manager (and decorator) enabling anomaly detection inside it."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the "
                      "runtime and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self) -> None:
        self.prev = tuple(_mode)
        _mode[0], _mode[1] = True, self.check_nan

    def __exit__(self, *exc) -> None:
        _mode[0], _mode[1] = self.prev

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper


def remember_forward(node) -> None:
    """Keep the forward call's stack on ``node`` (called by recording when enabled)."""
    node.__dict__["_forward_stack"] = "".join(traceback.format_stack()[:-3])


def report_failure(node, error: BaseException) -> None:
    """Point a failing backward formula at the forward call that recorded its node."""
    stack = node.__dict__.get("_forward_stack")
    if stack:
        warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that "
                      f"caused the error:\n{stack}", RuntimeWarning, stacklevel=2)


def check_nan(node, grads) -> None:
    """Raise if a formula returned NaN values (``check_nan`` mode)."""
    from ..ops import isnan
    for i, g in enumerate(grads):
        if g is not None and bool(isnan(g).any()):
            stack = node.__dict__.get("_forward_stack", "")
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th "
                               f"output." + (f" Forward call that recorded it:\n{stack}"
                                             if stack else ""))
