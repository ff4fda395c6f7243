"""Baseline files: the checks a vendor knows fail, each with its reason.

A line names one check and why it fails; ``#`` starts a comment::

    # DEVICE     OP            DTYPE    CHECK   REASON
    reference    scatter_add   float32  cost    one-hot scatter in the kit (issue 13)
    xpu          conv2d        *        grad    dpnp.matmul rejects a non-contiguous view

``*`` matches anything.  ``CHECK`` is the check's name as in the report (``forward``,
``grad``, ``cost``, ``promotion``, ``in-place aliasing`` …, spaces written as ``_``);
a device-wide contract has ``-`` as its op and dtype (``cpu - - out_of_memory …``).
A listed check that fails is reported ``known`` (``x`` in the table; pytest's xfail)
and does not fail the run; a listed check that passes is reported, so the file can
shrink.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Entry", "load", "match"]


@dataclass(frozen=True)
class Entry:
    """One known failing check."""

    device: str
    op: str
    dtype: str
    check: str
    reason: str
    where: str  # file:line, for messages

    def matches(self, device: str, op: str, dtype: str, check: str) -> bool:
        kind = device.split(":")[0]
        return (self.device in ("*", device, kind) and self.op in ("*", op)
                and self.dtype in ("*", dtype) and self.check in ("*", _name(check)))


def _name(check: str) -> str:
    return check.replace(" ", "_")


def load(path: str) -> list[Entry]:
    """The entries of a baseline file; a malformed line raises ``ValueError`` naming it."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            fields = text.split(None, 4)
            if len(fields) < 5:
                raise ValueError(f"{path}:{n}: a baseline line is 'DEVICE OP DTYPE CHECK "
                                 f"REASON' (a reason is required), got {line.strip()!r}")
            device, op, dtype, check, reason = fields
            out.append(Entry(device, op, dtype, _name(check), reason, f"{path}:{n}"))
    return out


def match(entries: list[Entry], props: dict) -> Entry | None:
    """The entry covering the check a test recorded in ``props`` (its user properties)."""
    device = props.get("ember_device")
    if device is None:
        return None
    op, dtype = props.get("ember_op", "-"), props.get("ember_dtype", "-")
    check = props.get("ember_check", "")
    return next((e for e in entries if e.matches(device, op, dtype, check)), None)
