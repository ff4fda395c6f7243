"""Shared helpers of the nn op modules (argument checks, reductions)."""

from __future__ import annotations

from ._rules import fail

_REDUCTIONS = ("mean", "sum", "none")


def _shape(t) -> list:
    return list(t.shape)


def _need_float(op: str, arg: str, t) -> None:
    if not t.dtype.is_floating_point:
        fail(op, f"argument '{arg}' must be a floating point tensor, got {t.dtype}")


def _reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        fail(op, f"argument 'reduction' must be one of 'mean', 'sum' or 'none', "
                 f"got {reduction!r}")


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _pair(v, n: int, op: str, arg: str) -> tuple:
    """An ``int[]`` argument given as one int or ``n`` ints, as ``n`` ints."""
    v = tuple(v)
    if len(v) == 1:
        v = v * n
    if len(v) != n:
        fail(op, f"argument '{arg}' must be an int or a list of {n} ints, got {list(v)}")
    return v
